using Warden.Core;
using Warden.Postgres;
using Warden.Upstreams;

namespace Warden.Gateway.Calls;

/// <summary>
/// Classifies a database server's SQL with PostgreSQL through the connection Warden holds for it,
/// opened at the first statement and again after it failed: a database that is down when the
/// gateway starts refuses SQL calls until it is back, and does not stop the gateway.
/// </summary>
internal sealed class PostgresSqlClassification(string connectionString) : ISqlClassifier
{
    private readonly SemaphoreSlim _opening = new(1, 1);
    private SqlClassifier? _classifier;

    public async Task<SystemResult<ClassifiedSql>> ClassifyAsync(string sql, CancellationToken cancellationToken)
    {
        var classifier = _classifier;
        if (classifier is null)
        {
            await _opening.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                classifier = _classifier ??= await SqlClassifier.OpenAsync(connectionString, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or PostgresSystemException or ArgumentException)
            {
                return new SystemError("upstream_unavailable", $"Warden cannot classify the statement: its connection to the database fails ({e.Message}); nothing was sent");
            }
            finally
            {
                _opening.Release();
            }
        }

        var classified = classifier.Classify(sql);
        if (!classified.Succeeded)
        {
            return classified.Error!;
        }

        var statement = classified.Value!;
        var outputs = await classifier.OutputsAsync(sql, statement, cancellationToken).ConfigureAwait(false);
        return outputs.Succeeded
            ? new ClassifiedSql(new StatementFacts(statement.KindName, statement.Tables, statement.Where), statement.EstimatedRows)
            {
                Columns = statement.Columns, Outputs = outputs.Value!,
            }
            : outputs.Error!;
    }

    public async ValueTask DisposeAsync()
    {
        if (_classifier is { } classifier)
        {
            await classifier.DisposeAsync().ConfigureAwait(false);
        }

        _opening.Dispose();
    }
}
