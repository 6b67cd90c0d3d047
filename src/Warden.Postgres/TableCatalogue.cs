using Npgsql;

namespace Warden.Postgres;

/// <summary>
/// A column of a governed table, as the database describes it. Sequenced: an identity column, or
/// one whose default takes the next value of a sequence (a new row's value differs on every try).
/// </summary>
internal sealed record TableColumn(short Number, string Name, string Type, bool Generated, bool NotNull, bool AlwaysIdentity, IReadOnlyList<string> Classes, bool Sequenced = false);

/// <summary>A governed table as the database describes it: its oid, columns and primary key.</summary>
internal sealed record TableShape(uint Oid, string Schema, string Name, string Declared, IReadOnlyList<TableColumn> Columns, IReadOnlyList<string> Key)
{
    /// <summary>The name quoted for SQL: "schema"."table".</summary>
    public string Quoted => $"{Quote(Schema)}.{Quote(Name)}";

    /// <summary>schema.name unquoted: how the capture names the table (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME).</summary>
    public string Qualified => Schema + "." + Name;

    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>Columns a row can be written back with (generated ones are computed again).</summary>
    public IEnumerable<TableColumn> Writable => Columns.Where(c => !c.Generated);

    /// <summary>Columns an UPDATE may set (not generated, not GENERATED ALWAYS AS IDENTITY).</summary>
    public IEnumerable<TableColumn> Settable => Columns.Where(c => !c.Generated && !c.AlwaysIdentity);

    /// <summary>The classes of every column together.</summary>
    public IEnumerable<string> AllClasses => Columns.SelectMany(c => c.Classes).Distinct(StringComparer.Ordinal);

    public TableColumn? Column(string name) => Columns.FirstOrDefault(c => c.Name == name);
}

/// <summary>
/// The governed tables, read from the database's own catalog when the system opens: a table or a
/// column the policy names that is not there is an error then, not at the first call.
/// </summary>
internal sealed class TableCatalogue
{
    private readonly Dictionary<uint, TableShape> _byOid;
    private readonly Dictionary<string, TableShape> _byName;

    private TableCatalogue(IReadOnlyList<TableShape> tables)
    {
        Tables = tables;
        _byOid = tables.ToDictionary(t => t.Oid);
        _byName = new Dictionary<string, TableShape>(StringComparer.Ordinal);
        foreach (var table in tables)
        {
            _byName[table.Qualified] = table;
        }
    }

    public IReadOnlyList<TableShape> Tables { get; }

    public TableShape? ByOid(uint oid) => _byOid.GetValueOrDefault(oid);

    public TableShape? ByName(string schema, string name) => _byName.GetValueOrDefault(schema + "." + name);

    /// <summary>The governed table named schema.table (as the capture trigger names it), or null.</summary>
    public TableShape? ByQualifiedName(string qualified) => _byName.GetValueOrDefault(qualified);

    public static async Task<TableCatalogue> ReadAsync(NpgsqlConnection connection, IReadOnlyList<GovernedTable> declared, CancellationToken cancellationToken,
        Func<string, string, IReadOnlyList<string>>? classesOf = null)
    {
        var shapes = new List<TableShape>();
        foreach (var table in declared)
        {
            var dot = table.Name.IndexOf('.', StringComparison.Ordinal);
            var (schema, name) = dot < 0 ? ("public", table.Name) : (table.Name[..dot], table.Name[(dot + 1)..]);
            uint oid;
            await using (var find = new NpgsqlCommand(
                "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')", connection))
            {
                find.Parameters.Add(new() { Value = schema });
                find.Parameters.Add(new() { Value = name });
                oid = await find.ExecuteScalarAsync(cancellationToken) is uint found
                    ? found
                    : throw new PostgresSystemException($"the table {table.Name} is not in the database (or not a table Warden's role can see)");
            }

            var columns = new List<TableColumn>();
            await using (var read = new NpgsqlCommand(
                """
                SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attgenerated <> '', a.attnotnull, a.attidentity = 'a',
                       a.attidentity <> '' OR EXISTS (SELECT 1 FROM pg_attrdef d JOIN pg_depend p ON p.classid = 'pg_attrdef'::regclass AND p.objid = d.oid AND p.refclassid = 'pg_class'::regclass
                                                      JOIN pg_class s ON s.oid = p.refobjid AND s.relkind = 'S'
                                                      WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum)
                FROM pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
                """, connection))
            {
                read.Parameters.Add(new() { Value = oid, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Oid });
                await using var reader = await read.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    var column = reader.GetString(1);
                    IReadOnlyList<string> classes = table.Classes.TryGetValue(column, out var own) ? own : [];
                    if (classesOf?.Invoke(table.Name, column) is { Count: > 0 } more)
                    {
                        classes = [.. classes.Concat(more).Distinct(StringComparer.Ordinal)];
                    }

                    columns.Add(new TableColumn(reader.GetInt16(0), column, reader.GetString(2), reader.GetBoolean(3), reader.GetBoolean(4), reader.GetBoolean(5), classes, reader.GetBoolean(6)));
                }
            }

            if (table.Classes.Keys.FirstOrDefault(c => columns.All(k => k.Name != c)) is { } missing)
            {
                throw new PostgresSystemException($"the table {table.Name} has no column {missing} (its classes are declared for it)");
            }

            var key = new List<string>();
            await using (var primary = new NpgsqlCommand(
                "SELECT a.attname FROM pg_index i JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) ON true JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.n", connection))
            {
                primary.Parameters.Add(new() { Value = oid, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Oid });
                await using var reader = await primary.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    key.Add(reader.GetString(0));
                }
            }

            shapes.Add(new TableShape(oid, schema, name, table.Name, columns, key));
        }

        return new TableCatalogue(shapes);
    }
}

/// <summary>A governed database that cannot be used as declared (a table or column missing, the capture not installable).</summary>
public sealed class PostgresSystemException(string message, Exception? inner = null) : Exception(message, inner);
