using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Warden.Workspace.Seeding;

/// <summary>
/// One prepared INSERT for a table, reused for every row: compiled once, then only bound, stepped
/// and reset. It talks to SQLite through the connection's native handle because the ADO.NET path
/// (a data reader and parameter conversion per execution) cost about 2 µs a row, more than SQLite
/// itself, which over the three million rows of a million-contact seed was a third of the time.
/// It runs inside the connection's open transaction like any other statement.
/// </summary>
internal sealed class TableInsert : IDisposable
{
    private readonly sqlite3 database;
    private readonly sqlite3_stmt statement;
    private readonly byte[] time = new byte[24];

    public TableInsert(SqliteConnection connection, string table, string[] columns, bool ignoreDuplicates = false)
    {
        Table = table;
        database = connection.Handle ?? throw new InvalidOperationException("the connection is not open");
        var sql = $"INSERT {(ignoreDuplicates ? "OR IGNORE " : "")}INTO {table} ({string.Join(", ", columns)}) " +
                  $"VALUES ({string.Join(", ", columns.Select(_ => "?"))})";
        Check(raw.sqlite3_prepare_v2(database, sql, out statement));
    }

    public string Table { get; }

    /// <summary>Rows written so far (an ignored duplicate does not count).</summary>
    public long Rows { get; private set; }

    public TableInsert Text(int column, string? value)
    {
        Check(value is null ? raw.sqlite3_bind_null(statement, column + 1) : raw.sqlite3_bind_text(statement, column + 1, value));
        return this;
    }

    public TableInsert Number(int column, long value)
    {
        Check(raw.sqlite3_bind_int64(statement, column + 1, value));
        return this;
    }

    public TableInsert Number(int column, long? value) => value is { } v ? Number(column, v) : Text(column, null);

    /// <summary>A time column as ISO-8601 text, formatted straight to UTF-8; NULL for <see cref="SyntheticContact.None"/>.</summary>
    public TableInsert Time(int column, long unixMilliseconds)
    {
        if (unixMilliseconds == SyntheticContact.None)
        {
            return Text(column, null);
        }

        IsoTime.Write(unixMilliseconds, time);
        Check(raw.sqlite3_bind_text(statement, column + 1, time));
        return this;
    }

    public void Insert()
    {
        var result = raw.sqlite3_step(statement);
        if (result != raw.SQLITE_DONE)
        {
            // Read the error before the reset; the failed seed is rolled back as a whole.
            Check(result == raw.SQLITE_ROW ? raw.SQLITE_MISUSE : result);
        }

        raw.sqlite3_reset(statement);

        Rows += raw.sqlite3_changes(database);
    }

    public void Dispose() => statement.Dispose();

    private void Check(int result)
    {
        if (result != raw.SQLITE_OK && result != raw.SQLITE_DONE)
        {
            SqliteException.ThrowExceptionForRC(result, database);
        }
    }
}
