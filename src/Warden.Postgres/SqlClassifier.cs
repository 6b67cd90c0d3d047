using System.Data;
using Npgsql;
using Npgsql.Schema;
using Warden.Core;

namespace Warden.Postgres;

/// <summary>
/// Classifies the statements of another server's SQL tool (a database MCP server's
/// <c>execute_sql</c>) with PostgreSQL's own parser and planner, as the database system classifies
/// its own: kind, tables, WHERE, estimated rows. It holds a connection to the same database for
/// that alone: nothing it is given is run, but for the schema change tried in a transaction that
/// is always rolled back. Every table the connection can see is known (those of PostgreSQL's own
/// schemas aside); a table created after it opened is not, until it is opened again.
/// </summary>
public sealed class SqlClassifier : IAsyncDisposable
{
    private readonly NpgsqlDataSource _source;
    private readonly StatementClassifier _classifier;
    private readonly TableCatalogue _tables;

    private SqlClassifier(NpgsqlDataSource source, StatementClassifier classifier, TableCatalogue tables)
    {
        _source = source;
        _classifier = classifier;
        _tables = tables;
    }

    /// <summary>Connects and reads the tables the connection can see; throws <see cref="NpgsqlException"/> when the database cannot be reached.</summary>
    public static async Task<SqlClassifier> OpenAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        var source = NpgsqlDataSource.Create(connectionString);
        try
        {
            await using var connection = await source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            var tables = new List<GovernedTable>();
            await using (var list = new NpgsqlCommand("""
                SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
                  AND has_table_privilege(c.oid, 'SELECT')
                ORDER BY 1, 2
                """, connection))
            await using (var reader = await list.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var (schema, name) = (reader.GetString(0), reader.GetString(1));
                    tables.Add(new GovernedTable(schema == "public" ? name : $"{schema}.{name}"));
                }
            }

            var catalogue = await TableCatalogue.ReadAsync(connection, tables, cancellationToken).ConfigureAwait(false);
            var options = new PostgresOptions { Id = "classifier", ConnectionString = connectionString, Tables = tables, JournalPath = "" };
            return new SqlClassifier(source, new StatementClassifier(source, catalogue, options), catalogue);
        }
        catch
        {
            await source.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The statement's kind, tables, WHERE and estimated rows; an error when it does not parse, or reaches what the connection cannot see.</summary>
    public SystemResult<Statement> Classify(string sql)
    {
        try
        {
            return _classifier.Classify(sql, []);
        }
        catch (NpgsqlException e)
        {
            return new SystemError("upstream_unavailable", $"Warden cannot classify the statement: its connection to the database failed ({e.Message}); nothing was sent");
        }
    }

    /// <summary>
    /// Where each column of the statement's result comes from, by the label the server answers it
    /// under, as table.column: a column read straight from a table is that column whatever the
    /// statement calls it; one computed (an expression, an aggregate, a whole row) may carry any
    /// column the statement reads, and, where PostgreSQL could not say which (several statements),
    /// any column of any table. PostgreSQL describes the result without running the statement, in
    /// a read-only transaction that is rolled back. An error when it cannot describe it: then no
    /// one can tell what the answer holds, and nothing is sent.
    /// </summary>
    public async Task<SystemResult<IReadOnlyDictionary<string, IReadOnlyList<string>>>> OutputsAsync(string sql, Statement statement, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(statement);
        IReadOnlyList<string> computed = statement.Columns.Count > 0 || statement.Kind is not (StatementKind.Multiple or StatementKind.Other)
            ? statement.Columns
            : [.. _tables.Tables.SelectMany(t => t.Columns.Select(c => $"{t.Declared}.{c.Name}"))];
        var outputs = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        try
        {
            await using var connection = await _source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (var readOnly = new NpgsqlCommand("SET TRANSACTION READ ONLY", connection, transaction))
            {
                await readOnly.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            // SchemaOnly: Parse and Describe, never Execute; the statements are split as the server's would be.
            await using (var command = new NpgsqlCommand(sql, connection, transaction))
            await using (var reader = await command.ExecuteReaderAsync(CommandBehavior.SchemaOnly, cancellationToken).ConfigureAwait(false))
            {
                do
                {
                    if (reader.FieldCount == 0)
                    {
                        continue;
                    }

                    foreach (var column in await reader.GetColumnSchemaAsync(cancellationToken).ConfigureAwait(false))
                    {
                        IReadOnlyList<string> fields = column is NpgsqlDbColumn { TableOID: not 0 } described && _tables.ByOid(described.TableOID) is { } table
                                                       && table.Columns.FirstOrDefault(c => c.Number == described.ColumnAttributeNumber) is { } origin
                            ? [$"{table.Declared}.{origin.Name}"]
                            : computed;
                        // Two columns of one label: the answer holds one of them, either.
                        outputs[column.ColumnName] = outputs.TryGetValue(column.ColumnName, out var known) ? [.. known.Union(fields)] : fields;
                    }
                }
                while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false));
            }

            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e)
        {
            return SystemError.InvalidArguments($"PostgreSQL cannot describe what the statement answers ({e.MessageText}), so Warden cannot tell which columns it would pass on; nothing was sent");
        }
        catch (NpgsqlException e)
        {
            return new SystemError("upstream_unavailable", $"Warden cannot classify the statement: its connection to the database failed ({e.Message}); nothing was sent");
        }

        return outputs;
    }

    /// <summary>Closes its connections.</summary>
    public ValueTask DisposeAsync() => _source.DisposeAsync();
}
