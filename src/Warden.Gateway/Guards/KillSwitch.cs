using System.Text.Json;
using System.Security.Cryptography;
using Warden.Core;
using Warden.Core.Audit;
using Warden.Storage.Gateway;

namespace Warden.Gateway.Guards;

/// <summary>
/// Freezing agents: by a person (the kill switch) or by a breaker. A freeze takes effect for the
/// next call and cancels the frozen agents' pending requests; lifting it needs an owner of the
/// agent's use case (a risk owner for everyone at once). Breakers and kill switches open an
/// incident routed to the use case's owners and its escalation contact. Everything is recorded.
/// </summary>
internal sealed class KillSwitch(PolicyInForce policies, GatewayOptions options, GatewayStore store, Calls.Recorder recorder, Notifications.Notifier notifier)
{
    /// <summary>Codes of what the kill switch refuses, mapped to HTTP at the edge.</summary>
    public const string UnknownAgent = "unknown_agent", NotAnOwner = "not_an_owner", NotFrozen = "not_frozen";

    /// <summary>Freezes one agent, or every agent when <paramref name="agent"/> is null; returns the pending requests it cancelled, or why not (<see cref="UnknownAgent"/>).</summary>
    public async Task<SystemResult<IReadOnlyList<string>>> FreezeAsync(string? agent, string person, string? reason)
    {
        var policy = policies.Current;
        if (agent is not null && policy.FindAgent(agent) is null)
        {
            return new SystemError(UnknownAgent, $"there is no agent '{agent}'" + (Core.Diagnostics.Suggest.Hint(agent, policy.Agents.Select(a => a.Id)) is { } hint ? $"; {hint}" : ""));
        }

        var now = options.Clock.GetUtcNow();
        var target = agent ?? "*";
        store.Freezes.Freeze(target, person, reason, now);
        var cancelled = store.Approvals.CancelPending(target, Reason($"cancelled: {(agent is null ? "every agent was" : $"agent {agent} was")} frozen by {person}"), now);
        await recorder.RecordAsync(new AuditEntry
        {
            Kind = AuditKinds.KillSwitch,
            Environment = options.Environment,
            Agent = agent,
            UseCase = agent is null ? null : policy.FindAgent(agent)!.UseCase,
            Person = person,
            Effect = "freeze",
            Comment = reason,
            Detail = $"{(agent is null ? "every agent" : $"agent {agent}")} frozen" + (cancelled.Count > 0 ? $"; pending requests cancelled: {string.Join(", ", cancelled)}" : ""),
            Outcome = "ok",
        }).ConfigureAwait(false);
        foreach (var useCase in agent is null ? policy.UseCases : [policy.FindUseCase(policy.FindAgent(agent)!.UseCase)!])
        {
            Open(useCase, agent, "kill_switch", $"{(agent is null ? "every agent" : $"agent {agent}")} frozen by {person}" + (reason is null ? "" : $": {reason}"), now);
        }

        return new SystemResult<IReadOnlyList<string>>(cancelled, null);
    }

    /// <summary>Lifts a freeze; only an owner of the agent's use case may (a risk owner for all agents). Null when lifted; otherwise why not.</summary>
    public async Task<SystemError?> UnfreezeAsync(string? agent, string person, string? reason)
    {
        var policy = policies.Current;
        if (agent is null)
        {
            if (policy.FindOwner(person) is not { } owner || !owner.Has(OwnerRole.RiskOwner))
            {
                return new SystemError(NotAnOwner, $"{person} cannot lift the freeze of every agent: that takes a risk owner");
            }
        }
        else
        {
            if (policy.FindAgent(agent) is not { } found)
            {
                return new SystemError(UnknownAgent, $"there is no agent '{agent}'");
            }

            var owners = policy.FindUseCase(found.UseCase)!.Owners;
            if (!owners.Include(person))
            {
                return new SystemError(NotAnOwner, $"{person} cannot unfreeze agent '{agent}': that takes an owner of use case '{found.UseCase}' ({owners})");
            }
        }

        if (!store.Freezes.Unfreeze(agent ?? "*"))
        {
            return new SystemError(NotFrozen, agent is null ? "the agents are not frozen all at once" : $"agent '{agent}' is not frozen" + (store.Freezes.Frozen().Contains("*") ? " on its own (every agent is: lift that with --all)" : ""));
        }

        await recorder.RecordAsync(new AuditEntry
        {
            Kind = AuditKinds.KillSwitch,
            Environment = options.Environment,
            Agent = agent,
            Person = person,
            Effect = "unfreeze",
            Comment = reason,
            Detail = agent is null ? "the freeze of every agent lifted" : $"agent {agent} unfrozen",
            Outcome = "ok",
        }).ConfigureAwait(false);
        return null;
    }

