namespace Warden.Core;

/// <summary>What a rule does, and what a decision says. Precedence: deny beats approve beats allow.</summary>
public enum Effect
{
    /// <summary>The call runs.</summary>
    Allow,
    /// <summary>The call waits for people to approve it.</summary>
    Approve,
    /// <summary>The call never runs.</summary>
    Deny,
}

/// <summary>Whether a rule's effect is enforced or only recorded.</summary>
public enum RuleMode
{
    /// <summary>The rule decides.</summary>
    Enforce,
    /// <summary>The rule is evaluated and what it would have decided is recorded, but it changes nothing.</summary>
    Shadow,
}

/// <summary>A person's part in governance.</summary>
public enum OwnerRole
{
    /// <summary>May approve held calls.</summary>
    Approver,
    /// <summary>Answers for what a use case is for.</summary>
    BusinessOwner,
    /// <summary>Answers for how a use case is built and run.</summary>
    TechnicalOwner,
    /// <summary>Answers for the data a use case touches.</summary>
    DataOwner,
    /// <summary>Answers for a use case's risk; grants exceptions.</summary>
    RiskOwner,
    /// <summary>Reads the whole trail, to reconstruct what happened; approves and rolls back nothing by this role.</summary>
    Auditor,
}

/// <summary>A person named in the policy.</summary>
public sealed record Owner(string Id, string Name, string Email, IReadOnlyList<OwnerRole> Roles)
{
    /// <summary>Where the person's API token is kept (env:, file: or secret:), when they have one.</summary>
    public string? TokenReference { get; init; }

    /// <summary>True when the person holds the role.</summary>
    public bool Has(OwnerRole role) => Roles.Contains(role);
}

/// <summary>A named set of people (or other groups) that approvals can refer to.</summary>
public sealed record Group(string Id, IReadOnlyList<string> Members);

/// <summary>A rating on one classification axis; high is always the risky end.</summary>
public enum Rating
{
    /// <summary>Little risk on this axis.</summary>
    Low,
    /// <summary>Some risk on this axis.</summary>
    Medium,
    /// <summary>Much risk on this axis.</summary>
    High,
}

/// <summary>A use case's risk tier, computed from its classification. It caps what rules may grant.</summary>
public enum Tier
{
    /// <summary>Reads and reversible writes only.</summary>
    Low,
    /// <summary>Anything reversible (or compensable) that stays inside; no sends, syncs or irreversible actions.</summary>
    Medium,
    /// <summary>Anything, with irreversible and external actions always held for a person.</summary>
    High,
}

/// <summary>
/// A use case rated on the six axes of the governance model. Every axis is rated by its risk:
/// for reversibility, high means the use case's actions are hard to undo.
/// </summary>
public sealed record Classification(
    Rating Access,
    Rating Autonomy,
    Rating DataSensitivity,
    Rating CustomerImpact,
    Rating ComplianceExposure,
    Rating Reversibility)
{
    /// <summary>
    /// High if any axis is high; medium if two or more axes are medium; low otherwise. One high
    /// rating is enough to make a use case high-risk, and risk adds up across medium ones.
    /// </summary>
    public Tier Tier
    {
        get
        {
            // Counted without a collection: the decision reads the tier on every call.
            var high = 0;
            var medium = 0;
            foreach (var rating in (ReadOnlySpan<Rating>)[Access, Autonomy, DataSensitivity, CustomerImpact, ComplianceExposure, Reversibility])
            {
                high += rating == Rating.High ? 1 : 0;
                medium += rating == Rating.Medium ? 1 : 0;
            }

            return high > 0 ? Tier.High : medium >= 2 ? Tier.Medium : Tier.Low;
        }
    }
}

/// <summary>The people who answer for a use case, by owner id.</summary>
public sealed record UseCaseOwners(string Business, string Technical, string Data, string Risk)
{
    /// <summary>True when the person holds one of the four slots: who may activate, unfreeze and roll back the use case's agents.</summary>
    public bool Include(string person) => person == Business || person == Technical || person == Data || person == Risk;

    /// <summary>The four, as "maria, dev, sam or rita", for messages.</summary>
    public override string ToString() => $"{Business}, {Technical}, {Data} or {Risk}";
}

/// <summary>How often a use case must be reviewed.</summary>
public enum ReviewCadence
{
    /// <summary>Every month.</summary>
    Monthly,
    /// <summary>Every three months.</summary>
    Quarterly,
    /// <summary>Every six months.</summary>
    Semiannual,
    /// <summary>Every year.</summary>
    Annual,
}

