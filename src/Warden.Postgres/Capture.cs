using Npgsql;

namespace Warden.Postgres;

/// <summary>
/// How Warden sees exactly which rows a statement changes: a row trigger on every governed table
/// copies each changed row, before and after, into a temporary table, and only in a session that
/// has that table, that is, only in Warden's own sessions. Other sessions' writes pay one lookup
/// per row and are not copied. The agent's statement cannot turn it off: it is one statement, it
/// may name only governed tables (not the temporary one), and changing a trigger is a schema change.
/// </summary>
internal static class Capture
{
    public const string Schema = "warden";
    public const string Trigger = "warden_capture";

    /// <summary>Installs the capture function and the trigger on each table; run by a role that owns them (idempotent).</summary>
    public static string InstallSql(IEnumerable<string> quotedTables)
    {
        var sql = new System.Text.StringBuilder();
        sql.AppendLine($"""
            CREATE SCHEMA IF NOT EXISTS {Schema};
            CREATE OR REPLACE FUNCTION {Schema}.capture() RETURNS trigger LANGUAGE plpgsql AS $capture$
            BEGIN
              IF to_regclass('pg_temp.warden_captured') IS NULL THEN
                RETURN NULL;
              END IF;
              INSERT INTO pg_temp.warden_captured (tbl, op, before, after)
              VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP,
                      CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
                      CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
              RETURN NULL;
            END
            $capture$;
            GRANT USAGE ON SCHEMA {Schema} TO PUBLIC;
            """);
        foreach (var table in quotedTables)
        {
            sql.AppendLine($"CREATE OR REPLACE TRIGGER {Trigger} AFTER INSERT OR UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {Schema}.capture();");
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

    /// <summary>The governed tables that have no enabled capture trigger.</summary>
    public static async Task<IReadOnlyList<string>> MissingAsync(NpgsqlConnection connection, TableCatalogue catalogue, CancellationToken cancellationToken)
    {
        var missing = new List<string>();
        foreach (var table in catalogue.Tables)
        {
            await using var command = new NpgsqlCommand($"SELECT count(*) FROM pg_trigger WHERE tgrelid = $1 AND tgname = '{Trigger}' AND tgenabled IN ('O', 'A')", connection);
            command.Parameters.Add(new() { Value = table.Oid, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Oid });
            if ((long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! == 0)
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
