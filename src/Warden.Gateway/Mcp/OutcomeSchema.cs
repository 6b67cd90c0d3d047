using System.Text.Json;
using System.Text.Json.Nodes;
using Warden.Core;

namespace Warden.Gateway.Mcp;

/// <summary>
/// The output schemas agents are given: every governed tool answers with Warden's outcome (done,
/// held for approval, refused, stopped, or an error) whose <c>result</c> is what the tool returned;
/// Warden's own tools answer with their own objects. Clients read the structured content directly.
/// </summary>
internal static class OutcomeSchema
{
    private static JsonObject String(string description) => new() { ["type"] = "string", ["description"] = description };

    private static JsonObject Integer(string description) => new() { ["type"] = "integer", ["description"] = description };

    /// <summary>The outcome of a call to <paramref name="tool"/>.</summary>
    public static JsonElement For(ToolDefinition tool) => JsonSerializer.SerializeToElement(new JsonObject
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["status"] = new JsonObject
            {
                ["type"] = "string",
                ["enum"] = new JsonArray("done", "pending_approval", "refused", "stopped", "error"),
                ["description"] = "done: it ran. pending_approval: people must agree first. refused: the policy or a guard said no. stopped: the kill switch stopped it while it ran. error: the call itself was wrong.",
            },
            ["tool"] = String("The tool called."),
            ["message"] = String("What happened, in a sentence."),
            ["code"] = String("For a refusal or an error: a stable code (denied_by_rule, not_granted, frozen, budget_exceeded, invalid_arguments, not_found, ...)."),
            ["rule"] = String("The policy rule that decided, when one did."),
            ["summary"] = String("What the call does (or would do), as its plan says."),
            ["records"] = Integer("How many records it touched."),
            ["action_id"] = String("The action a change ran as: what a rollback undoes."),
            ["approval_id"] = String("The request a held call waits on: ask warden.approval_status with it."),
            ["approval_url"] = String("The request's page in Warden's console, for the agent's user to open."),
            ["waiting_for"] = new JsonObject
            {
                ["type"] = "array",
                ["description"] = "Who must still agree to a held call.",
                ["items"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["rule"] = String("The rule that asks."),
                        ["approvers"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "string" } },
                        ["quorum"] = Integer("How many of them must approve."),
                        ["given"] = Integer("How many have."),
                    },
                },
            },
            ["expires_at"] = String("When a held call's request expires (UTC)."),
            ["merged"] = new JsonObject { ["type"] = "boolean", ["description"] = "The same request was already waiting, and this call joined it." },
            ["result"] = new JsonObject { ["description"] = $"What {tool.Name} returned, masked as your policy says." },
            ["audit_seq"] = Integer("The audit trail's entry that records this outcome."),
        },
        ["required"] = new JsonArray("status", "tool", "message", "audit_seq"),
    });

    /// <summary>What warden.approval_status answers.</summary>
    public static JsonElement ApprovalStatus { get; } = JsonSerializer.SerializeToElement(new JsonObject
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["approval_id"] = String("The request."),
            ["status"] = String("pending, executing, executed, stopped, denied, expired, void, failed or cancelled."),
            ["tool"] = String("The tool the held call calls."),
            ["summary"] = String("What the call does, as its plan says."),
            ["records"] = Integer("How many records."),
            ["waiting_for"] = new JsonObject { ["type"] = "array", ["description"] = "Who must still agree." },
            ["decisions"] = new JsonObject { ["type"] = "array", ["description"] = "Who approved or denied it, when, with their comments." },
            ["expires_at"] = String("When it expires (UTC)."),
            ["replaced_by"] = new JsonObject { ["type"] = new JsonArray("string", "null"), ["description"] = "The request that replaced it when its plan changed." },
            ["outcome"] = new JsonObject { ["description"] = "Once decided: what became of the call (its result when it ran, masked as your policy says)." },
        },
        ["required"] = new JsonArray("approval_id", "status", "tool"),
    });

    /// <summary>What warden.my_permissions answers.</summary>
    public static JsonElement Permissions { get; } = JsonSerializer.SerializeToElement(new JsonObject
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["agent"] = String("You."),
            ["use_case"] = String("Your use case."),
            ["tier"] = String("Its risk tier: low, medium or high."),
            ["environment"] = String("Where you are."),
            ["frozen"] = new JsonObject { ["type"] = "boolean", ["description"] = "Whether the kill switch or a breaker has stopped you." },
            ["activated"] = new JsonObject { ["type"] = "boolean", ["description"] = "Whether an owner activated you here (production needs it)." },
            ["sees"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "string" }, ["description"] = "The data classes you read unmasked." },
            ["masked_fields"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "string" }, ["description"] = "Fields you read masked." },
            ["tools"] = new JsonObject { ["type"] = "array", ["description"] = "Your tools, whether they need approval, and the rules behind them." },
            ["budgets"] = new JsonObject { ["type"] = "array", ["description"] = "Your budgets and how much of each is used." },
        },
        ["required"] = new JsonArray("agent", "use_case", "tools"),
    });
}
