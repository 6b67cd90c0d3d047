using Microsoft.Data.Sqlite;

namespace Warden.Workspace.Tools;

/// <summary>The connection (and transaction, when writing) a tool works in, the time, and the policy's data classes.</summary>
internal sealed class ToolContext(SqliteConnection connection, SqliteTransaction? transaction, DateTimeOffset now, Func<string, IReadOnlyList<string>> classesOf,
    bool writing = false)
{
    /// <summary>True inside an apply or rollback: the keys read now are the ones about to be written.</summary>
    public bool Writing { get; } = writing;

    public SqliteConnection Connection { get; } = connection;

    public SqliteTransaction? Transaction { get; } = transaction;

    public DateTimeOffset Now { get; } = now;

    /// <summary>ISO-8601 UTC with milliseconds, as the workspace stores times.</summary>
    public string NowText { get; } = Timestamp(now);

    public Func<string, IReadOnlyList<string>> ClassesOf { get; } = classesOf;

    public static string Timestamp(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    public SqliteCommand Command(string sql, IEnumerable<SqliteParameter>? parameters = null)
    {
        var command = Connection.CreateCommand();
        command.Transaction = Transaction;
        command.CommandText = sql;
        foreach (var p in parameters ?? [])
        {
            command.Parameters.Add(new SqliteParameter(p.ParameterName, p.Value));
        }

        return command;
    }

    public SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters) =>
        Command(sql, parameters.Select(p => new SqliteParameter(p.Name, p.Value ?? DBNull.Value)));

    public long Count(string sql, IEnumerable<SqliteParameter>? parameters = null)
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
        using var command = Command($"SELECT * FROM {table.Name} WHERE {table.KeyWhere}", parts.Select((p, i) => new SqliteParameter($"@k{i}", p)));
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

    public IEnumerable<string> Keys(string sql, IEnumerable<SqliteParameter>? parameters = null)
    {
        using var command = Command(sql, parameters);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return reader.GetString(0);
        }
    }
}
