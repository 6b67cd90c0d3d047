using Microsoft.Data.Sqlite;
using Warden.Storage;

namespace Warden.Postgres;

/// <summary>One row a statement changed, as the capture trigger saw it: before and after as JSON (null for an insert's before, a delete's after).</summary>
internal sealed record CapturedRow(string Table, string Operation, string? Before, string? After)
{
    /// <summary>The row's primary key as text (its values joined by commas), as the capture read it; empty when read from the journal.</summary>
    public string Key { get; init; } = "";
}

/// <summary>An action in the journal: who ran which statement, when, and whether it can still be undone.</summary>
internal sealed record JournaledAction(long Seq, string Id, string Agent, string Tool, string Kind, DateTimeOffset AppliedAt, bool Reversible, string? RolledBackBy);

/// <summary>
/// Warden's journal of a governed database, kept in Warden's own data folder (a SQLite file),
/// never in the database it governs: an agent's statement cannot reach it, and a role that can
/// drop the governed tables cannot drop it. Each action is written before the database commits,
/// with the transaction's id, and settled after; one left pending by a crash is settled at the
/// next start by asking the database whether that transaction committed.
/// </summary>
internal sealed class SqlJournal
{
    private readonly SystemFile _file;

    public SqlJournal(string path) => _file = SystemFile.Create(path, """
            CREATE TABLE IF NOT EXISTS actions (
              seq INTEGER PRIMARY KEY AUTOINCREMENT,
              id TEXT NOT NULL UNIQUE,
              agent TEXT NOT NULL,
              tool TEXT NOT NULL,
              kind TEXT NOT NULL,
              statement TEXT NOT NULL,
              plan_hash TEXT NOT NULL,
              txid INTEGER NOT NULL,
              status TEXT NOT NULL CHECK (status IN ('pending', 'applied')),
              applied_at TEXT NOT NULL,
              reversible INTEGER NOT NULL,
              records INTEGER NOT NULL,
              rolls_back TEXT,
              rolled_back_by TEXT
            );
            CREATE TABLE IF NOT EXISTS images (
              action_seq INTEGER NOT NULL REFERENCES actions(seq),
              n INTEGER NOT NULL,
              tbl TEXT NOT NULL,
              op TEXT NOT NULL CHECK (op IN ('INSERT', 'UPDATE', 'DELETE')),
              before TEXT,
              after TEXT,
              PRIMARY KEY (action_seq, n)
            );
            CREATE INDEX IF NOT EXISTS actions_by_agent ON actions(agent, applied_at);
            """);

    private SqliteConnection Open() => _file.Open();

