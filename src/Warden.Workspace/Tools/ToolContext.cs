using System.Data.Common;

namespace Warden.Workspace.Tools;

/// <summary>The connection (and transaction, when writing) a tool works in, the time, and the policy's data classes.</summary>
internal sealed class ToolContext(DbConnection connection, DbTransaction? transaction, DateTimeOffset now, Func<string, IReadOnlyList<string>> classesOf,
    bool writing = false)
{
    /// <summary>True inside an apply or rollback: the keys read now are the ones about to be written.</summary>
    public bool Writing { get; } = writing;

    public DbConnection Connection { get; } = connection;

    /// <summary>Where the engine's SQL differs: SQLite's or PostgreSQL's.</summary>
    public WorkspaceSql Sql { get; } = WorkspaceSql.Of(connection);

    public DbTransaction? Transaction { get; } = transaction;

    public DateTimeOffset Now { get; } = now;

    /// <summary>ISO-8601 UTC with milliseconds, as the workspace stores times.</summary>
    public string NowText { get; } = Timestamp(now);

    public Func<string, IReadOnlyList<string>> ClassesOf { get; } = classesOf;

    public static string Timestamp(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    public DbCommand Command(string sql, IEnumerable<SqlArg>? parameters = null) => Command(Connection, Transaction, sql, parameters);

    public DbCommand Command(string sql, params (string Name, object? Value)[] parameters) =>
        Command(sql, parameters.Select(p => new SqlArg(p.Name, p.Value)));

    /// <summary>A command on the connection, in the transaction, with the values bound by name (null as SQL NULL).</summary>
    public static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, IEnumerable<SqlArg>? parameters = null)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters ?? [])
        {
            command.Bind(name, value);
        }

        return command;
    }

    public long Count(string sql, IEnumerable<SqlArg>? parameters = null)
    {
        using var command = Command(sql, parameters);
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public long Count(string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public string? Text(string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        return command.ExecuteScalar() is string s ? s : null;
    }

    /// <summary>A row as column → value, or null when it does not exist.</summary>
    public Dictionary<string, object?>? Row(TableInfo table, string key)
    {
        var parts = table.SplitKey(key);
        using var command = Command($"SELECT * FROM {table.Name} WHERE {table.KeyWhere}", parts.Select((p, i) => new SqlArg($"@k{i}", p)));
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        var row = new Dictionary<string, object?>(StringComparer.Ordinal);
        for (var i = 0; i < reader.FieldCount; i++)
        {
            row[reader.GetName(i)] = reader.IsDBNull(i) ? null : reader.GetValue(i);
        }

        return row;
    }

    public IEnumerable<string> Keys(string sql, IEnumerable<SqlArg>? parameters = null)
    {
        using var command = Command(sql, parameters);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return reader.GetString(0);
        }
    }
}
