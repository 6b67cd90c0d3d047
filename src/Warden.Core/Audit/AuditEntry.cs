using System.Text.Json;

namespace Warden.Core.Audit;

/// <summary>
/// One fact in the audit trail: a call and its decision, an approval, a policy load, a kill
/// switch, a rollback, a login. What the caller fills in; the trail adds the sequence number,
/// the time and the link to the entry before it when it appends.
/// </summary>
public sealed record AuditEntry
{
    /// <summary>What happened: one of <see cref="AuditKinds"/>.</summary>
    public required string Kind { get; init; }

    /// <summary>sandbox or production.</summary>
    public string? Environment { get; init; }

    public string? Agent { get; init; }

    public string? UseCase { get; init; }

    public string? Tool { get; init; }

    /// <summary>The tool's arguments; secrets are redacted by the trail before hashing.</summary>
    public JsonElement? Arguments { get; init; }

    /// <summary>The instruction or reason the agent gave for the call, when it gave one.</summary>
    public string? Instruction { get; init; }

    /// <summary>allow, approve or deny for a decision; approved or denied for an approval.</summary>
    public string? Effect { get; init; }

    /// <summary>The rule that decided.</summary>
    public string? Rule { get; init; }

    public string? Reason { get; init; }

    /// <summary>What shadow rules would have decided, as "rule: effect".</summary>
    public IReadOnlyList<string> Shadow { get; init; } = [];

    public string? PlanSummary { get; init; }

    public string? PlanHash { get; init; }

    /// <summary>Ids of the records the call read (never their values).</summary>
    public IReadOnlyList<string> RecordsRead { get; init; } = [];

    public IReadOnlyList<string> FieldsRead { get; init; } = [];

    /// <summary>Ids of the records the call changed; their before-images are in the journal of <see cref="ActionId"/>.</summary>
    public IReadOnlyList<string> RecordsChanged { get; init; } = [];

    /// <summary>The workspace action whose journal holds the changes.</summary>
    public string? ActionId { get; init; }

    public string? ApprovalId { get; init; }

    /// <summary>The person who approved, denied, logged in, froze or accepted.</summary>
    public string? Person { get; init; }

    public string? Comment { get; init; }

    /// <summary>ok, error, refused, expired or pending.</summary>
    public string? Outcome { get; init; }

    /// <summary>The hash of the policy in force (for policy loads, the one loaded).</summary>
    public string? PolicyHash { get; init; }

    /// <summary>The sequence number of the entry whose action this one rolls back.</summary>
    public long? RollbackOf { get; init; }

    /// <summary>For an archive entry: the last entry moved to the archive file (binds the store's archive marker to the chain).</summary>
    public long? ArchivedThrough { get; init; }

    /// <summary>For an archive entry, or an archive's destruction: the first entry the archive file holds.</summary>
    public long? ArchivedFrom { get; init; }

    /// <summary>For an archive entry, or an archive's destruction: the full path the archive file was written to.</summary>
    public string? ArchiveFile { get; init; }

    /// <summary>For an archive entry, or an archive's destruction: the SHA-256 of the archive file's bytes as written, in hex.</summary>
    public string? ArchiveSha256 { get; init; }

    /// <summary>Anything else worth keeping, in a sentence: an error, the scope of a kill switch.</summary>
    public string? Detail { get; init; }
}

/// <summary>The kinds of audit entries.</summary>
public static class AuditKinds
{
    public const string Call = "call";
    public const string Approval = "approval";
    public const string PolicyLoad = "policy.load";
    public const string KillSwitch = "kill_switch";
    public const string Breaker = "breaker";
    public const string Rollback = "rollback";
    public const string Login = "login";

    /// <summary>A person acknowledged or resolved an incident.</summary>
    public const string Incident = "incident";

    /// <summary>An owner activated an agent for an environment.</summary>
    public const string Activation = "activation";

    /// <summary>Old entries were moved to an archive file.</summary>
    public const string Archive = "archive";

    /// <summary>A person declared an archive file destroyed (its retention ended, say); its entries are gone for good, on the record.</summary>
    public const string ArchiveDestroyed = "archive.destroyed";

    /// <summary>The trail did not verify and a person told the gateway to start anyway.</summary>
    public const string TrailAccepted = "trail.accepted";

    /// <summary>A token file changed: an identity's token was rotated or revoked without a restart.</summary>
    public const string Credentials = "credentials";

    /// <summary>Warden and an upstream MCP server: a connection, a restart, a failed attempt, a changed tool blocked or accepted.</summary>
    public const string Upstream = "upstream";
}