    /// <summary>Writes an action and its images as pending, before the database commits it.</summary>
    public void Begin(string id, string agent, string tool, string kind, string statement, string planHash, long txid, DateTimeOffset at, bool reversible,
        IReadOnlyList<CapturedRow> rows, string? rollsBack = null)
    {
        using var connection = Open();
        using var transaction = connection.BeginTransaction();
        using var action = connection.CreateCommand();
        action.CommandText = """
            INSERT INTO actions (id, agent, tool, kind, statement, plan_hash, txid, status, applied_at, reversible, records, rolls_back)
            VALUES (@id, @agent, @tool, @kind, @statement, @hash, @txid, 'pending', @at, @reversible, @records, @rollsBack) RETURNING seq
            """;
        action.Parameters.AddWithValue("@id", id);
        action.Parameters.AddWithValue("@agent", agent);
        action.Parameters.AddWithValue("@tool", tool);
        action.Parameters.AddWithValue("@kind", kind);
        action.Parameters.AddWithValue("@statement", statement);
        action.Parameters.AddWithValue("@hash", planHash);
        action.Parameters.AddWithValue("@txid", txid);
        action.Parameters.AddWithValue("@at", at.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        action.Parameters.AddWithValue("@reversible", reversible ? 1 : 0);
        action.Parameters.AddWithValue("@records", rows.Count);
        action.Parameters.AddWithValue("@rollsBack", (object?)rollsBack ?? DBNull.Value);
        var seq = (long)action.ExecuteScalar()!;

        using var image = connection.CreateCommand();
        image.CommandText = "INSERT INTO images (action_seq, n, tbl, op, before, after) VALUES (@seq, @n, @tbl, @op, @before, @after)";
        var n = image.Parameters.Add("@n", SqliteType.Integer);
        var tbl = image.Parameters.Add("@tbl", SqliteType.Text);
        var op = image.Parameters.Add("@op", SqliteType.Text);
        var before = image.Parameters.Add("@before", SqliteType.Text);
        var after = image.Parameters.Add("@after", SqliteType.Text);
        image.Parameters.AddWithValue("@seq", seq);
        for (var i = 0; i < rows.Count; i++)
        {
            n.Value = i;
            tbl.Value = rows[i].Table;
            op.Value = rows[i].Operation;
            before.Value = (object?)rows[i].Before ?? DBNull.Value;
            after.Value = (object?)rows[i].After ?? DBNull.Value;
            image.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    /// <summary>The database committed: the action stands (and the actions it rolls back are marked undone).</summary>
    public void Settle(string id)
    {
        using var connection = Open();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE actions SET status = 'applied' WHERE id = @id;
            UPDATE actions SET rolled_back_by = @id
            WHERE id IN (SELECT value FROM json_each((SELECT rolls_back FROM actions WHERE id = @id)));
            """;
        command.Parameters.AddWithValue("@id", id);
        command.ExecuteNonQuery();
        transaction.Commit();
    }

    /// <summary>The database did not commit: nothing of the action stays.</summary>
    public void Discard(string id)
    {
        using var connection = Open();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM images WHERE action_seq = (SELECT seq FROM actions WHERE id = @id); DELETE FROM actions WHERE id = @id AND status = 'pending'";
        command.Parameters.AddWithValue("@id", id);
        command.ExecuteNonQuery();
        transaction.Commit();
    }

    /// <summary>Actions a crash left between the journal and the database's commit, with their transaction ids.</summary>
    public IReadOnlyList<(string Id, long Txid)> Pending()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, txid FROM actions WHERE status = 'pending' ORDER BY seq";
        using var reader = command.ExecuteReader();
        var pending = new List<(string, long)>();
        while (reader.Read())
        {
            pending.Add((reader.GetString(0), reader.GetInt64(1)));
        }

        return pending;
    }

    public JournaledAction? Action(string id) => Actions("id = @id", ("@id", id)).FirstOrDefault();

    /// <summary>Applied actions of an agent in a window (either end open), newest first.</summary>
    public IReadOnlyList<JournaledAction> ActionsOf(string agent, DateTimeOffset? from, DateTimeOffset? to) =>
        Actions("agent = @agent AND (@from IS NULL OR applied_at >= @from) AND (@to IS NULL OR applied_at <= @to)",
            ("@agent", agent), ("@from", from?.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture)),
            ("@to", to?.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture)));

    public string? Find(string where, params (string Name, object? Value)[] parameters) => Actions(where, parameters).FirstOrDefault()?.Id;

    private List<JournaledAction> Actions(string where, params (string Name, object? Value)[] parameters)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT seq, id, agent, tool, kind, applied_at, reversible, rolled_back_by FROM actions WHERE status = 'applied' AND ({where}) ORDER BY seq DESC";
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        using var reader = command.ExecuteReader();
        var actions = new List<JournaledAction>();
        while (reader.Read())
        {
            actions.Add(new JournaledAction(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                DateTimeOffset.Parse(reader.GetString(5), System.Globalization.CultureInfo.InvariantCulture), reader.GetInt64(6) == 1,
                reader.IsDBNull(7) ? null : reader.GetString(7)));
        }

        return actions;
    }

    /// <summary>An action's images in the order they were captured.</summary>
    public IReadOnlyList<CapturedRow> Images(long seq)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT tbl, op, before, after FROM images WHERE action_seq = @seq ORDER BY n";
        command.Parameters.AddWithValue("@seq", seq);
        using var reader = command.ExecuteReader();
        var rows = new List<CapturedRow>();
        while (reader.Read())
        {
            rows.Add(new CapturedRow(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        return rows;
    }
}
