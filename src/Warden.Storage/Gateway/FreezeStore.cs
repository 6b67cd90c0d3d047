using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Warden.Storage.Gateway;

/// <summary>Frozen agents (the kill switch and breakers), kept in memory too: every call asks.</summary>
public sealed class FreezeStore
{
    private readonly GatewayDatabase _db;

    internal FreezeStore(GatewayDatabase database) => _db = database;

    private IReadOnlySet<string>? _frozen;

    /// <summary>Freezes an agent, or every agent with <c>*</c>.</summary>
    public void Freeze(string agent, string by, string? reason, DateTimeOffset at)
    {
        lock (_db.Sync)
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
        lock (_db.Sync)
        {
            _frozen = null;
            return _db.Execute("DELETE FROM frozen_agents WHERE agent = @agent", ("@agent", agent)) == 1;
        }
    }

    /// <summary>The frozen agents (and <c>*</c> when all are).</summary>
    /// <remarks>
    /// Read by every call, so kept in memory: only this store writes the file (a data folder has
    /// one gateway at a time), and it forgets the copy whenever it freezes or unfreezes.
    /// </remarks>
    public IReadOnlySet<string> Frozen()
    {
        lock (_db.Sync)
        {
            return _frozen ??= ReadFrozen();
        }
    }

    private HashSet<string> ReadFrozen()
    {
        using var command = _db.Command("SELECT agent FROM frozen_agents");
        using var reader = command.ExecuteReader();
        var frozen = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read())
        {
            frozen.Add(reader.GetString(0));
        }

        return frozen;
    }
}
