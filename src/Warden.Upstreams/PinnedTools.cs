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
/// The pins of an upstream's tools, in Warden's data folder (DATA/systems/ENV/ID.db, beside the
/// journal of its calls). A tool is pinned when first seen; a later listing that differs is
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
}
