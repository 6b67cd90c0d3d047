using Microsoft.Extensions.Logging;
using Warden.Core;
using System.Security.Cryptography;
using Warden.Core.Audit;
using Warden.Storage.Audit;
using Warden.Storage.Gateway;
using Warden.Storage.Engines;

namespace Warden.Gateway.Calls;

/// <summary>
/// Nothing applied goes unrecorded. Before the workspace commits a change the gateway writes an
/// intent (the entry the trail would get); once the trail holds the entry the intent is settled.
/// A gateway killed in between leaves the intent, and the next start settles it from the
/// workspace's own record: the action was applied (recorded now, as recovered, with what the
/// intent said about the call), or it was not (recorded as not applied). A send stopped half-way
/// is ended as stopped first, and its entry says how far it got.
/// </summary>
internal sealed class Recovery(PolicyInForce policies, GatewayOptions options, GatewayStore store, GovernedSystems system, Recorder recorder, StoreLocation trail)
{
    /// <summary>The intents this gateway is applying, each held (with a store replicas share) by a timer that renews it.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ITimer> _held = new(StringComparer.Ordinal);
    private readonly ILogger _log = options.Logging.CreateLogger<Recovery>();

    /// <summary>
    /// Records an intent before a change is applied; returns its id, to settle once the trail
    /// holds the entry (or to <see cref="Release"/> when the call ends otherwise). With a store
    /// replicas share, the intent is held, and renewed until then (<see cref="Renewals"/>).
    /// </summary>
    public string Intend(string agent, string tool, string planHash, AuditEntry entry)
    {
        var now = options.Clock.GetUtcNow();
        var id = $"int-{now.UtcDateTime:yyyyMMddHHmmssfff}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
        // A second early: the action's own time is taken after this, by the same clock.
        var shared = options.Store is not null;
        store.Intents.Intend(new IntentRecord(id, options.Environment, agent, tool, planHash, AuditText.Body(entry with { PolicyHash = entry.PolicyHash ?? policies.Current.Hash }),
            now - TimeSpan.FromSeconds(1)), shared ? now + options.TakeOverAfter : null);
        if (shared)
        {
            _held[id] = Renewals.Every(options, _log, id, at =>
            {
                if (_held.ContainsKey(id))
                {
                    store.Intents.Hold(id, at + options.TakeOverAfter);
                }
            });
        }

        return id;
    }

    public void Settle(string intent)
    {
        Release(intent);
        store.Intents.Settle(intent);
    }

    /// <summary>
    /// Stops holding an intent the call left unsettled (it failed in a way that leaves its outcome
    /// unknown): it is recovered as a stopped gateway's would be, once the hold runs out, by a
    /// replica's sweep (this one's too), or at the next start.
    /// </summary>
    public void Release(string intent)
    {
        if (_held.TryRemove(intent, out var timer))
        {
            timer.Dispose();
        }
    }

    /// <summary>
    /// Settles what a stopped gateway left in this environment: half-sent sends, then intents. With
    /// a store replicas share, only intents older than <see cref="GatewayOptions.TakeOverAfter"/>
    /// (a younger one may be a live replica's change in flight), each claimed first, so that one
    /// replica records it; the replicas run this every minute, so one that stops is settled by the others.
    /// </summary>
    public async Task RecoverAsync(bool sweep = false)
    {
        var shared = options.Store is not null;
        var now = options.Clock.GetUtcNow();
        // Shared: only sends begun before the take-over time (a younger one may be a live replica's),
        // at start and at every sweep, as replicas settle for each other.
        var interrupted = sweep && !shared ? [] : (await system.StopInterruptedAsync(shared ? now - options.TakeOverAfter : null).ConfigureAwait(false))
            .ToDictionary(s => s.ActionId, StringComparer.Ordinal);
        var how = shared ? "by a replica, after the one applying it stopped" : "when the gateway started again";
        foreach (var intent in store.Intents.Pending(options.Environment))
        {
            if (shared && (intent.StartedAt > now - options.TakeOverAfter || !store.Intents.Claim(intent.Id, now, now + options.TakeOverAfter)))
            {
                continue;
            }

            var entry = AuditText.Read(AuditText.Entry(intent.Entry, "", 0, intent.StartedAt), "").Entry;
            var action = system.ActionSince(intent.Agent, intent.Tool, intent.PlanHash, intent.StartedAt);
            if (Recorded(intent, action))
            {
                store.Intents.Settle(intent.Id);
                continue;
            }

            var at = AuditText.Time(intent.StartedAt);
            var recovered = action is null
                ? entry with { Outcome = "error", Detail = Join(entry.Detail, $"recovered {how}: it stopped while applying this call (begun {at}), and the workspace holds no action from its plan: nothing was written") }
                : interrupted.TryGetValue(action, out var send)
                    ? entry with
                    {
                        Outcome = "stopped", ActionId = action,
                        Detail = Join(entry.Detail, $"recovered {how}: it stopped while sending (begun {at}) after {send.Sent:N0} of {send.Queued:N0} recipients had been sent to; the rest were not sent"),
                    }
                    : entry with { Outcome = "ok", ActionId = action, Detail = Join(entry.Detail, $"recovered {how}: it applied this call (begun {at}) as action {action} and stopped before recording it") };
            var seq = await recorder.RecordAsync(recovered).ConfigureAwait(false);
            if (action is not null)
            {
                store.Intents.RememberAction(action, seq);
            }

            store.Intents.Settle(intent.Id);
        }
    }

    /// <summary>True when the trail already holds the entry the intent was for (the gateway stopped after writing it, before settling).</summary>
    private bool Recorded(IntentRecord intent, string? action)
    {
        if (action is not null && store.Intents.ActionEntry(action) is not null)
        {
            return true;
        }

        long? before = null;
        while (true)
        {
            var page = AuditLog.Query(trail, new AuditQuery { From = intent.StartedAt, Before = before, Limit = 1000 });
            foreach (var record in page.Entries)
            {
                var entry = record.Entry;
                if ((action is not null && entry.ActionId == action)
                    || (action is null && entry.Kind is AuditKinds.Call or AuditKinds.Rollback && entry.PlanHash == NullIfEmpty(intent.PlanHash) && (entry.Agent == intent.Agent || entry.Person == intent.Agent)
                        && entry.Outcome is "error" or "refused" or "stopped"))
                {
                    return true;
                }
            }

            if (page.Next is not { } next)
            {
                return false;
            }

            before = next;
        }
    }

    private static string? NullIfEmpty(string text) => text.Length == 0 ? null : text;

    private static string? Join(string? first, string? second) => first is null ? second : second is null ? first : $"{first}; {second}";
}
