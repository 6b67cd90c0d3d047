using System.Text.Json;

namespace Warden.Core;

/// <summary>
/// What the plan (the dry run) found out about a call, which conditions can test: how many records
/// it touches, which fields and data classes, how many people a send would reach, and whether it
/// reaches outside or can be undone when that differs from the tool's own annotation.
/// </summary>
public sealed record PlanFacts
{
    /// <summary>No records, fields or recipients: what a call looks like before it is planned.</summary>
    public static PlanFacts None { get; } = new();

    /// <summary>How many records the call reads or changes.</summary>
    public long Records { get; init; }

    /// <summary>How many people a send or sync reaches, after suppression and consent.</summary>
    public long Recipients { get; init; }

    /// <summary>Fields read or changed, as table.field.</summary>
    public IReadOnlyList<string> Fields { get; init; } = [];

    /// <summary>
    /// How many records the call deletes (soft or for good), whatever its tool is called: a merge
    /// that soft-deletes its duplicates deletes them. Null when the plan does not say (a policy
    /// test, an explain): then a delete tool deletes its records and other tools none.
    /// </summary>
    public long? Deleted { get; init; }

    /// <summary>How many records the call changes, deletions included; null when the plan does not say (then a write, delete or configuration change changes its records).</summary>
    public long? Changed { get; init; }

    /// <summary>Where a sync sends its audience (e.g. linkedin:matched-audience-42), checked against the destinations the policy names.</summary>
    public string? Destination { get; init; }

    /// <summary>Data classes touched: pii, consent, restricted and any the policy declares.</summary>
    public IReadOnlyList<string> Classes { get; init; } = [];

    /// <summary>Overrides the tool's annotation when the plan knows better; only ever towards danger.</summary>
    public bool? External { get; init; }

    /// <summary>Overrides the tool's annotation when the plan knows better; only ever towards danger.</summary>
    public bool? Reversible { get; init; }

    /// <summary>The SQL statement a database call runs, as the database classified it; null for other calls.</summary>
    public StatementFacts? Statement { get; init; }

    /// <summary>
    /// What the call does, as its plan found it, where that is more than the tool's kind says (an
    /// UPDATE through a server's SQL tool annotated as a read); null when the tool's kind says it.
    /// </summary>
    public ActionKind? Kind { get; init; }
}

/// <summary>
/// A SQL statement as its database classified it, which conditions read as <c>statement.kind</c>
/// (read, insert, update, delete, merge, schema, permission, multiple, other), <c>statement.tables</c>
/// and <c>statement.where</c> (false for an UPDATE or DELETE that reaches every row).
/// </summary>
public sealed record StatementFacts(string Kind, IReadOnlyList<string> Tables, bool Where)
{
    private static readonly JsonElement NoneJson = JsonSerializer.SerializeToElement(new { kind = "", tables = Array.Empty<string>(), where = false });
    private JsonElement? _json;

    /// <summary>What conditions see for a call that runs no statement.</summary>
    internal static JsonElement None => NoneJson;

    internal JsonElement Json => _json ??= JsonSerializer.SerializeToElement(new { kind = Kind, tables = Tables, where = Where });
}

/// <summary>One call to decide: who, what, where, with which arguments and plan facts, and when.</summary>
public readonly record struct DecisionRequest(
    string Agent,
    string Tool,
    string Environment,
    JsonElement Arguments,
    PlanFacts Facts,
    DateTimeOffset Now)
{
    /// <summary>The system that owns the tool; the built-in workspace unless said otherwise.</summary>
    public string System { get; init; } = ToolDefinition.WorkspaceSystem;

    /// <summary>The person the agent acts for, if it says so; budgets per person count against them.</summary>
    public string? OnBehalfOf { get; init; }
}

/// <summary>
/// The guard state a decision reads: frozen agents and budget usage. The gateway keeps it; a policy
/// test or an explain supplies a snapshot.
/// </summary>
public interface IGuardState
{
    /// <summary>True when the kill switch or a breaker has frozen the agent.</summary>
    bool IsFrozen(string agent);

    /// <summary>How much of the budget's metric its scope has used in the budget's current window.</summary>
    long Used(Budget budget, string agent);
}

/// <summary>A fixed guard state: nothing frozen and nothing used, unless given.</summary>
public sealed class GuardSnapshot : IGuardState
{
    /// <summary>No agent frozen, no budget used.</summary>
    public static GuardSnapshot Empty { get; } = new();

    /// <summary>Agents frozen by the kill switch or a breaker.</summary>
    public IReadOnlySet<string> FrozenAgents { get; init; } = new HashSet<string>();

    /// <summary>True when every agent is frozen.</summary>
    public bool AllFrozen { get; init; }

    /// <summary>Usage so far, by budget id.</summary>
    public IReadOnlyDictionary<string, long> Usage { get; init; } = new Dictionary<string, long>();

    /// <inheritdoc />
    public bool IsFrozen(string agent) => AllFrozen || FrozenAgents.Contains(agent);

    /// <inheritdoc />
    public long Used(Budget budget, string agent) => Usage.TryGetValue(budget.Id, out var used) ? used : 0;
}
