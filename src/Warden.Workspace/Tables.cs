namespace Warden.Workspace;

/// <summary>
/// What the journal and rollback need to know about a table: its key (record keys join composite
/// keys with '|'), whether rows carry a version, and whether they carry updated_at.
/// </summary>
internal sealed record TableInfo(string Name, string[] Key, bool Versioned, bool HasUpdatedAt, string[] Columns)
{
    public string KeyOf(Func<string, string> column) => string.Join('|', Key.Select(column));

    public string[] SplitKey(string recordKey) => Key.Length == 1 ? [recordKey] : recordKey.Split('|', Key.Length);

    public string KeyWhere => string.Join(" AND ", Key.Select((k, i) => $"\"{k}\" = @k{i}"));
}

internal static class Tables
{
    public static readonly TableInfo Contacts = new("contacts", ["id"], Versioned: true, HasUpdatedAt: true,
    [
        "id", "email", "first_name", "last_name", "phone", "date_of_birth", "company_id", "job_title", "country", "lifecycle_stage", "lead_score",
        "lead_source", "owner", "email_consent", "email_consent_at", "email_consent_source", "legacy_region", "created_at", "updated_at", "deleted_at", "version",
    ]);

    public static readonly TableInfo ListMembers = new("list_members", ["list_id", "contact_id"], false, false, ["list_id", "contact_id", "added_at"]);
    public static readonly TableInfo NurtureMembers = new("nurture_members", ["flow_id", "contact_id"], false, false, ["flow_id", "contact_id", "joined_at"]);
    public static readonly TableInfo Suppression = new("suppression", ["list_id", "email"], false, false, ["list_id", "email", "reason", "added_at"]);
    public static readonly TableInfo Segments = new("segments", ["id"], true, false, ["id", "name", "rule", "version"]);
    public static readonly TableInfo ScoringRules = new("scoring_rules", ["id"], true, false, ["id", "name", "condition", "points", "version"]);
    public static readonly TableInfo RoutingRules = new("routing_rules", ["id"], true, false, ["id", "name", "condition", "owner", "version"]);
    public static readonly TableInfo Campaigns = new("campaigns", ["id"], true, false,
        ["id", "name", "status", "audience", "subject", "content", "sender", "scheduled_at", "sent_at", "version"]);
    public static readonly TableInfo FieldDependencies = new("field_dependencies", ["object_kind", "object_id", "field"], false, false, ["object_kind", "object_id", "field"]);
    public static readonly TableInfo AudienceSyncs = new("audience_syncs", ["id"], false, false, ["id", "segment_id", "destination", "status", "last_synced_at", "members"]);
    public static readonly TableInfo CampaignSends = new("campaign_sends", ["campaign_id", "contact_id"], false, false, ["campaign_id", "contact_id", "email", "sent_at"]);

    public static readonly IReadOnlyDictionary<string, TableInfo> ByName = new[]
    {
        Contacts, ListMembers, NurtureMembers, Suppression, Segments, ScoringRules, RoutingRules, Campaigns, FieldDependencies, AudienceSyncs, CampaignSends,
    }.ToDictionary(t => t.Name, StringComparer.Ordinal);

    /// <summary>Contact columns a filter may test, with their types: the catalogue's list, which policy tests check filters with too.</summary>
    public static IReadOnlyList<Core.FilterField> ContactFilterFields => Core.WorkspaceCatalogue.ContactFilterFields;
}
