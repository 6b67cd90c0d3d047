namespace Warden.Core;

/// <summary>
/// A system Warden governs: the built-in workspace today, a PostgreSQL database and an upstream MCP
/// server next. The gateway knows systems only through this: what they offer (the catalogue), what
/// a call would do (a plan, nothing written), doing it (bound to that plan), and undoing it. Every
/// expected failure is a <see cref="SystemError"/> value with a code, never an exception.
/// </summary>
public interface IGovernedSystem
{
    /// <summary>Its tools and fields, with kinds, reversibility, arguments and data classes.</summary>
    SystemCatalogue Catalogue { get; }

    /// <summary>What the call would do, found without changing anything (a system may read to find out, holding no thread while it waits).</summary>
    ValueTask<SystemResult<Plan>> PlanAsync(ToolCall call, CancellationToken cancellationToken = default);

    /// <summary>
    /// Carries out a plan this system made, only if it still does what was planned (otherwise a
    /// <c>stale_plan</c> error and nothing changed); <paramref name="control"/> can stop it while it runs.
    /// Waiting for the system (another write holding it, a send's pace) holds no thread.
    /// </summary>
    Task<SystemResult<AppliedAction>> ApplyAsync(Plan plan, ApplyControl? control = null, CancellationToken cancellationToken = default);

    /// <summary>What undoing an action (or an agent's actions in a window) would restore, and what it would refuse to overwrite.</summary>
    ValueTask<SystemResult<RollbackPlan>> PlanRollbackAsync(RollbackRequest request, CancellationToken cancellationToken = default);

    /// <summary>Undoes, recording who did it; conflicts are left as they are unless forced.</summary>
    Task<SystemResult<RollbackResult>> RollBackAsync(RollbackRequest request, ConflictResolution resolution, string actor, CancellationToken cancellationToken = default);

    /// <summary>The agent whose action this is, or null when there is no such action.</summary>
    string? AgentOf(string actionId);

    /// <summary>The action an agent applied from this plan, or null: how a stopped gateway finds out whether an approved call ran.</summary>
    string? ActionWithPlan(string agent, string planHash);

    /// <summary>The action an agent applied with this tool and plan since a time, or null: how recovery finds a change applied but not recorded.</summary>
    string? ActionSince(string agent, string tool, string planHash, DateTimeOffset since);

    /// <summary>
    /// Ends, as stopped, work a stopped gateway left half-way (a send between batches), and says what
    /// each had done; with <paramref name="begunBefore"/>, only work begun before then (replicas
    /// share the system: younger work may be a live replica's, still going).
    /// </summary>
    Task<IReadOnlyList<InterruptedSend>> StopInterruptedAsync(DateTimeOffset? begunBefore = null, CancellationToken cancellationToken = default);
}
