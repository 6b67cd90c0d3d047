using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Warden.Tests;

/// <summary>
/// A throwaway PostgreSQL cluster for the tests: its own data folder and port on loopback, started
/// once for the test run and stopped at its end. ./test.sh installs PostgreSQL from Debian's
/// packages when it is missing; without it these tests fail, saying so. As root, the server runs as
/// the postgres user (PostgreSQL refuses to run as root). A test project that uses it says
/// <c>[assembly: AssemblyFixture(typeof(PostgresServer))]</c>.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string GovernedRole = "warden_gov";
    public const string GovernedPassword = "warden-test-only";
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "warden-pg-" + Guid.NewGuid().ToString("N")[..12]);
    private string _bin = "";
    private int _databases;

    public int Port { get; private set; }

    /// <summary>The superuser's connection to a database.</summary>
    public string Admin(string database = "postgres") => $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=false";

    /// <summary>Warden's own (not superuser) connection to a database.</summary>
    public string Governed(string database) => $"Host=127.0.0.1;Port={Port};Username={GovernedRole};Password={GovernedPassword};Database={database}";

    public async ValueTask InitializeAsync()
    {
        _bin = FindBin() ?? throw new InvalidOperationException(
            "PostgreSQL's server programs (initdb, pg_ctl) are not installed: run ./test.sh, which installs them from Debian's packages (apt-get install postgresql)");
        Directory.CreateDirectory(_folder);
        var asRoot = Environment.UserName == "root";
        if (asRoot)
        {
            Run("chown", "postgres", _folder);
        }

        Port = FreePort();
        var data = Path.Combine(_folder, "data");
        RunPostgres(asRoot, "initdb", "-D", data, "-A", "md5", "-U", "postgres", "--pwfile=" + WritePassword(asRoot), "-E", "UTF8", "--no-sync", "--locale=C");
        // trust for the superuser on the socket-less loopback is not needed: md5 with a password file.
        RunPostgres(asRoot, "pg_ctl", "-D", data, "-w", "-t", "60", "-l", Path.Combine(_folder, "server.log"), "-o",
            $"-p {Port} -k {_folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", "start");
        await using var connection = new NpgsqlConnection(Admin() + ";Password=" + AdminPassword);
        await connection.OpenAsync();
        await using var role = new NpgsqlCommand($"CREATE ROLE {GovernedRole} LOGIN PASSWORD '{GovernedPassword}'", connection);
        await role.ExecuteNonQueryAsync();
    }

    private const string AdminPassword = "postgres-test-only";

    private string WritePassword(bool asRoot)
    {
        var file = Path.Combine(_folder, "pw");
        File.WriteAllText(file, AdminPassword + "\n");
        if (asRoot)
        {
            Run("chown", "postgres", file);
        }

        return file;
    }

    /// <summary>A fresh database for one test, owned by the superuser; Warden's role may connect.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "t" + Interlocked.Increment(ref _databases);
        await using var connection = new NpgsqlConnection(Admin() + ";Password=" + AdminPassword);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await create.ExecuteNonQueryAsync();
        return name;
    }

    /// <summary>Runs SQL as the superuser in a database.</summary>
    public async Task ExecuteAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(Admin(database) + ";Password=" + AdminPassword);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>One value, read as the superuser.</summary>
    public async Task<T> ScalarAsync<T>(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(Admin(database) + ";Password=" + AdminPassword);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    public string AdminConnection(string database) => Admin(database) + ";Password=" + AdminPassword;

    /// <summary>The superuser's connection to a database as a URL, as other programs (a database MCP server) take it.</summary>
    public string AdminUrl(string database) => $"postgres://postgres:{AdminPassword}@127.0.0.1:{Port}/{database}?sslmode=disable";

    public ValueTask DisposeAsync()
    {
        try
        {
            RunPostgres(Environment.UserName == "root", "pg_ctl", "-D", Path.Combine(_folder, "data"), "-m", "immediate", "-w", "stop");
        }
        catch (InvalidOperationException)
        {
            // not started
        }

        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }

    private static string? FindBin()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            if (dir.Length > 0 && File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")))
            {
                return dir;
            }
        }

        const string debian = "/usr/lib/postgresql";
        return Directory.Exists(debian)
            ? Directory.GetDirectories(debian).Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0).FirstOrDefault()
            : null;
    }

    private void RunPostgres(bool asRoot, string program, params string[] arguments)
    {
        var path = Path.Combine(_bin, program);
        if (asRoot)
        {
            Run("runuser", ["-u", "postgres", "--", path, .. arguments]);
        }
        else
        {
            Run(path, arguments);
        }
    }

    private static void Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {error}{output.Result}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
