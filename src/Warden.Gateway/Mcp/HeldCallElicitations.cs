using System.Text.Json;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Warden.Core;
using Warden.Storage.Gateway;

namespace Warden.Gateway.Mcp;

/// <summary>
/// Held calls that a client was told to wait on instead of polling: answered with MCP's URL
/// elicitation (error -32042, one elicitation whose id is the request's and whose url is its
/// console page), so the client shows the page to its user and retries the call once the request
/// is decided. The retry is matched here to the request, by the same agent, tool, arguments and
/// person acted for, and answered from the request once, as it ended; the call itself only ever
/// runs when the last approver approves, as for every held call. Where the client's session can
/// carry a notification (stdio), <c>notifications/elicitation/complete</c> tells it when to retry.
/// Kept in memory: after a restart the retry is a new call, governed (and held) anew.
/// </summary>
internal sealed class HeldCallElicitations(GatewayStore store, TimeProvider clock, ILogger log) : IDisposable
{
    /// <summary>How often the requests that sessions wait on are looked at (a decision may come from another process on the same store).</summary>
    private static readonly TimeSpan Watch = TimeSpan.FromMilliseconds(500);

    /// <summary>How long after its expiry an unclaimed offer is kept for a late retry.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromHours(1);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Offer> _offers = new(StringComparer.Ordinal);
    private ITimer? _timer;
    private bool _disposed;

    /// <summary>A held call the client was told to retry: whose, which, and the session to tell when it is decided (none over stateless HTTP).</summary>
    private sealed record Offer(string ApprovalId, string Agent, string Tool, string Arguments, string? OnBehalfOf, DateTimeOffset Until)
    {
        public McpServer? Session { get; set; }
    }

    /// <summary>True when the client said it takes URL elicitations: per request (2026-07-28), or for its session (stdio, after the handshake).</summary>
    public static bool Supported(ClientCapabilities? capabilities) => capabilities?.Elicitation?.Url is not null;

    /// <summary>The answer to a held call for a client that takes URL elicitations: what the client throws, the SDK writes as error -32042.</summary>
    public static UrlElicitationRequiredException Answer(string approvalId, string page, string message) =>
        new($"held for approval as request {approvalId}: {message} Retry this call once it is decided.",
        [
            new ElicitRequestParams
            {
                Mode = "url",
                ElicitationId = approvalId,
                Url = page,
                Message = message,
            },
        ]);

    /// <summary>Remembers that the agent was told to retry this call once the request is decided.</summary>
    public void Remember(string approvalId, string agent, string tool, JsonElement arguments, string? onBehalfOf, DateTimeOffset expiresAt, McpServer? session)
    {
        var offer = new Offer(approvalId, agent, tool, CanonicalJson.Text(arguments), onBehalfOf, expiresAt + Grace) { Session = session };
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            var now = clock.GetUtcNow();
            foreach (var stale in _offers.Values.Where(o => o.Until <= now).Select(o => o.ApprovalId).ToList())
            {
                _offers.Remove(stale);
            }

            // A second client or a retry before the decision joins the same request: one offer, the latest session told.
            if (_offers.TryGetValue(approvalId, out var known) && known.Agent == agent)
            {
                known.Session = session ?? known.Session;
                offer = known;
            }

            _offers[approvalId] = offer;
            if (offer.Session is not null)
            {
                _timer ??= clock.CreateTimer(_ => _ = NotifyDecidedAsync(), null, Watch, Watch);
            }
        }
    }

    /// <summary>
    /// The request this call is the retry of, taken (a later identical call is a new call), when
    /// the agent was told to retry it and it has left pending; null otherwise (the call goes the
    /// way every call goes: a retry while the request waits joins it there).
    /// </summary>
    public ApprovalRecord? Claim(string agent, string tool, JsonElement arguments, string? onBehalfOf)
    {
        lock (_lock)
        {
            if (_offers.Count == 0)
            {
                return null;
            }

            var text = CanonicalJson.Text(arguments);
            var now = clock.GetUtcNow();
            foreach (var offer in _offers.Values.OrderBy(o => o.Until).ToList())
            {
                // Past its grace the offer answers nothing: the same call days later is a new call.
                if (offer.Until <= now)
                {
                    _offers.Remove(offer.ApprovalId);
                    continue;
                }

                if (offer.Agent != agent || offer.Tool != tool || offer.OnBehalfOf != onBehalfOf || offer.Arguments != text)
                {
                    continue;
                }

                // Still waiting: the call joins it the usual way. (Another offer of the same call, a
                // request held anew when the plan had changed, may have been decided meanwhile.)
                if (store.Approvals.Find(offer.ApprovalId) is not { Status: not ApprovalStatus.Pending } record)
                {
                    continue;
                }

                _offers.Remove(offer.ApprovalId);
                return record;
            }

            return null;
        }
    }

    /// <summary>Tells each waiting session once that its request has left pending (its retry now gets the end, or waits while it runs).</summary>
    private async Task NotifyDecidedAsync()
    {
        List<(Offer Offer, McpServer Session)> decided = [];
        lock (_lock)
        {
            foreach (var offer in _offers.Values)
            {
                if (offer.Session is { } session && store.Approvals.Find(offer.ApprovalId) is { Status: not (ApprovalStatus.Pending or ApprovalStatus.Executing) })
                {
                    decided.Add((offer, session));
                    offer.Session = null;
                }
            }
        }

        foreach (var (offer, session) in decided)
        {
            try
            {
                await session.SendNotificationAsync(NotificationMethods.ElicitationCompleteNotification,
                    new ElicitationCompleteNotificationParams { ElicitationId = offer.ApprovalId }).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // a client gone away is not the gateway's failure; its retry still finds the request
            catch (Exception e)
#pragma warning restore CA1031
            {
                log.LogDebug(e, "Could not tell the client that request {Id} is decided", offer.ApprovalId);
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _timer?.Dispose();
            _offers.Clear();
        }
    }
}
