using System.Text.Json;
using Warden.Core;
using Warden.Core.Audit;
using Warden.Workspace;

namespace Warden.Gateway.Calls;

/// <summary>
/// The path of one call: resolve the tool, plan it (nothing written), decide on the plan's facts
/// and the guards, then refuse it, hold it for people, or apply it; every way out is an entry in
/// the audit trail, durable before the agent hears back.
/// </summary>
internal sealed class CallPipeline(Gateway gateway)
{
    /// <summary>Reads name at most this many record ids in the trail; larger reads are counted, and their fields recorded.</summary>
    private const int MaxRecordIds = 1_000;

    /// <param name="agentId">The authenticated agent.</param>
    /// <param name="tool">The tool's name.</param>
    /// <param name="arguments">Its arguments, an object.</param>
    /// <param name="instruction">What the agent said it is doing, for the trail and the approvers.</param>
    /// <param name="onBehalfOf">The person the agent says it acts for: a claim, counted against budgets per person and shown to approvers, deciding nothing else.</param>
    /// <remarks>
    /// Not cancellable: a call once received is governed to the end and recorded, even when the
    /// agent hangs up meanwhile (a write half-way through must not lose its audit entry).
    /// </remarks>
    public async Task<CallOutcome> CallAsync(string agentId, string tool, JsonElement arguments, string? instruction, string? onBehalfOf)
    {
        var policy = gateway.Policy;
        var agent = policy.FindAgent(agentId) ?? throw new InvalidOperationException($"'{agentId}' authenticated but is not an agent of the policy");
        var entry = new AuditEntry
        {
            Kind = AuditKinds.Call,
            Environment = gateway.Environment,
            Agent = agent.Id,
            UseCase = agent.UseCase,
            Tool = tool,
            Arguments = arguments.ValueKind == JsonValueKind.Undefined ? null : arguments,
            Instruction = instruction,
            Detail = onBehalfOf is null ? null : $"on behalf of {onBehalfOf}",
        };

        try
        {
            return await GovernAsync(agent, tool, arguments, instruction, onBehalfOf, entry).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bug or a failing store: the call fails closed, and the trail says so. The agent gets
            // a safe sentence, not the exception's text.
            var seq = await gateway.AuditAsync(entry with { Outcome = "error", Reason = $"the gateway failed while handling the call ({e.GetType().Name}: {e.Message})" })
                .ConfigureAwait(false);
            return CallOutcome.Invalid(tool, "internal_error", $"Warden could not complete the call; nothing was changed that the trail does not show (audit entry {seq}). Try again or ask an operator.", seq);
        }
    }

