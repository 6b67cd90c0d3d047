using System.Text.Json;
using Warden.Core;

namespace Warden.Gateway.Calls;

/// <summary>How a governed call ended for the agent.</summary>
internal enum CallStatus
{
    /// <summary>It ran.</summary>
    Done,
    /// <summary>It waits for people; the agent gets the approval's id.</summary>
    PendingApproval,
    /// <summary>The policy or a guard refused it.</summary>
    Refused,
    /// <summary>The call itself was wrong: an unknown tool, bad arguments, a record that does not exist.</summary>
    Invalid,
    /// <summary>It was stopped while it ran (the kill switch): a send says how far it got, a write wrote nothing.</summary>
    Stopped,
}

/// <summary>
/// Why a call may not be planned here: a stable code, the message the agent reads, the rule that
/// refused it (if one did), the reason the trail records, and whether a rule's refusal counts
/// towards the repeated-denials incident.
/// </summary>
internal sealed record Refusal(string Code, string Message, string? Rule, string Reason, bool ByRule = false);

/// <summary>Who still has to agree to a held call.</summary>
internal sealed record ApprovalWait(string Rule, IReadOnlyList<string> Approvers, int Quorum, int Given);

/// <summary>What the agent is told about its call: the result, the approval it waits for, or the refusal with its reason.</summary>
internal sealed record CallOutcome(CallStatus Status, string Tool, string Message)
{
    /// <summary>A stable code for refusals and errors: the rule's id is in <see cref="Rule"/>.</summary>
    public string? Code { get; init; }

    public string? Rule { get; init; }

    public string? Summary { get; init; }

    public long? Records { get; init; }

    public string? ActionId { get; init; }

    /// <summary>What the tool returned, masked as the agent's policy says.</summary>
    public JsonElement? Result { get; init; }

    public string? ApprovalId { get; init; }

    public IReadOnlyList<ApprovalWait>? WaitingFor { get; init; }

    /// <summary>When a held call's request expires, UTC (2026-11-25T18:00:00.000Z).</summary>
    public string? ExpiresAt { get; init; }

    /// <summary>The console's page of the request a held call waits on, for the agent's user to open.</summary>
    public string? ApprovalUrl { get; init; }

    /// <summary>The same request was already waiting, and this call joined it.</summary>
    public bool? Merged { get; init; }

    /// <summary>The entry in the audit trail that records this outcome.</summary>
    public long AuditSeq { get; init; }

    public static CallOutcome Invalid(string tool, string code, string message, long auditSeq = 0) =>
        new(CallStatus.Invalid, tool, message) { Code = code, AuditSeq = auditSeq };

    public static CallOutcome Refused(string tool, string code, string message, string? rule, long auditSeq) =>
        new(CallStatus.Refused, tool, message) { Code = code, Rule = rule, AuditSeq = auditSeq };

    /// <summary>
    /// The JSON the agent reads: snake_case names in this order, nulls left out. Written field by
    /// field rather than by the serializer, which reflected over an object built for it on every call.
    /// </summary>
    public string ToJson() => JsonScratch.Write(this, static (json, outcome) => outcome.WriteTo(json), static (text, _) => System.Text.Encoding.UTF8.GetString(text));

    /// <summary>Writes <see cref="ToJson"/>'s JSON.</summary>
    public void WriteTo(Utf8JsonWriter json)
    {
        ArgumentNullException.ThrowIfNull(json);
        json.WriteStartObject();
        json.WriteString("status"u8, Status switch
        {
            CallStatus.Done => "done",
            CallStatus.PendingApproval => "pending_approval",
            CallStatus.Refused => "refused",
            CallStatus.Stopped => "stopped",
            _ => "error",
        });
        json.WriteString("tool"u8, Tool);
        json.WriteString("message"u8, Message);
        Text(json, "code"u8, Code);
        Text(json, "rule"u8, Rule);
        Text(json, "summary"u8, Summary);
        if (Records is { } records)
        {
            json.WriteNumber("records"u8, records);
        }

        Text(json, "action_id"u8, ActionId);
        Text(json, "approval_id"u8, ApprovalId);
        Text(json, "approval_url"u8, ApprovalUrl);
        if (WaitingFor is { } waiting)
        {
            json.WriteStartArray("waiting_for"u8);
            foreach (var wait in waiting)
            {
                json.WriteStartObject();
                json.WriteString("rule"u8, wait.Rule);
                json.WriteStartArray("approvers"u8);
                foreach (var approver in wait.Approvers)
                {
                    json.WriteStringValue(approver);
                }

                json.WriteEndArray();
                json.WriteNumber("quorum"u8, wait.Quorum);
                json.WriteNumber("given"u8, wait.Given);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        Text(json, "expires_at"u8, ExpiresAt);
        if (Merged is { } merged)
        {
            json.WriteBoolean("merged"u8, merged);
        }

        if (Result is { } result)
        {
            json.WritePropertyName("result"u8);
            result.WriteTo(json);
        }

        json.WriteNumber("audit_seq"u8, AuditSeq);
        json.WriteEndObject();
    }

    private static void Text(Utf8JsonWriter json, ReadOnlySpan<byte> name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }
}
