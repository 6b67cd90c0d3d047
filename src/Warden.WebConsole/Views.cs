namespace Warden.WebConsole;

// What the console's pages show, as the gateway hands it over: the pages render these and reach
// nothing else, so that what a person may see is decided in one place, before rendering.

/// <summary>The person signed in: id, name as approvers read it, and the token every form carries back.</summary>
public sealed record ConsoleUser(string Id, string Name, string Csrf)
{
    /// <summary>Whether their roles open the whole trail (Activity, its export, the latest refusals) to them.</summary>
    public bool ReadsTrail { get; init; } = true;

    /// <summary>Whether they own a use case in some way, and so may roll back what its agents did.</summary>
    public bool Owns { get; init; } = true;
}

/// <summary>One request in the queue.</summary>
public sealed record ApprovalRow(
    string Id, int Risk, string Agent, string UseCase, string Environment, string Tool, long? Records, string Summary,
    DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, string WaitingFor);

/// <summary>The queue: the requests a person may decide, riskiest first, and how many others wait on other people.</summary>
public sealed record ApprovalQueue(ConsoleUser User, IReadOnlyList<ApprovalRow> Yours, int Others, DateTimeOffset Now);

/// <summary>A field's change: how many records, the values before (with counts) and the value after.</summary>
public sealed record FieldChangeView(string Field, long Records, IReadOnlyList<(string? Value, long Records)> Before, string? After);

/// <summary>One record of the sample: its key and its fields before and after.</summary>
public sealed record SampleView(string Key, IReadOnlyDictionary<string, string?> Before, IReadOnlyDictionary<string, string?> After);

/// <summary>What a send says.</summary>
public sealed record MessageView(string? Campaign, string? Subject, string? Sender, string? Preview);

/// <summary>A rule's requirement: who may approve, how many must, how many have.</summary>
public sealed record RequirementView(string Rule, IReadOnlyList<string> Approvers, int Quorum, int Given);

/// <summary>A vote cast.</summary>
public sealed record VoteView(string Person, string Vote, string? Comment, DateTimeOffset At);

/// <summary>
/// One request as a person may see it. Details (the plan, the records, the agent's words) are
/// null when <see cref="Withheld"/> says why they are not shown.
/// </summary>
public sealed record ApprovalDetail(ConsoleUser User, string Id, string Status, string Agent, string UseCase, string Environment, string Tool, int Risk,
    DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? DecidedAt, DateTimeOffset Now, IReadOnlyList<RequirementView> Requirements,
    IReadOnlyList<VoteView> Votes, bool CanDecide)
{
    public string? Withheld { get; init; }

    /// <summary>What the call does, in a line computed from its plan (never from what the agent said).</summary>
    public string? Headline { get; init; }

    public string? Summary { get; init; }

    /// <summary>The agent's own reason, shown apart: the agent chose these words.</summary>
    public string? AgentSays { get; init; }

    public string? OnBehalfOf { get; init; }

    public long Records { get; init; }

    public IReadOnlyList<string> Classes { get; init; } = [];

    public IReadOnlyList<FieldChangeView> Changes { get; init; } = [];

    public IReadOnlyList<SampleView> Sample { get; init; } = [];

    public IReadOnlyList<(string Kind, string Name, string Field)> Dependents { get; init; } = [];

    public long Recipients { get; init; }

    public IReadOnlyList<(string Reason, long Records)> Excluded { get; init; } = [];

    public MessageView? Message { get; init; }

    /// <summary>What happened when it ran, when it has.</summary>
    public string? Outcome { get; init; }

    /// <summary>Why a pending request cannot be decided here: it was made in another environment.</summary>
    public string? Elsewhere { get; init; }

    /// <summary>A line about what the person just did (approved, denied, refused and why).</summary>
    public string? Notice { get; init; }
}

/// <summary>The sign-in page: what was typed (never the password) and why it failed.</summary>
public sealed record SignInView(string? Person, string? Error);

/// <summary>
/// The identity provider the sign-in page offers beside the password form ("Sign in with Okta"),
/// when the gateway has one: a service, so that every rendering of the sign-in page shows it.
/// </summary>
public sealed record IdentityProviderButton(string Name);

/// <summary>Who was just signed in through the identity provider, and with which.</summary>
public sealed record SignedInView(string Name, string Provider);

/// <summary>The filters of the Activity page, as typed (each may be empty).</summary>
public sealed record ActivityFilter(string? Agent, string? Tool, string? Effect, string? Person, string? Record, string? From, string? To);

/// <summary>One entry of the trail in the list: what it is, who, and what it links to.</summary>
public sealed record ActivityRow(long Seq, DateTimeOffset Time, string Kind, string? Agent, string? Person, string? Tool, string? Effect, string? Outcome,
    string? Line, string? ApprovalId, string? ActionId, long? RollbackOf, IReadOnlyList<long> RolledBackBy);

/// <summary>The Activity page: the trail, newest first, filtered; the next page's start; the result of a verify just run.</summary>
public sealed record ActivityView(ConsoleUser User, ActivityFilter Filter, IReadOnlyList<ActivityRow> Entries, long? Next, string? Error)
{
    public string? Verified { get; init; }

    public bool VerifiedOk { get; init; }
}

/// <summary>One entry whole: every field it has, in the order people read them, and its links.</summary>
public sealed record ActivityEntryView(ConsoleUser User, long Seq, IReadOnlyList<(string Name, string Value)> Fields, string? ApprovalId, string? ActionId,
    long? RollbackOf, IReadOnlyList<long> RolledBackBy, IReadOnlyList<ActivityRow> Related);