/// <summary>A reason agents exist: what they are for, how risky that is, and who answers for it.</summary>
public sealed record UseCase(
    string Id,
    string Description,
    Classification Classification,
    UseCaseOwners Owners,
    string Escalation,
    ReviewCadence Review,
    DateOnly? LastReviewed)
{
    /// <summary>The tier computed from the classification.</summary>
    public Tier Tier => Classification.Tier;

    /// <summary>When the next review is due, if the last one is known.</summary>
    public DateOnly? ReviewDue => LastReviewed?.AddMonths(Review switch
    {
        ReviewCadence.Monthly => 1,
        ReviewCadence.Quarterly => 3,
        ReviewCadence.Semiannual => 6,
        _ => 12,
    });
}

/// <summary>An AI agent: who it is, which use case it serves, where it may act and how it authenticates.</summary>
public sealed record Agent(string Id, string Description, string UseCase, IReadOnlyList<string> Environments, string TokenReference)
{
    /// <summary>The data classes the agent may read in the clear; every other class is masked in what it reads.</summary>
    public IReadOnlyList<string> Sees { get; init; } = [];
}

/// <summary>
/// Who must approve a held call. Approvers are written as a person's id, <c>role:NAME</c> (anyone
/// with the role), <c>group:NAME</c>, or <c>owner:business|technical|data|risk</c> (that owner of
/// the calling agent's use case). Quorum counts distinct people.
/// </summary>
public sealed record ApprovalRequirement(IReadOnlyList<string> Approvers, int Quorum, TimeSpan Expiry, IReadOnlyList<string> Show)
{
    /// <summary>The rule that asks for this approval; empty when invariant 2 does.</summary>
    public string Rule { get; init; } = "";

    /// <summary>What an approver can be shown; <see cref="Show"/> lists the ones they must see.</summary>
    public static IReadOnlyList<string> ShowChoices { get; } = ["diff", "affected", "sample", "dependents", "recipients", "reason", "arguments"];
}

/// <summary>Which calls a rule applies to. An empty list matches anything; names may use * as a wildcard.</summary>
public sealed record RuleMatch(
    IReadOnlyList<string> Agents,
    IReadOnlyList<string> UseCases,
    IReadOnlyList<string> Environments,
    IReadOnlyList<string> Systems,
    IReadOnlyList<string> Tools,
    IReadOnlyList<ActionKind> Kinds);

/// <summary>One rule of the policy.</summary>
public sealed record Rule(
    string Id,
    string Description,
    RuleMatch Match,
    string? Condition,
    Effect Effect,
    string? Message,
    ApprovalRequirement? Approval,
    RuleMode Mode);

/// <summary>A time-bound grant for one agent over one rule, given by a risk owner for a stated reason.</summary>
public sealed record PolicyException(
    string Id,
    string Agent,
    string Rule,
    Effect Effect,
    string? Condition,
    DateTimeOffset Until,
    string GrantedBy,
    string Reason)
{
    /// <summary>True until the exception expires by itself.</summary>
    public bool IsActive(DateTimeOffset now) => now < Until;
}

/// <summary>What a budget or breaker counts.</summary>
public enum GuardMetric
{
    /// <summary>Calls of any kind.</summary>
    Calls,
    /// <summary>Records changed by writes, deletes and configuration changes.</summary>
    ChangedRecords,
    /// <summary>Records deleted.</summary>
    DeletedRecords,
    /// <summary>Sends and syncs.</summary>
    Sends,
    /// <summary>People reached by sends and syncs.</summary>
    Recipients,
    /// <summary>Records returned by reads: paging through a table adds up like one bulk read.</summary>
    ReadRecords,
}

/// <summary>What one call adds to each metric: the same figures budgets are checked against before it runs and counted with after.</summary>
public static class GuardAmounts
{
    /// <summary>
    /// What a call of a tool of <paramref name="kind"/> with these plan facts adds to <paramref name="metric"/>:
    /// the records the plan says it changes and deletes (a merge's duplicates count as deleted),
    /// or, where it does not say, what the tool's kind implies.
    /// </summary>
    public static long Of(GuardMetric metric, ActionKind kind, PlanFacts facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        return metric switch
        {
            GuardMetric.Calls => 1,
            GuardMetric.ChangedRecords => Changed(kind, facts),
            GuardMetric.DeletedRecords => Deleted(kind, facts),
            GuardMetric.Sends => kind is ActionKind.Send or ActionKind.Sync ? 1 : 0,
            GuardMetric.Recipients => kind is ActionKind.Send or ActionKind.Sync ? facts.Recipients : 0,
            GuardMetric.ReadRecords => kind == ActionKind.Read ? facts.Records : 0,
            _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "not a guard metric"),
        };
    }

    /// <summary>The records a call deletes: the plan's count, or all its records for a delete tool when the plan does not say.</summary>
    public static long Deleted(ActionKind kind, PlanFacts facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        return facts.Deleted ?? (kind == ActionKind.Delete ? facts.Records : 0);
    }

    /// <summary>The records a call changes (deletions included): the plan's count, or all its records for a write, delete or configuration change.</summary>
    public static long Changed(ActionKind kind, PlanFacts facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        return Math.Max(facts.Changed ?? (kind is ActionKind.Write or ActionKind.Delete or ActionKind.Configure ? facts.Records : 0), Deleted(kind, facts));
    }

    /// <summary>
    /// The kind a call is governed as: a tool's own kind; what its plan found it does, when the tool
    /// reads or writes and the plan does more (an UPDATE or DROP through a SQL tool); or delete when
    /// its plan deletes records (a merge that soft-deletes duplicates is a delete, whatever the tool
    /// is called). Only ever towards danger.
    /// </summary>
    public static ActionKind Effective(ActionKind kind, PlanFacts facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        if (facts.Kind is { } planned && planned != ActionKind.Read && kind is ActionKind.Read or ActionKind.Write)
        {
            kind = planned;
        }

        return kind is ActionKind.Read or ActionKind.Write or ActionKind.Configure && Deleted(kind, facts) > 0 ? ActionKind.Delete : kind;
    }
}

