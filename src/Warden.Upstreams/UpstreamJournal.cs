using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Warden.Storage;

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
/// The journal of an upstream's calls (DATA/systems/ENV/ID.db, beside its pins): each write
/// journaled before it is sent, with its before-image and undo calls when the policy gives them.
/// </summary>
internal sealed class UpstreamJournal
{
    private readonly SystemFile _file;

    private UpstreamJournal(SystemFile file) => _file = file;

    public static UpstreamJournal Open(string path) => new(SystemFile.Create(path, """
            CREATE TABLE IF NOT EXISTS actions (
              seq INTEGER PRIMARY KEY AUTOINCREMENT,
              id TEXT NOT NULL UNIQUE,
              agent TEXT NOT NULL,
              tool TEXT NOT NULL,
              plan_hash TEXT NOT NULL,
              at TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS actions_by_agent ON actions(agent, at);
            CREATE TABLE IF NOT EXISTS undos (
              action_id TEXT PRIMARY KEY REFERENCES actions(id),
              preview_tool TEXT NOT NULL,
              preview_arguments TEXT NOT NULL,
              records_path TEXT,
              before TEXT NOT NULL,
              after TEXT,
              after_read INTEGER NOT NULL DEFAULT 0,
              calls TEXT NOT NULL,
              undone_at TEXT,
              undone_by TEXT
            );
            """));

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    /// <summary>Journals a call before it goes to the server (if Warden stops during it, the call may have run), with what undoes it.</summary>
    public void Journal(string id, string agent, string tool, string planHash, DateTimeOffset at, Undo? undo)
    {
        using var connection = _file.Open();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO actions (id, agent, tool, plan_hash, at) VALUES ($id, $agent, $tool, $plan, $at)";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$agent", agent);
        command.Parameters.AddWithValue("$tool", tool);
        command.Parameters.AddWithValue("$plan", planHash);
        command.Parameters.AddWithValue("$at", Time(at));
        command.ExecuteNonQuery();
        if (undo is not null)
        {
            command.CommandText = """
                INSERT INTO undos (action_id, preview_tool, preview_arguments, records_path, before, calls)
                VALUES ($id, $preview, $arguments, $records, $before, $calls)
                """;
            command.Parameters.AddWithValue("$preview", undo.PreviewTool);
            command.Parameters.AddWithValue("$arguments", undo.PreviewArguments.ToJsonString());
            command.Parameters.AddWithValue("$records", (object?)undo.RecordsPath ?? DBNull.Value);
            command.Parameters.AddWithValue("$before", undo.Before?.ToJsonString() ?? "null");
            command.Parameters.AddWithValue("$calls", Calls(undo.Calls));
            command.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    /// <summary>What the preview read answered just after the call ran: a later change there is a conflict for the undo.</summary>
    public void After(string id, JsonNode? after, bool read) =>
        Execute("UPDATE undos SET after = $after, after_read = $read WHERE action_id = $id",
            ("$id", id), ("$after", after?.ToJsonString() ?? "null"), ("$read", read ? 1 : 0));

    /// <summary>Records the undo calls' progress, and the action undone once all have run.</summary>
    public void Progress(string id, IReadOnlyList<UndoCall> calls, string by, DateTimeOffset now) =>
        Execute("UPDATE undos SET calls = $calls, undone_at = CASE WHEN $all THEN $now END, undone_by = CASE WHEN $all THEN $by END WHERE action_id = $id",
            ("$id", id), ("$calls", Calls(calls)), ("$all", calls.All(c => c.DoneAt is not null) ? 1 : 0), ("$now", Time(now)), ("$by", by));

    private static string Calls(IReadOnlyList<UndoCall> calls) =>
        new JsonArray([.. calls.Select(c => new JsonObject
        {
            ["key"] = c.Key, ["tool"] = c.Tool, ["arguments"] = c.Arguments.DeepClone(), ["done_at"] = c.DoneAt is { } at ? Time(at) : null,
        })]).ToJsonString();

    private void Execute(string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = _file.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        command.ExecuteNonQuery();
    }

    /// <summary>The undo of an action, or null when it has none (a read, a write the policy gives no undo).</summary>
    public Undo? UndoOf(string actionId) => Undos("a.id = $id", ("$id", actionId)).FirstOrDefault();

    /// <summary>The writes an agent made in a window, oldest first: each with its undo, or null.</summary>
    public IReadOnlyList<(string Id, Undo? Undo)> Writes(string agent, DateTimeOffset? from, DateTimeOffset? to)
    {
        using var connection = _file.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM actions WHERE agent = $agent AND at >= $from AND at <= $to ORDER BY seq";
        command.Parameters.AddWithValue("$agent", agent);
        command.Parameters.AddWithValue("$from", Time(from ?? DateTimeOffset.MinValue));
        command.Parameters.AddWithValue("$to", Time(to ?? DateTimeOffset.MaxValue));
        var ids = new List<string>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                ids.Add(reader.GetString(0));
            }
        }

        return [.. ids.Select(id => (id, UndoOf(id)))];
    }

    private List<Undo> Undos(string where, params (string Name, object Value)[] parameters)
    {
        using var connection = _file.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT a.id, a.agent, a.tool, a.at, u.preview_tool, u.preview_arguments, u.records_path, u.before, u.after, u.after_read, u.calls, u.undone_at, u.undone_by
            FROM actions a JOIN undos u ON u.action_id = a.id WHERE {where}
            """;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        var result = new List<Undo>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var calls = JsonNode.Parse(reader.GetString(10))!.AsArray().Select(c => new UndoCall(c!["key"]!.GetValue<string>(), c["tool"]!.GetValue<string>(),
                c["arguments"]!.AsObject().DeepClone().AsObject(), c["done_at"] is { } done ? DateTimeOffset.Parse(done.GetValue<string>(), CultureInfo.InvariantCulture) : null)).ToList();
            result.Add(new Undo(reader.GetString(0), reader.GetString(1), reader.GetString(2), DateTimeOffset.Parse(reader.GetString(3), CultureInfo.InvariantCulture),
                reader.GetString(4), JsonNode.Parse(reader.GetString(5))!.AsObject(), reader.IsDBNull(6) ? null : reader.GetString(6),
                JsonNode.Parse(reader.GetString(7)), reader.IsDBNull(8) ? null : JsonNode.Parse(reader.GetString(8)), reader.GetInt64(9) == 1, calls,
                reader.IsDBNull(11) ? null : DateTimeOffset.Parse(reader.GetString(11), CultureInfo.InvariantCulture), reader.IsDBNull(12) ? null : reader.GetString(12)));
        }

        return result;
    }

    /// <summary>The first journaled action matching a condition over (id, agent, tool, plan_hash, at), or null.</summary>
    public (string Id, string Agent)? Action(string where, params (string Name, object Value)[] parameters)
    {
        using var connection = _file.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT id, agent FROM actions WHERE {where} ORDER BY seq LIMIT 1";
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        using var reader = command.ExecuteReader();
        return reader.Read() ? (reader.GetString(0), reader.GetString(1)) : null;
    }
}
