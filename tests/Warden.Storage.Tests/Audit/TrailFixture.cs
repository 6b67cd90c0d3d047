using Microsoft.Data.Sqlite;
using Warden.Core.Audit;
using Warden.Storage.Audit;

namespace Warden.Storage.Tests.Audit;

/// <summary>A trail in a temporary folder, with helpers to fill it and to tamper with its file as an operator could.</summary>
internal sealed class TrailFixture : IDisposable
{
    public TrailFixture()
    {
        Directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "warden-audit-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        Path = System.IO.Path.Combine(Directory, "audit.db");
    }

    public string Directory { get; }

    public string Path { get; }

    public static AuditEntry Call(int i, string agent = "hygiene-bot") => new()
    {
        Kind = AuditKinds.Call,
        Environment = "sandbox",
        Agent = agent,
        UseCase = "data-hygiene",
        Tool = "contacts.update",
        Arguments = System.Text.Json.JsonDocument.Parse("""{"ids": ["c-ID"], "set": {"lead_source": "web"}, "api_token": "s3cret"}""".Replace("ID", i.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)).RootElement.Clone(),
        Effect = "allow",
        Rule = "hygiene-small-updates",
        RecordsChanged = [$"c-{i}"],
        Outcome = "ok",
    };

    public AuditTrail Open(AuditTrailOptions? options = null, TimeProvider? clock = null) => AuditTrail.Open(Path, options ?? new AuditTrailOptions { CheckpointEvery = 10 }, clock);

    /// <summary>Writes <paramref name="count"/> calls through a trail that checkpoints every 10 entries, and closes it (which checkpoints the rest).</summary>
    public void Fill(int count, int checkpointEvery = 10)
    {
        using var trail = Open(new AuditTrailOptions { CheckpointEvery = checkpointEvery });
        for (var i = 1; i <= count; i++)
        {
            trail.AppendAsync(Call(i)).AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Runs SQL against the file directly, as someone with access to the disk could.</summary>
    public void Tamper(string sql, params (string Name, object? Value)[] parameters)
    {
        using var connection = new SqliteConnection($"Data Source={Path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        command.ExecuteNonQuery();
    }

    /// <summary>Rebuilds every index run from the entries as they are now, as a forger covering their tracks would.</summary>
    public void Reindex()
    {
        using var connection = new SqliteConnection($"Data Source={Path};Pooling=False");
        connection.Open();
        using var transaction = connection.BeginTransaction();
        using (var clear = connection.CreateCommand())
        {
            clear.Transaction = transaction;
            clear.CommandText = "DELETE FROM audit_index; DELETE FROM audit_record_filters;";
            clear.ExecuteNonQuery();
        }

        var runs = new List<(long Number, long First, long Last)>();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT number, first_seq, last_seq FROM audit_checkpoints ORDER BY number";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                runs.Add((reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2)));
            }
        }

        foreach (var (number, first, last) in runs)
        {
            var run = new AuditIndexRun();
            using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = $"SELECT seq, entry FROM audit_entries WHERE seq BETWEEN {first} AND {last}";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    using var document = System.Text.Json.JsonDocument.Parse(reader.GetString(1));
                    run.Add(document.RootElement.GetProperty("body"), reader.GetInt64(0));
                }
            }

            run.Write(connection, transaction, number);
        }

        transaction.Commit();
    }

    public object? Scalar(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path};Pooling=False;Mode=ReadOnly");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // a test left a file open; the temp folder is cleaned by the OS
        }
    }
}