    /// <summary>A breaker tripped on an agent's usage: freeze it (when the breaker says so), open an incident, record both.</summary>
    public async Task TripAsync(Breaker breaker, Agent agent)
    {
        var now = options.Clock.GetUtcNow();
        var freeze = breaker.Then == BreakerAction.Freeze;
        var summary = $"breaker '{breaker.Id}' tripped: more than {breaker.Over:N0} {PolicyWords.Of(breaker.Metric).Replace('_', ' ')} within {breaker.Within.TotalMinutes:0} minutes"
                      + (freeze ? $"; agent {agent.Id} frozen" : "");
        if (freeze)
        {
            store.Freezes.Freeze(agent.Id, $"breaker:{breaker.Id}", summary, now);
            store.Approvals.CancelPending(agent.Id, Reason($"cancelled: breaker {breaker.Id} froze agent {agent.Id}"), now);
        }

        var incident = OpenFor(agent, "breaker", summary, now);
        await recorder.RecordAsync(new AuditEntry
        {
            Kind = AuditKinds.Breaker,
            Environment = options.Environment,
            Agent = agent.Id,
            UseCase = agent.UseCase,
            Rule = breaker.Id,
            Effect = freeze ? "freeze" : "alert",
            Detail = $"{summary}; incident {incident}",
            Outcome = "ok",
        }).ConfigureAwait(false);
    }

    private readonly Lock _denials = new();

    /// <summary>Refusals of prohibited actions within <see cref="DenialWindow"/> that open an incident.</summary>
    public const int DenialsForIncident = 5;

    public static readonly TimeSpan DenialWindow = TimeSpan.FromMinutes(10);

    /// <summary>
    /// A rule refused an agent's call. Counted; the fifth within ten minutes opens an incident for
    /// the use case's owners (one at a time per agent), since an agent that keeps trying what it
    /// may not do is misconfigured or misled.
    /// </summary>
    public async Task DeniedAsync(Agent agent, string rule)
    {
        var now = options.Clock.GetUtcNow();
        string summary, incident;
        lock (_denials)
        {
            // Counted, checked and opened as one step: two refusals at once open one incident.
            store.Usage.Use(agent.Id, agent.UseCase, null, now, [("denials", 1)]);
            var denials = store.Usage.Used("denials", agent.Id, null, null, now - DenialWindow);
            if (denials < DenialsForIncident || store.Incidents.List(IncidentStatus.Open).Any(i => i.Kind == "repeated_denials" && i.Agent == agent.Id))
            {
                return;
            }

            summary = $"agent {agent.Id} was refused {denials} times in {DenialWindow.TotalMinutes:0} minutes, the last by rule '{rule}'";
            incident = OpenFor(agent, "repeated_denials", summary, now);
        }

        await recorder.RecordAsync(new AuditEntry
        {
            Kind = AuditKinds.Breaker,
            Environment = options.Environment,
            Agent = agent.Id,
            UseCase = agent.UseCase,
            Rule = rule,
            Effect = "alert",
            Detail = $"{summary}; incident {incident}",
            Outcome = "ok",
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Opens an incident about <paramref name="agent"/> for its use case; its id. The agent was found
    /// in the policy its call started under: a reload may have taken its use case out since, and then
    /// the incident goes to the use case that now has an agent of that id, or to nobody, which the trail says.
    /// </summary>
    private string OpenFor(Agent agent, string kind, string summary, DateTimeOffset now)
    {
        var policy = policies.Current;
        return (policy.FindUseCase(agent.UseCase) ?? (policy.FindAgent(agent.Id) is { } current ? policy.FindUseCase(current.UseCase) : null)) is { } useCase
            ? Open(useCase, agent.Id, kind, summary, now)
            : $"none (use case {agent.UseCase} is no longer in the policy)";
    }

    /// <summary>Opens an incident routed to the use case's owners and escalation contact, and tells them; its id.</summary>
    internal string Open(UseCase useCase, string? agent, string kind, string summary, DateTimeOffset now)
    {
        var id = $"inc-{now.UtcDateTime:yyyyMMddHHmmss}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
        var owners = new[] { useCase.Escalation, useCase.Owners.Business, useCase.Owners.Technical, useCase.Owners.Data, useCase.Owners.Risk }.Distinct().ToList();
        var incident = new IncidentRecord(id, IncidentStatus.Open, useCase.Id, agent, kind, summary, owners, now, null, null);
        store.Incidents.Open(incident);
        notifier.IncidentOpened(incident);
        return id;
    }

    /// <summary>A cancelled request's outcome, written by the serializer: the reason names people and agents, whose names may hold any character.</summary>
    private static string Reason(string text) => JsonSerializer.Serialize(new { reason = text });
}
