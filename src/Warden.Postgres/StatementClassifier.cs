using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Warden.Core;

namespace Warden.Postgres;

/// <summary>
/// Classifies a statement with PostgreSQL's own parser and planner, never by matching its text.
/// <list type="number">
/// <item>One statement only: the text goes to the server unsplit, and the server refuses more
/// than one command in a prepared statement.</item>
/// <item><c>PREPARE</c> accepts exactly the statements with a plan (SELECT, VALUES, INSERT,
/// UPDATE, DELETE, MERGE); its <c>EXPLAIN (VERBOSE)</c> names every relation read or written and
/// every modification, with the conditions that restrict them.</item>
/// <item>Anything else is refused by <c>PREPARE</c> with a syntax error at its first word, which the
/// server locates; that word (and the next one) gives the kind. A schema or permission change is
/// then tried in a transaction that is always rolled back, and the relations it locked are the
/// tables it touches.</item>
/// </list>
/// A statement that fits none of these is the most dangerous kind; one that does not parse is an
/// error that says where.
/// </summary>
internal sealed class StatementClassifier(NpgsqlDataSource source, TableCatalogue tables, PostgresOptions options)
{
    private const string Prepared = "warden_classify";
    private const string PreparePrefix = "PREPARE " + Prepared + " AS ";

