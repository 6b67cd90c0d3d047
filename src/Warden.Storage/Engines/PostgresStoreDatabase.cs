using System.Data;
using Npgsql;

namespace Warden.Storage.Engines;

/// <summary>
/// A store in a PostgreSQL database that several gateway replicas share. Each unit of work takes a
/// pooled connection; units of several statements are serializable transactions, run again (a few
/// times) when PostgreSQL reports that a concurrent one, perhaps another replica's, collided.
/// </summary>
internal sealed class PostgresStoreDatabase : StoreDatabase
{
    /// <summary>How many times a transaction is tried when replicas keep colliding.</summary>
    private const int Attempts = 8;

    private readonly NpgsqlDataSource _source;

    /// <summary>
    /// A lock's holder keeps a pooled connection for the lock and takes another for its work: with
    /// every connection held by a lock, no holder could do its work, and all would wait for the
    /// pool's timeout. Half the pool at most holds locks.
    /// </summary>
    private readonly SemaphoreSlim _holders;

    private PostgresStoreDatabase(NpgsqlDataSource source, string shown, int poolSize)
    {
        _source = source;
        Shown = shown;
        _holders = new SemaphoreSlim(Math.Max(1, poolSize / 2));
    }

    public override StoreEngine Engine => StoreEngine.Postgres;

    public override string Shown { get; }

    /// <summary>Connects (and checks that it can) to the database the location names.</summary>
    /// <exception cref="InvalidOperationException">It cannot be reached or refuses the role; the message names the server and database, never the password.</exception>
    public static PostgresStoreDatabase Open(StoreLocation location)
    {
        var builder = new NpgsqlConnectionStringBuilder(location.Connection);
        if (!location.Connection.Contains("pool size", StringComparison.OrdinalIgnoreCase))
        {
            // Replicas share the server's connections (100 by default): a replica takes few.
            builder.MaxPoolSize = 24;
        }

        builder.ApplicationName ??= "warden";
        var source = NpgsqlDataSource.Create(builder);
        try
        {
            using var connection = source.OpenConnection();
            return new PostgresStoreDatabase(source, location.Shown, builder.MaxPoolSize);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or ArgumentException)
        {
            source.Dispose();
            throw new InvalidOperationException($"the PostgreSQL store {location.Shown} cannot be reached: {e.Message.Split('\n')[0].TrimEnd('.')}", e);
        }
    }

    public override T Use<T>(Func<StoreSession, T> work)
    {
        using var connection = _source.OpenConnection();
        return work(new StoreSession(connection, null));
    }

    public override T Transaction<T>(Func<StoreSession, T> work, bool serializable = true)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var connection = _source.OpenConnection();
            using var transaction = connection.BeginTransaction(serializable ? IsolationLevel.Serializable : IsolationLevel.ReadCommitted);
            try
            {
                var result = work(new StoreSession(connection, transaction));
                transaction.Commit();
                return result;
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected && attempt < Attempts)
            {
                // Another transaction got there first: run again on what it wrote, after a short random pause.
                Thread.Sleep(Random.Shared.Next(1, 5 * attempt));
            }
        }
    }

    public override async Task<IDisposable> HoldAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        // This process's own waiters queue here, so a replica holds at most one connection per lock.
        var held = await HoldHereAsync(keys, cancellationToken).ConfigureAwait(false);
        NpgsqlConnection? connection = null;
        try
        {
            // Taken after the keys, so that waiters for a held key take no connection either.
            await _holders.WaitAsync(cancellationToken).ConfigureAwait(false);
            held.Add(_holders);
            connection = await _source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            foreach (var key in keys)
            {
                // Session locks: released when the replica unlocks, or by the server when the replica dies.
                await using var command = new NpgsqlCommand("SELECT pg_advisory_lock(hashtextextended(@key, 0))", connection);
                command.Parameters.AddWithValue("key", "warden " + key);
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            Unlock(connection);
            held.ForEach(h => h.Release());
            throw;
        }

        return new Release(() =>
        {
            Unlock(connection);
            held.ForEach(h => h.Release());
        });
    }

    private static void Unlock(NpgsqlConnection? connection)
    {
        if (connection is null)
        {
            return;
        }

        try
        {
            using var command = new NpgsqlCommand("SELECT pg_advisory_unlock_all()", connection);
            command.ExecuteNonQuery();
        }
        catch (NpgsqlException)
        {
            // The connection is broken: the server has let its locks go with it.
        }
        finally
        {
            connection.Dispose();
        }
    }

    public override void Dispose()
    {
        _source.Dispose();
        _holders.Dispose();
    }
}
