using Npgsql;

namespace Warden.Postgres;

/// <summary>
/// How Warden sees exactly which rows a statement changes: statement triggers on every governed
/// table, with the statement's transition tables (its rows before and after, kept by PostgreSQL
/// itself), copy them into a temporary table once per statement, and only in a session that has
/// that table, that is, only in Warden's own sessions; other sessions' writes pay for the
/// transition tables and one lookup per statement. An update's rows are paired by primary key:
/// a key the statement changed shows as the old key deleted and the new one inserted, which is
/// what undoing it needs. The agent's statement cannot turn it off: it is one statement, it may
/// name only governed tables (not the temporary one), and changing a trigger is a schema change.
/// </summary>
internal static class Capture
{
    public const string Schema = "warden";

    /// <summary>The triggers' names start with this; one per kind of change (PostgreSQL allows transition tables on one event per trigger).</summary>
    public const string Trigger = "warden_capture";

    private static readonly string[] Operations = ["insert", "update", "delete"];

    /// <summary>Installs the capture function and the triggers on each table; run by a role that owns them (idempotent, and replaces the row trigger of earlier versions).</summary>
    public static string InstallSql(IEnumerable<string> quotedTables)
    {
        var sql = new System.Text.StringBuilder();
        sql.AppendLine($"""
            CREATE SCHEMA IF NOT EXISTS {Schema};
            CREATE OR REPLACE FUNCTION {Schema}.capture() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $capture$
            DECLARE
              name text := TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME;
              key_columns text[];
            BEGIN
              IF to_regclass('pg_temp.warden_captured') IS NULL THEN
                RETURN NULL;
              END IF;
              IF TG_OP = 'INSERT' THEN
                INSERT INTO pg_temp.warden_captured (tbl, op, after) SELECT name, 'INSERT', to_jsonb(n) FROM warden_new n;
              ELSIF TG_OP = 'DELETE' THEN
                INSERT INTO pg_temp.warden_captured (tbl, op, before) SELECT name, 'DELETE', to_jsonb(o) FROM warden_old o;
              ELSE
                SELECT array_agg(a.attname::text ORDER BY k.n) INTO key_columns
                FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
                JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                WHERE i.indrelid = TG_RELID AND i.indisprimary;
                IF key_columns IS NULL THEN
                  -- No key to pair them by: the rows before as deleted, after as inserted.
                  INSERT INTO pg_temp.warden_captured (tbl, op, before, moved) SELECT name, 'DELETE', to_jsonb(o), true FROM warden_old o;
                  INSERT INTO pg_temp.warden_captured (tbl, op, after, moved) SELECT name, 'INSERT', to_jsonb(n), true FROM warden_new n;
                ELSE
                  EXECUTE format(
                    'INSERT INTO pg_temp.warden_captured (tbl, op, before, after, moved) '
                    'SELECT $1, CASE WHEN n.here IS NULL THEN ''DELETE'' WHEN o.here IS NULL THEN ''INSERT'' ELSE ''UPDATE'' END, to_jsonb(o.r), to_jsonb(n.r), '
                    'n.here IS NULL OR o.here IS NULL '
                    'FROM (SELECT true AS here, r, %1$s FROM warden_old r) o FULL JOIN (SELECT true AS here, r, %1$s FROM warden_new r) n ON %2$s',
                    (SELECT string_agg(format('r.%I AS k%s', c, i), ', ') FROM unnest(key_columns) WITH ORDINALITY AS u(c, i)),
                    (SELECT string_agg(format('o.k%1$s = n.k%1$s', i), ' AND ') FROM unnest(key_columns) WITH ORDINALITY AS u(c, i)))
                  USING name;
                END IF;
              END IF;
              RETURN NULL;
            END
            $capture$;
            GRANT USAGE ON SCHEMA {Schema} TO PUBLIC;
            """);
        foreach (var table in quotedTables)
        {
            sql.AppendLine($"DROP TRIGGER IF EXISTS {Trigger} ON {table};");
            sql.AppendLine($"CREATE OR REPLACE TRIGGER {Trigger}_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS warden_new FOR EACH STATEMENT EXECUTE FUNCTION {Schema}.capture();");
            sql.AppendLine($"CREATE OR REPLACE TRIGGER {Trigger}_update AFTER UPDATE ON {table} REFERENCING OLD TABLE AS warden_old NEW TABLE AS warden_new FOR EACH STATEMENT EXECUTE FUNCTION {Schema}.capture();");
            sql.AppendLine($"CREATE OR REPLACE TRIGGER {Trigger}_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS warden_old FOR EACH STATEMENT EXECUTE FUNCTION {Schema}.capture();");
        }

        return sql.ToString();
    }

