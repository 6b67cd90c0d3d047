using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Warden.Workspace.Seeding;

/// <summary>Rows written to one table by a seed: a column's value set at a time, then the row inserted.</summary>
internal abstract class TableInsert(string table) : IDisposable
{
    public string Table { get; } = table;

    /// <summary>Rows written so far (an ignored duplicate does not count); exact once <see cref="Flush"/>ed.</summary>
    public long Rows { get; protected set; }

    public abstract TableInsert Text(int column, string? value);

    public abstract TableInsert Number(int column, long value);

    public TableInsert Number(int column, long? value) => value is { } v ? Number(column, v) : Text(column, null);

    /// <summary>A time column as ISO-8601 text; NULL for <see cref="SyntheticContact.None"/>.</summary>
    public abstract TableInsert Time(int column, long unixMilliseconds);

    public abstract void Insert();

    /// <summary>Writes the rows held back, if any.</summary>
    public virtual void Flush()
    {
    }

    public abstract void Dispose();
}

/// <summary>
/// One prepared INSERT for a table, reused for every row: compiled once, then only bound, stepped
/// and reset. It talks to SQLite through the connection's native handle because the ADO.NET path
/// (a data reader and parameter conversion per execution) cost about 2 µs a row, more than SQLite
/// itself, which over the three million rows of a million-contact seed was a third of the time.
/// It runs inside the connection's open transaction like any other statement.
/// </summary>
internal sealed class SqliteTableInsert : TableInsert
{
    private readonly sqlite3 database;
    private readonly sqlite3_stmt statement;
    private readonly byte[] time = new byte[24];

    public SqliteTableInsert(SqliteConnection connection, string table, string[] columns, bool ignoreDuplicates = false)
        : base(table)
    {
        database = connection.Handle ?? throw new InvalidOperationException("the connection is not open");
        var sql = $"INSERT {(ignoreDuplicates ? "OR IGNORE " : "")}INTO {table} ({string.Join(", ", columns)}) " +
                  $"VALUES ({string.Join(", ", columns.Select(_ => "?"))})";
        Check(raw.sqlite3_prepare_v2(database, sql, out statement));
    }

    public override TableInsert Text(int column, string? value)
    {
        Check(value is null ? raw.sqlite3_bind_null(statement, column + 1) : raw.sqlite3_bind_text(statement, column + 1, value));
        return this;
    }

    public override TableInsert Number(int column, long value)
    {
        Check(raw.sqlite3_bind_int64(statement, column + 1, value));
        return this;
    }

    /// <summary>Formatted straight to UTF-8.</summary>
    public override TableInsert Time(int column, long unixMilliseconds)
    {
        if (unixMilliseconds == SyntheticContact.None)
        {
            return Text(column, null);
        }

        IsoTime.Write(unixMilliseconds, time);
        Check(raw.sqlite3_bind_text(statement, column + 1, time));
        return this;
    }

    public override void Insert()
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

    public override void Dispose() => statement.Dispose();

    private void Check(int result)
    {
        if (result != raw.SQLITE_OK && result != raw.SQLITE_DONE)
        {
            SqliteException.ThrowExceptionForRC(result, database);
        }
    }
}

/// <summary>
/// A seed's inserts into a table through any ADO.NET connection (PostgreSQL), a batch of rows per
/// statement: one round trip per row would make a million-contact seed take many minutes. A
/// duplicate is skipped (ON CONFLICT DO NOTHING) where the table allows it, as SQLite's OR IGNORE.
/// </summary>
internal sealed class BatchedTableInsert : TableInsert
{
    private const int BatchRows = 500;
    private readonly System.Data.Common.DbConnection _connection;
    private readonly System.Data.Common.DbTransaction _transaction;
    private readonly string[] _columns;
    private readonly bool _ignoreDuplicates;
    private readonly List<object?[]> _rows = new(BatchRows);
    private object?[] _row;

    public BatchedTableInsert(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, string table, string[] columns, bool ignoreDuplicates)
        : base(table)
    {
        _connection = connection;
        _transaction = transaction;
        _columns = columns;
        _ignoreDuplicates = ignoreDuplicates;
        _row = new object?[columns.Length];
    }

    public override TableInsert Text(int column, string? value)
    {
        _row[column] = value;
        return this;
    }

    public override TableInsert Number(int column, long value)
    {
        _row[column] = value;
        return this;
    }

    public override TableInsert Time(int column, long unixMilliseconds)
    {
        _row[column] = unixMilliseconds == SyntheticContact.None ? null : DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        return this;
    }

    public override void Insert()
    {
        _rows.Add(_row);
        _row = new object?[_columns.Length];
        if (_rows.Count == BatchRows)
        {
            Flush();
        }
    }

    public override void Flush()
    {
        if (_rows.Count == 0)
        {
            return;
        }

        var values = string.Join(", ", _rows.Select((_, r) => "(" + string.Join(", ", _columns.Select((column, c) => Typed(column, $"@p{r}_{c}"))) + ")"));
        using var command = Tools.ToolContext.Command(_connection, _transaction,
            $"INSERT INTO {Table} ({string.Join(", ", _columns)}) VALUES {values}{(_ignoreDuplicates ? " ON CONFLICT DO NOTHING" : "")}",
            _rows.SelectMany((row, r) => row.Select((value, c) => new SqlArg($"@p{r}_{c}", value))));
        Rows += command.ExecuteNonQuery();
        _rows.Clear();
    }

    // A NULL's type, which PostgreSQL cannot tell from a VALUES list, is its column's.
    private string Typed(string column, string parameter) => WorkspaceSql.Postgres.Typed(parameter, Table, column);

    public override void Dispose()
    {
    }
}
