using System.Data.Common;
using Npgsql;

namespace Warden.Storage.Audit;

/// <summary>
/// The few places where the trail's SQL differs between the engines: reading a field of an entry's
/// JSON text, and joining the rollbacks of an entry. Everything else is one text for both.
/// </summary>
internal static class AuditSql
{
    public static bool IsPostgres(DbConnection connection) => connection is NpgsqlConnection;

    /// <summary>A text field of the entry's body (<c>e.entry</c>'s <c>body.FIELD</c>).</summary>
    public static string BodyField(DbConnection connection, string column, string field) => IsPostgres(connection)
        ? $"({column}::jsonb #>> '{{body,{field}}}')"
        : $"({column} ->> '$.body.{field}')";

    /// <summary>True when the body's list <paramref name="field"/> holds the value of <paramref name="parameter"/>.</summary>
    public static string BodyListHolds(DbConnection connection, string column, string field, string parameter) => IsPostgres(connection)
        ? $"EXISTS (SELECT 1 FROM jsonb_array_elements_text({column}::jsonb #> '{{body,{field}}}') AS v(value) WHERE v.value = {parameter})"
        : $"EXISTS (SELECT 1 FROM json_each({column}, '$.body.{field}') WHERE value = {parameter})";

    /// <summary>The seqs of the entries that roll back <c>e</c>, ascending, comma-separated (null when none).</summary>
    public static string RollbacksOf(DbConnection connection) => IsPostgres(connection)
        ? "(SELECT string_agg(b.seq::text, ',' ORDER BY b.seq) FROM audit_entries b WHERE b.rollback_of = e.seq)"
        : "(SELECT group_concat(seq) FROM (SELECT b.seq FROM audit_entries b WHERE b.rollback_of = e.seq ORDER BY b.seq))";

    /// <summary>Begins the one snapshot a verify reads in (without a transaction object, which every command would then have to name on SQLite).</summary>
    public static string BeginSnapshot(DbConnection connection) => IsPostgres(connection)
        ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        : "BEGIN DEFERRED";
}
