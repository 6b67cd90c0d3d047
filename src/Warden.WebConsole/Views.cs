namespace Warden.WebConsole;

// What the console's pages show, as the gateway hands it over: the pages render these and reach
// nothing else, so that what a person may see is decided in one place, before rendering.

/// <summary>The person signed in: id, name as approvers read it, and the token every form carries back.</summary>
public sealed record ConsoleUser(string Id, string Name, string Csrf);

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
