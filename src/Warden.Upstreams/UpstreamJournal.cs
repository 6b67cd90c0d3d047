using System.Globalization;
using System.Text.Json.Nodes;
using Warden.Storage.Engines;

namespace Warden.Upstreams;

/// <summary>One call that undoes (part of) an action: the record it restores, the tool, its arguments, and when it ran.</summary>
internal sealed record UndoCall(string Key, string Tool, JsonObject Arguments, DateTimeOffset? DoneAt);

/// <summary>
/// What Warden keeps to undo a proxied write: the preview read (tool and arguments) and what it
/// answered before the call and just after it, and the calls that reverse it.
/// </summary>
internal sealed record Undo(string ActionId, string Agent, string Tool, DateTimeOffset At, string PreviewTool, JsonObject PreviewArguments, string? RecordsPath,
    JsonNode? Before, JsonNode? After, bool AfterRead, IReadOnlyList<UndoCall> Calls, DateTimeOffset? UndoneAt, string? UndoneBy);

/// <summary>
/// The journal of an upstream's calls, in the upstream's own store beside its pins (DATA/systems/ENV/ID.db, or its schema in PostgreSQL): each write
/// journaled before it is sent, with its before-image and undo calls when the policy gives them.
/// </summary>
internal sealed class UpstreamJournal(StoreDatabase database)
{
    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    /// <summary>Journals a call before it goes to the server (if Warden stops during it, the call may have run), with what undoes it.</summary>
    public void Journal(string id, string agent, string tool, string planHash, DateTimeOffset at, Undo? undo) => database.Transaction(session =>
    {
        session.Execute("INSERT INTO actions (id, agent, tool, plan_hash, at) VALUES (@id, @agent, @tool, @plan, @at)",
            ("@id", id), ("@agent", agent), ("@tool", tool), ("@plan", planHash), ("@at", Time(at)));
        if (undo is not null)
        {
            session.Execute("""
                INSERT INTO undos (action_id, preview_tool, preview_arguments, records_path, before, calls)
                VALUES (@id, @preview, @arguments, @records, @before, @calls)
                """,
                ("@id", id), ("@preview", undo.PreviewTool), ("@arguments", undo.PreviewArguments.ToJsonString()), ("@records", undo.RecordsPath),
                ("@before", undo.Before?.ToJsonString() ?? "null"), ("@calls", Calls(undo.Calls)));
        }

        return 0;
    });

    /// <summary>What the preview read answered just after the call ran: a later change there is a conflict for the undo.</summary>
    public void After(string id, JsonNode? after, bool read) =>
        database.Execute("UPDATE undos SET after = @after, after_read = @read WHERE action_id = @id",
            ("@id", id), ("@after", after?.ToJsonString() ?? "null"), ("@read", read ? 1L : 0L));

    /// <summary>Records the undo calls' progress, and the action undone once all have run.</summary>
    public void Progress(string id, IReadOnlyList<UndoCall> calls, string by, DateTimeOffset now)
    {
        var all = calls.All(c => c.DoneAt is not null);
        database.Execute("UPDATE undos SET calls = @calls, undone_at = @at, undone_by = @by WHERE action_id = @id",
            ("@id", id), ("@calls", Calls(calls)), ("@at", all ? Time(now) : null), ("@by", all ? by : null));
    }

    private static string Calls(IReadOnlyList<UndoCall> calls) =>
        new JsonArray([.. calls.Select(c => new JsonObject
        {
            ["key"] = c.Key, ["tool"] = c.Tool, ["arguments"] = c.Arguments.DeepClone(), ["done_at"] = c.DoneAt is { } at ? Time(at) : null,
        })]).ToJsonString();

    /// <summary>The undo of an action, or null when it has none (a read, a write the policy gives no undo).</summary>
    public Undo? UndoOf(string actionId) => Undos("a.id = @id", ("@id", actionId)).FirstOrDefault();

    /// <summary>The writes an agent made in a window, oldest first: each with its undo, or null.</summary>
    public IReadOnlyList<(string Id, Undo? Undo)> Writes(string agent, DateTimeOffset? from, DateTimeOffset? to)
    {
        var ids = database.Query("SELECT id FROM actions WHERE agent = @agent AND at >= @from AND at <= @to ORDER BY seq", r => r.GetString(0),
            ("@agent", agent), ("@from", Time(from ?? DateTimeOffset.MinValue)), ("@to", Time(to ?? DateTimeOffset.MaxValue)));
        return [.. ids.Select(id => (id, UndoOf(id)))];
    }

    private List<Undo> Undos(string where, params (string Name, object? Value)[] parameters) => database.Query($"""
        SELECT a.id, a.agent, a.tool, a.at, u.preview_tool, u.preview_arguments, u.records_path, u.before, u.after, u.after_read, u.calls, u.undone_at, u.undone_by
        FROM actions a JOIN undos u ON u.action_id = a.id WHERE {where}
        """,
        reader =>
        {
            var calls = JsonNode.Parse(reader.GetString(10))!.AsArray().Select(c => new UndoCall(c!["key"]!.GetValue<string>(), c["tool"]!.GetValue<string>(),
                c["arguments"]!.AsObject().DeepClone().AsObject(), c["done_at"] is { } done ? DateTimeOffset.Parse(done.GetValue<string>(), CultureInfo.InvariantCulture) : null)).ToList();
            return new Undo(reader.GetString(0), reader.GetString(1), reader.GetString(2), DateTimeOffset.Parse(reader.GetString(3), CultureInfo.InvariantCulture),
                reader.GetString(4), JsonNode.Parse(reader.GetString(5))!.AsObject(), reader.IsDBNull(6) ? null : reader.GetString(6),
                JsonNode.Parse(reader.GetString(7)), reader.IsDBNull(8) ? null : JsonNode.Parse(reader.GetString(8)), Convert.ToInt64(reader.GetValue(9), CultureInfo.InvariantCulture) == 1, calls,
                reader.IsDBNull(11) ? null : DateTimeOffset.Parse(reader.GetString(11), CultureInfo.InvariantCulture), reader.IsDBNull(12) ? null : reader.GetString(12));
        },
        parameters);

    /// <summary>The first journaled action matching a condition over (id, agent, tool, plan_hash, at), or null.</summary>
    public (string Id, string Agent)? Action(string where, params (string Name, object? Value)[] parameters) =>
        database.Query($"SELECT id, agent FROM actions WHERE {where} ORDER BY seq LIMIT 1", r => ((string Id, string Agent)?)(r.GetString(0), r.GetString(1)), parameters)
            .FirstOrDefault();
}
