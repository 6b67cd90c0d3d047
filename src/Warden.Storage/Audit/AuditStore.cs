using System.Data.Common;
using System.Reflection;
using Microsoft.Data.Sqlite;
using Npgsql;
using Warden.Storage.Engines;
using Warden.Core.Audit;

namespace Warden.Storage.Audit;

/// <summary>The SQL of the audit trail, in one place: connections, identity, inserts and the reads the trail needs.</summary>
internal static class AuditStore
{
    /// <summary>The layout this code reads and writes; a trail in another is refused, never changed.</summary>
    public const string Format = "warden-audit-2";

    private static readonly string Schema = LoadSchema();

    /// <summary>
    /// The one connection the trail writes through. SQLite: synchronous = NORMAL, so a commit
    /// returns once its frames are in the write-ahead log, and <see cref="WalSyncer"/> fsyncs the
    /// log before anyone is told the entry is written, while the writer goes on with the next
    /// commit. PostgreSQL: its schema brought up to this build's first, and a commit is durable
    /// when it returns.
    /// </summary>
    public static DbConnection OpenWriter(StoreLocation location)
    {
        if (location.Engine == StoreEngine.Postgres)
        {
            using (var database = PostgresStoreDatabase.Open(location))
            {
                Migrations.Apply(database, Component, DateTimeOffset.UtcNow);
            }

            var writer = OpenPostgres(location);
            try
            {
                if (HasTable(writer, "audit_trail"))
                {
                    CheckFormat(writer, location.Shown);
                }

                return writer;
            }
            catch
            {
                writer.Dispose();
                throw;
            }
        }

        var path = location.Connection;
        OwnerOnly.PrepareDatabase(path);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        try
        {
            connection.Open();
            if (HasTable(connection, "audit_trail"))
            {
                CheckFormat(connection, path);
            }

            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;" + Schema;
            command.ExecuteNonQuery();
            return connection;
        }
        catch (Exception e)
        {
            connection.Dispose();
            throw e is SqliteException sqlite ? Unreadable(path, sqlite) : e;
        }
    }

    /// <summary>The trail's name in the migrations (<c>Migrations/postgres/audit</c>).</summary>
    public const string Component = "audit";

    /// <summary>A read-only connection: verify, queries and exports never create or change the trail.</summary>
    public static DbConnection OpenReader(StoreLocation location)
    {
        if (location.Engine == StoreEngine.Postgres)
        {
            var reader = OpenPostgres(location);
            if (!HasTable(reader, "audit_trail"))
            {
                reader.Dispose();
                throw new AuditTrailException($"there is no audit trail in {location.Shown} (run `warden db migrate`, or start a gateway on it)");
            }

            return reader;
        }

        var path = location.Connection;
        if (!File.Exists(path))
        {
            throw new AuditTrailException($"there is no audit trail at {path}");
        }

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        try
        {
            connection.Open();
            using (var timeout = connection.CreateCommand())
            {
                timeout.CommandText = "PRAGMA busy_timeout = 5000;";
                timeout.ExecuteNonQuery();
            }

            // SQLite reads the file lazily: this first read is what fails on a file that is not a database.
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM sqlite_master";
            command.ExecuteScalar();
            return connection;
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw Unreadable(path, e);
        }
    }

    private static NpgsqlConnection OpenPostgres(StoreLocation location)
    {
        var connection = new NpgsqlConnection(location.Connection);
        try
        {
            connection.Open();
            return connection;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            connection.Dispose();
            throw new AuditTrailException($"the audit trail in {location.Shown} cannot be reached: {e.Message.Split('\n')[0].TrimEnd('.')}", e);
        }
    }

    public static AuditTrailException Unreadable(string path, DbException e) =>
        new($"the audit trail {path} is not a readable database ({e.Message.TrimEnd('.')}): the file is damaged or is not an audit trail", e);

