using Warden.Core;

namespace Warden.Workspace;

/// <summary>
/// The few places where the workspace's SQL differs between SQLite and PostgreSQL, each written
/// once: JSON built and read by the database (so a hundred thousand images never pass through
/// .NET), a JSON array bound as one parameter, temporary tables, and how a large change finds its
/// rows again (SQLite's rowid; PostgreSQL's primary key). Every other statement is the same text.
/// </summary>
internal abstract class WorkspaceSql
{
    public static readonly WorkspaceSql Sqlite = new SqliteSql();

    public static readonly WorkspaceSql Postgres = new PostgresSql();

    /// <summary>The SQL of the engine behind a connection.</summary>
    public static WorkspaceSql Of(System.Data.Common.DbConnection connection) => connection is Microsoft.Data.Sqlite.SqliteConnection ? Sqlite : Postgres;

    /// <summary>The dialect filters compile to.</summary>
    public abstract SqlDialect Filters { get; }

    /// <summary>The strings of a JSON array bound as <paramref name="parameter"/>, as a subquery's one column, <c>value</c>.</summary>
    public abstract string Values(string parameter);

    /// <summary>A JSON object's text, of keys and SQL expressions.</summary>
    public abstract string JsonObject(IEnumerable<(string Key, string Value)> pairs);

    /// <summary>A JSON object's text, of SQL arguments as <c>json_object</c> takes them: <c>'key', value, ...</c>.</summary>
    public string Object(string arguments) => Filters == SqlDialect.Sqlite ? $"json_object({arguments})" : $"CAST(json_build_object({arguments}) AS text)";

    /// <summary>The value of a key of a JSON object's text, as the table's column holds such values (text or integer).</summary>
    public abstract string JsonField(string json, string key, bool integer);

    /// <summary>The JSON object's text with its <c>version</c> set to an integer expression.</summary>
    public abstract string WithVersion(string json, string version);

    /// <summary>A bound value typed as a column of the table holds it (PostgreSQL cannot tell the type of a NULL, or of a value inside a JSON object).</summary>
    public abstract string Typed(string parameter, string table, string column);

    /// <summary>True when the two values are equal or both NULL.</summary>
    public abstract string Same(string a, string b);

    /// <summary>A condition as a number, 1 or 0, to store in an INTEGER column.</summary>
    public abstract string Flag(string condition);

    /// <summary>A temporary table's qualified name.</summary>
    public abstract string Temp(string table);

    /// <summary>
    /// Creates a temporary table of the contacts a predicate selects, in id order, with the column
    /// <c>rid</c> that finds a contact again (<see cref="ContactRow"/>) and <c>ordinal</c>, 1 to n in id order.
    /// </summary>
    public abstract string GatherContacts(string table, string predicate, string? more = null);

    /// <summary>The contacts' column that <c>rid</c> of <see cref="GatherContacts"/> holds.</summary>
    public abstract string ContactRow { get; }

    /// <summary>A column numbering a temporary table's rows in the order they were inserted, for its CREATE TABLE.</summary>
    public abstract string InsertOrder { get; }

    /// <summary>The name of that column.</summary>
    public abstract string Ordinal { get; }

    /// <summary>A temporary table's text column type: compared byte by byte, as the workspace's own text columns are.</summary>
    public abstract string Text { get; }

    /// <summary>The type of <c>rid</c> (<see cref="GatherContacts"/>) for a temporary table's CREATE TABLE.</summary>
    public abstract string ContactRowType { get; }

    /// <summary>Creates an index on a temporary table.</summary>
    public abstract string TempIndex(string name, string table, string columns);

    private sealed class SqliteSql : WorkspaceSql
    {
        public override SqlDialect Filters => SqlDialect.Sqlite;

        public override string Values(string parameter) => $"SELECT value FROM json_each({parameter})";

        public override string JsonObject(IEnumerable<(string Key, string Value)> pairs) =>
            "json_object(" + string.Join(", ", pairs.Select(p => $"'{p.Key}', {p.Value}")) + ")";

        // SQLite compares the value under the column's affinity, as it would a written one: 5 and '5' agree in a text column.
        public override string JsonField(string json, string key, bool integer) => $"json_extract({json}, '$.{key}')";

        public override string WithVersion(string json, string version) => $"json_set({json}, '$.version', {version})";

        public override string Typed(string parameter, string table, string column) => parameter;

        public override string Same(string a, string b) => $"{a} IS {b}";

        public override string Flag(string condition) => condition;

        public override string Temp(string table) => "temp." + table;

        public override string GatherContacts(string table, string predicate, string? more = null) =>
            $"DROP TABLE IF EXISTS temp.{table}; CREATE TEMP TABLE {table} AS SELECT rowid AS rid{more} FROM contacts WHERE {predicate} ORDER BY id";

        public override string ContactRow => "rowid";

        public override string InsertOrder => "";

        public override string Ordinal => "rowid";

        public override string Text => "TEXT";

        public override string ContactRowType => "INTEGER";

        public override string TempIndex(string name, string table, string columns) => $"CREATE INDEX temp.{name} ON {table} ({columns})";
    }

    private sealed class PostgresSql : WorkspaceSql
    {
        public override SqlDialect Filters => SqlDialect.Postgres;

        public override string Values(string parameter) => $"SELECT value COLLATE \"C\" AS value FROM json_array_elements_text(CAST({parameter} AS json)) AS value";

        public override string JsonObject(IEnumerable<(string Key, string Value)> pairs) =>
            "CAST(json_build_object(" + string.Join(", ", pairs.Select(p => $"'{p.Key}', {p.Value}")) + ") AS text)";

        public override string JsonField(string json, string key, bool integer) =>
            integer ? $"CAST(CAST({json} AS json) ->> '{key}' AS bigint)" : $"((CAST({json} AS json) ->> '{key}') COLLATE \"C\")";

        public override string WithVersion(string json, string version) => $"CAST(jsonb_set(CAST({json} AS jsonb), '{{version}}', to_jsonb({version})) AS text)";

        public override string Typed(string parameter, string table, string column) =>
            $"CAST({parameter} AS {(WorkspaceCatalogue.IntegerColumns.Contains($"{table}.{column}") ? "bigint" : "text")})";

        public override string Same(string a, string b) => $"{a} IS NOT DISTINCT FROM {b}";

        public override string Flag(string condition) => $"CAST(({condition}) AS integer)";

        public override string Temp(string table) => "pg_temp." + table;

        public override string GatherContacts(string table, string predicate, string? more = null) =>
            $"DROP TABLE IF EXISTS pg_temp.{table}; CREATE TEMP TABLE {table} AS SELECT id AS rid, row_number() OVER (ORDER BY id) AS ordinal{more} FROM contacts WHERE {predicate} ORDER BY id";

        public override string ContactRow => "id";

        public override string InsertOrder => ", ordinal bigint GENERATED ALWAYS AS IDENTITY";

        public override string Ordinal => "ordinal";

        public override string Text => "TEXT COLLATE \"C\"";

        public override string ContactRowType => "TEXT COLLATE \"C\"";

        public override string TempIndex(string name, string table, string columns) => $"CREATE INDEX {name} ON pg_temp.{table} ({columns})";
    }
}
