using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace Warden.Gateway.Http;

/// <summary>A token bucket per agent: one agent's flood is refused without slowing the others.</summary>
internal sealed class AgentLimits(int perSecond) : IDisposable
{
    private readonly ConcurrentDictionary<string, TokenBucketRateLimiter> _buckets = new(StringComparer.Ordinal);

    public bool TryTake(string agent)
    {
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
