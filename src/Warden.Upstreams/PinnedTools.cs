using System.Data.Common;
using System.Globalization;
using Warden.Storage.Engines;

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
public sealed class PinnedTools : IDisposable
{
    /// <summary>The store's name in the migrations (<c>Migrations/ENGINE/upstream</c>): pins and the journal of calls share it.</summary>
    internal const string Component = "upstream";

    private readonly StoreDatabase _db;
    private readonly bool _owned;

    internal PinnedTools(StoreDatabase database, bool owned = false)
    {
        _db = database;
        _owned = owned;
    }

    /// <summary>Opens (creating) the pin file.</summary>
    public static PinnedTools Open(string path) => new(SystemStores.OpenFile(path, Component), owned: true);

    /// <summary>Opens (creating) the pins of upstream <paramref name="system"/> in <paramref name="environment"/>, in the shared PostgreSQL store.</summary>
    public static PinnedTools Open(StoreLocation store, string environment, string system) => new(SystemStores.OpenShared(store, environment, system, Component), owned: true);

    /// <summary>Every pinned tool, by name.</summary>
    public IReadOnlyList<PinnedTool> All() => Read("SELECT * FROM pins ORDER BY tool");

    /// <summary>The pin of a tool (ID.TOOL), or null when it was never seen.</summary>
    public PinnedTool? Find(string tool) => Read("SELECT * FROM pins WHERE tool = @tool", ("@tool", tool)).FirstOrDefault();

    private List<PinnedTool> Read(string sql, params (string Name, object? Value)[] parameters) => _db.Query(sql, Pin, parameters);

    private static PinnedTool Pin(DbDataReader reader)
    {
        var changed = reader.IsDBNull(reader.GetOrdinal("changed_hash"))
            ? null
            : new ToolVersion(reader.GetString(reader.GetOrdinal("changed_hash")), reader.GetString(reader.GetOrdinal("changed_description")),
                reader.GetString(reader.GetOrdinal("changed_schema")), reader.GetString(reader.GetOrdinal("changed_hints")));
        return new PinnedTool(reader.GetString(reader.GetOrdinal("tool")),
            new ToolVersion(reader.GetString(reader.GetOrdinal("hash")), reader.GetString(reader.GetOrdinal("description")), reader.GetString(reader.GetOrdinal("schema")),
                reader.GetString(reader.GetOrdinal("hints"))),
            DateTimeOffset.Parse(reader.GetString(reader.GetOrdinal("pinned_at")), CultureInfo.InvariantCulture), reader.GetString(reader.GetOrdinal("pinned_by")), changed,
            changed is null ? null : DateTimeOffset.Parse(reader.GetString(reader.GetOrdinal("changed_at")), CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Compares what the server lists now with the pin: pinned when first seen (true), the same as
    /// pinned (true), or different (false: kept as the changed version, and the tool blocked).
    /// One transaction, so that replicas listing at once agree on the first pin.
    /// </summary>
    internal bool See(string tool, ToolVersion listed, DateTimeOffset now) => _db.Transaction(session =>
    {
        (string, object?)[] version =
        [
            ("@tool", tool), ("@hash", listed.Hash), ("@description", listed.Description), ("@schema", listed.Schema), ("@hints", listed.Hints),
            ("@now", now.ToString("O", CultureInfo.InvariantCulture)),
        ];
        session.Execute("""
            INSERT INTO pins (tool, hash, description, schema, hints, pinned_at, pinned_by)
            VALUES (@tool, @hash, @description, @schema, @hints, @now, 'first seen')
            ON CONFLICT (tool) DO NOTHING
            """, version);
        session.Execute("""
            UPDATE pins SET changed_hash = @hash, changed_description = @description, changed_schema = @schema, changed_hints = @hints,
                            changed_at = COALESCE(CASE WHEN changed_hash = @hash THEN changed_at END, @now)
            WHERE tool = @tool AND hash <> @hash
            """, version);
        session.Execute("""
            UPDATE pins SET changed_hash = NULL, changed_description = NULL, changed_schema = NULL, changed_hints = NULL, changed_at = NULL
            WHERE tool = @tool AND hash = @hash
            """, ("@tool", tool), ("@hash", listed.Hash));
        return session.Text("SELECT hash FROM pins WHERE tool = @tool", ("@tool", tool)) == listed.Hash;
    });

    /// <summary>The hash a tool is pinned at, or null when it was never seen.</summary>
    internal string? PinnedHash(string tool) => _db.Use(session => session.Text("SELECT hash FROM pins WHERE tool = @tool", ("@tool", tool)));

    /// <summary>
    /// Accepts the changed version of a tool that the owner reviewed (<paramref name="hash"/>) as its pin;
    /// false when the tool has no changed version, or the server changed it again since it was shown.
    /// </summary>
    public bool Accept(string tool, string hash, string by, DateTimeOffset now) => _db.Execute("""
        UPDATE pins SET hash = changed_hash, description = changed_description, schema = changed_schema, hints = changed_hints,
                        pinned_at = @now, pinned_by = @by,
                        changed_hash = NULL, changed_description = NULL, changed_schema = NULL, changed_hints = NULL, changed_at = NULL
        WHERE tool = @tool AND changed_hash = @hash
        """, ("@tool", tool), ("@hash", hash), ("@by", by), ("@now", now.ToString("O", CultureInfo.InvariantCulture))) == 1;

    /// <summary>The store this was opened on, for the journal of the same upstream.</summary>
    internal StoreDatabase Store => _db;

    public void Dispose()
    {
        if (_owned)
        {
            _db.Dispose();
        }
    }
}
