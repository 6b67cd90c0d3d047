using Warden.Storage.Engines;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Npgsql;
using Warden.Core;

namespace Warden.Postgres;

/// <summary>
/// A PostgreSQL database governed through Warden: agents get <c>ID.describe</c>, <c>ID.query</c>
/// (read only, capped, timed out, masked by column class) and <c>ID.execute</c> (one statement
/// that changes data or schema). Every statement is classified by PostgreSQL itself
/// (<see cref="StatementClassifier"/>); a data change is planned by running it in a transaction
/// that is always rolled back, with the rows it touches captured, so the plan is exact; it is
/// applied only if it touches the same rows with the same contents, with the before-images
/// journaled in Warden's own store; and it can be rolled back row by row, never over a later change.
/// </summary>
public sealed class PostgresDatabase : IGovernedSystem, IAsyncDisposable
{
    private readonly PostgresOptions _options;
    private readonly NpgsqlDataSource _source;
    private readonly TableCatalogue _tables;
    private readonly StatementClassifier _classifier;
    private readonly SqlJournal _journal;
    private readonly TimeProvider _clock;
    private readonly ToolDefinition _describe;
    private readonly ToolDefinition _query;
    private readonly ToolDefinition _execute;
    private readonly string[] _governedNames;
    private readonly SemaphoreSlim _planning;

    private PostgresDatabase(PostgresOptions options, NpgsqlDataSource source, TableCatalogue tables, SqlJournal journal, TimeProvider clock)
    {
        _options = options;
        _source = source;
        _tables = tables;
        _journal = journal;
        _clock = clock;
        _classifier = new StatementClassifier(source, tables, options);
        _governedNames = [.. tables.Tables.Select(t => t.Qualified)];
        _planning = new SemaphoreSlim(Math.Max(1, options.PlanningSlots));
        var id = options.Id;
        (_describe, _query, _execute) = Tools(id, options.RowCap);
        Catalogue = new SystemCatalogue(id, [_describe, _query, _execute],
            [.. tables.Tables.SelectMany(t => t.Columns.Select(c => new SystemField(FieldName(t, c.Name), IsInteger(c.Type) ? FilterFieldType.Integer : FilterFieldType.Text, c.Classes)))]);
    }

    /// <inheritdoc/>
    public SystemCatalogue Catalogue { get; }

    /// <summary>The kind a policy declares a PostgreSQL database with.</summary>
    public const string Kind = "postgres";

    /// <summary>The catalogue a policy's declaration offers before the database is reached: the tools (its fields are the database's, known once it is).</summary>
    public static SystemCatalogue DeclaredCatalogue(DeclaredSystem declared)
    {
        ArgumentNullException.ThrowIfNull(declared);
        var (describe, query, execute) = Tools(declared.Id, new PostgresOptions { Id = declared.Id, ConnectionString = "", Tables = [], JournalPath = "" }.RowCap);
        return new SystemCatalogue(declared.Id, [describe, query, execute], []);
    }

    private static (ToolDefinition Describe, ToolDefinition Query, ToolDefinition Execute) Tools(string id, int rowCap) =>
    (
        new ToolDefinition(id, id + ".describe", ActionKind.Read, Reversibility.Reversible, External: false,
            "The tables you may use, their columns and types, and which columns hold which data classes.", []),
        new ToolDefinition(id, id + ".query", ActionKind.Read, Reversibility.Reversible, External: false,
            $"Runs one read-only SQL statement (SELECT, VALUES) and returns at most {rowCap:N0} rows; columns of classes you may not see come back masked.",
            [
                new ToolArgument("sql", ArgumentType.String, "One SQL statement that reads; $1, $2, ... for parameters.", Required: true),
                new ToolArgument("params", ArgumentType.StringList, "Values of $1, $2, ... as text; PostgreSQL converts them to the types the statement needs."),
            ]),
        new ToolDefinition(id, id + ".execute", ActionKind.Delete, Reversibility.Reversible, External: false,
            "Runs one SQL statement that changes data (INSERT, UPDATE, DELETE, MERGE) or the schema. Its exact effect is previewed first, and it may wait for people to approve it.",
            [
                new ToolArgument("sql", ArgumentType.String, "One SQL statement; $1, $2, ... for parameters.", Required: true),
                new ToolArgument("params", ArgumentType.StringList, "Values of $1, $2, ... as text; PostgreSQL converts them to the types the statement needs."),
            ])
    );

