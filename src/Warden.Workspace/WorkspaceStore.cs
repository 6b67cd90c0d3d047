using System.Data;
using System.Data.Common;
using System.Reflection;
using Microsoft.Data.Sqlite;
using Npgsql;
using Warden.Storage.Engines;

namespace Warden.Workspace;

/// <summary>
/// The workspace database: one SQLite file, or a schema of the PostgreSQL store that gateway
/// replicas share. SQLite: opening creates the schema when it is missing; every connection runs
/// in WAL mode so readers never block the single writer. Writes go through one connection, one at
/// a time (SQLite admits one writer anyway): they queue here rather than retry on a busy
/// database, and only that connection holds the large page cache writes need. PostgreSQL: the
/// schema is a versioned migration; reads see one snapshot each; writes take the workspace's lock
/// in their transaction, so one replica writes at a time, as one SQLite writer does.
/// </summary>
public sealed class WorkspaceStore : IDisposable
{
    private readonly SemaphoreSlim _writing = new(1, 1);
    private readonly NpgsqlDataSource? _postgres;
    private SqliteConnection? _writer;
    private long _generation;
    private bool _disposed;

    /// <summary>The schema's text (Schema.sql): the tables, and the catalogue's fields and their classes.</summary>
    internal static readonly string Schema = LoadSchema();

    private WorkspaceStore(string path, string connectionString, NpgsqlDataSource? postgres = null)
    {
        Path = path;
        ConnectionString = connectionString;
        _postgres = postgres;
    }

    /// <summary>The database file; for PostgreSQL, the store as shown (without its password).</summary>
    public string Path { get; }

    /// <summary>True when the workspace is in PostgreSQL, written by every replica sharing it.</summary>
    public bool Shared => _postgres is not null;

    /// <summary>The component whose migrations make the workspace's schema in PostgreSQL.</summary>
    public const string Component = "workspace";

    /// <summary>
    /// Opens the workspace of an environment at a store: the SQLite file at a SQLite location, or
    /// the environment's workspace schema in PostgreSQL (created and migrated when missing, one
    /// replica at a time).
    /// </summary>
    public static WorkspaceStore Open(StoreLocation location, string environment)
    {
        ArgumentNullException.ThrowIfNull(location);
        if (location.Engine == StoreEngine.Sqlite)
        {
            return Open(location.Connection);
        }

        var schema = StoreMigrations.SharedSchema(location, environment, "workspace", Component);
        var builder = new NpgsqlDataSourceBuilder(schema.Connection);
        builder.ConnectionStringBuilder.ApplicationName ??= "warden";
        return new WorkspaceStore(location.Shown, schema.Connection, builder.Build());
    }

    internal string ConnectionString { get; }

    /// <summary>Opens (and if needed creates) the workspace database at the path, readable by its owner only: it holds personal data.</summary>
    public static WorkspaceStore Open(string path)
    {
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
            }
            else
            {
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        KeepToOwner(path);

        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
        }.ToString();
        var store = new WorkspaceStore(path, connectionString);
        using var connection = store.Connect(cacheKilobytes: 65_536);
        using (var command = connection.CreateCommand())
        {
            command.CommandText = Schema;
            command.ExecuteNonQuery();
        }

