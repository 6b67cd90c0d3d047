using Microsoft.Data.Sqlite;
using Warden.Storage;

namespace Warden.Upstreams;

/// <summary>One version of an upstream tool: what an agent is told about it, hashed.</summary>
/// <param name="Hash">sha256 over the name, description, input schema and hints.</param>
/// <param name="Description">The description the server gave.</param>
/// <param name="Schema">The input schema the server gave (JSON).</param>
/// <param name="Hints">The server's own annotations (readOnlyHint, destructiveHint, ...), as JSON: shown, never trusted.</param>
public sealed record ToolVersion(string Hash, string Description, string Schema, string Hints);

/// <summary>A tool as first approved (pinned), and the different version the server offers now, if it changed.</summary>
public sealed record PinnedTool(string Tool, ToolVersion Pinned, DateTimeOffset PinnedAt, string PinnedBy, ToolVersion? Changed, DateTimeOffset? ChangedAt);

/// <summary>
/// The pins of an upstream's tools, and its journal of calls, in Warden's data folder
/// (DATA/systems/ENV/ID.db). A tool is pinned when first seen; a later listing that differs is
/// kept beside the pin, and the tool is blocked until an owner accepts it (warden upstreams accept).
/// </summary>
public sealed class PinnedTools
{
    private readonly SystemFile _file;

    private PinnedTools(SystemFile file) => _file = file;

    /// <summary>Opens (creating) the pin file.</summary>
    public static PinnedTools Open(string path) => new(SystemFile.Create(path, """
            CREATE TABLE IF NOT EXISTS pins (
              tool TEXT PRIMARY KEY,
              hash TEXT NOT NULL, description TEXT NOT NULL, schema TEXT NOT NULL, hints TEXT NOT NULL,
              pinned_at TEXT NOT NULL, pinned_by TEXT NOT NULL,
              changed_hash TEXT, changed_description TEXT, changed_schema TEXT, changed_hints TEXT, changed_at TEXT
            );
            CREATE TABLE IF NOT EXISTS actions (
              seq INTEGER PRIMARY KEY AUTOINCREMENT,
              id TEXT NOT NULL UNIQUE,
              agent TEXT NOT NULL,
              tool TEXT NOT NULL,
              plan_hash TEXT NOT NULL,
              at TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS actions_by_agent ON actions(agent, at);
            """));

    private SqliteConnection Connect() => _file.Open();

    /// <summary>Every pinned tool, by name.</summary>
    public IReadOnlyList<PinnedTool> All() => Read("SELECT * FROM pins ORDER BY tool", null);

    /// <summary>The pin of a tool (ID.TOOL), or null when it was never seen.</summary>
    public PinnedTool? Find(string tool) => Read("SELECT * FROM pins WHERE tool = $tool", tool).FirstOrDefault();

    private List<PinnedTool> Read(string sql, string? tool)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        if (tool is not null)
        {
            command.Parameters.AddWithValue("$tool", tool);
        }