    /// <summary>
    /// Connects, reads the governed tables from the database's catalog, checks that each has the
    /// capture trigger (<see cref="InstallAsync"/>), and settles any action a crash left between
    /// the journal and the database's commit.
    /// </summary>
    /// <exception cref="PostgresSystemException">A table or column is missing, or the capture is not installed.</exception>
    public static async Task<PostgresDatabase> OpenAsync(PostgresOptions options, TimeProvider? clock = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = new NpgsqlDataSourceBuilder(options.ConnectionString);
        builder.ConnectionStringBuilder.ApplicationName = "warden";
        var source = builder.Build();
        try
        {
            TableCatalogue tables;
            await using (var connection = await source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
            {
                tables = await TableCatalogue.ReadAsync(connection, options.Tables, cancellationToken,
                    options.ClassesOf is { } classesOf ? (table, column) => classesOf($"{options.Id}.{table}.{column}") : null).ConfigureAwait(false);
                var missing = await Capture.MissingAsync(connection, tables, cancellationToken).ConfigureAwait(false);
                if (missing.Count > 0)
                {
                    throw new PostgresSystemException(
                        $"Warden's capture trigger is not installed on {string.Join(", ", missing)}: install it as the tables' owner (PostgresDatabase.InstallAsync), so Warden can see and restore the rows a statement changes");
                }

                if (!await Capture.CurrentAsync(connection, cancellationToken).ConfigureAwait(false))
                {
                    throw new PostgresSystemException(
                        $"Warden's capture function in the database was installed by an earlier version of Warden: install it again as the tables' owner (PostgresDatabase.InstallAsync)");
                }
            }

            var journal = options.SharedJournal is var (store, environment)
                ? new SqlJournal(SystemStores.OpenShared(store, environment, options.Id, SqlJournal.Component))
                : new SqlJournal(options.JournalPath);
            var database = new PostgresDatabase(options, source, tables, journal, clock ?? TimeProvider.System);
            try
            {
                await database.SettlePendingAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                database._journal.Dispose();
                throw;
            }

            return database;
        }
        catch
        {
            await source.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Installs the capture trigger on the tables, connected as their owner (idempotent).</summary>
    public static Task InstallAsync(string ownerConnectionString, IReadOnlyList<GovernedTable> tables, CancellationToken cancellationToken = default) =>
        Capture.InstallAsync(ownerConnectionString, tables, cancellationToken);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        _journal.Dispose();
        await _source.DisposeAsync().ConfigureAwait(false);
        _planning.Dispose();
    }

    private string FieldName(TableShape table, string column) => $"{_options.Id}.{table.Declared}.{column}";

    private static bool IsInteger(string type) => type is "integer" or "bigint" or "smallint";

    /// <summary>The statement a plan of a PostgreSQL database runs, as PostgreSQL classified it; null for any other plan.</summary>
    public static Statement? StatementOf(Plan plan) => (plan as SqlPlan)?.Statement;

    // Planning reads the database synchronously (Npgsql's sync API within one transaction): the
    // calls planned at once are bounded, and the others wait for a slot without a thread.
    /// <inheritdoc />
    ValueTask<SystemResult<Plan>> IGovernedSystem.PlanAsync(ToolCall call, CancellationToken cancellationToken) => PlanInTurnAsync(() => Plan(call), cancellationToken);

    /// <inheritdoc />
    ValueTask<SystemResult<RollbackPlan>> IGovernedSystem.PlanRollbackAsync(RollbackRequest request, CancellationToken cancellationToken) =>
        PlanInTurnAsync(() => PlanRollback(request), cancellationToken);

    /// <summary>Calls being planned now: at most <see cref="PostgresOptions.PlanningSlots"/>.</summary>
    internal int Planning => _options.PlanningSlots - _planning.CurrentCount;

    private async ValueTask<T> PlanInTurnAsync<T>(Func<T> plan, CancellationToken cancellationToken)
    {
        await _planning.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return plan();
        }
        finally
        {
            _planning.Release();
        }
    }

    /// <summary>What a call would do, found in a transaction that is always rolled back.</summary>
    public SystemResult<Plan> Plan(ToolCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var tool = Catalogue.Tools.FirstOrDefault(t => t.Name == call.Tool);
        if (tool is null)
        {
            return SystemError.UnknownTool(call.Tool, _options.Id, $"its tools are {string.Join(", ", Catalogue.Tools.Select(t => t.Name))}");
        }

        if (tool.CheckArguments(call.Arguments) is { Count: > 0 } problems)
        {
            return SystemError.InvalidArguments(string.Join("; ", problems.Select(p => p.Message)));
        }

        if (tool == _describe)
        {
            return new SqlPlan(call, tool, Hash(call, tool, []), Hash(call, tool, [], affectedOnly: true), _tables.Tables.Count, [], [], [], [], [], [],
                "describe: the governed tables and their columns.", null, null);
        }

        var sql = call.Arguments.GetProperty("sql").GetString()!;
        var parameters = Parameters(call.Arguments);
        try
        {
            var classified = _classifier.Classify(sql, parameters);
            if (!classified.Succeeded)
            {
                return classified.Error!;
            }

            var statement = classified.Value!;
            return tool == _query ? PlanQuery(call, tool, statement, sql) : PlanChange(call, tool, statement, sql, parameters);
        }
        catch (NpgsqlException e) when (e is not PostgresException)
        {
            return SystemError.Refused($"the database {_options.Id} cannot be reached: {e.Message}");
        }
    }

    /// <summary>
    /// PostgreSQL's refusal of a statement while it ran. Its text may quote the value it failed on
    /// (<c>invalid input syntax for type integer: "ann@example.com"</c>), so it is withheld from
    /// those who may not see the classes of the tables and columns the statement reaches.
    /// </summary>
    private SystemError RefusedWhileRunning(string sql, PostgresException e, Statement? statement)
    {
        var error = StatementClassifier.DoesNotParse(sql, e, 0);
        IReadOnlyList<string> quotes = statement is null ? [] :
        [
            .. statement.Columns.SelectMany(c => ColumnOf(c)?.Classes ?? [])
                .Concat(statement.Tables.SelectMany(t => _tables.Tables.FirstOrDefault(s => s.Declared == t)?.AllClasses ?? []))
                .Distinct(StringComparer.Ordinal),
        ];
        return error.Code != "invalid_arguments" || quotes.Count == 0 ? error : error with
        {
            Quotes = quotes,
            Withheld = $"PostgreSQL refused the statement while it ran (SQLSTATE {e.SqlState}); its text is withheld, as it may quote values of classes you may not see ({string.Join(", ", quotes)})",
        };
    }

    /// <summary>The column named table.column.</summary>
    private TableColumn? ColumnOf(string qualified)
    {
        var dot = qualified.LastIndexOf('.');
        return _tables.Tables.FirstOrDefault(t => t.Declared == qualified[..dot])?.Column(qualified[(dot + 1)..]);
    }

    private static string[] Parameters(JsonElement arguments) =>
        arguments.TryGetProperty("params", out var list) && list.ValueKind == JsonValueKind.Array ? [.. list.EnumerateArray().Select(v => v.GetString()!)] : [];

    private SystemResult<Plan> PlanQuery(ToolCall call, ToolDefinition tool, Statement statement, string sql)
    {
        if (statement.Kind != StatementKind.Read)
        {
            return statement.Kind == StatementKind.Multiple
                ? SystemError.Refused("one statement per call: this holds more than one")
                : SystemError.InvalidArguments($"{tool.Name} only reads, and this statement is a {statement.KindName}; use {_execute.Name}");
        }

        var read = statement.Tables.Select(t => _tables.Tables.First(s => s.Declared == t)).ToList();
        var fields = statement.Columns.Select(c => $"{_options.Id}.{c}").ToList();
        var classes = statement.Columns.SelectMany(c => ColumnOf(c)?.Classes ?? []).Distinct(StringComparer.Ordinal).ToList();
        var summary = $"{tool.Name}: read from {(read.Count == 0 ? "no table" : string.Join(", ", statement.Tables))}, about {statement.EstimatedRows:N0} row(s) by the planner's estimate (at most {_options.RowCap:N0} returned).";
        return new SqlPlan(call, tool, Hash(call, tool, []), Hash(call, tool, [], affectedOnly: true), statement.EstimatedRows, [], fields, [], classes, [], [], summary, null, statement);
    }

    private SystemResult<Plan> PlanChange(ToolCall call, ToolDefinition tool, Statement classified, string sql, IReadOnlyList<string> parameters)
    {
        var statement = classified;
        switch (statement.Kind)
        {
            case StatementKind.Read:
                return SystemError.InvalidArguments($"this statement only reads; use {_query.Name}");
            case StatementKind.Multiple:
                return SystemError.Refused("one statement per call: this holds more than one, and Warden previews, approves and undoes one statement at a time");
        }

        if (!statement.ChangesRows)
        {
            // A schema, permission or other change: no rows to capture, nothing to restore.
            var definition = tool with { Kind = ActionKind.Configure, Reversibility = Reversibility.Irreversible };
            var touches = statement.Tables.Count == 0 ? "" : $" on {string.Join(", ", statement.Tables)}";
            var classesTouched = statement.Tables.SelectMany(t => _tables.Tables.First(s => s.Declared == t).AllClasses).Distinct(StringComparer.Ordinal).ToList();
            return new SqlPlan(call, definition, Hash(call, definition, []), Hash(call, definition, [], affectedOnly: true), 0, [], [], [], classesTouched, [], [],
                $"{tool.Name}: a {statement.KindName} change{touches}; it cannot be undone by Warden.", null, statement);
        }

        if (statement.Tables.Select(t => _tables.Tables.First(s => s.Declared == t)).FirstOrDefault(t => t.Key.Count == 0) is { } keyless)
        {
            return SystemError.Refused($"the table {keyless.Declared} has no primary key, so Warden cannot tell its rows apart to preview or restore them; it can be read, not changed");
        }

        using var connection = _source.OpenConnection();
        using var transaction = connection.BeginTransaction();
        try
        {
            Prepare(connection, Capture.Mode.Plan, statement.DrawsSequence);
            var counted = ChangedRowsAsync(connection, CancellationToken.None).GetAwaiter().GetResult();
            long affected;
            using (var batch = StatementClassifier.Batch(connection, sql, parameters))
            {
                affected = batch.ExecuteNonQuery();
            }

            using (var reset = new NpgsqlCommand(AfterStatementSql, connection))
            {
                reset.ExecuteNonQuery();
            }

            var groups = Capture.Groups(connection, _governedNames);
            if (groups.Sum(g => g.Rows) > _options.MaxChangedRows)
            {
                return SystemError.Refused(
                    $"the statement changes more than {_options.MaxChangedRows:N0} rows, the most Warden previews, journals and can undo in one statement: nothing was changed; split it (by key ranges, for instance)");
            }

            if (UngovernedWriteAsync(connection, CancellationToken.None).GetAwaiter().GetResult() is { } refusal)
            {
                return refusal;
            }

            var changed = ChangedRowsAsync(connection, CancellationToken.None).GetAwaiter().GetResult() - counted;
            affected = Math.Max(affected, changed.Total);
            if (groups.Sum(g => g.Rows) < affected || Unseen(changed, groups))
            {
                // The statement changed rows the capture did not see: it cannot be previewed or undone.
                return SystemError.Refused($"the statement changed {affected:N0} row(s) but Warden saw {groups.Sum(g => g.Rows):N0}: it cannot be previewed exactly, so it does not run");
            }

            if (groups.Select(g => _tables.ByQualifiedName(g.Table)).FirstOrDefault(t => t is { Key.Count: 0 }) is { } reached)
            {
                // Named or not (a cascade reaches it): its rows could be neither told apart nor restored.
                return SystemError.Refused($"the statement changes rows of {reached.Declared}, which has no primary key, so Warden could not restore them: it does not run");
            }

            if (statement.Where && ReachesEveryRow(connection, groups))
            {
                statement = statement with { Where = false };
            }

            return PlanFromCapture(connection, call, tool, statement, groups);
        }
        catch (PostgresException e)
        {
            return RefusedWhileRunning(sql, e, statement);
        }
        finally
        {
            transaction.Rollback();
        }
    }

    /// <summary>
    /// PostgreSQL's count of rows of governed tables inserted, updated or deleted by this session
    /// (it holds earlier transactions' counts not yet reported, so a change is the difference
    /// between two reads in one transaction): the statement's own count misses rows changed in a CTE under a SELECT, and
    /// the capture misses rows when its trigger is disabled (an approved ALTER TABLE ... DISABLE
    /// TRIGGER, the owner, a replica role). More changed than captured is a change Warden cannot show.
    /// </summary>
    private async Task<RowCounts> ChangedRowsAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT coalesce(sum(pg_stat_get_xact_tuples_inserted(t)), 0)::bigint, coalesce(sum(pg_stat_get_xact_tuples_updated(t)), 0)::bigint,
                   coalesce(sum(pg_stat_get_xact_tuples_deleted(t)), 0)::bigint
            FROM unnest($1::oid[]) t
            """, connection);
        command.Parameters.Add(GovernedOids());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new RowCounts(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    /// <summary>Rows inserted, updated and deleted, as PostgreSQL counts them.</summary>
    private readonly record struct RowCounts(long Inserted, long Updated, long Deleted)
    {
        public long Total => Inserted + Updated + Deleted;

        public static RowCounts operator -(RowCounts a, RowCounts b) => new(a.Inserted - b.Inserted, a.Updated - b.Updated, a.Deleted - b.Deleted);
    }

    /// <summary>
    /// Whether PostgreSQL counts more rows of some kind than the capture shows: compared kind by
    /// kind, since a key-changing update is one row updated to PostgreSQL and two rows captured (a
    /// delete and an insert), and in a total those spare rows would cover deletes the capture missed.
    /// </summary>
    private static bool Unseen(RowCounts changed, List<CapturedGroup> groups)
    {
        long Captured(string operation) => groups.Where(g => g.Operation == operation).Sum(g => g.Rows - g.Moved);
        var moved = groups.Where(g => g.Operation == "DELETE").Sum(g => g.Moved);
        return changed.Inserted > Captured("INSERT") || changed.Deleted > Captured("DELETE") || changed.Updated > Captured("UPDATE") + moved;
    }

    /// <summary>
    /// Whether the statement, whatever its WHERE says (WHERE id IS NOT NULL, WHERE id > 0), updated
    /// or deleted every row of a table it changed: every row left in it was written by this
    /// transaction. The first untouched row ends the search, so a restricted change pays little.
    /// </summary>
    private bool ReachesEveryRow(NpgsqlConnection connection, List<CapturedGroup> groups)
    {
        foreach (var name in groups.Where(g => g.Operation is "UPDATE" or "DELETE").Select(g => g.Table).Distinct(StringComparer.Ordinal))
        {
            var table = _tables.ByQualifiedName(name);
            if (table is null)
            {
                continue;
            }

            // A few pages picked at random first: a change restricted to part of a big table leaves
            // untouched rows in most of them, and the scan from the first page would read through
            // every page the change wrote before finding one. Only when none shows does the whole table answer.
            const string untouched = "t.xmin::text::bigint <> pg_current_xact_id()::text::bigint % 4294967296";
            using (var sampled = new NpgsqlCommand($"SELECT EXISTS (SELECT 1 FROM {table.Quoted} t TABLESAMPLE SYSTEM (1) REPEATABLE (0) WHERE {untouched})", connection))
            {
                if ((bool)sampled.ExecuteScalar()!)
                {
                    continue;
                }
            }

            using var command = new NpgsqlCommand($"SELECT NOT EXISTS (SELECT 1 FROM {table.Quoted} t WHERE {untouched})", connection);
            if ((bool)command.ExecuteScalar()!)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The governed tables' OIDs, as a parameter.</summary>
    private NpgsqlParameter GovernedOids() => new() { Value = _tables.Tables.Select(t => t.Oid).ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Oid };

    /// <summary>
    /// The first relation the statement wrote that is not governed, as a refusal: a foreign key
    /// that cascades into another table, a trigger or a function writing elsewhere. The capture
    /// sees only governed tables, so such a write could be neither previewed nor undone. Written
    /// means locked for writing in this transaction; sequences are left out (nextval moves them on,
    /// as any INSERT with a serial key does), and so is Warden's own capture table.
    /// </summary>
    private async Task<SystemError?> UngovernedWriteAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        // One statement, not one per relation locked (the table, its indexes, Warden's own temporary tables): each took a round trip.
        await using var command = new NpgsqlCommand($"""
            SELECT t.oid::regclass::text
            FROM (SELECT DISTINCT l.relation FROM pg_locks l
                  WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.relation >= 16384
                    AND l.mode IN ('RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')) w
            {StatementClassifier.TableOfSql("w.relation")}
            JOIN pg_class t ON t.oid = step3.table_of
            WHERE NOT (t.oid = ANY($1)) AND t.relkind <> 'S' AND t.relnamespace <> pg_my_temp_schema()
            LIMIT 1
            """, connection);
        command.Parameters.Add(GovernedOids());
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string written
            ? SystemError.Refused(
                $"the statement also writes {written} (through a cascading foreign key, a trigger or a function), which is not a table this system governs: Warden could neither show nor undo that, so it does not run")
            : null;
    }

    /// <summary>
    /// Run right after the agent's statement. First the triggers deferred to the commit fire now
    /// (a deferred constraint trigger would otherwise write after Warden looked: never in the
    /// preview, which does not commit, and unseen at apply). Then the search path: the statement
    /// may have set the transaction's (set_config in a CTE) so that a function or operator of
    /// another schema answers for PostgreSQL's own in what Warden asks next (the digests, the
    /// counts); this puts them back.
    /// </summary>
    private const string AfterStatementSql = "SET CONSTRAINTS ALL IMMEDIATE; SET LOCAL search_path = pg_catalog, pg_temp";

    /// <summary>Starts a transaction's capture and its time limits.</summary>
    private string PrepareSql(Capture.Mode mode, bool drawn) =>
        Capture.BeginSql(mode, drawn, _options.SampleSize) +
        $"SET LOCAL statement_timeout = {(int)_options.StatementTimeout.TotalMilliseconds}; SET LOCAL lock_timeout = {(int)_options.LockTimeout.TotalMilliseconds};";

    private void Prepare(NpgsqlConnection connection, Capture.Mode mode, bool drawn)
    {
        using var command = new NpgsqlCommand(PrepareSql(mode, drawn), connection);
        command.ExecuteNonQuery();
    }

    private async Task PrepareAsync(NpgsqlConnection connection, Capture.Mode mode, bool drawn, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(PrepareSql(mode, drawn), connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The plan of a change from what its trial run captured, summed up by the server: counts and
    /// digests per table and kind of change, per column the rows changing it with their commonest
    /// values before and the one value after, and the first few rows whole as a sample.
    /// </summary>
    private SystemResult<Plan> PlanFromCapture(NpgsqlConnection connection, ToolCall call, ToolDefinition tool, Statement statement, List<CapturedGroup> groups)
    {
        var deleted = groups.Where(g => g.Operation == "DELETE").Sum(g => g.Rows);
        var records = groups.Sum(g => g.Rows);
        var definition = tool with { Kind = deleted > 0 ? ActionKind.Delete : ActionKind.Write };
        var tallies = ColumnTallies(connection);
        if (tallies.Keys.FirstOrDefault(k => _tables.ByQualifiedName(k.Table)!.Column(k.Column) is null) is ({ } unknownTable, { } unknown))
        {
            return SystemError.Refused(
                $"the statement changes the column {_tables.ByQualifiedName(unknownTable)!.Declared}.{unknown}, which was added after Warden read the table, so Warden could neither show nor restore it: restart the gateway to read the table again");
        }

        var fieldsChanged = new List<string>();
        var classes = new List<string>();
        var changes = new List<FieldChange>();
        foreach (var table in groups.Select(g => _tables.ByQualifiedName(g.Table)!).Distinct())
        {
            foreach (var column in table.Columns.Where(c => tallies.ContainsKey((table.Qualified, c.Name))))
            {
                fieldsChanged.Add(FieldName(table, column.Name));
                classes.AddRange(column.Classes);
                changes.Add(tallies[(table.Qualified, column.Name)].Change(FieldName(table, column.Name)));
            }
        }

        var sample = new List<RecordChange>();
        using (var command = new NpgsqlCommand(Capture.SampleSql, connection))
        {
            command.Parameters.Add(new() { Value = (long)_options.SampleSize });
            command.Parameters.Add(new() { Value = _governedNames });
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var table = _tables.ByQualifiedName(reader.GetString(0))!;
                sample.Add(new RecordChange($"{table.Declared}:{reader.GetString(4)}",
                    Values(reader.IsDBNull(2) ? null : reader.GetString(2)) ?? new Dictionary<string, string?>(),
                    Values(reader.IsDBNull(3) ? null : reader.GetString(3)) ?? new Dictionary<string, string?>()));
            }
        }

        var counts = string.Join(", ", groups.Select(g => $"{Verb(g.Operation)} {g.Rows:N0} row(s) of {_tables.ByQualifiedName(g.Table)!.Declared}"));
        var summary = $"{tool.Name}: a {statement.KindName}{(statement.Kind is StatementKind.Update or StatementKind.Delete && !statement.Where ? " of every row" : "")} that would {(records == 0 ? "change no rows" : counts)}.";
        return new SqlPlan(call, definition, Hash(call, definition, groups), Hash(call, definition, groups, affectedOnly: true), records, [.. sample.Select(r => r.Key)], [], fieldsChanged,
            classes.Distinct(StringComparer.Ordinal).ToList(), changes, sample, summary, deleted > 0 ? deleted : null, statement);
    }

    /// <summary>
    /// What the trigger's firings counted per column the captured rows change (table and column
    /// as the trigger named them, so a column the catalogue read at open does not know shows too):
    /// summed over the firings, one unless the rows came in several statements (a cascade).
    /// </summary>
    private Dictionary<(string Table, string Column), ColumnTally> ColumnTallies(NpgsqlConnection connection)
    {
        var tallies = new Dictionary<(string Table, string Column), ColumnTally>();
        using var command = new NpgsqlCommand(Capture.ColumnsSql, connection);
        command.Parameters.Add(new() { Value = _governedNames });
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var key = (reader.GetString(0), reader.GetString(2));
            var tally = tallies.TryGetValue(key, out var found) ? found : tallies[key] = new ColumnTally();
            tally.Add(reader.GetString(1) == "column", reader.GetInt64(3), reader.IsDBNull(4) ? null : reader.GetString(4));
        }

        return tallies;
    }

    /// <summary>One column's changes as the firings counted them: the rows changing it, each firing's one value after, and the commonest values before.</summary>
    private sealed class ColumnTally
    {
        private readonly List<string?> _after = [];
        private readonly Dictionary<string, long> _before = new(StringComparer.Ordinal);
        private long _rows;
        private long _nulls;

        public void Add(bool column, long count, string? value)
        {
            if (column)
            {
                _rows += count;
                _after.Add(value);
            }
            else if (value is null)
            {
                _nulls += count;
            }
            else
            {
                _before[value] = _before.GetValueOrDefault(value) + count;
            }
        }

        /// <summary>The five commonest values before (nulls first among equals), and the value after if every firing's changed rows all got the same one.</summary>
        public FieldChange Change(string field)
        {
            var commonest = _before.Select(p => (Value: (string?)p.Key, Count: p.Value))
                .Concat(_nulls > 0 ? [(null, _nulls)] : [])
                .OrderByDescending(v => v.Count).ThenBy(v => v.Value is not null).ThenBy(v => v.Value, StringComparer.Ordinal).Take(5)
                .Select(v => new ValueCount(v.Value, (int)v.Count)).ToList();
            var one = _after.All(v => v is not null && v == _after[0]) ? _after[0] : null;
            return new FieldChange(field, (int)_rows, commonest, one);
        }
    }

    private static string Verb(string operation) => operation switch { "INSERT" => "insert", "UPDATE" => "update", _ => "delete" };

    /// <summary>A row's values as text (strings as they are, other values as their JSON).</summary>
    private static Dictionary<string, string?>? Values(string? json)
    {
        if (json is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(json, RowJson.Images);
        return document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.String => p.Value.GetString(),
            _ => p.Value.GetRawText(),
        }, StringComparer.Ordinal);
    }

    /// <summary>
    /// sha256 over the canonical call (tool and definition, arguments, agent, environment) and the
    /// rows it changes, as the server summed them up per table and kind of change
    /// (<see cref="FiringDigest.Combine"/>): each row's key, before-image and after-image, so an
    /// approval binds to the values written as well as to the rows (a statement whose new values
    /// depend on anything but those rows cannot show one thing and write another). The affected
    /// hash covers tables, kinds of change and keys only.
    /// </summary>
    private string Hash(ToolCall call, ToolDefinition tool, IReadOnlyList<CapturedGroup> groups, bool affectedOnly = false)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var header = JsonSerializer.SerializeToElement(new Dictionary<string, object?>
        {
            ["system"] = _options.Id,
            ["tool"] = tool.Name,
            ["kind"] = tool.Kind.ToString(),
            ["reversibility"] = tool.Reversibility.ToString(),
            ["arguments"] = affectedOnly ? null : call.Arguments,
            ["agent"] = affectedOnly ? null : call.Agent,
            ["environment"] = call.Environment,
        });
        hash.AppendData(CanonicalJson.Bytes(header));
        foreach (var group in groups)
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"\n{group.Table}\0{group.Operation}\0{group.Rows}\0{(affectedOnly ? group.KeysDigest : group.Digest)}"));
        }

        return "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <inheritdoc/>
    public async Task<SystemResult<AppliedAction>> ApplyAsync(Plan plan, ApplyControl? control = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan is not SqlPlan own || plan.Tool.System != _options.Id)
        {
            return SystemError.Refused("this plan was not made by this database");
        }

        try
        {
            if (own.Tool.Name == _describe.Name)
            {
                return new AppliedAction("", own.Tool.Name, _tables.Tables.Count, true, Describe());
            }

            var sql = own.Call.Arguments.GetProperty("sql").GetString()!;
            var parameters = Parameters(own.Call.Arguments);
            return own.Tool.Name == _query.Name
                ? await QueryAsync(own, sql, parameters, cancellationToken).ConfigureAwait(false)
                : await ExecuteAsync(own, sql, parameters, control, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e)
        {
            return RefusedWhileRunning(own.Call.Arguments.GetProperty("sql").GetString()!, e, own.Statement);
        }
        catch (NpgsqlException e)
        {
            return SystemError.Refused($"the database {_options.Id} cannot be reached: {e.Message}");
        }
    }

    private JsonElement Describe()
    {
        var tables = _tables.Tables.Select(t => new
        {
            name = t.Declared,
            key = t.Key,
            columns = t.Columns.Select(c => new { name = c.Name, type = c.Type, nullable = !c.NotNull, classes = c.Classes }),
        });
        return JsonSerializer.SerializeToElement(new { system = _options.Id, tables });
    }

    private async Task<SystemResult<AppliedAction>> QueryAsync(SqlPlan plan, string sql, IReadOnlyList<string> parameters, CancellationToken cancellationToken)
    {
        await using var connection = await _source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // One round trip: the transaction's limits, then the statement as its own command.
        await using var batch = StatementClassifier.Batch(connection, sql, parameters);
        batch.BatchCommands.Insert(0, new NpgsqlBatchCommand($"SET LOCAL statement_timeout = {(int)_options.StatementTimeout.TotalMilliseconds}"));
        batch.BatchCommands.Insert(0, new NpgsqlBatchCommand("SET TRANSACTION READ ONLY"));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var (output, labels, sources, rows) = await RowJson.ReadAsync(reader, _options.RowCap, cancellationToken).ConfigureAwait(false);
        await reader.DisposeAsync().ConfigureAwait(false);
        await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);

        // A column straight from a governed column is that column, whatever it is called; one
        // computed from the row may carry any column the query read.
        var fields = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        for (var i = 0; i < labels.Count; i++)
        {
            var (oid, number) = sources[i];
            if (oid != 0 && _tables.ByOid(oid) is { } table && table.Columns.FirstOrDefault(c => c.Number == number) is { } column)
            {
                // Named even when the label is the column's own: the policy may class fields this
                // system's catalogue does not list (declared before the database was reached).
                fields[labels[i]] = [FieldName(table, column.Name)];
            }
            else if (plan.FieldsRead.Count > 0)
            {
                fields[labels[i]] = plan.FieldsRead;
            }
        }

        return new AppliedAction("", plan.Tool.Name, rows, true, output) { OutputFields = fields.Count == 0 ? null : fields };
    }

    private async Task<SystemResult<AppliedAction>> ExecuteAsync(SqlPlan plan, string sql, IReadOnlyList<string> parameters, ApplyControl? control, CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow();
        var id = "sql_" + now.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture) + "_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        await using var connection = await _source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await PrepareAsync(connection, plan.Statement!.ChangesRows ? Capture.Mode.Apply : Capture.Mode.Rows, plan.Statement.DrawsSequence, cancellationToken).ConfigureAwait(false);
        var counted = await ChangedRowsAsync(connection, cancellationToken).ConfigureAwait(false);
        long affected;
        await using (var batch = StatementClassifier.Batch(connection, sql, parameters))
        {
            // The kill switch reaches a statement while it runs: asked every 100 ms, and the
            // server is told to cancel it; the transaction then rolls back and nothing is written.
            string? stoppedBy = null;
            using var watching = new CancellationTokenSource();
            var watch = control?.Stop is { } stop ? WatchAsync(stop, batch, reason => stoppedBy = reason, watching.Token) : Task.CompletedTask;
            try
            {
                affected = await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (stoppedBy is not null && (e is OperationCanceledException || e is PostgresException { SqlState: PostgresErrorCodes.QueryCanceled }))
            {
                await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                return SystemError.Stopped($"stopped while it ran ({stoppedBy}): nothing was changed");
            }
            finally
            {
                await watching.CancelAsync().ConfigureAwait(false);
                await watch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        await using (var reset = new NpgsqlCommand(AfterStatementSql, connection))
        {
            await reset.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        JournalImages? read = null;
        if (plan.Statement!.ChangesRows)
        {
            var (digested, firings) = await Capture.CapturedAsync(connection, _governedNames, cancellationToken).ConfigureAwait(false);
            var captured = digested.Sum(g => g.Rows) + firings.Sum(f => f.Rows);
            if (captured > _options.MaxChangedRows)
            {
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                return SystemError.StalePlan($"the statement now changes more than {_options.MaxChangedRows:N0} rows ({plan.Records:N0} when it was planned): nothing was changed");
            }

            if (await UngovernedWriteAsync(connection, cancellationToken).ConfigureAwait(false) is { } refusal)
            {
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                return refusal;
            }

            var changed = await ChangedRowsAsync(connection, cancellationToken).ConfigureAwait(false) - counted;
            affected = Math.Max(affected, changed.Total);
            bool Stale(List<CapturedGroup> groups) => captured < affected || Unseen(changed, groups) || Hash(plan.Call, plan.Tool, groups) != plan.Hash;
            var stale = SystemError.StalePlan(
                $"the statement now changes {captured:N0} row(s) ({plan.Records:N0} when it was planned), or the rows hold other values: nothing was changed; plan it again");

            // Firings whose rows Warden digests itself are digested from the rows read for the journal; the others are judged before reading.
            if (firings.Count == 0 && Stale(FiringDigest.Combine(digested)))
            {
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                return stale;
            }

            // The rows hashed are the rows journaled: read in the same transaction, nothing between.
            var copied = new Dictionary<long, List<CopiedRow>>();
            read = await Capture.ImagesAsync(connection, _governedNames, _options.MaxJournaledBytes, cancellationToken, firings.Count > 0 ? copied : null).ConfigureAwait(false);
            if (read is null)
            {
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                return SystemError.Refused(
                    $"the rows the statement changes are more than {_options.MaxJournaledBytes:N0} bytes of images, more than Warden journals for one action: nothing was changed; split it (by key ranges, for instance)");
            }

            // (Each firing's rows read are the rows it copied, or the capture is not what Warden thinks: stale, never digested short.)
            if (firings.Count > 0 && (firings.Any(f => (copied.GetValueOrDefault(f.Number)?.Count ?? 0) != f.Rows)
                || Stale(await Capture.GroupsAsync(connection, digested, firings, copied, cancellationToken).ConfigureAwait(false))))
            {
                read.Dispose();
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                return stale;
            }
        }

        using var images = read ?? new JournalImages();
        if (control?.Stop?.Invoke() is { } reason)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return SystemError.Stopped($"stopped before it committed ({reason}): nothing was changed");
        }

        long txid;
        await using (var current = new NpgsqlCommand("SELECT txid_current()", connection))
        {
            txid = (long)(await current.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        var reversible = plan.Tool.Reversibility != Reversibility.Irreversible;
        _journal.Begin(id, plan.Call.Agent, plan.Tool.Name, plan.Statement.KindName, sql, plan.Hash, txid, now, reversible, images);
        try
        {
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await SettleAsync(id, txid, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        _journal.Settle(id);
        var output = JsonSerializer.SerializeToElement(new { action_id = id, statement = plan.Statement.KindName, rows = plan.Statement.ChangesRows ? images.Rows : affected, reversible });
        return new AppliedAction(id, plan.Tool.Name, (int)images.Rows, reversible, output) { Done = (int)images.Rows };
    }

    private static async Task WatchAsync(Func<string?> stop, NpgsqlBatch batch, Action<string> stopped, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (!cancellationToken.IsCancellationRequested && stop() is { } reason)
            {
                stopped(reason);
                batch.Cancel();
                return;
            }
        }
    }

    /// <summary>Actions a crash left pending: kept when the database committed their transaction, dropped otherwise.</summary>
    private async Task SettlePendingAsync(CancellationToken cancellationToken)
    {
        foreach (var (id, txid) in _journal.Pending())
        {
            await SettleAsync(id, txid, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task SettleAsync(string id, long txid, CancellationToken cancellationToken)
    {
        await using var connection = await _source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("SELECT txid_status($1)", connection);
        command.Parameters.Add(new() { Value = txid });
        var status = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
        if (status == "committed")
        {
            _journal.Settle(id);
        }
        else if (status is "aborted" or null)
        {
            _journal.Discard(id);
        }

        // "in progress": the commit is still under way; settled at the next start.
    }

    /// <summary>What undoing would restore, and which rows changed since (conflicts). Never writes.</summary>
    public SystemResult<RollbackPlan> PlanRollback(RollbackRequest request)
    {
        try
        {
            return new SqlRollback(this, _journal, _source, _tables).Plan(request);
        }
        catch (NpgsqlException e)
        {
            return NotUndone(e);
        }
        catch (RollbackRefusedException e)
        {
            return NotUndone(e.Message);
        }
    }

    /// <inheritdoc/>
    public async Task<SystemResult<RollbackResult>> RollBackAsync(RollbackRequest request, ConflictResolution resolution, string actor, CancellationToken cancellationToken = default)
    {
        try
        {
            return await new SqlRollback(this, _journal, _source, _tables).RunAsync(request, resolution, actor, cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            return NotUndone(e);
        }
        catch (RollbackRefusedException e)
        {
            return NotUndone(e.Message);
        }
    }

    /// <summary>
    /// A rollback the database would not finish (a row another session holds past the lock
    /// timeout, a key inserted again between the check and the restore, the database gone): its
    /// transaction rolled back, nothing restored, and the reason.
    /// </summary>
    private SystemError NotUndone(NpgsqlException error) => NotUndone($"{(error is PostgresException p ? p.MessageText : error.Message)}; try again");

    private SystemError NotUndone(string why) => SystemError.Refused($"the rollback on {_options.Id} did not finish, and nothing was restored: {why}");

    internal string NewActionId() =>
        "sql_" + _clock.GetUtcNow().ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture) + "_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    internal DateTimeOffset Now => _clock.GetUtcNow();

    internal PostgresOptions Options => _options;

    /// <summary>The governed tables as the capture names them (schema.table).</summary>
    internal string[] GovernedNames => _governedNames;

    /// <inheritdoc/>
    public string? AgentOf(string actionId) => _journal.Action(actionId)?.Agent;

    /// <inheritdoc/>
    public string? ActionWithPlan(string agent, string planHash) => _journal.Find("agent = @agent AND plan_hash = @hash", ("@agent", agent), ("@hash", planHash));

    /// <inheritdoc/>
    public string? ActionSince(string agent, string tool, string planHash, DateTimeOffset since) =>
        _journal.Find("agent = @agent AND tool = @tool AND plan_hash = @hash AND applied_at >= @since",
            ("@agent", agent), ("@tool", tool), ("@hash", planHash), ("@since", since.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture)));

    /// <inheritdoc/>
    public Task<IReadOnlyList<InterruptedSend>> StopInterruptedAsync(DateTimeOffset? begunBefore = null, CancellationToken cancellationToken = default) => Task.FromResult<IReadOnlyList<InterruptedSend>>([]);

    /// <summary>A plan of this database: the statement as classified, kept for applying it, and its facts for conditions.</summary>
    private sealed class SqlPlan : Plan
    {
        public SqlPlan(ToolCall call, ToolDefinition tool, string hash, string affectedHash, long records, IReadOnlyList<string> sampleKeys,
            IReadOnlyList<string> fieldsRead, IReadOnlyList<string> fieldsChanged, IReadOnlyList<string> classes, IReadOnlyList<FieldChange> changes,
            IReadOnlyList<RecordChange> sample, string summary, long? deleted, Statement? statement)
            : base(call, tool, hash, affectedHash, records, sampleKeys, fieldsRead, fieldsChanged, classes, changes, sample, [], 0, [], summary, deleted, null, null)
        {
            Statement = statement;
            if (statement is not null)
            {
                Facts = Facts with { Statement = new StatementFacts(statement.KindName, statement.Tables, statement.Where) };
            }
        }

        public Statement? Statement { get; }
    }
}
