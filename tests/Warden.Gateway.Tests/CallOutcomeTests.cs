using System.Text.Json;
using System.Text.Json.Serialization;
using Warden.Gateway.Calls;

namespace Warden.Gateway.Tests;

/// <summary>The outcome's JSON is what agents and their clients parse: written by hand, it must stay what the serializer wrote.</summary>
public sealed class CallOutcomeTests
{
    private static readonly JsonSerializerOptions AsSerialized = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static string Serialized(CallOutcome o, string status) => JsonSerializer.Serialize(new
    {
        Status = status, o.Tool, o.Message, o.Code, o.Rule, o.Summary, o.Records, o.ActionId, o.ApprovalId, o.WaitingFor, o.ExpiresAt, o.Merged, o.Result, o.AuditSeq,
    }, AsSerialized);

    [Theory]
    [InlineData(nameof(CallStatus.Done), "done")]
    [InlineData(nameof(CallStatus.PendingApproval), "pending_approval")]
    [InlineData(nameof(CallStatus.Refused), "refused")]
    [InlineData(nameof(CallStatus.Invalid), "error")]
    [InlineData(nameof(CallStatus.Stopped), "stopped")]
    public void Every_field_of_an_outcome_is_written_as_the_serializer_wrote_it(string status, string word)
    {
        var full = new CallOutcome(Enum.Parse<CallStatus>(status), "contacts.get", "read \"c-07\" <ü> 🚀\u2028 & more\n")
        {
            Code = "denied_by_rule", Rule = "no-pii-bulk", Summary = "contacts.get: read contact c-07 (id, email).", Records = 1, ActionId = "act-1",
            Result = JsonDocument.Parse("""{"id":"c-07","email":"p***@example.com","score":4.50,"tags":["a\u00e9",null,true],"nested":{"k":"\u003cb\u003e"}}""").RootElement,
            ApprovalId = "apr-1", WaitingFor = [new ApprovalWait("needs-two", ["sam", "alex"], 2, 1)], ExpiresAt = "2026-11-25T18:00:00.000Z", Merged = false, AuditSeq = 42,
        };
        Assert.Equal(Serialized(full, word), full.ToJson());
    }

    [Fact]
    public void An_outcome_without_optional_fields_leaves_them_out()
    {
        var bare = CallOutcome.Invalid("x.y", "unknown_tool", "'x.y' is not a tool Warden offers", 7);
        Assert.Equal(Serialized(bare, "error"), bare.ToJson());
        Assert.Equal("""{"status":"error","tool":"x.y","message":"'x.y' is not a tool Warden offers","code":"unknown_tool","audit_seq":7}""", bare.ToJson());
    }
}
