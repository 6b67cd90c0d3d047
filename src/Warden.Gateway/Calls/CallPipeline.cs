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
    /// <param name="onBehalfOf">The person the agent acts for, who then may not approve the call.</param>
    /// <param name="cancellationToken">Cancels waiting; a call already applied is still recorded.</param>
    public async Task<CallOutcome> CallAsync(string agentId, string tool, JsonElement arguments, string? instruction, string? onBehalfOf, CancellationToken cancellationToken)
    {
        var policy = gateway.Policy;
        var agent = policy.FindAgent(agentId) ?? throw new InvalidOperationException($"'{agentId}' authenticated but is not an agent of the policy");
        var environment = gateway.Environment;
        var now = gateway.Clock.GetUtcNow();
        var entry = new AuditEntry
        {
            Kind = AuditKinds.Call,
            Environment = environment,
            Agent = agent.Id,
            UseCase = agent.UseCase,
            Tool = tool,
            Arguments = arguments.ValueKind == JsonValueKind.Undefined ? null : arguments,
            Instruction = instruction,
            Detail = onBehalfOf is null ? null : $"on behalf of {onBehalfOf}",
        };

        if (onBehalfOf is not null && policy.Owners.All(o => o.Id != onBehalfOf))
        {
            return CallOutcome.Invalid(tool, "unknown_person", $"the call says it is on behalf of '{onBehalfOf}', who is not a person of the policy",
                await gateway.AuditAsync(entry with { Outcome = "error", Reason = "on behalf of an unknown person" }, cancellationToken).ConfigureAwait(false));
        }

        if (arguments.ValueKind != JsonValueKind.Object)
        {
            return CallOutcome.Invalid(tool, "invalid_arguments", "the arguments of a tool call are an object of named values",
                await gateway.AuditAsync(entry with { Outcome = "error", Reason = "arguments that are not an object" }, cancellationToken).ConfigureAwait(false));
        }

        if (policy.FindTool(ToolDefinition.WorkspaceSystem, tool) is null)
        {
            var known = policy.Grants(agent.Id, environment).Select(g => g.Tool.Name).ToList();
            var hint = Core.Diagnostics.Suggest.Hint(tool, known);
            var message = $"'{tool}' is not a tool Warden offers" + (hint is null ? "" : $"; {hint}");
            return CallOutcome.Invalid(tool, "unknown_tool", message,
                await gateway.AuditAsync(entry with { Effect = "deny", Reason = message, Outcome = "refused" }, cancellationToken).ConfigureAwait(false));
        }

        if (environment == "production" && gateway.Store.Activation(agent.Id, environment) is null)
        {
            var message = $"agent '{agent.Id}' has not been activated for production: an owner of use case '{agent.UseCase}' activates it (warden agents activate {agent.Id})";
            return CallOutcome.Refused(tool, "not_activated", message, null,
                await gateway.AuditAsync(entry with { Effect = "deny", Reason = message, Outcome = "refused" }, cancellationToken).ConfigureAwait(false));
        }

        var planned = gateway.Workspace.Plan(new ToolCall(tool, arguments, agent.Id, environment));
        if (!planned.Succeeded)
        {
            var error = planned.Error!;
            return CallOutcome.Invalid(tool, error.Code, error.Message,
                await gateway.AuditAsync(entry with { Reason = error.Message, Outcome = "error" }, cancellationToken).ConfigureAwait(false));
        }

        var plan = planned.Value!;
        var decision = policy.Decide(new DecisionRequest(agent.Id, tool, environment, arguments, plan.Facts, now), gateway.Guards.Snapshot(policy, agent, now));
        entry = entry with
        {
            Effect = PolicyWords.Of(decision.Effect),
            Rule = decision.Rule?.Id,
            Reason = decision.Reason,
            Shadow = decision.ShadowRule is { } shadow ? [$"{shadow.Id}: {PolicyWords.Of(decision.ShadowEffect!.Value)}"] : [],
            PlanSummary = plan.Summary,
            PlanHash = plan.Hash,
            FieldsRead = plan.FieldsRead,
        };

        switch (decision.Effect)
        {
            case Effect.Deny:
                var seq = await gateway.AuditAsync(entry with { Outcome = "refused" }, cancellationToken).ConfigureAwait(false);
                if (decision.Basis == DecisionBasis.Rule)
                {
                    await gateway.KillSwitch.DeniedAsync(agent, decision.Rule!.Id, cancellationToken).ConfigureAwait(false);
                }

                return CallOutcome.Refused(tool, Code(decision.Basis), decision.Message, decision.Rule?.Id, seq) with { Summary = plan.Summary };
            case Effect.Approve:
                return await gateway.Approvals.RequestAsync(agent, plan, decision, instruction, onBehalfOf, entry, cancellationToken).ConfigureAwait(false);
            default:
                return await ExecuteAsync(agent, plan, entry, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Applies a plan that may run (allowed now, or approved), records it, and counts what it used
    /// against the guards; a breaker that trips freezes the agent for the next call.
    /// </summary>
    public async Task<CallOutcome> ExecuteAsync(Agent agent, Plan plan, AuditEntry entry, CancellationToken cancellationToken)
    {
        var applied = gateway.Workspace.Apply(plan);
        if (!applied.Succeeded)
        {
            var error = applied.Error!;
            return CallOutcome.Invalid(plan.Tool.Name, error.Code, error.Message,
                await gateway.AuditAsync(entry with { Reason = $"{entry.Reason} Not applied: {error.Message}", Outcome = "error" }, cancellationToken).ConfigureAwait(false));
        }

        var action = applied.Value!;
        var isRead = plan.Tool.Kind == ActionKind.Read;
        var seq = await gateway.AuditAsync(entry with
        {
            Outcome = "ok",
            ActionId = action.ActionId.Length == 0 ? null : action.ActionId,
            RecordsRead = isRead ? RecordIds(action.Output) : [],
            // Small changes name their records; larger ones are found through the action's journal.
            RecordsChanged = !isRead && plan.Records <= plan.SampleKeys.Count ? plan.SampleKeys : [],
        }, cancellationToken).ConfigureAwait(false);
        if (action.ActionId.Length > 0)
        {
            gateway.Store.RememberAction(action.ActionId, seq);
        }

        foreach (var breaker in gateway.Guards.Count(gateway.Policy, agent, plan))
        {
            await gateway.KillSwitch.TripAsync(breaker, agent, cancellationToken).ConfigureAwait(false);
        }

        return new CallOutcome(CallStatus.Done, plan.Tool.Name, plan.Summary)
        {
            Summary = plan.Summary,
            Records = action.Records,
            ActionId = action.ActionId.Length == 0 ? null : action.ActionId,
            Result = gateway.MaskFor(agent).Apply(action.Output),
            AuditSeq = seq,
        };
    }

    private static string Code(DecisionBasis basis) => basis switch
    {
        DecisionBasis.Rule => "denied_by_rule",
        DecisionBasis.DefaultDeny => "not_granted",
        DecisionBasis.Frozen => "frozen",
        DecisionBasis.Budget => "budget_exceeded",
        DecisionBasis.Environment => "wrong_environment",
        DecisionBasis.TierCap => "beyond_tier",
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