    /// <summary>Installs the capture on the governed tables, connected as their owner.</summary>
    public static async Task InstallAsync(string ownerConnectionString, IReadOnlyList<GovernedTable> tables, CancellationToken cancellationToken = default)
    {
        await using var source = NpgsqlDataSource.Create(ownerConnectionString);
        await using var connection = await source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var catalogue = await TableCatalogue.ReadAsync(connection, tables, cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(InstallSql(catalogue.Tables.Select(t => t.Quoted)), connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The governed tables that lack an enabled capture trigger.</summary>
    public static async Task<IReadOnlyList<string>> MissingAsync(NpgsqlConnection connection, TableCatalogue catalogue, CancellationToken cancellationToken)
    {
        var missing = new List<string>();
        foreach (var table in catalogue.Tables)
        {
            await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_trigger WHERE tgrelid = $1 AND tgname = ANY($2) AND tgenabled IN ('O', 'A')", connection);
            command.Parameters.Add(new() { Value = table.Oid, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Oid });
            command.Parameters.Add(new() { Value = Operations.Select(o => $"{Trigger}_{o}").ToArray() });
            if ((long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! < Operations.Length)
            {
                missing.Add(table.Declared);
            }
        }

        return missing;
    }

    /// <summary>
    /// Starts capturing in this session's transaction (the table lives as long as the session; its
    /// rows as long as the transaction). The capture's and the summaries' queries work on whole
    /// statements' rows: sorts and joins in memory rather than on disk, and no JIT compilation,
    /// which the planner's guesses for transition tables set off at a cost of half a second.
    /// </summary>
    public const string BeginSql = """
        CREATE TEMP TABLE IF NOT EXISTS warden_captured (
          seq bigint GENERATED ALWAYS AS IDENTITY, tbl text NOT NULL, op text NOT NULL, before jsonb, after jsonb, moved boolean NOT NULL DEFAULT false
        ) ON COMMIT DELETE ROWS;
        TRUNCATE pg_temp.warden_captured;
        SET LOCAL jit = off;
        SET LOCAL work_mem = '64MB';
        """;

    /// <summary>
    /// The query reading what was captured since <see cref="BeginSql"/>, in order, at most $1 rows,
    /// with each row's key worked out by the server (a governed table's key columns as text, joined
    /// by commas), so that applying a plan needs no parsing of the rows in Warden.
    /// </summary>
    public static string ReadSql(IEnumerable<TableShape> tables) =>
        $"SELECT tbl, op, before::text, after::text, {KeySql(tables)} FROM pg_temp.warden_captured ORDER BY seq LIMIT $1";

    /// <summary>
    /// The query summing up what was captured since <see cref="BeginSql"/> on the governed tables
    /// ($1), per table and kind of change, in the server: how many rows, a digest of the rows (each
    /// row's key, before-image and after-image; an inserted row without the columns a sequence
    /// feeds, and without its key when the statement calls nextval (<paramref name="keysDrawn"/>),
    /// which move on every try; a value equal to the transaction's time as "now",
    /// so SET last_seen = now() is the same change at plan and at apply; the stand-in holds a raw
    /// control character, which a JSON text never does, so no value written can pose as it), and a digest of the keys
    /// alone. Each row's digest is sha256, and a group's is sha256 over its rows' digests sorted by key (one
    /// sort feeds both aggregates; were PostgreSQL ever to feed them in another order, plan and
    /// apply would differ and the change would be refused, never let through), so the order the
    /// rows were written in does not matter, and no row crosses the wire.
    /// </summary>
    public static string GroupsSql(IEnumerable<TableShape> tables, bool keysDrawn)
    {
        var list = tables.ToList();
        // An inserted row's key is bound unless the statement draws it from a sequence (nextval):
        // a key computed from other rows (max(id) + 1, a contact chosen by a subquery) is the row.
        var unbound = string.Join(" ", list.Select(t => (t, columns: (keysDrawn ? t.Key : []).Concat(t.Columns.Where(c => c.Sequenced).Select(c => c.Name)).Distinct().ToList()))
            .Where(x => x.columns.Count > 0)
            .Select(x => $"WHEN {Literal(x.t.Qualified)} THEN ARRAY[{string.Join(", ", x.columns.Select(Literal))}]::text[]"));
        var inserted = unbound.Length == 0 ? "after" : $"after - CASE tbl {unbound} ELSE '{{}}'::text[] END";
        return $"""
            WITH now_as AS (SELECT to_jsonb(now())::text AS zoned, to_jsonb(localtimestamp)::text AS local),
            c AS (SELECT tbl, op, moved, {KeySql(list)} AS key, before::text AS before,
                         replace(replace((CASE WHEN op = 'INSERT' THEN {inserted} ELSE after END)::text, now_as.zoned, chr(1) || 'now'), now_as.local, chr(1) || 'now') AS after
                  FROM pg_temp.warden_captured, now_as WHERE tbl = ANY($1)),
            d AS (SELECT tbl, op, moved,
                         sha256(convert_to(CASE WHEN op = 'INSERT' THEN '' ELSE to_jsonb(key)::text END || chr(10) || coalesce(before, '') || chr(10) || coalesce(after, ''), 'UTF8')) AS row_digest,
                         sha256(convert_to(CASE WHEN op = 'INSERT' THEN '' ELSE to_jsonb(key)::text END, 'UTF8')) AS key_digest
                  FROM c)
            SELECT tbl, op, count(*), encode(sha256(string_agg(row_digest, '')), 'hex'), encode(sha256(string_agg(key_digest, '')), 'hex'), count(*) FILTER (WHERE moved)
            FROM (SELECT * FROM d ORDER BY tbl, op, key_digest, row_digest) sorted GROUP BY tbl, op ORDER BY tbl COLLATE "C", op COLLATE "C"
            """;
    }

    /// <summary>A captured row's key: a governed table's key columns as text, joined by commas.</summary>
    private static string KeySql(IEnumerable<TableShape> tables)
    {
        var keys = string.Join(" ", tables.Where(t => t.Key.Count > 0).Select(t =>
            $"WHEN {Literal(t.Qualified)} THEN concat_ws(',', {string.Join(", ", t.Key.Select(k => $"coalesce(before, after) ->> {Literal(k)}"))})"));
        return keys.Length == 0 ? "''" : $"CASE tbl {keys} ELSE '' END";
    }

    /// <summary>What was captured on the governed tables, per table and kind of change (<see cref="GroupsSql"/>).</summary>
    public static List<CapturedGroup> Groups(NpgsqlConnection connection, string groupsSql, string[] governed)
    {
        using var command = GroupsCommand(connection, groupsSql, governed);
        using var reader = command.ExecuteReader();
        var groups = new List<CapturedGroup>();
        while (reader.Read())
        {
            groups.Add(Group(reader));
        }

        return groups;
    }

    public static async Task<List<CapturedGroup>> GroupsAsync(NpgsqlConnection connection, string groupsSql, string[] governed, CancellationToken cancellationToken)
    {
        await using var command = GroupsCommand(connection, groupsSql, governed);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var groups = new List<CapturedGroup>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            groups.Add(Group(reader));
        }

        return groups;
    }

    private static NpgsqlCommand GroupsCommand(NpgsqlConnection connection, string groupsSql, string[] governed)
    {
        var command = new NpgsqlCommand(groupsSql, connection);
        command.Parameters.Add(new() { Value = governed });
        return command;
    }

    private static CapturedGroup Group(NpgsqlDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetString(4), reader.GetInt64(5));

    /// <summary>
    /// The query counting, for each column of one governed table ($1), the captured rows that
    /// change it: every inserted and deleted row, and an updated row whose value's text differs.
    /// </summary>
    public static string ChangedColumnsSql(TableShape table) =>
        $"SELECT {string.Join(", ", table.Columns.Select(c => $"count(*) FILTER (WHERE {Changes(c.Name)})"))} FROM pg_temp.warden_captured WHERE tbl = $1";

    /// <summary>
    /// The query describing how the captured rows of one table ($1) change the given columns: for
    /// each, its five commonest values before (with their counts), and after, the one value every
    /// changed row gets, if there is one.
    /// </summary>
    public static string ColumnChangesSql(IReadOnlyList<string> columns) => string.Join("\nUNION ALL\n", columns.Select((c, i) => $"""
        (SELECT {i}, false, before ->> {Literal(c)}, count(*) FROM pg_temp.warden_captured WHERE tbl = $1 AND {Changes(c)} GROUP BY 3 ORDER BY 4 DESC, (before ->> {Literal(c)}) COLLATE "C" NULLS FIRST LIMIT 5)
        UNION ALL
        SELECT {i}, true, CASE WHEN count(after ->> {Literal(c)}) = count(*) AND min(after ->> {Literal(c)} COLLATE "C") = max(after ->> {Literal(c)} COLLATE "C") THEN min(after ->> {Literal(c)} COLLATE "C") END, count(*)
        FROM pg_temp.warden_captured WHERE tbl = $1 AND {Changes(c)}
        """));

    private static string Changes(string column) =>
        $"(op <> 'UPDATE' OR (before ->> {Literal(column)}) IS DISTINCT FROM (after ->> {Literal(column)}))";

    /// <summary>The first $1 rows captured on the governed tables ($2), in order, with their keys: a plan's sample.</summary>
    public static string SampleSql(IEnumerable<TableShape> tables) =>
        $"SELECT tbl, op, before::text, after::text, {KeySql(tables)} FROM pg_temp.warden_captured WHERE tbl = ANY($2) ORDER BY seq LIMIT $1";

    private static string Literal(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    /// <summary>What was captured since <see cref="BeginSql"/>, in order; at most <paramref name="limit"/> rows.</summary>
    public static List<CapturedRow> Read(NpgsqlConnection connection, string readSql, long limit = long.MaxValue)
    {
        using var command = new NpgsqlCommand(readSql, connection);
        command.Parameters.Add(new() { Value = limit });
        using var reader = command.ExecuteReader();
        var rows = new List<CapturedRow>();
        while (reader.Read())
        {
            rows.Add(Row(reader));
        }

        return rows;
    }

    public static async Task<List<CapturedRow>> ReadAsync(NpgsqlConnection connection, string readSql, CancellationToken cancellationToken, long limit = long.MaxValue)
    {
        await using var command = new NpgsqlCommand(readSql, connection);
        command.Parameters.Add(new() { Value = limit });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<CapturedRow>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(Row(reader));
        }

        return rows;
    }

    private static CapturedRow Row(NpgsqlDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3))
        {
            Key = reader.IsDBNull(4) ? "" : reader.GetString(4),
        };
}

/// <summary>
/// What a statement changed in one table in one way (inserted, updated or deleted): how many rows,
/// a digest of the rows, and of their keys; Moved of them are an update's rows whose key changed
/// (PostgreSQL counts each such update once, the capture shows it as a delete and an insert).
/// </summary>
internal sealed record CapturedGroup(string Table, string Operation, long Rows, string Digest, string KeysDigest, long Moved);