        var result = new List<PinnedTool>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var changed = reader.IsDBNull(reader.GetOrdinal("changed_hash"))
                ? null
                : new ToolVersion(reader.GetString(reader.GetOrdinal("changed_hash")), reader.GetString(reader.GetOrdinal("changed_description")),
                    reader.GetString(reader.GetOrdinal("changed_schema")), reader.GetString(reader.GetOrdinal("changed_hints")));
            result.Add(new PinnedTool(reader.GetString(0),
                new ToolVersion(reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4)),
                DateTimeOffset.Parse(reader.GetString(5), System.Globalization.CultureInfo.InvariantCulture), reader.GetString(6), changed,
                changed is null ? null : DateTimeOffset.Parse(reader.GetString(reader.GetOrdinal("changed_at")), System.Globalization.CultureInfo.InvariantCulture)));
        }

        return result;
    }

    /// <summary>
    /// Compares what the server lists now with the pin: pinned when first seen (true), the same as
    /// pinned (true), or different (false: kept as the changed version, and the tool blocked).
    /// </summary>
    internal bool See(string tool, ToolVersion listed, DateTimeOffset now)
    {
        using var connection = Connect();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO pins (tool, hash, description, schema, hints, pinned_at, pinned_by)
            VALUES ($tool, $hash, $description, $schema, $hints, $now, 'first seen')
            ON CONFLICT (tool) DO NOTHING;
            UPDATE pins SET changed_hash = $hash, changed_description = $description, changed_schema = $schema, changed_hints = $hints,
                            changed_at = COALESCE(CASE WHEN changed_hash = $hash THEN changed_at END, $now)
            WHERE tool = $tool AND hash <> $hash;
            UPDATE pins SET changed_hash = NULL, changed_description = NULL, changed_schema = NULL, changed_hints = NULL, changed_at = NULL
            WHERE tool = $tool AND hash = $hash;
            SELECT hash = $hash FROM pins WHERE tool = $tool;
            """;
        command.Parameters.AddWithValue("$tool", tool);
        command.Parameters.AddWithValue("$hash", listed.Hash);
        command.Parameters.AddWithValue("$description", listed.Description);
        command.Parameters.AddWithValue("$schema", listed.Schema);
        command.Parameters.AddWithValue("$hints", listed.Hints);
        command.Parameters.AddWithValue("$now", now.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        var same = Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 1;
        transaction.Commit();
        return same;
    }

    /// <summary>The hash a tool is pinned at, or null when it was never seen.</summary>
    internal string? PinnedHash(string tool)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT hash FROM pins WHERE tool = $tool";
        command.Parameters.AddWithValue("$tool", tool);
        return command.ExecuteScalar() as string;
    }

    /// <summary>
    /// Accepts the changed version of a tool that the owner reviewed (<paramref name="hash"/>) as its pin;
    /// false when the tool has no changed version, or the server changed it again since it was shown.
    /// </summary>
    public bool Accept(string tool, string hash, string by, DateTimeOffset now)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE pins SET hash = changed_hash, description = changed_description, schema = changed_schema, hints = changed_hints,
                            pinned_at = $now, pinned_by = $by,
                            changed_hash = NULL, changed_description = NULL, changed_schema = NULL, changed_hints = NULL, changed_at = NULL
            WHERE tool = $tool AND changed_hash = $hash
            """;
        command.Parameters.AddWithValue("$tool", tool);
        command.Parameters.AddWithValue("$hash", hash);
        command.Parameters.AddWithValue("$by", by);
        command.Parameters.AddWithValue("$now", now.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        return command.ExecuteNonQuery() == 1;
    }

    /// <summary>Journals a call before it goes to the server: if Warden stops during it, the call may have run.</summary>
    internal void Journal(string id, string agent, string tool, string planHash, DateTimeOffset at)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO actions (id, agent, tool, plan_hash, at) VALUES ($id, $agent, $tool, $plan, $at)";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$agent", agent);
        command.Parameters.AddWithValue("$tool", tool);
        command.Parameters.AddWithValue("$plan", planHash);
        command.Parameters.AddWithValue("$at", at.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        command.ExecuteNonQuery();
    }

    /// <summary>The first journaled action matching a condition over (id, agent, tool, plan_hash, at), or null.</summary>
    internal (string Id, string Agent)? Action(string where, params (string Name, object Value)[] parameters)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT id, agent FROM actions WHERE {where} ORDER BY seq LIMIT 1";
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        using var reader = command.ExecuteReader();
        return reader.Read() ? (reader.GetString(0), reader.GetString(1)) : null;
    }

    /// <summary>How many calls an agent made in a window.</summary>
    internal long Actions(string agent, DateTimeOffset? from, DateTimeOffset? to)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM actions WHERE agent = $agent AND at >= $from AND at <= $to";
        command.Parameters.AddWithValue("$agent", agent);
        command.Parameters.AddWithValue("$from", (from ?? DateTimeOffset.MinValue).UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$to", (to ?? DateTimeOffset.MaxValue).UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
