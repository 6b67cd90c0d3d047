using System.Data.Common;
using System.Globalization;

namespace Warden.Storage.Engines;

/// <summary>
/// A store's database on either engine, spoken to in one portable SQL (TEXT ids, ISO-8601 UTC times
/// that sort as text, <c>@name</c> parameters, <c>ON CONFLICT</c>). SQLite: one connection under
/// one lock, as one gateway owns its data folder. PostgreSQL: a pool shared by this process, and
/// the database shared by every replica, so a unit of several statements is a serializable
/// transaction (retried when PostgreSQL says another replica got in the way), and what a replica
/// keeps in memory must not outlive a call (<see cref="Shared"/>).
/// </summary>
internal abstract class StoreDatabase : IDisposable
{
    public abstract StoreEngine Engine { get; }

    /// <summary>Where it lives, as errors may show it.</summary>
    public abstract string Shown { get; }

    /// <summary>True when other processes (replicas) write the same database: nothing read may be kept across calls.</summary>
    public bool Shared => Engine == StoreEngine.Postgres;

    /// <summary>Runs statements on one connection, each on its own (autocommit).</summary>
    public abstract T Use<T>(Func<StoreSession, T> work);

    /// <summary>
    /// Runs statements as one transaction: all or nothing, and as if alone (serializable). On
    /// PostgreSQL the work is run again when another replica's transaction collided with it, so it
    /// must do nothing but SQL. Unserializable (read committed) is for work that takes its own lock
    /// first and must then see what was committed while it waited.
    /// </summary>
    public abstract T Transaction<T>(Func<StoreSession, T> work, bool serializable = true);

    /// <summary>
    /// Holds named locks, in the order given, until disposed: in this process, and on PostgreSQL in
    /// every replica (advisory locks), so that a decision and the count it leads to are not
    /// interleaved with another replica's.
    /// </summary>
    public abstract Task<IDisposable> HoldAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    /// <summary>Takes this process's lock of each key, in order (all or, on failure, none); the caller releases them.</summary>
    protected async Task<List<SemaphoreSlim>> HoldHereAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var held = new List<SemaphoreSlim>(keys.Count + 1);
        try
        {
            foreach (var key in keys)
            {
                var semaphore = _locks.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
                await semaphore.WaitAsync(cancellationToken).ConfigureAwait(false);
                held.Add(semaphore);
            }
        }
        catch
        {
            held.ForEach(h => h.Release());
            throw;
        }

        return held;
    }

    public int Execute(string sql, params (string Name, object? Value)[] parameters) => Use(s => s.Execute(sql, parameters));

    public long Scalar(string sql, params (string Name, object? Value)[] parameters) => Use(s => s.Scalar(sql, parameters));

    public List<T> Query<T>(string sql, Func<DbDataReader, T> row, params (string Name, object? Value)[] parameters) => Use(s => s.Query(sql, row, parameters));

    public abstract void Dispose();

    /// <summary>A time as the stores write it: UTC, milliseconds, sortable as text.</summary>
    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>A time as the stores wrote it.</summary>
    public static DateTimeOffset ParseTime(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
}

/// <summary>One connection (in a transaction or not) that a unit of store work runs its statements on.</summary>
internal sealed class StoreSession(DbConnection connection, DbTransaction? transaction)
{
    public int Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        return command.ExecuteNonQuery();
    }

    /// <summary>
    /// Holds a named lock until the transaction ends, on PostgreSQL across replicas (a transaction
    /// advisory lock); on SQLite the store's one lock already holds everything. For a read committed
    /// transaction on a few rows that would otherwise collide with others, serializable, over the
    /// whole (small) table and fail after its retries under load.
    /// </summary>
    public void Lock(string key)
    {
        if (connection is Npgsql.NpgsqlConnection)
        {
            Execute("SELECT pg_advisory_xact_lock(hashtextextended(@key, 0))", ("@key", "warden row " + key));
        }
    }

    /// <summary>A number (a count, a sum); 0 when there is no row or the value is null.</summary>
    public long Scalar(string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        return command.ExecuteScalar() is { } value and not DBNull ? Convert.ToInt64(value, CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>The first column of the first row as text; null when there is none.</summary>
    public string? Text(string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        return command.ExecuteScalar() as string;
    }

    public List<T> Query<T>(string sql, Func<DbDataReader, T> row, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(row(reader));
        }

        return rows;
    }

    /// <summary>A command for many executions with changing parameter values (<c>command.Parameters["@x"].Value = ...</c>).</summary>
    public DbCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }
}

/// <summary>Reading columns that may be null.</summary>
internal static class StoreRows
{
    public static string? NullableString(this DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static DateTimeOffset Time(this DbDataReader reader, int ordinal) => StoreDatabase.ParseTime(reader.GetString(ordinal));

    public static DateTimeOffset? NullableTime(this DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : StoreDatabase.ParseTime(reader.GetString(ordinal));
}
