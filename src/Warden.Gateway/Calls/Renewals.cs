using Microsoft.Extensions.Logging;

namespace Warden.Gateway.Calls;

/// <summary>
/// How a replica keeps what it is running (an intent, an approved call) while a store is shared:
/// renewed every third of the take-over time, so another replica takes it over only once the
/// renewals stop (this one stopped), never because the work is slow.
/// </summary>
internal static class Renewals
{
    /// <summary>A timer calling <paramref name="renew"/> with the time, until it is disposed; a renewal that fails is logged and tried again at the next tick.</summary>
    public static ITimer Every(GatewayOptions options, ILogger log, string id, Action<DateTimeOffset> renew)
    {
        var every = options.TakeOverAfter / 3;
        return options.Clock.CreateTimer(_ =>
        {
            try
            {
                renew(options.Clock.GetUtcNow());
            }
#pragma warning disable CA1031 // a renewal missed is tried again at the next tick; the work goes on
            catch (Exception e)
#pragma warning restore CA1031
            {
                log.LogWarning(e, "Could not renew {Id}; another replica may take it over", id);
            }
        }, null, every, every);
    }
}