/// <summary>A cap on what an agent, or all agents of a use case together, may do in a sliding window.</summary>
public sealed record Budget(string Id, string? Agent, string? UseCase, GuardMetric Metric, long Limit, TimeSpan Window)
{
    /// <summary>
    /// Each person on whose behalf agents act has this limit of their own, counted across the agents
    /// in scope (every agent when the budget names neither an agent nor a use case); calls on
    /// nobody's behalf are not counted by it.
    /// </summary>
    public bool PerPerson { get; init; }

    /// <summary>True when the budget counts calls of <paramref name="agent"/>.</summary>
    public bool Covers(Agent agent) => Agent is not null ? Agent == agent.Id : UseCase is null ? PerPerson : UseCase == agent.UseCase;
}

/// <summary>What a tripped breaker does.</summary>
public enum BreakerAction
{
    /// <summary>Freeze the agent and open an incident.</summary>
    Freeze,
    /// <summary>Open an incident only.</summary>
    Alert,
}

/// <summary>"More than N of a metric within a window" trips the breaker.</summary>
public sealed record Breaker(string Id, string? Agent, string? UseCase, GuardMetric Metric, long Over, TimeSpan Within, BreakerAction Then)
{
    /// <summary>True when the breaker counts calls of <paramref name="agent"/>.</summary>
    public bool Covers(Agent agent) => Agent is not null ? Agent == agent.Id : UseCase == agent.UseCase;
}

/// <summary>Somewhere outside that audiences may be synced to, named in the policy after review (e.g. linkedin:matched-audience-42).</summary>
public sealed record Destination(string Id, string Description);

/// <summary>An upstream system (an MCP server) whose tools the policy annotates.</summary>
public sealed record UpstreamSystem(string Id, string Description, IReadOnlyList<ToolDefinition> Tools);

/// <summary>
/// A system of a kind Warden knows (kind: postgres) that the policy declares: how Warden reaches
/// it in each environment it is in (a reference to a secret only Warden holds: env:NAME,
/// file:/path or secret:NAME; the sandbox's database is not production's), and the tables an
/// agent may reach (every other one is invisible). Its tools come from its kind
/// (<see cref="PolicyLoadOptions.Kinds"/>).
/// </summary>
public sealed record DeclaredSystem(string Id, string Kind, string Description, IReadOnlyDictionary<string, string> Connections, IReadOnlyList<string> Tables)
{
    /// <summary>For an upstream MCP server (kind: mcp): how Warden reaches it in each environment it is in.</summary>
    public IReadOnlyDictionary<string, UpstreamEndpoint> Endpoints { get; init; } = new Dictionary<string, UpstreamEndpoint>();

    /// <summary>For an upstream MCP server: how long one call may take before it is given up (and the agent told).</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>For an upstream with SQL tools: the reference to the connection Warden classifies their statements with (never sent to the server nor an agent).</summary>
    public string? SqlConnection { get; init; }

    /// <summary>For an upstream: true when text in its results that tries to instruct the agent is withheld from it, not only flagged in the trail.</summary>
    public bool WithholdInstructions { get; init; }
}

/// <summary>
/// How Warden reaches an upstream MCP server: a command it starts and talks to over stdio, or a
/// Streamable HTTP URL; with the headers (HTTP) or environment variables (stdio) it adds, each a
/// reference to a secret only Warden holds (env:NAME, file:/path or secret:NAME), never a value.
/// </summary>
public sealed record UpstreamEndpoint(IReadOnlyList<string> Command, string? Url, IReadOnlyDictionary<string, string> Headers, IReadOnlyDictionary<string, string> Environment)
{
    /// <summary>Where it is, for messages: the URL, or the command line.</summary>
    public override string ToString() => Url ?? string.Join(' ', Command);
}