    private static readonly HashSet<string> SchemaWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "DROP", "TRUNCATE", "ALTER", "CREATE", "COMMENT", "REINDEX", "CLUSTER", "REFRESH", "SECURITY", "IMPORT",
    };

    private static readonly HashSet<string> RoleWords = new(StringComparer.OrdinalIgnoreCase) { "ROLE", "USER", "GROUP", "DEFAULT", "OWNED" };

    private static readonly HashSet<string> OtherWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "COPY", "DO", "CALL", "SET", "RESET", "SHOW", "LOCK", "LISTEN", "NOTIFY", "UNLISTEN", "DISCARD", "LOAD", "CHECKPOINT",
        "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE", "PREPARE", "EXECUTE", "DEALLOCATE",
        "DECLARE", "FETCH", "MOVE", "CLOSE", "EXPLAIN", "ANALYZE", "ANALYSE", "VACUUM",
    };

    /// <summary>The statement's kind, tables and reach; an error when it is empty, too long, does not parse or names a table that is not governed.</summary>
    public SystemResult<Statement> Classify(string sql, IReadOnlyList<string> parameters)
    {
        if (string.IsNullOrWhiteSpace(sql))
        {
            return SystemError.InvalidArguments("'sql' is empty: give one SQL statement");
        }

        if (sql.Length > options.MaxStatementLength)
        {
            return SystemError.InvalidArguments($"'sql' is {sql.Length:N0} characters; the limit is {options.MaxStatementLength:N0}");
        }

        if (sql.Contains('\0', StringComparison.Ordinal))
        {
            return SystemError.InvalidArguments("'sql' contains a NUL character, which PostgreSQL cannot take");
        }

        for (var i = 0; i < parameters.Count; i++)
        {
            if (parameters[i].Contains('\0', StringComparison.Ordinal))
            {
                return SystemError.InvalidArguments($"'params' item {i + 1} contains a NUL character, which PostgreSQL cannot take");
            }
        }

        using var connection = source.OpenConnection();

        // Parsing takes a lock on every table named: a table another session holds locked must
        // not keep the call (and its thread) waiting for ever. Planning a pathological statement
        // is bounded too, though never tighter than 10 s: classifying is Warden's own work.
        var planning = Math.Max(10_000, (int)options.StatementTimeout.TotalMilliseconds);
        string[] types;
        try
        {
            // One round trip: the limits, PREPARE, and the parameter types PostgreSQL found.
            using var batch = new NpgsqlBatch(connection);
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"SET lock_timeout = {(int)options.LockTimeout.TotalMilliseconds}"));
            // The barrier keeps the limits when PREPARE fails: a schema change's trial run needs them.
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"SET statement_timeout = {planning}") { AppendErrorBarrier = true });
            batch.BatchCommands.Add(new NpgsqlBatchCommand(PreparePrefix + sql));
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = '{Prepared}'"));
            types = (string[])batch.ExecuteScalar()!;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.SyntaxError && e.MessageText.StartsWith("cannot insert multiple commands", StringComparison.Ordinal))
        {
            return new Statement(StatementKind.Multiple, [], false, 0);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.SyntaxError && e.Position > PreparePrefix.Length)
        {
            return Unplanned(connection, sql, parameters, e.Position - 1 - PreparePrefix.Length, e);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            return NotGoverned(e);
        }
        catch (PostgresException e)
        {
            return DoesNotParse(sql, e, PreparePrefix.Length);
        }

        var deallocated = false;
        try
        {
            if (parameters.Count != types.Length)
            {
                return SystemError.InvalidArguments($"the statement takes {types.Length} parameter(s) ($1, $2, ...); 'params' gives {parameters.Count}");
            }

            if (Calls(connection, sql, types, out var drawsSequence) is { } refusal)
            {
                return refusal;
            }

            string plan;
            try
            {
                // One round trip: the plan, and the prepared statement gone.
                using var batch = Batch(connection, "EXPLAIN (VERBOSE, FORMAT JSON) " + sql, parameters);
                batch.BatchCommands.Add(new NpgsqlBatchCommand("DEALLOCATE " + Prepared));
                plan = (string)batch.ExecuteScalar()!;
                deallocated = true;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
            {
                return NotGoverned(e);
            }
            catch (PostgresException e)
            {
                return DoesNotParse(sql, e, "EXPLAIN (VERBOSE, FORMAT JSON) ".Length);
            }

            var classified = FromPlan(plan);
            return classified.Succeeded ? classified.Value! with { DrawsSequence = drawsSequence } : classified;
        }
        finally
        {
            // A connection the client broke (a command past its timeout) holds no prepared statement
            // any more, and a DEALLOCATE on it would hide why the call failed behind "not open".
            if (!deallocated && connection.FullState == System.Data.ConnectionState.Open)
            {
                Execute(connection, "DEALLOCATE " + Prepared, []);
            }
        }
    }

    /// <summary>
    /// Volatile functions of PostgreSQL's own that act on nothing but the value they return: any
    /// other volatile one acts outside the rows the capture sees, or outside the transaction
    /// (setval, advisory locks, pg_terminate_backend, set_config, large objects, notifications).
    /// nextval moves a sequence on, as every INSERT with a serial key does.
    /// </summary>
    private static readonly HashSet<string> HarmlessVolatile = new(StringComparer.Ordinal)
    {
        "random", "clock_timestamp", "timeofday", "gen_random_uuid", "nextval", "currval", "lastval",
    };

    /// <summary>Functions that run SQL of their own, so the plan shows none of the tables or columns they read.</summary>
    private static readonly HashSet<string> RunsSql = new(StringComparer.Ordinal)
    {
        "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema", "cursor_to_xml", "cursor_to_xmlschema",
        "table_to_xml", "table_to_xmlschema", "table_to_xml_and_xmlschema", "schema_to_xml", "schema_to_xmlschema", "schema_to_xml_and_xmlschema",
        "database_to_xml", "database_to_xmlschema", "database_to_xml_and_xmlschema", "ts_stat", "ts_rewrite",
    };

    /// <summary>Functions that show what other sessions run: Warden's sessions share one role, so these would show other agents' statements and the values in them.</summary>
    private static readonly HashSet<string> OtherSessions = new(StringComparer.Ordinal)
    {
        "pg_stat_get_activity", "pg_stat_get_backend_activity", "pg_stat_get_backend_idset", "pg_stat_get_backend_pid", "pg_stat_get_backend_client_addr",
        "pg_stat_get_backend_userid", "pg_stat_get_backend_wait_event", "pg_stat_get_backend_wait_event_type", "pg_stat_get_backend_xact_start",
        "pg_stat_get_backend_activity_start", "pg_stat_get_progress_info", "pg_lock_status", "pg_blocking_pids",
    };

    private static readonly System.Text.RegularExpressions.Regex FunctionIds = new(@":(?:funcid|opfuncid|aggfnoid|winfnoid) (\d+)", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    private static readonly System.Text.RegularExpressions.Regex OperatorIds = new(@":(?:opno|eqop|sortop) (\d+)|:opnos \(o ([\d ]+)\)", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>
    /// Refuses a plannable statement that calls a function other than PostgreSQL's own
    /// side-effect-free ones. The plan shows relations, not calls, and a function may write where
    /// the capture does not look (a SECURITY DEFINER helper, dblink), act outside the transaction
    /// (setval runs even in a preview that is rolled back), or read tables the plan never names
    /// (query_to_xml). The functions are those PostgreSQL's parser resolved: the statement is made
    /// the body of a SQL function, in a transaction rolled back, and the function ids of its
    /// stored parse tree are looked up in the catalog. Null when every call is harmless;
    /// <paramref name="drawsSequence"/> says whether one of them is nextval.
    /// </summary>
    private static SystemError? Calls(NpgsqlConnection connection, string sql, string[] types, out bool drawsSequence)
    {
        drawsSequence = false;
        string body;
        using (var transaction = connection.BeginTransaction())
        {
            try
            {
                // The text is one statement (PREPARE said so) and the whole is one command, which the
                // server alone parses: the statement cannot end the body early. The line break ends a
                // trailing -- comment.
                using var asFunction = new NpgsqlBatch(connection);
                asFunction.BatchCommands.Add(new NpgsqlBatchCommand($"CREATE FUNCTION pg_temp.warden_calls({string.Join(", ", types)}) RETURNS void LANGUAGE sql BEGIN ATOMIC\n{sql}\n; END"));
                asFunction.BatchCommands.Add(new NpgsqlBatchCommand("SELECT prosqlbody::text FROM pg_proc WHERE proname = 'warden_calls' AND pronamespace = pg_my_temp_schema()"));
                body = (string)asFunction.ExecuteScalar()!;
            }
            catch (PostgresException e)
            {
                transaction.Rollback();
                return SystemError.InvalidArguments($"PostgreSQL will not take the statement as a function body, so Warden cannot tell which functions it calls, and does not run it (PostgreSQL: {e.MessageText})");
            }

            transaction.Rollback();
        }

        var functions = FunctionIds.Matches(body).Select(m => m.Groups[1].Value).Distinct().ToList();
        var operators = OperatorIds.Matches(body).SelectMany(m => m.Groups[1].Success ? [m.Groups[1].Value] : m.Groups[2].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Distinct().ToList();
        if (functions.Count == 0 && operators.Count == 0)
        {
            return null;
        }

        using var batch = Batch(connection, """
            SELECT p.oid::regprocedure::text, p.proname, p.pronamespace = 'pg_catalog'::regnamespace, p.provolatile, p.oid
            FROM pg_proc p WHERE p.oid = ANY($1::oid[])
            UNION
            SELECT p.oid::regprocedure::text, p.proname, p.pronamespace = 'pg_catalog'::regnamespace, p.provolatile, p.oid
            FROM pg_operator o JOIN pg_proc p ON p.oid = o.oprcode WHERE o.oid = ANY($2::oid[])
            ORDER BY 5
            """, ["{" + string.Join(",", functions) + "}", "{" + string.Join(",", operators) + "}"]);
        using var reader = batch.ExecuteReader();
        while (reader.Read())
        {
            var (signature, name, builtIn, volatility) = (reader.GetString(0), reader.GetString(1), reader.GetBoolean(2), reader.GetChar(3));
            var why = !builtIn ? "which is not one of PostgreSQL's own functions: it may write or read where Warden cannot see"
                : RunsSql.Contains(name) ? "which runs SQL of its own, reading tables and columns the plan does not show"
                : OtherSessions.Contains(name) ? "which shows other sessions' statements (every session of Warden's role, other agents' calls among them)"
                : volatility == 'v' && !HarmlessVolatile.Contains(name) ? "which acts outside the rows Warden captures (and outside the transaction Warden rolls back)"
                : null;
            drawsSequence |= builtIn && name == "nextval";
            if (why is not null)
            {
                return SystemError.InvalidArguments(
                    $"the statement calls the function {signature}, {why}; Warden runs only PostgreSQL's own functions that change nothing beyond the statement's rows");
            }
        }

        return null;
    }

    /// <summary>Warden's role has no privilege on what the statement names: to the agent, it is not there.</summary>
    private SystemError NotGoverned(PostgresException error) => SystemError.InvalidArguments(
        $"the statement reaches something that is not a table this system governs (PostgreSQL: {error.MessageText}); the tables are: {string.Join(", ", tables.Tables.Select(t => t.Declared))}");

    private SystemResult<Statement> FromPlan(string json)
    {
        using var document = JsonDocument.Parse(json);
        var top = document.RootElement[0].GetProperty("Plan");
        var relations = new List<(string Schema, string Name)>();
        var operations = new List<(string Operation, string Schema, string Name)>();
        var used = new System.Text.StringBuilder();
        var where = false;
        var untraced = false;
        Walk(top, relations, operations, used, ref where, ref untraced, underModify: false, isTop: true);

        var named = new List<string>();
        foreach (var (schema, name) in relations.Distinct())
        {
            var table = tables.ByName(schema, name);
            if (table is null)
            {
                return SystemError.InvalidArguments($"the statement reads or writes {schema}.{name}, which is not a table this system governs; the tables are: {string.Join(", ", tables.Tables.Select(t => t.Declared))}");
            }

            named.Add(table.Declared);
        }

        // The columns read: those the planner's own text names, qualified or not, in what each
        // node computes and filters on (a scan's output is left out: it may be the whole row,
        // handed up unprojected). A name shown in passing (another table's column of the same
        // name, a word in a literal) counts too: more, never fewer. Where a plan reads through a
        // subquery or CTE it does not trace, every column of the tables it reads counts.
        var text = used.ToString();
        var words = Identifiers(text);
        // A whole row (row_to_json(c.*), to_jsonb(c.*)) is every column of its table.
        untraced |= text.Contains(".*", StringComparison.Ordinal);
        var columns = new List<string>();
        foreach (var table in named.Distinct().Select(n => tables.Tables.First(t => t.Declared == n)))
        {
            columns.AddRange(table.Columns.Where(c => untraced || words.Contains(c.Name)).Select(c => $"{table.Declared}.{c.Name}"));
        }

        // The rows a statement reads, not only those it returns: an aggregate returns one row
        // but reads every row its scans do (string_agg(email) is every email at once).
        var estimated = (long)Math.Max(top.TryGetProperty("Plan Rows", out var rows) ? rows.GetDouble() : 0, MostScanned(top));
        if (operations.Count == 0)
        {
            return new Statement(StatementKind.Read, named, where, estimated) { Columns = [.. columns.Distinct()] };
        }

        // A statement can modify through its CTEs too; the most dangerous operation names it.
        var kind = operations.Select(o => o.Operation switch
        {
            "Delete" => StatementKind.Delete,
            "Merge" => StatementKind.Merge,
            "Update" => StatementKind.Update,
            "Insert" => StatementKind.Insert,
            _ => StatementKind.Other,
        }).MaxBy(Danger);
        return new Statement(kind, named, where, estimated) { Columns = [.. columns.Distinct()] };
    }

    /// <summary>The most rows the planner expects any scan of a table in the plan to produce.</summary>
    private static double MostScanned(JsonElement node)
    {
        var most = node.TryGetProperty("Relation Name", out _) && node.TryGetProperty("Plan Rows", out var rows) ? rows.GetDouble() : 0;
        if (node.TryGetProperty("Plans", out var children))
        {
            foreach (var child in children.EnumerateArray())
            {
                most = Math.Max(most, MostScanned(child));
            }
        }

        return most;
    }

    /// <summary>Every identifier in the planner's text, bare or double-quoted.</summary>
    private static HashSet<string> Identifiers(string text)
    {
        var words = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < text.Length;)
        {
            if (text[i] == '"')
            {
                // A quoted identifier: up to the closing quote.
                i++;
                var start = i;
                while (i < text.Length && text[i] != '"')
                {
                    i++;
                }

                words.Add(text[start..i]);
                i += 1;
            }
            else if (char.IsLetter(text[i]) || text[i] == '_')
            {
                var start = i;
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] == '_' || text[i] == '$'))
                {
                    i++;
                }

                words.Add(text[start..i]);
            }
            else
            {
                i++;
            }
        }

        return words;
    }

    private static int Danger(StatementKind kind) => kind switch
    {
        StatementKind.Insert => 1,
        StatementKind.Update => 2,
        StatementKind.Merge => 3,
        StatementKind.Delete => 4,
        _ => 5,
    };

    private static readonly string[] Conditions = ["Filter", "Index Cond", "Recheck Cond", "Hash Cond", "Merge Cond", "Join Filter", "TID Cond"];

    private static readonly string[] Expressions = ["Output", "Filter", "Index Cond", "Recheck Cond", "Hash Cond", "Merge Cond", "Join Filter", "TID Cond", "Order By", "Sort Key", "Group Key", "One-Time Filter", "Presorted Key", "Cache Key", "Hash Key"];

    private static readonly string[] Untraced = ["Subquery Scan", "CTE Scan", "WorkTable Scan", "Named Tuplestore Scan", "Function Scan", "Table Function Scan", "Custom Scan", "Foreign Scan"];

    private static void Walk(JsonElement node, List<(string, string)> relations, List<(string, string, string)> operations, System.Text.StringBuilder used,
        ref bool where, ref bool untraced, bool underModify, bool isTop)
    {
        var nodeType = node.TryGetProperty("Node Type", out var type) ? type.GetString() : null;
        var isModify = nodeType == "ModifyTable";
        untraced |= Untraced.Contains(nodeType);
        var isScan = node.TryGetProperty("Relation Name", out var relation) & node.TryGetProperty("Schema", out var schema);
        if (isScan)
        {
            relations.Add((schema.GetString()!, relation.GetString()!));
            if (isModify)
            {
                operations.Add((node.GetProperty("Operation").GetString()!, schema.GetString()!, relation.GetString()!));
            }
        }

        foreach (var key in Expressions)
        {
            if ((key != "Output" || isTop || !isScan) && node.TryGetProperty(key, out var expression))
            {
                foreach (var part in expression.ValueKind == JsonValueKind.Array ? expression.EnumerateArray().ToArray() : [expression])
                {
                    used.Append(part.ValueKind == JsonValueKind.String ? part.GetString() : part.GetRawText()).Append('\n');
                }
            }
        }

        // A restriction below a modification: the rows it changes are chosen by a condition. One
        // the planner folded away (WHERE true, WHERE 1 = 1) is no restriction, as it should be.
        if (underModify && Conditions.Any(c => node.TryGetProperty(c, out _)))
        {
            where = true;
        }

        if (node.TryGetProperty("Plans", out var children))
        {
            foreach (var child in children.EnumerateArray())
            {
                Walk(child, relations, operations, used, ref where, ref untraced, underModify || isModify, isTop: false);
            }
        }
    }

    /// <summary>A statement PREPARE refused at <paramref name="offset"/>: not a plannable statement when that is its first word.</summary>
    private SystemResult<Statement> Unplanned(NpgsqlConnection connection, string sql, IReadOnlyList<string> parameters, int offset, PostgresException error)
    {
        var first = Token(sql, 0);
        if (first.Start != offset || first.Word.Length == 0)
        {
            return DoesNotParse(sql, error, PreparePrefix.Length);
        }

        var second = Token(sql, first.Start + first.Word.Length).Word;
        StatementKind kind;
        if (first.Word.Equals("GRANT", StringComparison.OrdinalIgnoreCase) || first.Word.Equals("REVOKE", StringComparison.OrdinalIgnoreCase) || first.Word.Equals("REASSIGN", StringComparison.OrdinalIgnoreCase))
        {
            kind = StatementKind.Permission;
        }
        else if (SchemaWords.Contains(first.Word))
        {
            kind = RoleWords.Contains(second) && !first.Word.Equals("COMMENT", StringComparison.OrdinalIgnoreCase) ? StatementKind.Permission : StatementKind.Schema;
        }
        else if (OtherWords.Contains(first.Word))
        {
            return new Statement(StatementKind.Other, [], false, 0);
        }
        else
        {
            return DoesNotParse(sql, error, PreparePrefix.Length);
        }

        if (parameters.Count > 0)
        {
            return SystemError.InvalidArguments($"a {kind.ToString().ToLowerInvariant()} change takes no parameters; 'params' gives {parameters.Count}");
        }

        if (kind == StatementKind.Schema && Explained(connection, sql) is { } explained)
        {
            return explained;
        }

        return TryInRolledBackTransaction(connection, sql, kind);
    }

    /// <summary>
    /// A schema change with a query in it (CREATE TABLE ... AS, CREATE MATERIALIZED VIEW ... AS),
    /// which EXPLAIN takes: classified from its plan, never tried. Trying it would run its query,
    /// and a function in it (setval, pg_terminate_backend) would act at once, before anyone
    /// approved anything, and outside the transaction rolled back. Null when EXPLAIN does not take it.
    /// </summary>
    private SystemResult<Statement>? Explained(NpgsqlConnection connection, string sql)
    {
        string plan;
        try
        {
            plan = (string)ExecuteScalar(connection, "EXPLAIN (VERBOSE, FORMAT JSON) " + sql, [])!;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.SyntaxError)
        {
            return null;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            return NotGoverned(e);
        }
        catch (PostgresException e)
        {
            return DoesNotParse(sql, e, "EXPLAIN (VERBOSE, FORMAT JSON) ".Length);
        }

        var read = FromPlan(plan);
        return read.Succeeded ? new Statement(StatementKind.Schema, read.Value!.Tables, false, 0) : read.Error!;
    }

    /// <summary>
    /// Runs a schema or permission change in a transaction that is always rolled back: it must run
    /// (else its error, with where), and the relations it locked are the ones it touches. Those the
    /// statement created itself are new; any other must be governed.
    /// </summary>
    private SystemResult<Statement> TryInRolledBackTransaction(NpgsqlConnection connection, string sql, StatementKind kind)
    {
        var locked = new List<uint>();
        using (var transaction = connection.BeginTransaction())
        {
            try
            {
                Execute(connection, $"SET LOCAL lock_timeout = {(int)options.LockTimeout.TotalMilliseconds}; SET LOCAL statement_timeout = {(int)options.StatementTimeout.TotalMilliseconds}", [], split: true);
                Execute(connection, sql, []);
                using var command = new NpgsqlCommand(
                    "SELECT DISTINCT relation FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation' AND relation >= 16384", connection, transaction);
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    locked.Add(reader.GetFieldValue<uint>(0));
                }
            }
            catch (PostgresException e) when (kind == StatementKind.Permission && e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
            {
                // A permission change Warden's role may not make: still a permission change, which
                // the policy decides on; the database refuses it again if it is ever run.
                transaction.Rollback();
                return new Statement(kind, [], false, 0);
            }
            catch (PostgresException e)
            {
                transaction.Rollback();
                return DoesNotParse(sql, e, 0);
            }

            transaction.Rollback();
        }

        // Read from outside the transaction, now ended: a relation it dropped is still there, one it created is not.
        var named = new List<string>();
        foreach (var oid in locked)
        {
            var owner = TableOf(connection, oid);
            if (owner is null)
            {
                continue; // created by the statement itself
            }

            if (tables.ByOid(owner.Value) is not { } table)
            {
                var name = ExecuteScalar(connection, "SELECT $1::oid::regclass::text", [oid.ToString(System.Globalization.CultureInfo.InvariantCulture)]) as string;
                return SystemError.InvalidArguments($"the statement touches {name}, which is not a table this system governs; the tables are: {string.Join(", ", tables.Tables.Select(t => t.Declared))}");
            }

            named.Add(table.Declared);
        }

        return new Statement(kind, [.. named.Distinct()], false, 0);
    }

    /// <summary>
    /// The table a relation finally belongs to: an index may belong to a TOAST table, which belongs
    /// to a table, so the owner is followed until it stays put (<see cref="TableOfSql"/>); null when it does not exist.
    /// </summary>
    internal static uint? TableOf(NpgsqlConnection connection, uint oid)
    {
        using var command = new NpgsqlCommand($"SELECT step3.table_of FROM (SELECT $1::oid AS relation) w {TableOfSql("w.relation")}", connection);
        command.Parameters.Add(new() { Value = oid, NpgsqlDbType = NpgsqlDbType.Oid });
        return command.ExecuteScalar() is uint owner ? owner : null;
    }

    /// <summary>
    /// SQL for the table the relation <paramref name="oid"/> (an expression) belongs to: itself, or
    /// the table of an index, TOAST table or owned sequence; null when it does not exist.
    /// </summary>
    private static string OwnerSql(string oid) => $"""
        (SELECT CASE c.relkind
                  WHEN 'i' THEN (SELECT indrelid FROM pg_index WHERE indexrelid = c.oid)
                  WHEN 'I' THEN (SELECT indrelid FROM pg_index WHERE indexrelid = c.oid)
                  WHEN 't' THEN (SELECT oid FROM pg_class WHERE reltoastrelid = c.oid)
                  WHEN 'S' THEN coalesce((SELECT refobjid FROM pg_depend WHERE classid = 'pg_class'::regclass AND objid = c.oid AND deptype IN ('a', 'i') AND refclassid = 'pg_class'::regclass LIMIT 1), c.oid)
                  ELSE c.oid
                END
         FROM pg_class c WHERE c.oid = {oid})
        """;

    /// <summary>SQL for the table a relation belongs to, in one statement: up to three steps from <paramref name="oid"/> to the table it belongs to, as <c>table_of</c> (null when a step finds none).</summary>
    internal static string TableOfSql(string oid) => $"""
        CROSS JOIN LATERAL (SELECT {OwnerSql(oid)} AS o1) step1
        CROSS JOIN LATERAL (SELECT CASE WHEN step1.o1 IS NULL OR step1.o1 = {oid} THEN step1.o1 ELSE {OwnerSql("step1.o1")} END AS o2) step2
        CROSS JOIN LATERAL (SELECT CASE WHEN step2.o2 IS NULL OR step2.o2 = step1.o1 THEN step2.o2 ELSE {OwnerSql("step2.o2")} END AS table_of) step3
        """;

    /// <summary>The first word at or after <paramref name="from"/>, skipping blanks and comments as PostgreSQL's lexer does.</summary>
    internal static (int Start, string Word) Token(string sql, int from)
    {
        var i = from;
        while (i < sql.Length)
        {
            if (char.IsWhiteSpace(sql[i]))
            {
                i++;
            }
            else if (sql[i] == '-' && i + 1 < sql.Length && sql[i + 1] == '-')
            {
                while (i < sql.Length && sql[i] != '\n')
                {
                    i++;
                }
            }
            else if (sql[i] == '/' && i + 1 < sql.Length && sql[i + 1] == '*')
            {
                // Block comments nest in PostgreSQL.
                var depth = 0;
                do
                {
                    if (sql[i] == '/' && i + 1 < sql.Length && sql[i + 1] == '*')
                    {
                        depth++;
                        i += 2;
                    }
                    else if (sql[i] == '*' && i + 1 < sql.Length && sql[i + 1] == '/')
                    {
                        depth--;
                        i += 2;
                    }
                    else
                    {
                        i++;
                    }
                }
                while (depth > 0 && i < sql.Length);
            }
            else
            {
                break;
            }
        }

        var start = i;
        while (i < sql.Length && (char.IsAsciiLetter(sql[i]) || sql[i] == '_'))
        {
            i++;
        }

        return (start, sql[start..i]);
    }

    /// <summary>The server's error, located in the agent's statement (line and column) when the server gives a position.</summary>
    internal static SystemError DoesNotParse(string sql, PostgresException error, int prefix)
    {
        if (error.SqlState == PostgresErrorCodes.LockNotAvailable)
        {
            return SystemError.Refused($"another session holds a lock on a table the statement uses, and the statement gave up waiting for it: nothing was changed; try again later (PostgreSQL: {error.MessageText})");
        }

        if (error.SqlState == PostgresErrorCodes.QueryCanceled)
        {
            return SystemError.Refused($"the statement ran longer than Warden allows and was cancelled: nothing was changed (PostgreSQL: {error.MessageText})");
        }

        var where = "";
        var offset = error.Position - 1 - prefix;
        if (error.Position > 0 && offset >= 0 && offset <= sql.Length)
        {
            var line = 1 + sql.AsSpan(0, offset).Count('\n');
            var column = offset - (sql.LastIndexOf('\n', Math.Max(0, offset - 1)) + 1) + 1;
            where = $" (line {line}, column {column})";
        }

        return SystemError.InvalidArguments($"PostgreSQL refused the statement{where}: {error.MessageText}" + (error.Hint is { } hint ? $" ({hint})" : ""));
    }

    internal static void Execute(NpgsqlConnection connection, string sql, IReadOnlyList<string> parameters, bool split = false)
    {
        if (split)
        {
            // Warden's own statements only: the agent's text is never split.
            using var command = new NpgsqlCommand(sql, connection);
            command.ExecuteNonQuery();
            return;
        }

        using var batch = Batch(connection, sql, parameters);
        batch.ExecuteNonQuery();
    }

    internal static object? ExecuteScalar(NpgsqlConnection connection, string sql, IReadOnlyList<string> parameters)
    {
        using var batch = Batch(connection, sql, parameters);
        return batch.ExecuteScalar();
    }

    /// <summary>
    /// The statement as one batch command: Npgsql sends its text as it is (no splitting at
    /// semicolons), so the server alone decides what it holds. Parameters go as text of unknown
    /// type, which the server converts to the types the statement needs (or refuses, saying so).
    /// </summary>
    internal static NpgsqlBatch Batch(NpgsqlConnection connection, string sql, IReadOnlyList<string> parameters)
    {
        var batch = new NpgsqlBatch(connection);
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = NpgsqlDbType.Unknown });
        }

        batch.BatchCommands.Add(command);
        return batch;
    }
}
