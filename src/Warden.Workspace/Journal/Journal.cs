using System.Text.Json;
using System.Data.Common;
using Warden.Workspace.Tools;

namespace Warden.Workspace.Journal;

/// <summary>
/// Writes before- and after-images of every change an action makes, in the same transaction as
/// the change, so that a committed change always has its journal and a failed one has neither.
/// Images are JSON objects of column values; record keys join composite keys with '|'.
/// </summary>
internal sealed class ActionJournal : IDisposable
{
    private readonly DbConnection _connection;
    private readonly DbTransaction _transaction;
    private readonly DbCommand _insert;
    private long _seq;

    /// <param name="connection">The write connection.</param>
    /// <param name="transaction">The transaction the change and its journal share.</param>
    /// <param name="actionId">The action the entries belong to.</param>
    /// <param name="entries">Entries the action already has: an action that goes out in batches, one transaction each, numbers on.</param>
    public ActionJournal(DbConnection connection, DbTransaction transaction, string actionId, long entries = 0)
    {
        _connection = connection;
        _transaction = transaction;
        Sql = WorkspaceSql.Of(connection);
        ActionId = actionId;
        _seq = entries;
        _insert = connection.CreateCommand();
        _insert.Transaction = transaction;
        _insert.CommandText = "INSERT INTO journal (action_id, seq, table_name, record_key, operation, before, after, columns, version) VALUES (@a, @s, @t, @k, @o, @b, @f, @c, @v)";
        foreach (var name in new[] { "@a", "@s", "@t", "@k", "@o", "@b", "@f", "@c", "@v" })
        {
            _insert.Bind(name, null);
        }

        _insert.Parameters["@a"].Value = actionId;
    }

    public string ActionId { get; }

    /// <summary>
    /// The sequence number of the next action, for its row in actions, taken in the write
    /// transaction that records it (one writer at a time): actions are ordered by it, never by
    /// their ids, whose random part sorts actions of one millisecond at random.
    /// </summary>
    public const string NextAction = "(SELECT coalesce(max(seq), 0) + 1 FROM actions)";

    public DbConnection Connection => _connection;

    /// <summary>Where the engine's SQL differs.</summary>
    public WorkspaceSql Sql { get; }

    public DbTransaction Transaction => _transaction;

    public long Entries => _seq;

    public void Record(TableInfo table, string key, string operation, string? before, string? after)
    {
        _insert.Parameters["@s"].Value = ++_seq;
        _insert.Parameters["@t"].Value = table.Name;
        _insert.Parameters["@k"].Value = key;
        _insert.Parameters["@o"].Value = operation;
        _insert.Parameters["@b"].Value = (object?)before ?? DBNull.Value;
        _insert.Parameters["@f"].Value = (object?)after ?? DBNull.Value;
        // Read while the document is open, and returned with it: nothing holds its pooled buffer after this.
        using var image = after is null ? null : JsonDocument.Parse(after);
        _insert.Parameters["@c"].Value = operation == "update" && image is not null
            ? string.Join(',', image.RootElement.EnumerateObject().Select(p => p.Name).Where(n => n != "version"))
            : DBNull.Value;
        _insert.Parameters["@v"].Value = image is not null && image.RootElement.TryGetProperty("version", out var version) ? version.GetInt64() : DBNull.Value;
        _insert.ExecuteNonQuery();
    }

    /// <summary>
    /// Journals and applies one update to every contact the predicate selects (in id order).
    /// For a few records; a large selection is gathered into a table of rowids first and passed
    /// to <see cref="UpdateContactRows"/>. Returns the number of contacts changed.
    /// </summary>
    public long UpdateContacts(string predicate, IReadOnlyList<SqlArg> parameters, IReadOnlyDictionary<string, object?> set, string now)
    {
        using (var gather = Command(Sql.GatherContacts("updating", predicate), parameters, []))
        {
            gather.ExecuteNonQuery();
        }

        var updated = UpdateContactRows(Sql.Temp("updating"), set, now);
        Execute($"DROP TABLE {Sql.Temp("updating")}", []);
        return updated;
    }

