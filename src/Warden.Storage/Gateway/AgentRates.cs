using Warden.Storage.Engines;

namespace Warden.Storage.Gateway;

/// <summary>
/// A token bucket per agent that replicas share (PostgreSQL only: one gateway keeps its buckets in
/// memory). Taking a token is one statement, atomic under the agent's row lock: read the bucket,
/// refill it by the time that passed, take one if there is one.
/// </summary>
public sealed class AgentRates
{
    private readonly StoreDatabase _db;

    internal AgentRates(StoreDatabase database) => _db = database;

    /// <summary>
    /// Takes one of the agent's tokens (at most <paramref name="burst"/> held, <paramref name="perSecond"/>
    /// added a second); false when there is none left: the request is refused.
    /// </summary>
    public bool TryTake(string agent, double perSecond, double burst, DateTimeOffset now)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        // The refill counts only time that went forward: a replica whose clock is behind adds nothing.
        const string refilled = "least(@burst, agent_rates.tokens + greatest(0, @now - agent_rates.at_ms) * @rate / 1000.0)";
        return _db.Scalar($"""
            INSERT INTO agent_rates (agent, tokens, at_ms) VALUES (@agent, @burst - 1, @now)
            ON CONFLICT (agent) DO UPDATE SET tokens = {refilled} - 1, at_ms = greatest(agent_rates.at_ms, @now)
            WHERE {refilled} >= 1
            RETURNING 1
            """, ("@agent", agent), ("@burst", burst), ("@now", nowMs), ("@rate", perSecond)) == 1;
    }
}
