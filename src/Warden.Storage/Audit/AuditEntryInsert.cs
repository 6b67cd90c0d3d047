using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Warden.Storage.Audit;

/// <summary>
/// The insert every entry goes through, straight through SQLite's C API on the writer's
/// connection (inside its transaction): the entry's UTF-8 bytes are bound as they are. Through
/// ADO.NET the same insert cost 3.6 µs, a third of the writer's time per entry (bench/README.md).
/// </summary>
internal sealed class AuditEntryInsert : IDisposable
{
    private const string Sql = "INSERT INTO audit_entries (seq, time, rollback_of, entry, hash) VALUES (?1, ?2, ?3, ?4, ?5)";
    private readonly SqliteConnection _connection;
    private readonly sqlite3_stmt _statement;

    public AuditEntryInsert(SqliteConnection connection)
    {
        _connection = connection;
        Check(raw.sqlite3_prepare_v2(connection.Handle, Sql, out _statement));
    }

    public void Insert(long seq, string time, long? rollbackOf, ReadOnlySpan<byte> entryUtf8, string hash)
    {
        try
        {
            Check(raw.sqlite3_bind_int64(_statement, 1, seq));
            Check(raw.sqlite3_bind_text(_statement, 2, time));
            Check(rollbackOf is { } of ? raw.sqlite3_bind_int64(_statement, 3, of) : raw.sqlite3_bind_null(_statement, 3));
            Check(raw.sqlite3_bind_text(_statement, 4, entryUtf8));
            Check(raw.sqlite3_bind_text(_statement, 5, hash));
            var done = raw.sqlite3_step(_statement);
            if (done != raw.SQLITE_DONE)
            {
                Check(done);
            }
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    public void Dispose() => _statement.Dispose();

    private void Check(int result)
    {
        if (result != raw.SQLITE_OK && result != raw.SQLITE_DONE)
        {
            throw new SqliteException($"SQLite Error {result}: '{raw.sqlite3_errmsg(_connection.Handle).utf8_to_string()}'", result);
        }
    }
}