        AddMissingColumns(connection);
        SequenceActions(connection);
        ConsentLedger.Install(connection);
        return store;
    }

    /// <summary>
    /// Creates the database empty with mode 0600 before SQLite opens it, since SQLite gives its
    /// -wal and -shm files the database file's mode, and tightens files an earlier version left
    /// looser (where we own them). Nothing on Windows, where the folder's ACL is inherited.
    /// </summary>
    private static void KeepToOwner(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        const UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using (new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = ownerOnly }))
            {
            }
        }
        catch (IOException) when (File.Exists(path))
        {
            // there already: tightened below
        }

        foreach (var file in (string[])[path, path + "-wal", path + "-shm", path + "-journal"])
        {
            try
            {
                var mode = File.GetUnixFileMode(file);
                if ((mode & ~(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute)) != 0)
                {
                    File.SetUnixFileMode(file, mode & (UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
                }
            }
            catch (Exception e) when (e is FileNotFoundException or UnauthorizedAccessException or IOException)
            {
                // missing, or not ours to change
            }
        }
    }

    /// <summary>True when the workspace holds no contacts yet (a new file, never seeded).</summary>
    public bool IsEmpty
    {
        get
        {
            using var connection = Connect();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT NOT EXISTS (SELECT 1 FROM contacts)";
            return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 1;
        }
    }

    /// <summary>
    /// The write connection, held until the lease is disposed; other writers wait for it. Opened
    /// on first use, so a store that only seeds and reads never keeps a connection open.
    /// </summary>
    internal async ValueTask<WriteLease> WriteAsync(CancellationToken cancellationToken = default)
    {
        // Waited for without a thread: a long write (a million contacts, a paced send) holds the
        // connection for seconds, and the calls queued behind it must not each hold a pool thread.
        await _writing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_postgres is not null)
            {
                // A pooled connection per write: the lock that makes one writer is the database's (BeginWrite).
                return new WriteLease(this, await _postgres.OpenConnectionAsync(cancellationToken).ConfigureAwait(false), owned: true);
            }

            if (_writer is null)
            {
                _writer = Connect(cacheKilobytes: 262_144);
            }

            return new WriteLease(this, _writer);
        }
        catch
        {
            _writing.Release();
            throw;
        }
    }

    /// <summary>
    /// Counts the writes this store has let through (each write lease released, each seed): a
    /// read's plan that kept what it read may hand that on only while this has not moved since the
    /// plan began. Moved after the write commits, so a write this misses began after the plan
    /// read it and before the plan's snapshot, which then holds it.
    /// </summary>
    internal long Generation => Interlocked.Read(ref _generation);

    /// <summary>Something was (or may have been) written: reads planned before now read again when applied.</summary>
    internal void Wrote() => Interlocked.Increment(ref _generation);

    /// <summary>Closes the write connection; reads and writes after this fail.</summary>
    public void Dispose()
    {
        _writing.Wait();
        try
        {
            _disposed = true;
            _writer?.Dispose();
            _writer = null;
            _postgres?.Dispose();
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>The write connection for the duration of one write; disposing it lets the next writer in.</summary>
    internal sealed class WriteLease(WorkspaceStore store, DbConnection connection, bool owned = false) : IDisposable
    {
        private int _released;

        public DbConnection Connection { get; } = connection;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                if (owned)
                {
                    Connection.Dispose();
                }

                store.Wrote();
                store._writing.Release();
            }
        }
    }

    /// <summary>An open connection with Warden's settings applied. The caller disposes it.</summary>
    internal DbConnection Connect() => _postgres?.OpenConnection() ?? (DbConnection)Connect(cacheKilobytes: 65_536);

    /// <summary>A transaction that reads one snapshot of the workspace throughout.</summary>
    internal static DbTransaction BeginRead(DbConnection connection) => connection is SqliteConnection sqlite
        ? sqlite.BeginTransaction(deferred: true)
        : connection.BeginTransaction(IsolationLevel.RepeatableRead);

    // One lock for every writer of the workspace, whichever replica: held until the transaction ends.
    private const string WriterLock = "SELECT pg_advisory_xact_lock(hashtextextended('warden workspace writer', 0))";

    /// <summary>
    /// A write transaction, the only one at a time: SQLite's immediate transaction, or PostgreSQL's
    /// with the workspace's writer lock taken first, so what it reads is what it writes over.
    /// </summary>
    internal static DbTransaction BeginWrite(DbConnection connection)
    {
        if (connection is SqliteConnection sqlite)
        {
            return sqlite.BeginTransaction(deferred: false);
        }

        var transaction = connection.BeginTransaction(IsolationLevel.ReadCommitted);
        try
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = WriterLock;
            command.ExecuteNonQuery();
            return transaction;
        }
        catch
        {
            transaction.Dispose();
            throw;
        }
    }

    // The physical connections already set up, with the cache size they were given: the pool
    // hands the same ones out again, and their settings last as long as they do. Setting them on
    // every open parsed and ran seven pragmas per read, a sixth of a point read's time.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, System.Runtime.CompilerServices.StrongBox<int>> Configured = new();

    private SqliteConnection Connect(int cacheKilobytes)
    {
        var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        if (Configured.TryGetValue(connection.Handle!, out var done) && done.Value == cacheKilobytes)
        {
            return connection;
        }

        using var pragmas = connection.CreateCommand();
        // WAL: readers see a snapshot while one writer commits; NORMAL sync is durable at each
        // checkpoint and safe against corruption; foreign keys stay off, the tools check references.
        // The writer's page cache of up to 256 MB holds the pages a 100,000-record change dirties
        // (about 200 MB) until its commit instead of spilling them to the WAL and writing them
        // again, which halved such an update here; readers keep 64 MB. Reads go through a memory
        // map (a quarter faster on large scans here); checkpoints run off the writer's path (see
        // Checkpoint) instead of inside its commit.
        pragmas.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; " +
                              $"PRAGMA cache_size = -{cacheKilobytes}; PRAGMA mmap_size = 1073741824; PRAGMA wal_autocheckpoint = 0; PRAGMA temp_store = MEMORY;";
        pragmas.ExecuteNonQuery();
        Configured.AddOrUpdate(connection.Handle!, new System.Runtime.CompilerServices.StrongBox<int>(cacheKilobytes));
        return connection;
    }

    private int _checkpointing;

    /// <summary>Waits for a running background checkpoint (benchmarks measure writes apart from it).</summary>
    internal void WaitForCheckpoint()
    {
        while (Volatile.Read(ref _checkpointing) == 1)
        {
            Thread.Sleep(10);
        }
    }

    /// <summary>
    /// Copies committed pages from the WAL back into the database, on a background thread, after a
    /// write. SQLite would otherwise do it inside the next commit that crosses its threshold,
    /// adding seconds to whichever call happens to commit then.
    /// </summary>
    internal void Checkpoint()
    {
        if (_postgres is not null || Interlocked.Exchange(ref _checkpointing, 1) == 1)
        {
            return;
        }

        _ = Task.Run(() =>
        {
            try
            {
                using var connection = Connect(cacheKilobytes: 65_536);
                using var command = connection.CreateCommand();
                command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
                command.ExecuteNonQuery();
            }
            catch (SqliteException)
            {
                // A busy or closed database: the next write schedules another checkpoint.
            }
            finally
            {
                Volatile.Write(ref _checkpointing, 0);
            }
        });
    }

    /// <summary>Columns added after the first release of the schema, added to older files on open.</summary>
    private static void AddMissingColumns(SqliteConnection connection)
    {
        var existing = new HashSet<string>(StringComparer.Ordinal);
        using (var info = connection.CreateCommand())
        {
            info.CommandText = "SELECT name FROM pragma_table_info('journal')";
            using var reader = info.ExecuteReader();
            while (reader.Read())
            {
                existing.Add(reader.GetString(0));
            }
        }

        foreach (var (column, type) in new[] { ("columns", "TEXT"), ("version", "INTEGER") }.Where(c => !existing.Contains(c.Item1)))
        {
            using var alter = connection.CreateCommand();
            alter.CommandText = $"ALTER TABLE journal ADD COLUMN {column} {type}";
            alter.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// Numbers the actions of a file written before actions had a sequence, in the order they were
    /// applied (by time, then id: the best order such a file knows), and makes the sequence unique.
    /// Not the rowid: VACUUM may renumber the rowids of a table without an INTEGER PRIMARY KEY.
    /// </summary>
    private static void SequenceActions(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'actions_seq'";
        if (Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 1)
        {
            return;
        }

        // Immediate: two processes opening the same old file upgrade it one after the other.
        using var transaction = connection.BeginTransaction(deferred: false);
        command.Transaction = transaction;
        command.CommandText = "SELECT count(*) FROM pragma_table_info('actions') WHERE name = 'seq'";
        if (Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            command.CommandText = """
                ALTER TABLE actions ADD COLUMN seq INTEGER;
                UPDATE actions SET seq = ordered.n FROM (SELECT id, row_number() OVER (ORDER BY applied_at, id) AS n FROM actions) ordered WHERE ordered.id = actions.id;
                """;
            command.ExecuteNonQuery();
        }

        command.CommandText = "CREATE UNIQUE INDEX IF NOT EXISTS actions_seq ON actions (seq)";
        command.ExecuteNonQuery();
        transaction.Commit();
    }

    private static string LoadSchema()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Warden.Workspace.Schema.sql")
                           ?? throw new InvalidOperationException("the workspace schema is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
