using Microsoft.Data.Sqlite;

namespace Warden.Storage;

/// <summary>
/// A governed system's own SQLite file in Warden's data folder (a database's journal, an
/// upstream's pins): readable by the owner only, in WAL mode, and written with full sync, because
/// what it holds (before-images, approved tool versions) is what undo and pinning stand on.
/// </summary>
public sealed class SystemFile
{
    private readonly string _connectionString;

    private SystemFile(string path) =>
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true }.ToString();

    /// <summary>Opens the file at <paramref name="path"/>, creating it and its folder (owner-only) if missing, and runs <paramref name="schema"/> (idempotent DDL).</summary>
    public static SystemFile Create(string path, string schema)
    {
        ArgumentNullException.ThrowIfNull(path);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null)
        {
            OwnerOnly.CreateFolder(folder);
        }

        OwnerOnly.PrepareDatabase(path);
        var file = new SystemFile(path);
        using var connection = file.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode = WAL;\n" + schema;
        command.ExecuteNonQuery();
        return file;
    }

    /// <summary>A new open connection; waits up to 5 s for another writer.</summary>
    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL";
        pragma.ExecuteNonQuery();
        return connection;
    }
}