    private async Task<CallOutcome> GovernAsync(Agent agent, string tool, JsonElement arguments, string? instruction, string? onBehalfOf, AuditEntry entry)
    {
        var policy = gateway.Policy;
        var environment = gateway.Environment;
        if (onBehalfOf is not null && policy.FindOwner(onBehalfOf) is null)
        {
            return CallOutcome.Invalid(tool, "unknown_person", $"the call says it is on behalf of '{onBehalfOf}', who is not a person of the policy",
                await gateway.AuditAsync(entry with { Outcome = "error", Reason = "on behalf of an unknown person" }).ConfigureAwait(false));
        }

        if (arguments.ValueKind != JsonValueKind.Object)
        {
            return CallOutcome.Invalid(tool, "invalid_arguments", "the arguments of a tool call are an object of named values",
                await gateway.AuditAsync(entry with { Outcome = "error", Reason = "arguments that are not an object" }).ConfigureAwait(false));
        }

        // Two values for one name would let a reviewer and the tool read different arguments. (The
        // MCP SDK keeps the last of a repeated top-level name; deeper ones reach us intact.)
        if (StrictJson.DuplicateKey(arguments) is { } duplicate)
        {
            var message = $"the key at {duplicate} appears twice in the arguments; give it once";
            return CallOutcome.Invalid(tool, "invalid_arguments", message, await gateway.AuditAsync(entry with { Outcome = "error", Reason = message }).ConfigureAwait(false));
        }

        if (Admit(agent, tool, arguments, onBehalfOf) is { } refusal)
        {
            var seq = await gateway.AuditAsync(entry with { Effect = "deny", Rule = refusal.Rule, Reason = refusal.Reason, Outcome = "refused" }).ConfigureAwait(false);
            if (refusal.ByRule)
            {
                await gateway.KillSwitch.DeniedAsync(agent, refusal.Rule!).ConfigureAwait(false);
            }

            return refusal.Code == "unknown_tool"
                ? CallOutcome.Invalid(tool, refusal.Code, refusal.Message, seq)
                : CallOutcome.Refused(tool, refusal.Code, refusal.Message, refusal.Rule, seq);
        }

        var planned = gateway.Workspace.Plan(new ToolCall(tool, arguments, agent.Id, environment));
        if (!planned.Succeeded)
        {
            var error = planned.Error!;
            return CallOutcome.Invalid(tool, error.Code, error.Message,
                await gateway.AuditAsync(entry with { Reason = error.Message, Outcome = "error" }).ConfigureAwait(false));
        }

        var plan = planned.Value!;
        entry = entry with { PlanSummary = plan.Summary, PlanHash = plan.Hash, FieldsRead = plan.FieldsRead };

        // A call some budget or breaker counts is decided and applied under the guard lock, so that
        // concurrent calls cannot all spend the same remaining budget.
        using var guard = await gateway.Guards.EnterAsync(policy, agent, plan, onBehalfOf).ConfigureAwait(false);
        var decision = gateway.Guards.Decide(policy, environment, agent, tool, arguments, plan, onBehalfOf);
        entry = entry with
        {
            Effect = PolicyWords.Of(decision.Effect),
            Rule = decision.Rule?.Id,
            Reason = decision.Reason,
            Shadow = decision.ShadowRule is { } shadow ? [$"{shadow.Id}: {PolicyWords.Of(decision.ShadowEffect!.Value)}"] : [],
        };

        switch (decision.Effect)
        {
            case Effect.Deny:
                var seq = await gateway.AuditAsync(entry with { Outcome = "refused" }).ConfigureAwait(false);
                if (decision.Basis == DecisionBasis.Rule)
                {
                    await gateway.KillSwitch.DeniedAsync(agent, decision.Rule!.Id).ConfigureAwait(false);
                }

                return CallOutcome.Refused(tool, Code(decision.Basis), decision.Message, decision.Rule?.Id, seq) with { Summary = plan.Summary };
            case Effect.Approve:
                guard.Dispose();
                return await gateway.Approvals.RequestAsync(agent, plan, decision, instruction, onBehalfOf, entry).ConfigureAwait(false);
            default:
                return await ExecuteAsync(agent, plan, onBehalfOf, entry).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Why a call may not even be planned in the environment this gateway runs in, or null when it
    /// may: the tool is unknown, the policy can never grant it to the agent here, the agent is not
    /// activated for production, or a filter tests a field it reads masked. A new call and an
    /// approved one about to run are both checked here, so an approval never carries a call past
    /// what a new call would meet.
    /// </summary>
    public Refusal? Admit(Agent agent, string tool, JsonElement arguments, string? onBehalfOf)
    {
        var policy = gateway.Policy;
        var environment = gateway.Environment;
        if (policy.FindTool(ToolDefinition.WorkspaceSystem, tool) is not { } definition)
        {
            var hint = Core.Diagnostics.Suggest.Hint(tool, gateway.GrantedTools(agent));
            var message = $"'{tool}' is not a tool Warden offers" + (hint is null ? "" : $"; {hint}");
            return new Refusal("unknown_tool", message, null, message);
        }

        if (!gateway.GrantedTools(agent).Contains(tool))
        {
            // Refused before planning: a plan reads the data, and its summary would tell an agent
            // what a tool it may not use would have touched. Decided without a plan's facts, so a
            // rule that always refuses the tool still gives its own message.
            var unplanned = gateway.Guards.Decide(policy, environment, agent, tool, arguments, plan: null, onBehalfOf);
            var byRule = unplanned.Effect == Effect.Deny && unplanned.Basis == DecisionBasis.Rule;
            return unplanned.Effect == Effect.Deny
                ? new Refusal(Code(unplanned.Basis), unplanned.Message, unplanned.Rule?.Id, unplanned.Reason, byRule)
                : new Refusal("not_granted", $"No rule grants agent '{agent.Id}' the tool '{tool}' in {environment} (default deny).", unplanned.Rule?.Id, unplanned.Reason);
        }

        if (environment == "production" && gateway.Store.Activation(agent.Id, environment) is null)
        {
            var message = $"agent '{agent.Id}' has not been activated for production: an owner of use case '{agent.UseCase}' activates it (warden agents activate {agent.Id})";
            return new Refusal("not_activated", message, null, message);
        }

        if (MaskedFilter(agent, definition, arguments) is { } masked)
        {
            // Filtering on a field the agent sees masked would read it back a character at a time.
            var message = $"agent '{agent.Id}' may not filter on {masked}: it reads that field masked";
            return new Refusal("masked_field", message, null, message);
        }

        return null;
    }

    /// <summary>A field the agent sees masked that one of the call's filters tests (the tool's arguments the catalogue marks as filters), as table.field.</summary>
    private string? MaskedFilter(Agent agent, ToolDefinition tool, JsonElement arguments)
    {
        var mask = gateway.MaskFor(agent);
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
    /// Applies a plan that may run (allowed now, or approved), records it, and counts what it used
    /// against the guards; a breaker that trips freezes the agent for the next call.
    /// </summary>
    public async Task<CallOutcome> ExecuteAsync(Agent agent, Plan plan, string? onBehalfOf, AuditEntry entry)
    {
        // A change is intended before the workspace commits it and settled once the trail holds
        // its entry: a gateway killed in between is found out, and recorded, when it starts again.
        var intent = plan.Tool.Kind == ActionKind.Read ? null : gateway.Recovery.Intend(agent.Id, plan.Tool.Name, plan.Hash, entry);
        var applied = gateway.Workspace.Apply(plan, Control(agent));
        if (!applied.Succeeded)
        {
            var error = applied.Error!;
            var stoppedWrite = error.Code == "stopped";
            var refusedSeq = await gateway.AuditAsync(entry with { Reason = $"{entry.Reason} Not applied: {error.Message}", Outcome = stoppedWrite ? "stopped" : "error" })
                .ConfigureAwait(false);
            Settle(intent);
            return stoppedWrite
                ? new CallOutcome(CallStatus.Stopped, plan.Tool.Name, error.Message) { Code = "stopped", AuditSeq = refusedSeq }
                : CallOutcome.Invalid(plan.Tool.Name, error.Code, error.Message, refusedSeq);
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
        var seq = await gateway.AuditAsync(entry with
        {
            Outcome = stopped is null ? "ok" : "stopped",
            Detail = stopped is null ? entry.Detail : Join(entry.Detail, stopped),
            ActionId = action.ActionId.Length == 0 ? null : action.ActionId,
            RecordsRead = isRead ? RecordIds(action.Output) : [],
            // Small changes name their records; larger ones are found through the action's journal.
            RecordsChanged = !isRead && plan.Records <= plan.SampleKeys.Count ? plan.SampleKeys : [],
        }).ConfigureAwait(false);
        if (action.ActionId.Length > 0)
        {
            gateway.Store.RememberAction(action.ActionId, seq);
        }

        Settle(intent);

        foreach (var breaker in gateway.Guards.Count(gateway.Policy, agent, onBehalfOf, plan))
        {
            await gateway.KillSwitch.TripAsync(breaker, agent).ConfigureAwait(false);
        }

        return new CallOutcome(stopped is null ? CallStatus.Done : CallStatus.Stopped, plan.Tool.Name, stopped ?? plan.Summary)
        {
            Code = stopped is null ? null : "stopped",
            Summary = plan.Summary,
            Records = action.Done,
            ActionId = action.ActionId.Length == 0 ? null : action.ActionId,
            Result = gateway.MaskFor(agent).Apply(action.Output),
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
        BatchSize = gateway.Options.SendBatchSize,
        Pause = gateway.Options.SendPause,
        Stop = () =>
        {
            var frozen = gateway.Store.Frozen();
            return frozen.Contains(agent.Id) ? $"agent {agent.Id} was frozen" : frozen.Contains("*") ? "every agent was frozen" : null;
        },
    };

    private void Settle(string? intent)
    {
        if (intent is not null)
        {
            gateway.Recovery.Settle(intent);
        }
    }

    private static string? Join(string? first, string? second) => first is null ? second : second is null ? first : $"{first}; {second}";

    private static string Code(DecisionBasis basis) => basis switch
    {
        DecisionBasis.Rule => "denied_by_rule",
        DecisionBasis.DefaultDeny => "not_granted",
        DecisionBasis.Frozen => "frozen",
        DecisionBasis.Budget => "budget_exceeded",
        DecisionBasis.Environment => "wrong_environment",
        DecisionBasis.TierCap => "beyond_tier",
        DecisionBasis.Destination => "unknown_destination",
        _ => "refused",
    };

    /// <summary>The ids of the records a read returned (the "id" of each object in it), at most <see cref="MaxRecordIds"/>.</summary>
    private static IReadOnlyList<string> RecordIds(JsonElement output)
    {
        var ids = new List<string>();
        void Walk(JsonElement value)
        {
            if (ids.Count >= MaxRecordIds)
            {
                return;
            }

            switch (value.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var property in value.EnumerateObject())
                    {
                        if (property.Name == "id" && property.Value.ValueKind == JsonValueKind.String)
                        {
                            ids.Add(property.Value.GetString()!);
                        }
                        else
                        {
                            Walk(property.Value);
                        }
                    }

                    break;
                case JsonValueKind.Array:
                    foreach (var item in value.EnumerateArray())
                    {
                        Walk(item);
                    }

                    break;
            }
        }

        Walk(output);
        return ids;
    }
}
