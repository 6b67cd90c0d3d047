using Warden.Storage.Engines;

namespace Warden.Storage.Gateway;

/// <summary>Frozen agents (the kill switch and breakers): every call asks.</summary>
public sealed class FreezeStore
{
    private readonly StoreDatabase _db;
    private readonly Lock _sync = new();
    private IReadOnlySet<string>? _frozen;

    internal FreezeStore(StoreDatabase database) => _db = database;

    /// <summary>Freezes an agent, or every agent with <c>*</c>.</summary>
    public void Freeze(string agent, string by, string? reason, DateTimeOffset at)
    {
        lock (_sync)
        {
            _db.Execute(
                "INSERT INTO frozen_agents (agent, frozen_by, reason, at) VALUES (@agent, @by, @reason, @at) ON CONFLICT (agent) DO UPDATE SET frozen_by = excluded.frozen_by, reason = excluded.reason, at = excluded.at",
                ("@agent", agent), ("@by", by), ("@reason", reason), ("@at", GatewayStore.Time(at)));
            _frozen = null;
        }
    }

    /// <summary>Unfreezes an agent, or lifts the freeze of every agent with <c>*</c>; false when it was not frozen.</summary>
    public bool Unfreeze(string agent)
    {
        lock (_sync)
        {
            _frozen = null;
            return _db.Execute("DELETE FROM frozen_agents WHERE agent = @agent", ("@agent", agent)) == 1;
        }
    }

    /// <summary>The frozen agents (and <c>*</c> when all are).</summary>
    /// <remarks>
    /// In a SQLite store, kept in memory: only this store writes the file (a data folder has one
    /// gateway at a time), and it forgets the copy whenever it freezes or unfreezes. In PostgreSQL,
    /// read at every call: a freeze on one replica stops the agent's next call on every other.
    /// </remarks>
    public IReadOnlySet<string> Frozen()
    {
        if (_db.Shared)
        {
            return ReadFrozen();
        }

        lock (_sync)
        {
            return _frozen ??= ReadFrozen();
        }
    }

    private HashSet<string> ReadFrozen() => _db.Query("SELECT agent FROM frozen_agents", r => r.GetString(0)).ToHashSet(StringComparer.Ordinal);
}
