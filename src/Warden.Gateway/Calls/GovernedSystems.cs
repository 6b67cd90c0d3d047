using Warden.Core;
using Warden.Upstreams;

namespace Warden.Gateway.Calls;

/// <summary>
/// The systems this gateway governs in its environment (the workspace, the databases the policy
/// declares there): a call goes to the system whose catalogue has its tool, a plan back to the
/// system that made it, a rollback to the system that journaled the action.
/// </summary>
internal sealed class GovernedSystems
{
    private readonly IReadOnlyList<IGovernedSystem> _systems;
    private readonly Dictionary<string, IGovernedSystem> _byTool = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IGovernedSystem> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, McpUpstream> _upstreams = new(StringComparer.Ordinal);

    public GovernedSystems(IReadOnlyList<IGovernedSystem> systems)
    {
        _systems = systems;
        foreach (var system in systems)
        {
            _byId.Add(system.Catalogue.System, system);
            if (system is McpUpstream upstream)
            {
                // An upstream's tools change as the server lists them: reached by its id, ID.TOOL.
                _upstreams.Add(upstream.Id, upstream);
                continue;
            }

            foreach (var tool in system.Catalogue.Tools)
            {
                _byTool.Add(tool.Name, system);
            }
        }
    }

    /// <summary>The upstream servers governed here.</summary>
    public IEnumerable<McpUpstream> Upstreams => _upstreams.Values;

    /// <summary>The ids of the systems governed here.</summary>
    public IEnumerable<string> Ids => _byId.Keys;

    /// <summary>The system of a tool, or null when no system here offers it.</summary>
    public IGovernedSystem? Of(string tool) =>
        // The workspace's and the databases' names first: no server's tool can answer for one of them.
        _byTool.GetValueOrDefault(tool) ?? (tool.IndexOf('.', StringComparison.Ordinal) is > 0 and var dot && _upstreams.TryGetValue(tool[..dot], out var upstream) ? upstream : null);

    /// <summary>How a tool is governed: as the policy annotates it, or, for a tool an upstream offers unannotated, as its system lists it; null when no system here has it.</summary>
    public ToolDefinition? Definition(Policy policy, string tool) =>
        Of(tool) is not { } system ? null
        : system is McpUpstream ? system.Catalogue.Tools.FirstOrDefault(t => t.Name == tool) ?? policy.FindTool(system.Catalogue.System, tool)
        : policy.FindTool(system.Catalogue.System, tool);

    public ValueTask<SystemResult<Plan>> PlanAsync(ToolCall call, CancellationToken cancellationToken = default) =>
        Of(call.Tool) is { } system ? system.PlanAsync(call, cancellationToken) : new(SystemError.UnknownTool(call.Tool, "governed", null));

    public Task<SystemResult<AppliedAction>> ApplyAsync(Plan plan, ApplyControl? control = null, CancellationToken cancellationToken = default) =>
        _byId.TryGetValue(plan.Tool.System, out var system)
            ? system.ApplyAsync(plan, control, cancellationToken)
            : Task.FromResult<SystemResult<AppliedAction>>(SystemError.Refused($"no system '{plan.Tool.System}' is governed here"));

    /// <summary>The system that journaled an action, or null.</summary>
    private IGovernedSystem? Owning(string actionId) => _systems.FirstOrDefault(s => s.AgentOf(actionId) is not null);

    public string? AgentOf(string actionId) => _systems.Select(s => s.AgentOf(actionId)).FirstOrDefault(a => a is not null);

    public string? ActionWithPlan(string agent, string planHash) => _systems.Select(s => s.ActionWithPlan(agent, planHash)).FirstOrDefault(a => a is not null);

    public string? ActionSince(string agent, string tool, string planHash, DateTimeOffset since) =>
        (Of(tool) is { } system ? [system] : _systems).Select(s => s.ActionSince(agent, tool, planHash, since)).FirstOrDefault(a => a is not null);

    public async Task<IReadOnlyList<InterruptedSend>> StopInterruptedAsync(DateTimeOffset? begunBefore = null, CancellationToken cancellationToken = default)
    {
        var all = new List<InterruptedSend>();
        foreach (var system in _systems)
        {
            all.AddRange(await system.StopInterruptedAsync(begunBefore, cancellationToken).ConfigureAwait(false));
        }

        return all;
    }

    /// <summary>
    /// What undoing would restore. One action goes to the system that journaled it; an agent's
    /// window is the workspace's, or that of the one system holding its actions. A window that
    /// spans systems is refused for now: each system's changes are undone in their own transaction.
    /// </summary>
    public async ValueTask<SystemResult<RollbackPlan>> PlanRollbackAsync(RollbackRequest request, CancellationToken cancellationToken = default)
    {
        var found = await ForAsync(request, cancellationToken).ConfigureAwait(false);
        if (!found.Succeeded)
        {
            return found.Error!;
        }

        // An agent's window was planned already, to find the system holding it.
        return found.Value!.Plan is { } plan ? plan : await PlannedAsync(found.Value.System, request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A system's rollback plan. A database that cannot be reached throws; the rollback then says
    /// which system, undoes nothing, and is never taken for one with nothing to undo.
    /// </summary>
    private static async ValueTask<SystemResult<RollbackPlan>> PlannedAsync(IGovernedSystem system, RollbackRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await system.PlanRollbackAsync(request, cancellationToken).ConfigureAwait(false);
        }
        // Npgsql's own error, or (from Warden.Postgres on a connection the server dropped) a disposed transaction.
        catch (Exception e) when (e is Npgsql.NpgsqlException or ObjectDisposedException)
        {
            return SystemError.Refused($"system '{system.Catalogue.System}' cannot be reached, so nothing was undone: {e.Message}");
        }
    }

    public async Task<SystemResult<RollbackResult>> RollBackAsync(RollbackRequest request, ConflictResolution resolution, string actor, CancellationToken cancellationToken = default)
    {
        var found = await ForAsync(request, cancellationToken).ConfigureAwait(false);
        return found.Succeeded ? await found.Value!.System.RollBackAsync(request, resolution, actor, cancellationToken).ConfigureAwait(false) : found.Error!;
    }

    /// <summary>The system a rollback goes to, with its plan when finding it took planning (an agent's window).</summary>
    private sealed record Found(IGovernedSystem System, RollbackPlan? Plan);

    private async ValueTask<SystemResult<Found>> ForAsync(RollbackRequest request, CancellationToken cancellationToken)
    {
        if (request.ActionId is { } actionId)
        {
            return Owning(actionId) is { } owner ? new Found(owner, null) : SystemError.NotFound($"there is no action '{actionId}'");
        }

        var holding = new List<Found>();
        foreach (var system in _systems)
        {
            var planned = await PlannedAsync(system, request, cancellationToken).ConfigureAwait(false);
            if (planned is { Succeeded: true, Value.Actions.Count: > 0 })
            {
                holding.Add(new Found(system, planned.Value));
            }
            else if (planned.Error is { Code: not "not_found" } error)
            {
                return error; // a window with one system's actions left out is not undone
            }
        }

        return holding.Count switch
        {
            0 => new Found(_systems[0], null),
            1 => holding[0],
            _ => SystemError.Refused($"the agent's actions in that window are in {holding.Count} systems ({string.Join(", ", holding.Select(h => h.System.Catalogue.System))}); roll back each action by its id"),
        };
    }
}
