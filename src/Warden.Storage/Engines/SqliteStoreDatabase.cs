using Microsoft.Data.Sqlite;

namespace Warden.Storage.Engines;

/// <summary>
/// A store in a SQLite file: one connection, used under one lock (every operation is a few rows,
/// and SQLite takes one writer at a time anyway); a data folder has one gateway at a time.
/// </summary>
internal sealed class SqliteStoreDatabase : StoreDatabase
{
    private readonly SqliteConnection _connection;
    private readonly Lock _sync = new();

    private SqliteStoreDatabase(SqliteConnection connection, string path)
    {
        _connection = connection;
        Shown = path;
    }

    public override StoreEngine Engine => StoreEngine.Sqlite;

    public override string Shown { get; }

    /// <summary>Opens (creating when needed) the file, readable by its owner only.</summary>
    /// <exception cref="InvalidOperationException">The file cannot be opened as SQLite; the message names it.</exception>
    /// <param name="path">The file.</param>
    /// <param name="what">What it is, for errors ("gateway store").</param>
    /// <param name="fullSync">Sync every commit to the disk (a system's journal and pins: what undo and pinning stand on); otherwise NORMAL, consistent across a crash.</param>
    public static SqliteStoreDatabase Open(string path, string what, bool fullSync = false)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            OwnerOnly.CreateFolder(directory);
        }

        OwnerOnly.PrepareDatabase(path);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        try
        {
            connection.Open();
            using var command = connection.CreateCommand();
            // NORMAL: consistent across a crash; the audit trail, fsync'd, is the record of what happened.
            command.CommandText = $"PRAGMA journal_mode = WAL; PRAGMA synchronous = {(fullSync ? "FULL" : "NORMAL")}; PRAGMA busy_timeout = 5000;";
            command.ExecuteNonQuery();
            return new SqliteStoreDatabase(connection, path);
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw new InvalidOperationException($"the {what} {path} cannot be opened ({e.Message.TrimEnd('.')}): the file is damaged or is not a Warden {what}", e);
        }
    }

    public override T Use<T>(Func<StoreSession, T> work)
    {
        lock (_sync)
        {
            return work(new StoreSession(_connection, null));
        }
    }

    public override T Transaction<T>(Func<StoreSession, T> work, bool serializable = true)
    {
        lock (_sync)
        {
            using var transaction = _connection.BeginTransaction();
            var result = work(new StoreSession(_connection, transaction));
            transaction.Commit();
            return result;
        }
    }

    public override async Task<IDisposable> HoldAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var held = await HoldHereAsync(keys, cancellationToken).ConfigureAwait(false);
        return new Release(() => held.ForEach(h => h.Release()));
    }

    public override void Dispose() => _connection.Dispose();
}

/// <summary>Runs its action once, at the first dispose.</summary>
internal sealed class Release(Action action) : IDisposable
{
    private int _done;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _done, 1) == 0)
        {
            action();
        }
    }
}
