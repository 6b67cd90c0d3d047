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
            CREATE OR REPLACE FUNCTION {Schema}.capture() RETURNS trigger LANGUAGE plpgsql AS $capture$
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
                  INSERT INTO pg_temp.warden_captured (tbl, op, before) SELECT name, 'DELETE', to_jsonb(o) FROM warden_old o;
                  INSERT INTO pg_temp.warden_captured (tbl, op, after) SELECT name, 'INSERT', to_jsonb(n) FROM warden_new n;
                ELSE
                  EXECUTE format(
                    'INSERT INTO pg_temp.warden_captured (tbl, op, before, after) '
                    'SELECT $1, CASE WHEN n.here IS NULL THEN ''DELETE'' WHEN o.here IS NULL THEN ''INSERT'' ELSE ''UPDATE'' END, to_jsonb(o.r), to_jsonb(n.r) '
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

    /// <summary>Starts capturing in this session's transaction (the table lives as long as the session; its rows as long as the transaction).</summary>
    public const string BeginSql = """
        CREATE TEMP TABLE IF NOT EXISTS warden_captured (
          seq bigint GENERATED ALWAYS AS IDENTITY, tbl text NOT NULL, op text NOT NULL, before jsonb, after jsonb
        ) ON COMMIT DELETE ROWS;
        TRUNCATE pg_temp.warden_captured;
        """;

    /// <summary>
    /// The query reading what was captured since <see cref="BeginSql"/>, in order, at most $1 rows,
    /// with each row's key worked out by the server (a governed table's key columns as text, joined
    /// by commas), so that applying a plan needs no parsing of the rows in Warden.
    /// </summary>
    public static string ReadSql(IEnumerable<TableShape> tables)
    {
        var keys = string.Join(" ", tables.Where(t => t.Key.Count > 0).Select(t =>
            $"WHEN {Literal(t.Schema + "." + t.Name)} THEN concat_ws(',', {string.Join(", ", t.Key.Select(k => $"coalesce(before, after) ->> {Literal(k)}"))})"));
        return $"SELECT tbl, op, before::text, after::text, {(keys.Length == 0 ? "''" : $"CASE tbl {keys} ELSE '' END")} FROM pg_temp.warden_captured ORDER BY seq LIMIT $1";
    }

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
