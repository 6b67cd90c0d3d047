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

    private static JsonArray Strings(IEnumerable<string> values) => new([.. values.Select(v => (JsonNode)v)]);

    private static JsonObject Map(IReadOnlyDictionary<string, string?> values) => new(values.Select(v => KeyValuePair.Create(v.Key, (JsonNode?)v.Value)));
}