    public static (string? TrailId, string? PublicKey) ReadIdentity(DbConnection connection, string path)
    {
        if (!HasTable(connection, "audit_trail"))
        {
            throw new AuditTrailException($"{path} is a database but not an audit trail (it has no audit_trail table)");
        }

        using var command = connection.CreateCommand();
        CheckFormat(connection, path);
        command.CommandText = "SELECT key, value FROM audit_trail WHERE key IN ('trail_id', 'public_key')";
        using var reader = command.ExecuteReader();
        string? id = null, key = null;
        while (reader.Read())
        {
            if (reader.GetString(0) == "trail_id")
            {
                id = reader.GetString(1);
            }
            else
            {
                key = reader.GetString(1);
            }
        }

        if ((id is null) != (key is null))
        {
            throw new AuditTrailException($"the audit trail {path} has {(id is null ? "a public key but no trail id" : "a trail id but no public key")}: it was altered");
        }

        return (id, key);
    }

    private static void CheckFormat(DbConnection connection, string path)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT value FROM audit_trail WHERE key = 'format'";
        if (command.ExecuteScalar() is string format && format != Format)
        {
            throw new AuditTrailException($"the audit trail {path} is in the layout {format}, and this version of Warden reads {Format}; use the Warden that wrote it to verify and export it");
        }
    }

    public static void WriteIdentity(DbConnection connection, string trailId, string publicKey)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO audit_trail (key, value) VALUES ('format', @format), ('trail_id', @id), ('public_key', @key)";
        command.Parameters.AddWithValue("@format", Format);
        command.Parameters.AddWithValue("@id", trailId);
        command.Parameters.AddWithValue("@key", publicKey);
        command.ExecuteNonQuery();
    }

    /// <summary>Where the archived part of the trail ends: the last entry moved to an archive file and its hash (0 and null when none was).</summary>
    public static (long Through, string? Head) Archived(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT key, value FROM audit_trail WHERE key IN ('archived_through', 'archived_head')";
        using var reader = command.ExecuteReader();
        long through = 0;
        string? head = null;
        while (reader.Read())
        {
            if (reader.GetString(0) == "archived_through")
            {
                if (!long.TryParse(reader.GetString(1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out through))
                {
                    throw new AuditTrailException($"the trail's archive marker says entries up to '{reader.GetString(1)}' are archived, which is not a number: it was altered");
                }
            }
            else
            {
                head = reader.GetString(1);
            }
        }

        return (through, head);
    }

    /// <summary>The store's records of the archive files, oldest first; none in a trail archived before they were kept (or never archived).</summary>
    public static List<ArchiveRecord> ArchiveRecords(DbConnection connection)
    {
        var records = new List<ArchiveRecord>();
        if (!HasTable(connection, "audit_archives"))
        {
            return records; // a trail last written by an earlier version, opened read-only
        }

        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT first_seq, last_seq, sha256, file, archived_by, reason, time, entry, destroyed_by, destroyed_reason, destroyed_time, destroyed_entry
            FROM audit_archives ORDER BY first_seq
            """;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            records.Add(new ArchiveRecord(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(6), reader.GetInt64(7))
            {
                Reason = Text(5),
                Destroyed = reader.IsDBNull(8) ? null : new ArchiveDestruction(reader.GetString(8), Text(9) ?? "", Text(10) ?? "", reader.IsDBNull(11) ? 0 : reader.GetInt64(11)),
            });
        }

        return records;
    }

    public static void InsertArchiveRecord(DbConnection connection, DbTransaction transaction, ArchiveRecord record)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO audit_archives (first_seq, last_seq, sha256, file, archived_by, reason, time, entry)
            VALUES (@first, @last, @sha256, @file, @by, @reason, @time, @entry)
            """;
        command.Parameters.AddWithValue("@first", record.FirstSeq);
        command.Parameters.AddWithValue("@last", record.LastSeq);
        command.Parameters.AddWithValue("@sha256", record.Sha256);
        command.Parameters.AddWithValue("@file", record.File);
        command.Parameters.AddWithValue("@by", record.By);
        command.Parameters.AddWithValue("@reason", (object?)record.Reason ?? DBNull.Value);
        command.Parameters.AddWithValue("@time", record.Time);
        command.Parameters.AddWithValue("@entry", record.Entry);
        command.ExecuteNonQuery();
    }

    public static void RecordDestruction(DbConnection connection, DbTransaction transaction, long firstSeq, ArchiveDestruction destruction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            UPDATE audit_archives SET destroyed_by = @by, destroyed_reason = @reason, destroyed_time = @time, destroyed_entry = @entry
            WHERE first_seq = @first AND destroyed_by IS NULL
            """;
        command.Parameters.AddWithValue("@first", firstSeq);
        command.Parameters.AddWithValue("@by", destruction.By);
        command.Parameters.AddWithValue("@reason", destruction.Reason);
        command.Parameters.AddWithValue("@time", destruction.Time);
        command.Parameters.AddWithValue("@entry", destruction.Entry);
        if (command.ExecuteNonQuery() != 1)
        {
            throw new AuditTrailException($"the store holds no kept archive starting at entry {firstSeq}");
        }
    }

    public static bool HasTable(DbConnection connection, string name)
    {
        using var command = connection.CreateCommand();
        command.CommandText = connection is NpgsqlConnection
            ? "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = @name"
            : "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = @name";
        command.Parameters.AddWithValue("@name", name);
        return (long)command.ExecuteScalar()! > 0;
    }

    public static bool HasEntries(DbConnection connection) => Scalar(connection, "SELECT EXISTS (SELECT 1 FROM audit_entries)") == 1;

    public static long Scalar(DbConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command.ExecuteScalar() switch
        {
            bool b => b ? 1 : 0, // PostgreSQL's EXISTS
            null or DBNull => 0,
            var n => Convert.ToInt64(n, System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    public static void InsertCheckpoint(DbConnection connection, DbTransaction transaction, Checkpoint checkpoint)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO audit_checkpoints (number, first_seq, last_seq, checkpoint) VALUES (@n, @first, @last, @text)";
        command.Parameters.AddWithValue("@n", checkpoint.Number);
        command.Parameters.AddWithValue("@first", checkpoint.FirstSeq);
        command.Parameters.AddWithValue("@last", checkpoint.LastSeq);
        command.Parameters.AddWithValue("@text", checkpoint.Text());
        command.ExecuteNonQuery();
    }

    public static (long Seq, string Time, string Hash)? LastEntry(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, time, hash FROM audit_entries ORDER BY seq DESC LIMIT 1";
        using var reader = command.ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0), reader.GetString(1), reader.GetString(2)) : null;
    }

    /// <summary>The highest-numbered checkpoint row: its number, range, text, and the checkpoint when the text still reads as one.</summary>
    public static (long Number, long LastSeq, string Text, Checkpoint? Checkpoint)? LastCheckpoint(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT number, last_seq, checkpoint FROM audit_checkpoints ORDER BY number DESC LIMIT 1";
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        var text = reader.GetString(2);
        return (reader.GetInt64(0), reader.GetInt64(1), text, Checkpoint.TryParse(text, out var checkpoint, out _) ? checkpoint : null);
    }

    /// <summary>The stored checkpoints in order, with their range columns, streamed.</summary>
    public static IEnumerable<(long Number, long FirstSeq, long LastSeq, string Text)> CheckpointRows(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT number, first_seq, last_seq, checkpoint FROM audit_checkpoints ORDER BY number";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetString(3));
        }
    }

    /// <summary>The stored checkpoints in order, as (number, stored text), streamed.</summary>
    public static IEnumerable<(long Number, string Text)> Checkpoints(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT number, checkpoint FROM audit_checkpoints ORDER BY number";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return (reader.GetInt64(0), reader.GetString(1));
        }
    }

    public static IEnumerable<(long Seq, string Entry, string Hash)> EntriesAfter(DbConnection connection, long seq)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, entry, hash FROM audit_entries WHERE seq > @seq ORDER BY seq";
        command.Parameters.AddWithValue("@seq", seq);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return (reader.GetInt64(0), reader.GetString(1), reader.GetString(2));
        }
    }

    private static string LoadSchema()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Warden.Storage.AuditSchema.sql")
                           ?? throw new InvalidOperationException("the audit schema is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
