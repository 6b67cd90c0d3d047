using System.Text.Json;
using Warden.Core;
using Warden.Core.Audit;
using Warden.Storage.Gateway;

namespace Warden.Gateway.Calls;

/// <summary>
/// A call to govern: the agent, the tool and its arguments, the person it claims to act for, the
/// trail's entry as far as it is known (every way out records it, completed), and the approval it
/// runs under when people have already agreed to it.
/// </summary>
internal sealed record GovernedCall(Agent Agent, string Tool, JsonElement Arguments, string? OnBehalfOf, AuditEntry Entry)
{
    /// <summary>The approval the call runs under: its plan's hash is what people agreed to.</summary>
    public ApprovedCall? Approved { get; init; }
}

/// <summary>What people agreed to: the request, the hash of the plan they saw, how many records it had, who they were (as read, and by id).</summary>
internal sealed record ApprovedCall(string Id, string PlanHash, long Records, string By, IReadOnlyList<string> Approvers);

/// <summary>How governing a call ended.</summary>
internal abstract record Governed
{
    /// <summary>Refused, invalid, run, or stopped: the agent's outcome, recorded.</summary>
    public sealed record Finished(CallOutcome Outcome) : Governed;

    /// <summary>The policy asks for people: the plan, the decision that asks, and the entry to record with the request.</summary>
    public sealed record NeedsPeople(Plan Plan, Decision Decision, AuditEntry Entry) : Governed;

    /// <summary>
    /// The call ran under an approval, but its plan is no longer the one approved, or the policy in
    /// force asks other people for it: the approval is void, and Difference says why. Refused is the
    /// recorded refusal when the policy now refuses the new plan; otherwise the plan goes back to people.
    /// </summary>
    public sealed record Changed(string Difference, Plan Plan, Decision Decision, AuditEntry Entry, CallOutcome? Refused) : Governed;
}

