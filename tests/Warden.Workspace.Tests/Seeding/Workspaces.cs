using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Warden.Workspace.Seeding;

[assembly: AssemblyFixture(typeof(Warden.Workspace.Tests.Seeding.TemporaryWorkspaces))]

namespace Warden.Workspace.Tests.Seeding;

/// <summary>Real workspace files in a temporary directory, and ways to read them back.</summary>
internal static class Workspaces
{
    /// <summary>This test run's directory; <see cref="TemporaryWorkspaces"/> deletes it when the run ends.</summary>
    public static readonly string Root = Path.Combine(Path.GetTempPath(), "warden-workspace-tests", Guid.NewGuid().ToString("N"));

    public static string NewPath() => Path.Combine(Root, Guid.NewGuid().ToString("N"), "workspace.db");

    public static (string Path, SeedSummary Summary) Seed(int contacts, int seed = 1, DateTimeOffset? now = null)
    {
        var path = NewPath();
        var summary = WorkspaceSeeder.Seed(WorkspaceStore.Open(path), Options(contacts, seed, now), cancellationToken: TestContext.Current.CancellationToken);
        return (path, summary);
    }

    public static SeedOptions Options(int contacts, int seed = 1, DateTimeOffset? now = null) =>
        new() { Contacts = contacts, Seed = seed, Now = now ?? SeedOptions.DefaultNow };

    public static SqliteConnection Read(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public static long Scalar(string path, string sql)
    {
        using var connection = Read(path);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    public static List<string[]> Rows(string path, string sql)
    {
        using var connection = Read(path);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string[]>();
        while (reader.Read())
        {
            var row = new string[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? "<null>" : Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture)!;
            }

            rows.Add(row);
        }

        return rows;
    }

    public static List<string> Column(string path, string sql) => [.. Rows(path, sql).Select(r => r[0])];

    public static IReadOnlyList<string> Tables(string path) =>
        Column(path, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");

    /// <summary>(name, declared type, not null) for every column of a table.</summary>
    public static List<(string Name, string Type, bool NotNull)> Columns(string path, string table) =>
        [.. Rows(path, $"SELECT name, type, \"notnull\" FROM pragma_table_info('{table}')").Select(r => (r[0], r[1], r[2] == "1"))];

    /// <summary>A SHA-256 of every row of the table, ordered by all its columns, with NULL told apart from text.</summary>
    public static string Hash(string path, string table)
    {
        var columns = Columns(path, table).Select(c => c.Name).ToList();
        var order = string.Join(", ", Enumerable.Range(1, columns.Count));
        using var connection = Read(path);
        using var command = connection.CreateCommand();
        // The stored columns (table_info leaves out generated ones such as contacts.mailbox).
        command.CommandText = $"SELECT {string.Join(", ", columns.Select(c => $"\"{c}\""))} FROM {table} ORDER BY {order}";
        using var reader = command.ExecuteReader();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var rows = 0;
        while (reader.Read())
        {
            rows++;
            var line = new StringBuilder();
            for (var i = 0; i < reader.FieldCount; i++)
            {
                line.Append(reader.IsDBNull(i) ? "\0N" : reader.GetFieldType(i).Name[0] + Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture)).Append('\u001f');
            }

            hash.AppendData(Encoding.UTF8.GetBytes(line.Append('\n').ToString()));
        }

        return $"{rows}:{Convert.ToHexString(hash.GetHashAndReset())}";
    }

    /// <summary>The hash of every table but those added since the generator's data was pinned that it does not write: the ledger of unsubscribed addresses (derived from the contacts by trigger) and the queue of a send going out.</summary>
    public static Dictionary<string, string> HashAll(string path) => Tables(path).Where(t => t is not ("unsubscribed_addresses" or "send_queue")).ToDictionary(t => t, t => Hash(path, t));
}

/// <summary>Deletes the run's workspaces at the end: a run writes some 60 MB of them.</summary>
public sealed class TemporaryWorkspaces : IDisposable
{
    public void Dispose()
    {
        // Pooled connections keep files open; close them before deleting.
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(Workspaces.Root))
        {
            Directory.Delete(Workspaces.Root, recursive: true);
        }
    }
}

/// <summary>One 20,000-contact workspace shared by the tests that only read it.</summary>
public sealed class SeededWorkspace
{
    public const int Contacts = 20_000;

    public SeededWorkspace()
    {
        (Path, Summary) = Workspaces.Seed(Contacts, seed: 42);
    }

    public string Path { get; }

    public SeedSummary Summary { get; }

    public long Count(string sql) => Workspaces.Scalar(Path, sql);

    /// <summary>The share, in percent, of all contacts that the condition selects.</summary>
    public double Percent(string condition) => 100.0 * Count($"SELECT COUNT(*) FROM contacts WHERE {condition}") / Contacts;
}
