using Npgsql;

namespace Warden.Storage.Engines;

/// <summary>The two engines Warden keeps its state in.</summary>
public enum StoreEngine
{
    /// <summary>A file in the data folder: the embedded default, for one gateway.</summary>
    Sqlite,

    /// <summary>One PostgreSQL database that several gateway replicas share.</summary>
    Postgres,
}

/// <summary>
/// Where a store lives: a SQLite file, or a PostgreSQL database given by a connection string
/// (<c>postgres://user:password@host:5432/db</c> or Npgsql's <c>Host=...;Database=...</c>).
/// </summary>
public sealed record StoreLocation
{
    private StoreLocation(StoreEngine engine, string connection, string shown)
    {
        Engine = engine;
        Connection = connection;
        Shown = shown;
    }

    public StoreEngine Engine { get; }

    /// <summary>The SQLite file's path, or Npgsql's connection string (with its password: never show it).</summary>
    public string Connection { get; }

    /// <summary>What errors and logs may show: the file, or the server and database without the password.</summary>
    public string Shown { get; }

    public static StoreLocation Sqlite(string path) => new(StoreEngine.Sqlite, path, path);

    /// <summary>A PostgreSQL database, from a <c>postgres://</c> URL or an Npgsql connection string.</summary>
    /// <exception cref="FormatException">The text is neither; the message says what is wrong, never the password.</exception>
    public static StoreLocation Postgres(string connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var url = connection.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || connection.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase);
        if (!url && !connection.Contains(';', StringComparison.Ordinal) && System.Text.RegularExpressions.Regex.IsMatch(connection, @"=\S*\s+\w+\s*="))
        {
            throw new FormatException("the PostgreSQL connection string is in libpq's keyword/value form (host=... dbname=...), which Warden does not read: write postgres://user:password@host:port/database, or Host=...;Database=...;Username=...;Password=...");
        }

        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = url
                ? FromUrl(connection)
                : new NpgsqlConnectionStringBuilder(connection);
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"the PostgreSQL connection string does not read: {e.Message.Split('\n')[0]}", e);
        }

        if (string.IsNullOrEmpty(builder.Host))
        {
            throw new FormatException("the PostgreSQL connection string names no host");
        }

        if (string.IsNullOrEmpty(builder.Database))
        {
            throw new FormatException($"the PostgreSQL connection string to {builder.Host} names no database");
        }

        return new StoreLocation(StoreEngine.Postgres, builder.ConnectionString, $"postgres://{builder.Username}@{builder.Host}:{builder.Port}/{builder.Database}");
    }

    /// <summary>
    /// A <c>postgres://</c> URL or a connection string (any <c>key=value</c> text: <c>Server=</c>
    /// as well as <c>Host=</c>) is PostgreSQL; anything else is a SQLite file's path. A connection
    /// string taken for a path would be shown, password and all, as the file's name.
    /// </summary>
    /// <exception cref="FormatException">It is a connection string that does not read; the message never shows it.</exception>
    public static StoreLocation Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var postgres = text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
                       || text.Contains('=', StringComparison.Ordinal);
        return postgres ? Postgres(text) : Sqlite(text);
    }

    public override string ToString() => Shown;


    private static NpgsqlConnectionStringBuilder FromUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException("a postgres:// URL reads postgres://user:password@host:port/database");
        }

        var builder = new NpgsqlConnectionStringBuilder { Host = uri.Host, Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port, Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')) };
        var user = uri.UserInfo.Split(':', 2);
        if (user[0].Length > 0)
        {
            builder.Username = Uri.UnescapeDataString(user[0]);
        }

        if (user.Length == 2)
        {
            builder.Password = Uri.UnescapeDataString(user[1]);
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var (key, value) = pair.Split('=', 2) is [var k, var v] ? (Uri.UnescapeDataString(k), Uri.UnescapeDataString(v)) : (pair, "");
            builder[key switch { "sslmode" => "SSL Mode", "application_name" => "Application Name", "connect_timeout" => "Timeout", _ => key }] = key == "sslmode" ? SslMode(value) : value;
        }

        return builder;
    }

    private static string SslMode(string value) => value switch
    {
        "disable" => "Disable",
        "allow" => "Allow",
        "prefer" => "Prefer",
        "require" => "Require",
        "verify-ca" => "VerifyCA",
        "verify-full" => "VerifyFull",
        _ => throw new ArgumentException($"sslmode '{value}' is not one of disable, allow, prefer, require, verify-ca, verify-full"),
    };
}
