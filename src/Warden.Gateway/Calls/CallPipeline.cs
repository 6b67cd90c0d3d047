using Microsoft.Extensions.Logging;
using System.Text.Json;
using Warden.Core;
using Warden.Core.Audit;

namespace Warden.Gateway.Calls;

/// <summary>
/// A new call from an agent: checked for what no plan can fix (an unknown person, arguments that
/// are not one unambiguous object), governed by the one path every plan takes, and held for people
/// when the policy asks for them. Every way out is an entry in the audit trail, durable before the
/// agent hears back.
/// </summary>
internal sealed class CallPipeline(PlanGovernor governor, Approvals.ApprovalDesk approvals, Recorder recorder, PolicyInForce policies, string environment, ILogger log)
{
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
        var policy = policies.Current;
        if (policy.FindAgent(agentId) is not { } agent)
        {
            // Signed in just before a reload took the agent out of the policy.
            var message = $"agent '{agentId}' is no longer in the policy";
            return CallOutcome.Refused(tool, "unknown_agent", message, null, await recorder.RecordAsync(new AuditEntry
            {
                Kind = AuditKinds.Call, Environment = environment, Agent = agentId, Tool = tool, Effect = "deny", Reason = message, Outcome = "refused",
            }).ConfigureAwait(false));
        }

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

        try
        {
            if (Malformed(policy, arguments, onBehalfOf) is { } malformed)
            {
                return CallOutcome.Invalid(tool, malformed.Code, malformed.Message,
                    await recorder.RecordAsync(entry with { Outcome = "error", Reason = malformed.Reason }).ConfigureAwait(false));
            }

            return await governor.GovernAsync(new GovernedCall(agent, tool, arguments, onBehalfOf, entry)).ConfigureAwait(false) switch
            {
                Governed.Finished finished => finished.Outcome,
                Governed.NeedsPeople held => await approvals.RequestAsync(agent, held.Plan, held.Decision, instruction, onBehalfOf, held.Entry).ConfigureAwait(false),
                var other => throw new InvalidOperationException($"a new call cannot end as {other.GetType().Name}"),
            };
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bug or a failing store: the call fails closed, and the trail says so. The agent gets
            // a safe sentence, not the exception's text.
            log.LogError(e, "The gateway failed while handling {Tool} for {Agent}", tool, agent.Id);
            var seq = await recorder.RecordAsync(entry with { Outcome = "error", Reason = $"the gateway failed while handling the call ({e.GetType().Name}: {e.Message})" })
                .ConfigureAwait(false);
            return CallOutcome.Invalid(tool, "internal_error", $"Warden could not complete the call; nothing was changed that the trail does not show (audit entry {seq}). Try again or ask an operator.", seq);
        }
    }

    /// <summary>What is wrong with the call before any policy is asked, or null.</summary>
    private static (string Code, string Message, string Reason)? Malformed(Policy policy, JsonElement arguments, string? onBehalfOf)
    {
        if (onBehalfOf is not null && policy.FindOwner(onBehalfOf) is null)
        {
            return ("unknown_person", $"the call says it is on behalf of '{onBehalfOf}', who is not a person of the policy", "on behalf of an unknown person");
        }

        if (arguments.ValueKind != JsonValueKind.Object)
        {
            return ("invalid_arguments", "the arguments of a tool call are an object of named values", "arguments that are not an object");
        }

        // Two values for one name would let a reviewer and the tool read different arguments. (The
        // MCP SDK keeps the last of a repeated top-level name; deeper ones reach us intact.)
        if (StrictJson.DuplicateKey(arguments) is { } duplicate)
        {
            var message = $"the key at {duplicate} appears twice in the arguments; give it once";
            return ("invalid_arguments", message, message);
        }

        return null;
    }
}

/// <summary>The ids of the records a read returned, for the trail.</summary>
internal static class RecordIds
{
    /// <summary>Reads name at most this many record ids in the trail; larger reads are counted, and their fields recorded.</summary>
    private const int MaxRecordIds = 1_000;

    /// <summary>The ids of the records a read returned (the "id" of each object in it), at most <see cref="MaxRecordIds"/>.</summary>
    public static IReadOnlyList<string> Of(JsonElement output)
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
                        if (property.Value.ValueKind == JsonValueKind.String && property.NameEquals("id"u8))
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
