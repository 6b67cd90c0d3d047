using System.Text.Json;
using System.Text.Json.Nodes;
using Warden.Core;
using Warden.Workspace;

namespace Warden.Gateway.Approvals;

/// <summary>A plan as approvers read it: what the call would do, to how many records, with the diff, a sample, what depends on the fields it changes, and who a send reaches.</summary>
internal static class PlanView
{
    public static JsonObject Of(Plan plan) => new()
    {
        ["summary"] = plan.Summary,
        ["tool"] = plan.Tool.Name,
        ["kind"] = PolicyWords.Of(GuardAmounts.Effective(plan.Tool.Kind, plan.Facts)),
        ["reversible"] = plan.Tool.Reversibility != Reversibility.Irreversible,
        ["external"] = plan.Tool.External,
        ["records"] = plan.Records,
        ["deleted"] = GuardAmounts.Deleted(plan.Tool.Kind, plan.Facts),
        ["destination"] = plan.Destination,
        ["message"] = plan.Message is { } message ? new JsonObject
        {
            ["campaign"] = message.Campaign, ["name"] = message.Name, ["subject"] = message.Subject, ["sender"] = message.Sender,
            ["preview"] = message.Preview, ["content_hash"] = message.ContentHash,
        } : null,
        ["sample_keys"] = Strings(plan.SampleKeys),
        ["fields_read"] = Strings(plan.FieldsRead),
        ["fields_changed"] = Strings(plan.FieldsChanged),
        ["classes"] = Strings(plan.Classes),
        ["changes"] = new JsonArray([.. plan.Changes.Select(c => (JsonNode)new JsonObject
        {
            ["field"] = c.Field,
            ["records"] = c.Records,
            ["before"] = new JsonArray([.. c.Before.Select(b => (JsonNode)new JsonObject { ["value"] = b.Value, ["records"] = b.Records })]),
            ["after"] = c.After,
        })]),
        ["sample"] = new JsonArray([.. plan.Sample.Select(r => (JsonNode)new JsonObject
        {
            ["key"] = r.Key,
            ["before"] = Map(r.Before),
            ["after"] = Map(r.After),
        })]),
        ["dependents"] = new JsonArray([.. plan.Dependents.Select(d => (JsonNode)new JsonObject
        {
            ["kind"] = d.Kind, ["id"] = d.Id, ["name"] = d.Name, ["field"] = d.Field,
        })]),
        ["recipients"] = plan.Recipients,
        ["excluded"] = new JsonArray([.. plan.Excluded.Select(e => (JsonNode)new JsonObject { ["reason"] = e.Reason, ["records"] = e.Records })]),
    };

    /// <summary>How many records a stored plan (as <see cref="Of"/> wrote it) reads or changes.</summary>
    public static long Records(string stored) => Read(stored).Records;

    /// <summary>A stored plan's facts, read back in one place.</summary>
    public static StoredPlan Read(string stored)
    {
        using var document = JsonDocument.Parse(stored);
        var plan = document.RootElement;
        return new StoredPlan(
            plan.TryGetProperty("summary", out var summary) ? summary.GetString() ?? "" : "",
            plan.TryGetProperty("kind", out var kind) ? kind.GetString() ?? "" : "",
            !plan.TryGetProperty("reversible", out var reversible) || reversible.GetBoolean(),
            plan.TryGetProperty("external", out var external) && external.GetBoolean(),
            plan.TryGetProperty("records", out var records) ? records.GetInt64() : 0,
            plan.TryGetProperty("classes", out var classes) ? [.. classes.EnumerateArray().Select(c => c.GetString() ?? "")] : []);
    }

    private static JsonArray Strings(IEnumerable<string> values) => new([.. values.Select(v => (JsonNode)v)]);

    private static JsonObject Map(IReadOnlyDictionary<string, string?> values) => new(values.Select(v => KeyValuePair.Create(v.Key, (JsonNode?)v.Value)));
}

/// <summary>What a stored plan says of itself that people and decisions about the request read: its summary, its kind, whether it can be undone or reaches outside, its records and data classes.</summary>
internal sealed record StoredPlan(string Summary, string Kind, bool Reversible, bool External, long Records, IReadOnlyList<string> Classes);
