using System.Globalization;
using System.Reflection;
using Microsoft.Data.Sqlite;

namespace Warden.Storage.Gateway;

/// <summary>
/// The gateway's own SQLite file: one connection, used under one lock (every operation is a few
/// rows, and SQLite takes one writer at a time anyway). The stores of <see cref="GatewayStore"/>
/// each read and write their own tables through it.
/// </summary>
internal sealed class GatewayDatabase : IDisposable
{
    private static readonly string Schema = LoadSchema();
    private readonly SqliteConnection _connection;

    private GatewayDatabase(SqliteConnection connection) => _connection = connection;

    /// <summary>The one connection; used only while holding <see cref="Sync"/>.</summary>
    public SqliteConnection Connection => _connection;

    /// <summary>Held around every use of the connection.</summary>
    public Lock Sync { get; } = new();

    /// <summary>Opens (creating when needed) the store at <paramref name="path"/>, readable by its owner only (it names people and holds their approvals).</summary>
    public static GatewayDatabase Open(string path)
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
            command.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;" + Schema;
            command.ExecuteNonQuery();
            Upgrade(connection);
            return new GatewayDatabase(connection);
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw new InvalidOperationException($"the gateway store {path} cannot be opened ({e.Message.TrimEnd('.')}): the file is damaged or is not a Warden gateway store", e);
        }
    }

    public void Dispose() => _connection.Dispose();

    /// <summary>Brings a store written by an earlier version up to this schema; each step is idempotent.</summary>
    private static void Upgrade(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM pragma_table_info('usage') WHERE name = 'person'";
        if ((long)command.ExecuteScalar()! == 0)
        {
            // Usage counted before budgets per person was on nobody's behalf, as far as they go.
            command.CommandText = "ALTER TABLE usage ADD COLUMN person TEXT";
            command.ExecuteNonQuery();
        }

        command.CommandText = "CREATE INDEX IF NOT EXISTS usage_person ON usage (person, metric, at) WHERE person IS NOT NULL";
        command.ExecuteNonQuery();

        command.CommandText = "SELECT count(*) FROM pragma_table_info('console_sessions') WHERE name = 'last_seen'";
        if ((long)command.ExecuteScalar()! == 0)
        {
            command.CommandText = "ALTER TABLE console_sessions ADD COLUMN last_seen TEXT";
            command.ExecuteNonQuery();
        }
    }


    /// <summary>A time as the store wrote it.</summary>
    public static DateTimeOffset Parse(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    public int Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        lock (Sync)
        {
            using var command = Command(sql, parameters);
            return command.ExecuteNonQuery();
        }
    }

    public long Scalar(string sql, params (string Name, object? Value)[] parameters)
    {
        lock (Sync)
        {
            using var command = Command(sql, parameters);
            return command.ExecuteScalar() is long n ? n : 0;
        }
    }

    public SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    private static string LoadSchema()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Warden.Storage.GatewaySchema.sql")
                           ?? throw new InvalidOperationException("the gateway schema is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