/// <summary>
/// The one path a plan takes, for a new call and for an approved one alike: admitted (the tool known
/// and granted here, the agent activated, no filter over a masked field), planned by its system,
/// decided with the guards under their lock, then refused, handed to people, or applied; recorded
/// in the trail before the agent hears back, counted against budgets and breakers, and a rule's
/// refusal counted towards the repeated-denials incident whichever way the call came.
/// </summary>
internal sealed class PlanGovernor(PolicyInForce policies, GatewayOptions options, GovernedSystems system, GatewayStore store, Guards.Guards guards, Guards.KillSwitch killSwitch,
    Recovery recovery, Recorder recorder, AgentAccess access)
{
    private string Environment => options.Environment;

    public async Task<Governed> GovernAsync(GovernedCall call)
    {
        // One policy for the whole call, the one in force as it starts; the agent as that policy has it.
        var policy = policies.Current;
        var (agent, tool, arguments, onBehalfOf, entry) = call;
        entry = entry with { PolicyHash = policy.Hash };
        var approval = call.Approved;
        if (policy.FindAgent(agent.Id) is not { } current)
        {
            var message = $"agent '{agent.Id}' is no longer in the policy";
            return new Governed.Finished(CallOutcome.Refused(tool, "unknown_agent", message, null,
                await recorder.RecordAsync(entry with { Effect = "deny", Reason = message, Outcome = "refused" }).ConfigureAwait(false)));
        }

        agent = current;
        call = call with { Agent = agent };
        if (Admit(policy, agent, tool, arguments, onBehalfOf) is { } refusal)
        {
            var seq = await recorder.RecordAsync(entry with
            {
                Effect = "deny", Rule = refusal.Rule, Reason = refusal.Reason, Outcome = "refused",
                Detail = approval is null ? entry.Detail : Join(entry.Detail, $"approved in {approval.Id}, and refused now"),
            }).ConfigureAwait(false);
            if (refusal.ByRule)
            {
                await killSwitch.DeniedAsync(agent, refusal.Rule!).ConfigureAwait(false);
            }

            return new Governed.Finished(refusal.Code == "unknown_tool"
                ? CallOutcome.Invalid(tool, refusal.Code, refusal.Message, seq)
                : CallOutcome.Refused(tool, refusal.Code, refusal.Message, refusal.Rule, seq));
        }

        var planned = await system.PlanAsync(new ToolCall(tool, arguments, agent.Id, Environment)).ConfigureAwait(false);
        if (!planned.Succeeded)
        {
            var error = planned.Error!;
            var message = approval is null ? error.MessageFor(agent.Sees) : $"the call cannot be planned any more: {error.MessageFor(agent.Sees)}";
            return new Governed.Finished(CallOutcome.Invalid(tool, error.Code, message,
                await recorder.RecordAsync(entry with { Reason = message, Outcome = "error" }).ConfigureAwait(false)));
        }

        var plan = planned.Value!;
        entry = entry with { PlanSummary = plan.Summary, PlanHash = plan.Hash, FieldsRead = plan.FieldsRead };
        if (approval is not null && plan.Hash != approval.PlanHash)
        {
            return await ChangedAsync(policy, call, plan, entry).ConfigureAwait(false);
        }

        // A call some budget or breaker counts is decided under the guard lock, and its use reserved
        // before the lock goes, so that concurrent calls cannot all spend the same remaining budget.
        using var guard = await guards.EnterAsync(policy, agent, plan, onBehalfOf).ConfigureAwait(false);
        var decision = guards.Decide(policy, Environment, agent, tool, arguments, plan, onBehalfOf);
        entry = entry with
        {
            Effect = approval is null ? PolicyWords.Of(decision.Effect) : decision.Effect == Effect.Deny ? "deny" : "approve",
            Rule = decision.Rule?.Id,
            Reason = approval is null || decision.Effect == Effect.Deny ? decision.Reason : $"approved by {approval.By}",
            Shadow = decision.ShadowRule is { } shadow ? [$"{shadow.Id}: {PolicyWords.Of(decision.ShadowEffect!.Value)}"] : [],
        };

        if (decision.Effect == Effect.Deny)
        {
            return new Governed.Finished(await RefuseAsync(agent, plan, decision, entry with
            {
                Detail = approval is null ? entry.Detail : Join(entry.Detail, $"approved in {approval.Id}, and refused now"),
            }).ConfigureAwait(false));
        }

        // An approved call asks for people again only when its plan changed, or when the policy in
        // force (reloaded since it was held) asks for approvers who have not agreed; what they agreed to runs.
        if (decision.Effect == Effect.Approve && approval is null)
        {
            return new Governed.NeedsPeople(plan, decision, entry);
        }

        if (decision.Effect == Effect.Approve && approval is not null
            && decision.Approvals.FirstOrDefault(a => policy.EligibleApprovers(a, agent.Id).Count(approval.Approvers.Contains) < a.Quorum) is { } unmet)
        {
            var asked = $"the policy in force asks {unmet.Quorum} of {string.Join(", ", policy.EligibleApprovers(unmet, agent.Id))} to approve it"
                        + (unmet.Rule.Length == 0 ? "" : $" (rule '{unmet.Rule}')") + $", and {approval.By} approved it";
            return new Governed.Changed(asked, plan, decision, entry with { Effect = "approve", Reason = decision.Reason, Detail = Join(entry.Detail, $"approval {approval.Id} is void: {asked}") }, null);
        }

        return new Governed.Finished(await ExecuteAsync(policy, agent, plan, onBehalfOf, entry, guard).ConfigureAwait(false));
    }

    /// <summary>
    /// The approved call's plan is not the one approved: decided afresh on the new plan, refused (and
    /// recorded, and counted as a rule's refusal) or handed back to people.
    /// </summary>
    private async Task<Governed> ChangedAsync(Policy policy, GovernedCall call, Plan plan, AuditEntry entry)
    {
        var approval = call.Approved!;
        var then = approval.Records;
        var difference = "the plan changed after it was approved: " + (then == plan.Records
            ? $"the same number of records ({plan.Records:N0}) but not the same ones"
            : $"{then:N0} records then, {plan.Records:N0} now");
        var decision = guards.Decide(policy, Environment, call.Agent, call.Tool, call.Arguments, plan, call.OnBehalfOf);
        if (decision.Effect == Effect.Deny)
        {
            var refused = await RefuseAsync(call.Agent, plan, decision, entry with
            {
                Effect = "deny", Rule = decision.Rule?.Id, Reason = decision.Reason,
                Detail = $"approval {approval.Id} is void: {difference}; the new plan is refused",
            }).ConfigureAwait(false);
            return new Governed.Changed(difference, plan, decision, entry, refused);
        }

        return new Governed.Changed(difference, plan, decision, entry with { Effect = "approve", Rule = decision.Rule?.Id, Reason = decision.Reason }, null);
    }

    private async Task<CallOutcome> RefuseAsync(Agent agent, Plan plan, Decision decision, AuditEntry entry)
    {
        var seq = await recorder.RecordAsync(entry with { Outcome = "refused" }).ConfigureAwait(false);
        if (decision.Basis == DecisionBasis.Rule)
        {
            await killSwitch.DeniedAsync(agent, decision.Rule!.Id).ConfigureAwait(false);
        }

        return CallOutcome.Refused(plan.Tool.Name, RefusalCodes.Of(decision.Basis), decision.Message, decision.Rule?.Id, seq) with { Summary = plan.Summary };
    }

    /// <summary>
    /// Why a call may not even be planned in the environment this gateway runs in, or null when it
    /// may: the tool is unknown, the policy can never grant it to the agent here, the agent is not
    /// activated for production, or a filter tests a field it reads masked.
    /// </summary>
    private Refusal? Admit(Policy policy, Agent agent, string tool, JsonElement arguments, string? onBehalfOf)
    {
        var granted = access.GrantedTools(policy, agent);
        if (system.Definition(policy, tool) is not { } definition)
        {
            var hint = Core.Diagnostics.Suggest.Hint(tool, granted);
            var message = $"'{tool}' is not a tool Warden offers" + (hint is null ? "" : $"; {hint}");
            return new Refusal("unknown_tool", message, null, message);
        }

        if (!granted.Contains(tool))
        {
            // Refused before planning: a plan reads the data, and its summary would tell an agent
            // what a tool it may not use would have touched. Decided without a plan's facts, so a
            // rule that always refuses the tool still gives its own message.
            var unplanned = guards.Decide(policy, Environment, agent, tool, arguments, plan: null, onBehalfOf);
            var byRule = unplanned.Effect == Effect.Deny && unplanned.Basis == DecisionBasis.Rule;
            return unplanned.Effect == Effect.Deny
                ? new Refusal(RefusalCodes.Of(unplanned.Basis), unplanned.Message, unplanned.Rule?.Id, unplanned.Reason, byRule)
                : new Refusal("not_granted", $"No rule grants agent '{agent.Id}' the tool '{tool}' in {Environment} (default deny).", unplanned.Rule?.Id, unplanned.Reason);
        }

        if (Environment == "production" && store.Activations.Activation(agent.Id, Environment) is null)
        {
            var message = $"agent '{agent.Id}' has not been activated for production: an owner of use case '{agent.UseCase}' activates it (warden agents activate {agent.Id})";
            return new Refusal("not_activated", message, null, message);
        }

        if (MaskedFilter(policy, agent, definition, arguments) is { } masked)
        {
            // Filtering on a field the agent sees masked would read it back a character at a time.
            var message = $"agent '{agent.Id}' may not filter on {masked}: it reads that field masked";
            return new Refusal("masked_field", message, null, message);
        }

        return null;
    }

    /// <summary>A field the agent sees masked that one of the call's filters tests (the tool's arguments the catalogue marks as filters), as table.field.</summary>
    private string? MaskedFilter(Policy policy, Agent agent, ToolDefinition tool, JsonElement arguments)
    {
        var mask = access.MaskFor(policy, agent);
        if (mask.Fields.Count == 0)
        {
            return null;
        }

        foreach (var argument in (tool.Arguments ?? []).Where(a => a.IsFilter))
        {
            if (arguments.TryGetProperty(argument.Name, out var filter) && filter.ValueKind == JsonValueKind.String
                && FilterCompiler.TryCompile(filter.GetString()!, argument.Filter!.Fields, SqlDialect.Sqlite, out var compiled, out _)
                && compiled!.Fields.FirstOrDefault(mask.Fields.Contains) is { } masked)
            {
                return $"{argument.Filter.Table}.{masked}";
            }
        }

        return null;
    }

    /// <summary>
    /// Applies a plan that may run (allowed now, or approved), having reserved what it uses against
    /// the guards (taken back if it does not run), and records it; a breaker that trips freezes the
    /// agent for the next call.
    /// </summary>
    private async Task<CallOutcome> ExecuteAsync(Policy policy, Agent agent, Plan plan, string? onBehalfOf, AuditEntry entry, Guards.GuardHold guard)
    {
        var reservation = guards.Reserve(policy, agent, onBehalfOf, plan, guard);
        // A change is intended before the system commits it and settled once the trail holds its
        // entry: a gateway killed in between is found out, and recorded, when it starts again.
        var intent = plan.Tool.Kind == ActionKind.Read ? null : recovery.Intend(agent.Id, plan.Tool.Name, plan.Hash, entry);
        try
        {
            return await ApplyAsync(policy, agent, plan, entry, reservation, intent).ConfigureAwait(false);
        }
        finally
        {
            if (intent is not null)
            {
                recovery.Release(intent); // settled already, unless the call broke: then it is recovered as a stopped gateway's is
            }
        }
    }

    private async Task<CallOutcome> ApplyAsync(Policy policy, Agent agent, Plan plan, AuditEntry entry, string? reservation, string? intent)
    {
        var applied = await system.ApplyAsync(plan, Control(agent)).ConfigureAwait(false);
        if (!applied.Succeeded)
        {
            var error = applied.Error!;
            // Told, and recorded, as this agent may read it: an error may quote data it may not see.
            var message = error.MessageFor(agent.Sees);
            var stoppedWrite = error.Code == "stopped";
            var refusedSeq = await recorder.RecordAsync(entry with { Reason = $"{entry.Reason} Not applied: {message}", Outcome = stoppedWrite ? "stopped" : "error" })
                .ConfigureAwait(false);
            Settle(intent);
            guards.Unreserve(reservation);
            return stoppedWrite
                ? new CallOutcome(CallStatus.Stopped, plan.Tool.Name, message) { Code = "stopped", AuditSeq = refusedSeq }
                : CallOutcome.Invalid(plan.Tool.Name, error.Code, message, refusedSeq);
        }

        if (intent is not null)
        {
            CrashPoint.Reached(CrashPoint.AfterApply);
        }

        var action = applied.Value!;
        var isRead = plan.Tool.Kind == ActionKind.Read;
        var stopped = action.Stopped is { } why
            ? $"stopped after {action.Done:N0} of {action.Records:N0} recipients had been sent to ({why}); the rest were not sent"
            : null;
        var seq = await recorder.RecordAsync(entry with
        {
            Outcome = stopped is null ? "ok" : "stopped",
            Detail = new[] { stopped }.Concat(action.Notes).Aggregate(entry.Detail, (detail, note) => note is null ? detail : Join(detail, note)),
            ActionId = action.ActionId.Length == 0 ? null : action.ActionId,
            RecordsRead = isRead ? RecordIds.Of(action.Output) : [],
            // Small changes name their records; larger ones are found through the action's journal.
            RecordsChanged = !isRead && plan.Records <= plan.SampleKeys.Count ? plan.SampleKeys : [],
        }).ConfigureAwait(false);
        if (action.ActionId.Length > 0)
        {
            store.Intents.RememberAction(action.ActionId, seq);
        }

        Settle(intent);

        foreach (var breaker in guards.Tripped(policy, agent, plan))
        {
            await killSwitch.TripAsync(breaker, agent).ConfigureAwait(false);
        }

        return new CallOutcome(stopped is null ? CallStatus.Done : CallStatus.Stopped, plan.Tool.Name, stopped ?? plan.Summary)
        {
            Code = stopped is null ? null : "stopped",
            Summary = plan.Summary,
            Records = action.Done,
            ActionId = action.ActionId.Length == 0 ? null : action.ActionId,
            Result = access.MaskFor(policy, agent).Apply(action.Output, action.OutputFields),
            AuditSeq = seq,
        };
    }

    /// <summary>
    /// How a write or send by the agent is carried out: sends in batches of the configured size, at
    /// the configured pace, and both stopped once the agent is frozen (the kill switch, a breaker):
    /// a send between its batches, a write while it runs, so a freeze reaches a call that is
    /// already running. The frozen set is kept in memory: asking is cheap.
    /// </summary>
    private ApplyControl Control(Agent agent) => new()
    {
        BatchSize = options.SendBatchSize,
        Pause = options.SendPause,
        Stop = () =>
        {
            var frozen = store.Freezes.Frozen();
            return frozen.Contains(agent.Id) ? $"agent {agent.Id} was frozen" : frozen.Contains("*") ? "every agent was frozen" : null;
        },
    };

    private void Settle(string? intent)
    {
        if (intent is not null)
        {
            recovery.Settle(intent);
        }
    }

    private static string? Join(string? first, string? second) => first is null ? second : second is null ? first : $"{first}; {second}";
}
