using Npgsql;
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

    private SqlClassifier(NpgsqlDataSource source, StatementClassifier classifier)
    {
        _source = source;
        _classifier = classifier;
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
            return new SqlClassifier(source, new StatementClassifier(source, catalogue, options));
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

    /// <summary>Closes its connections.</summary>
    public ValueTask DisposeAsync() => _source.DisposeAsync();
}