/// <summary>A conflict a rollback leaves (or overwrites): a record changed since the action.</summary>
public sealed record ConflictView(string ActionId, string Table, string Key, string Reason);

/// <summary>
/// The Rollback page: what is asked (an action, or an agent and a window), the preview (what
/// would be restored, the conflicts, what cannot be undone), and what a run did.
/// </summary>
public sealed record RollbackView(ConsoleUser User, string? ActionId, string? Agent, string? Since)
{
    public string? Error { get; init; }

    public string? Summary { get; init; }

    public IReadOnlyList<string> Actions { get; init; } = [];

    public long Restorable { get; init; }

    public IReadOnlyList<ConflictView> Conflicts { get; init; } = [];

    public IReadOnlyList<string> Irreversible { get; init; } = [];

    /// <summary>An agent's window as previewed, carried by the confirmation so that it runs this window, not one moved on since.</summary>
    public DateTimeOffset? From { get; init; }

    public DateTimeOffset? To { get; init; }

    /// <summary>Set once it ran: what it did, and its trail entry.</summary>
    public string? Done { get; init; }

    public long? DoneSeq { get; init; }
}

/// <summary>An agent as owners read it: its use case and tier, environments, owners, whether it is frozen.</summary>
public sealed record AgentRow(string Id, string UseCase, string Tier, IReadOnlyList<string> Environments, string Owners, string? Escalation, bool Frozen, string? Review);

/// <summary>The Agents page, with the kill switch.</summary>
public sealed record AgentsView(ConsoleUser User, IReadOnlyList<AgentRow> Agents, bool AllFrozen)
{
    public string? Notice { get; init; }
}

/// <summary>An incident as its people read it, with what they may do.</summary>
public sealed record IncidentRow(string Id, string Status, string UseCase, string? Agent, string Kind, string Summary, IReadOnlyList<string> Owners,
    DateTimeOffset OpenedAt, string? AcknowledgedBy, string? ResolvedBy, bool Routed, string TrailLink);

/// <summary>The Incidents page: those not resolved first, then the last resolved ones.</summary>
public sealed record IncidentsView(ConsoleUser User, IReadOnlyList<IncidentRow> Open, IReadOnlyList<IncidentRow> Resolved)
{
    public string? Notice { get; init; }
}

/// <summary>A use case whose review is due within 30 days, or overdue.</summary>
public sealed record ReviewRow(string UseCase, string Due, bool Overdue);

/// <summary>The overview: what waits, what is open, what was refused lately, and which reviews are due.</summary>
public sealed record OverviewView(ConsoleUser User, int WaitingForYou, int Pending, int OpenIncidents, IReadOnlyList<string> Frozen,
    IReadOnlyList<ActivityRow> Refusals, IReadOnlyList<ReviewRow> Reviews, IReadOnlyList<(string Day, int Calls, int Refused)> Days);

/// <summary>A rule that can decide an agent's call of a tool, in plain words.</summary>
public sealed record GrantRule(string Rule, string Effect, string? When, string? Why);

/// <summary>A tool an agent may call: what it is, whether it ever runs without a person, and the rules that decide it.</summary>
public sealed record GrantView(string Tool, string Kind, string WithoutApproval, IReadOnlyList<GrantRule> Rules);

/// <summary>A budget that covers an agent, and how much of it is used.</summary>
public sealed record BudgetView(string Budget, string Metric, long Limit, long? Used, double WindowHours, string? SharedBy);

/// <summary>One agent's page: what it may do, in plain words, and what it has used.</summary>
public sealed record AgentDetail(ConsoleUser User, string Id, string Description, string UseCase, string Tier, string Environment, bool Frozen, bool Activated,
    IReadOnlyList<string> Sees, IReadOnlyList<string> MaskedFields, IReadOnlyList<GrantView> Tools, IReadOnlyList<BudgetView> Budgets)
{
    /// <summary>The use case's risk axes and their ratings, from which its tier is computed.</summary>
    public IReadOnlyList<(string Axis, string Rating)> Axes { get; init; } = [];

    /// <summary>Whether the agent may act in production: who activated it and when, "not activated", or null when the policy never grants it production.</summary>
    public string? Production { get; init; }

    /// <summary>True when this person may activate it for production now (an owner of its use case, and it is not yet).</summary>
    public bool MayActivate { get; init; }

    /// <summary>What an activation just did.</summary>
    public string? Notice { get; init; }

    public bool NoticeOk { get; init; }
}

/// <summary>The policy page: the loaded policy as code, its hash, when and by whom it was loaded, what it holds and what the checker warned of.</summary>
public sealed record PolicyView(ConsoleUser User, string Path, string Hash, DateTimeOffset LoadedAt, string? LoadedBy, string Environment, IReadOnlyList<(string What, int Count)> Holds,
    IReadOnlyList<string> Warnings, string Text, bool MayReload)
{
    /// <summary>What the checker says of the file as it is on disk now, when asked: whether it loads, and whether a reload would put it in force.</summary>
    public string? Checked { get; init; }

    public bool CheckedOk { get; init; }

    public IReadOnlyList<string> CheckedProblems { get; init; } = [];

    /// <summary>The hash of the file as checked, when a reload may put it in force: the reload takes that file and no other.</summary>
    public string? ReloadHash { get; init; }

    /// <summary>What a reload just did, and whether it took effect.</summary>
    public string? Reloaded { get; init; }

    public bool ReloadedOk { get; init; }
}

/// <summary>A one-time sign-in link's page: whom it signs in, and its token for the form that uses it.</summary>
public sealed record SignInLinkView(string Name, string Token);
