using System.Globalization;
using Warden.Storage.Engines;

namespace Warden.Postgres;

/// <summary>One row a statement changed, as the capture trigger saw it: before and after as JSON (null for an insert's before, a delete's after).</summary>
internal sealed record CapturedRow(string Table, string Operation, string? Before, string? After);

/// <summary>An action in the journal: who ran which statement, when, and whether it can still be undone.</summary>
internal sealed record JournaledAction(long Seq, string Id, string Agent, string Tool, string Kind, DateTimeOffset AppliedAt, bool Reversible, string? RolledBackBy);

/// <summary>
/// Warden's journal of a governed database, kept in Warden's own store (a SQLite file in its data
/// folder, or the database's own schema in the PostgreSQL store that replicas share), never in the
/// database it governs: an agent's statement cannot reach it, and a role that can drop the governed
/// tables cannot drop it. Each action is written before the database commits, with the
/// transaction's id, and settled after; one left pending by a crash is settled at the next start
/// by asking the database whether that transaction committed.
/// </summary>
internal sealed class SqlJournal : IDisposable
{
    /// <summary>The store's name in the migrations (<c>Migrations/ENGINE/sql_journal</c>).</summary>
    public const string Component = "sql_journal";

    private readonly StoreDatabase _db;

    public SqlJournal(string path)
        : this(SystemStores.OpenFile(path, Component))
    {
    }

    public SqlJournal(StoreDatabase database) => _db = database;

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    /// <summary>Writes an action and its images (as one document) as pending, before the database commits it.</summary>
    public void Begin(string id, string agent, string tool, string kind, string statement, string planHash, long txid, DateTimeOffset at, bool reversible,
        IReadOnlyList<CapturedRow> rows, string? rollsBack = null)
    {
        using var images = JournalImages.Of(rows);
        Begin(id, agent, tool, kind, statement, planHash, txid, at, reversible, images, rollsBack);
    }

    /// <inheritdoc cref="Begin(string, string, string, string, string, string, long, DateTimeOffset, bool, IReadOnlyList{CapturedRow}, string?)"/>
    public void Begin(string id, string agent, string tool, string kind, string statement, string planHash, long txid, DateTimeOffset at, bool reversible,
        JournalImages images, string? rollsBack = null) => _db.Transaction(session => session.Scalar("""
            INSERT INTO actions (id, agent, tool, kind, statement, plan_hash, txid, status, applied_at, reversible, records, rolls_back, images)
            VALUES (@id, @agent, @tool, @kind, @statement, @hash, @txid, 'pending', @at, @reversible, @records, @rollsBack, @images) RETURNING seq
            """,
            ("@id", id), ("@agent", agent), ("@tool", tool), ("@kind", kind), ("@statement", statement), ("@hash", planHash), ("@txid", txid),
            ("@at", Time(at)), ("@reversible", reversible ? 1L : 0L), ("@records", images.Rows), ("@rollsBack", rollsBack), ("@images", images.Document())), serializable: false);

    /// <summary>The database committed: the action stands (and the actions it rolls back are marked undone).</summary>
    public void Settle(string id) => _db.Transaction(session =>
    {
        session.Execute("UPDATE actions SET status = 'applied' WHERE id = @id", ("@id", id));
        var undone = session.Text("SELECT rolls_back FROM actions WHERE id = @id", ("@id", id));
        foreach (var rolledBack in undone is null ? [] : System.Text.Json.JsonSerializer.Deserialize<List<string>>(undone) ?? [])
        {
            session.Execute("UPDATE actions SET rolled_back_by = @id WHERE id = @undone", ("@id", id), ("@undone", rolledBack));
        }

        return 0;
    }, serializable: false);

    /// <summary>The database did not commit: nothing of the action stays.</summary>
    public void Discard(string id) => _db.Transaction(session =>
    {
        session.Execute("DELETE FROM images WHERE action_seq = (SELECT seq FROM actions WHERE id = @id AND status = 'pending')", ("@id", id)); // written by earlier versions
        return session.Execute("DELETE FROM actions WHERE id = @id AND status = 'pending'", ("@id", id));
    }, serializable: false);

    /// <summary>Actions a crash left between the journal and the database's commit, with their transaction ids.</summary>
    public IReadOnlyList<(string Id, long Txid)> Pending() =>
        _db.Query("SELECT id, txid FROM actions WHERE status = 'pending' ORDER BY seq", r => (r.GetString(0), Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture)));

    public JournaledAction? Action(string id) => Actions("id = @id", ("@id", id)).FirstOrDefault();

    /// <summary>Applied actions of an agent in a window (either end open), newest first.</summary>
    public IReadOnlyList<JournaledAction> ActionsOf(string agent, DateTimeOffset? from, DateTimeOffset? to)
    {
        // Only the ends given are conditions: PostgreSQL cannot type a parameter that is only ever NULL.
        var where = "agent = @agent" + (from is null ? "" : " AND applied_at >= @from") + (to is null ? "" : " AND applied_at <= @to");
        var parameters = new List<(string, object?)> { ("@agent", agent) };
        if (from is { } f)
        {
            parameters.Add(("@from", Time(f)));
        }

        if (to is { } t)
        {
            parameters.Add(("@to", Time(t)));
        }

        return Actions(where, [.. parameters]);
    }

    public string? Find(string where, params (string Name, object? Value)[] parameters) => Actions(where, parameters).FirstOrDefault()?.Id;

    private List<JournaledAction> Actions(string where, params (string Name, object? Value)[] parameters) => _db.Query(
        $"SELECT seq, id, agent, tool, kind, applied_at, reversible, rolled_back_by FROM actions WHERE status = 'applied' AND ({where}) ORDER BY seq DESC",
        r => new JournaledAction(Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4),
            DateTimeOffset.Parse(r.GetString(5), CultureInfo.InvariantCulture), Convert.ToInt64(r.GetValue(6), CultureInfo.InvariantCulture) == 1,
            r.IsDBNull(7) ? null : r.GetString(7)),
        parameters);

    /// <summary>An action's images in the order they were captured (from its document, or for an action journaled before there was one, its rows of images).</summary>
    public JournaledRows Images(long seq)
    {
        if (_db.Query("SELECT images FROM actions WHERE seq = @seq", r => r.IsDBNull(0) ? null : (byte[])r.GetValue(0), ("@seq", seq)).FirstOrDefault() is not { } document)
        {
            return new(_db.Query("SELECT tbl, op, before, after FROM images WHERE action_seq = @seq ORDER BY n",
                r => new JournaledRow(r.GetString(0), r.GetString(1), r.IsDBNull(2) ? null : new(r.GetString(2), null), r.IsDBNull(3) ? null : new(r.GetString(3), null)), ("@seq", seq)), JournaledRows.NoColumns);
        }

        return JournalImages.Read(document);
    }

    public void Dispose() => _db.Dispose();
}
