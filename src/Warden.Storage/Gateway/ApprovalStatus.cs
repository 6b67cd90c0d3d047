namespace Warden.Storage.Gateway;

/// <summary>Where an approval request stands. Stored, and shown to people and agents, as its lower-case word.</summary>
public enum ApprovalStatus
{
    /// <summary>Waiting for people to decide.</summary>
    Pending,
    /// <summary>Every requirement was met and the call is running (left so only by a gateway that stopped).</summary>
    Executing,
    /// <summary>Approved, and the call ran.</summary>
    Executed,
    /// <summary>Approved, and stopped while it ran (the kill switch).</summary>
    Stopped,
    /// <summary>A person denied it.</summary>
    Denied,
    /// <summary>Nobody decided it in time.</summary>
    Expired,
    /// <summary>Approved, but the plan had changed: the approval bound to another plan.</summary>
    Void,
    /// <summary>Approved, but the call could not run (refused now, or failed).</summary>
    Failed,
    /// <summary>The agent was frozen while it waited.</summary>
    Cancelled,
}

/// <summary>
/// The lifecycle of an approval request: pending, then decided (denied, expired, cancelled) or
/// executing, then ended (executed, stopped, void, failed). Nothing leaves an end; the store
/// refuses any other move.
/// </summary>
public static class ApprovalLifecycle
{
    private static readonly Dictionary<string, ApprovalStatus> ByWord =
        Enum.GetValues<ApprovalStatus>().ToDictionary(Word, s => s, StringComparer.Ordinal);

    /// <summary>Every status's word, in lifecycle order.</summary>
    public static IReadOnlyList<string> Words { get; } = [.. Enum.GetValues<ApprovalStatus>().Select(Word)];

    /// <summary>The status as stored and shown: pending, executing, executed, ...</summary>
    public static string Word(this ApprovalStatus status) => status switch
    {
        ApprovalStatus.Pending => "pending",
        ApprovalStatus.Executing => "executing",
        ApprovalStatus.Executed => "executed",
        ApprovalStatus.Stopped => "stopped",
        ApprovalStatus.Denied => "denied",
        ApprovalStatus.Expired => "expired",
        ApprovalStatus.Void => "void",
        ApprovalStatus.Failed => "failed",
        ApprovalStatus.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    /// <summary>The status a word names, or null when it names none.</summary>
    public static ApprovalStatus? Parse(string word) => ByWord.TryGetValue(word, out var status) ? status : null;

    /// <summary>The statuses a request may move to from <paramref name="from"/>.</summary>
    public static IReadOnlyList<ApprovalStatus> Next(ApprovalStatus from) => from switch
    {
        ApprovalStatus.Pending => [ApprovalStatus.Executing, ApprovalStatus.Denied, ApprovalStatus.Expired, ApprovalStatus.Cancelled],
        ApprovalStatus.Executing => [ApprovalStatus.Executed, ApprovalStatus.Stopped, ApprovalStatus.Void, ApprovalStatus.Failed],
        _ => [],
    };

    /// <summary>True when a request may move from one status to the other.</summary>
    public static bool CanMove(ApprovalStatus from, ApprovalStatus to) => Next(from).Contains(to);
}
