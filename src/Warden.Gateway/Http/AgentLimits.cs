using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace Warden.Gateway.Http;

/// <summary>
/// A token bucket per agent: one agent's flood is refused without slowing the others. In memory for
/// one gateway; in the store replicas share (<paramref name="shared"/>), so that an agent spreading
/// its requests over replicas gets no more than reaching one.
/// </summary>
internal sealed class AgentLimits(int perSecond, Warden.Storage.Gateway.AgentRates? shared = null, TimeProvider? clock = null) : IDisposable
{
    private readonly ConcurrentDictionary<string, TokenBucketRateLimiter> _buckets = new(StringComparer.Ordinal);

    public bool TryTake(string agent)
    {
        if (shared is not null)
        {
            return shared.TryTake(agent, perSecond, perSecond * 2, (clock ?? TimeProvider.System).GetUtcNow());
        }

        var bucket = _buckets.GetOrAdd(agent, _ => new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = perSecond * 2,
            TokensPerPeriod = perSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
        using var lease = bucket.AttemptAcquire();
        return lease.IsAcquired;
    }

    public void Dispose()
    {
        foreach (var bucket in _buckets.Values)
        {
            bucket.Dispose();
        }
    }
}