    /// <summary>
    /// Journals and applies one update to the contacts a temporary table finds (column <c>rid</c>, as
    /// <see cref="WorkspaceSql.GatherContacts"/> makes it), numbering the journal entries by its order. Two statements: the
    /// images are built by SQL (json_object), so a hundred thousand records never pass through
    /// .NET objects. Returns the number of contacts changed.
    /// </summary>
    public long UpdateContactRows(string rowids, IReadOnlyDictionary<string, object?> set, string now)
    {
        var columns = set.Keys.ToList();
        var beforeImage = Sql.JsonObject(columns.Select(c => (c, $"c.\"{c}\"")).Append(("version", "c.version")));
        var afterImage = Sql.JsonObject(columns.Select((c, i) => (c, Sql.Typed($"@v{i}", "contacts", c))).Append(("version", "c.version + 1")));
        using var journal = Command($"""
            INSERT INTO journal (action_id, seq, table_name, record_key, operation, before, after, columns, version)
            SELECT @action, @base + r.{Sql.Ordinal}, 'contacts', c.id, 'update', {beforeImage}, {afterImage}, @columns, c.version + 1
            FROM {rowids} r JOIN contacts c ON c.{Sql.ContactRow} = r.rid
            """, [], set.Values);
        journal.Bind("@columns", string.Join(',', columns));
        journal.Bind("@action", ActionId);
        journal.Bind("@base", _seq);
        var journaled = journal.ExecuteNonQuery();

        // One statement, not batches: an update split in two made the rollback of it a third
        // slower (measured in bench/README.md). A stop while it runs comes through SQLite's
        // progress handler instead (MarketingWorkspace.Apply).
        using var update = Command($"""
            UPDATE contacts SET {string.Join(", ", columns.Select((c, i) => $"\"{c}\" = @v{i}"))}, updated_at = @now, version = version + 1
            WHERE {Sql.ContactRow} IN (SELECT rid FROM {rowids})
            """, [], set.Values);
        update.Bind("@now", now);
        var updated = update.ExecuteNonQuery();
        if (updated != journaled)
        {
            // Both statements run in one write transaction over the same rows; a mismatch is a bug.
            throw new InvalidOperationException($"journaled {journaled} contacts but updated {updated}");
        }

        using var span = Command($"SELECT coalesce(max({Sql.Ordinal}), 0) FROM {rowids}", [], []);
        _seq += Convert.ToInt64(span.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        return updated;
    }

    /// <summary>
    /// Journals rows chosen by a query, in key order, with images built by SQL: <paramref name="select"/>
    /// must yield the columns record_key, before and after (JSON text or NULL), and may yield the
    /// changed columns and the version written when <paramref name="updates"/> says so.
    /// Returns the number journaled.
    /// </summary>
    public long JournalRows(TableInfo table, string operation, string select, IEnumerable<SqlArg> parameters, bool updates = false) =>
        Journal(table, operation, "row_number() OVER (ORDER BY record_key)", select, parameters, updates);

    /// <summary>
    /// Journals rows chosen by a query that numbers them itself: <paramref name="select"/> yields
    /// an <c>ordinal</c> column, unique and between 1 and <paramref name="span"/> (a temporary
    /// table's rowid), besides those of <see cref="JournalRows"/>; numbering a hundred thousand rows
    /// with a window function would sort them again. The journal reserves the whole span.
    /// </summary>
    public long JournalNumberedRows(TableInfo table, string operation, string select, IEnumerable<SqlArg> parameters, long span, bool updates = false)
    {
        var journaled = Journal(table, operation, "ordinal", select, parameters, updates);
        _seq += span - journaled;
        return journaled;
    }

    private long Journal(TableInfo table, string operation, string ordinal, string select, IEnumerable<SqlArg> parameters, bool updates)
    {
        var extra = updates ? "columns, version" : "NULL, NULL";
        using var command = Command($"""
            INSERT INTO journal (action_id, seq, table_name, record_key, operation, before, after, columns, version)
            SELECT @action, @base + {ordinal}, @table, record_key, @operation, before, after, {extra}
            FROM ({select}) AS journaled
            """, [.. parameters], []);
        command.Bind("@action", ActionId);
        command.Bind("@base", _seq);
        command.Bind("@table", table.Name);
        command.Bind("@operation", operation);
        var journaled = command.ExecuteNonQuery();
        _seq += journaled;
        return journaled;
    }

    /// <summary>Runs a statement in the action's transaction.</summary>
    public long Execute(string sql, IEnumerable<SqlArg> parameters)
    {
        using var command = Command(sql, [.. parameters], []);
        return command.ExecuteNonQuery();
    }

    private DbCommand Command(string sql, IReadOnlyList<SqlArg> parameters, IEnumerable<object?> values)
    {
        var command = ToolContext.Command(_connection, _transaction, sql, parameters);
        var i = 0;
        foreach (var value in values)
        {
            command.Bind($"@v{i++}", value ?? DBNull.Value);
        }

        return command;
    }

    /// <summary>A row as a JSON object of its columns, read from the open reader.</summary>
    public static string Image(DbDataReader reader, IReadOnlyList<string> columns)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var column in columns)
            {
                var ordinal = reader.GetOrdinal(column);
                writer.WritePropertyName(column);
                WriteValue(writer, reader.IsDBNull(ordinal) ? null : reader.GetValue(ordinal));
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static string Image(IReadOnlyDictionary<string, object?> values)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (column, value) in values)
            {
                writer.WritePropertyName(column);
                WriteValue(writer, value);
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteValue(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null or DBNull:
                writer.WriteNullValue();
                break;
            case long l:
                writer.WriteNumberValue(l);
                break;
            case int i:
                writer.WriteNumberValue(i);
                break;
            case double d:
                writer.WriteNumberValue(d);
                break;
            default:
                writer.WriteStringValue(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
        }
    }

    public void Dispose() => _insert.Dispose();
}
