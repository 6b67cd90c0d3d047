using Warden.Core;
namespace Warden.Workspace;

/// <summary>
/// What the journal and rollback need to know about a table: its key (record keys join composite
/// keys with '|'), whether rows carry a version, and whether they carry updated_at.
/// </summary>
internal sealed record TableInfo(string Name, string[] Key, bool Versioned, bool HasUpdatedAt)
{
    /// <summary>The table's columns, as the schema has them.</summary>
    public string[] Columns { get; } = WorkspaceCatalogue.Columns[Name];

    public string KeyOf(Func<string, string> column) => string.Join('|', Key.Select(column));

    public string[] SplitKey(string recordKey) => Key.Length == 1 ? [recordKey] : recordKey.Split('|', Key.Length);

    public string KeyWhere => string.Join(" AND ", Key.Select((k, i) => $"\"{k}\" = @k{i}"));
}

internal static class Tables
{
    public static readonly TableInfo Contacts = new("contacts", ["id"], Versioned: true, HasUpdatedAt: true);

    public static readonly TableInfo ListMembers = new("list_members", ["list_id", "contact_id"], false, false);
    public static readonly TableInfo NurtureMembers = new("nurture_members", ["flow_id", "contact_id"], false, false);
    public static readonly TableInfo Suppression = new("suppression", ["list_id", "email"], false, false);
    public static readonly TableInfo Segments = new("segments", ["id"], true, false);
    public static readonly TableInfo ScoringRules = new("scoring_rules", ["id"], true, false);
    public static readonly TableInfo RoutingRules = new("routing_rules", ["id"], true, false);
    public static readonly TableInfo Campaigns = new("campaigns", ["id"], true, false);
    public static readonly TableInfo FieldDependencies = new("field_dependencies", ["object_kind", "object_id", "field"], false, false);
    public static readonly TableInfo AudienceSyncs = new("audience_syncs", ["id"], false, false);
    public static readonly TableInfo CampaignSends = new("campaign_sends", ["campaign_id", "contact_id"], false, false);

    public static readonly IReadOnlyDictionary<string, TableInfo> ByName = new[]
    {
        Contacts, ListMembers, NurtureMembers, Suppression, Segments, ScoringRules, RoutingRules, Campaigns, FieldDependencies, AudienceSyncs, CampaignSends,
    }.ToDictionary(t => t.Name, StringComparer.Ordinal);

    /// <summary>Contact columns a filter may test, with their types: the catalogue's, read from the schema.</summary>
    public static IReadOnlyList<Core.FilterField> ContactFilterFields => WorkspaceCatalogue.ContactFilterFields;
}
