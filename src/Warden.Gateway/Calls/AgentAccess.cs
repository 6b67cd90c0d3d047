using System.Collections.Concurrent;
using Warden.Core;

namespace Warden.Gateway.Calls;

/// <summary>What each agent may reach in this gateway's environment: the tools it can ever be granted, and how what it reads is masked. Worked out once per agent and policy.</summary>
internal sealed class AgentAccess(PolicyInForce policies, string environment, GovernedSystems systems)
{
    private volatile Worked _worked = new(policies.Current);
    private readonly HashSet<string> _ids = systems.Ids.ToHashSet(StringComparer.Ordinal);
    private readonly bool _upstreams = systems.Upstreams.Any();

    /// <summary>
    /// The tools of the systems governed here that the policy can ever grant the agent here: what it
    /// is shown, and all it may call. An upstream server's tools the policy does not annotate are
    /// those it lists now that a rule can grant (held for a person).
    /// </summary>
    public IReadOnlySet<string> GrantedTools(Agent agent) => GrantedTools(policies.Current, agent);

    /// <summary>The tools <paramref name="policy"/> (the one a call started under) can ever grant the agent here.</summary>
    public IReadOnlySet<string> GrantedTools(Policy policy, Agent agent)
    {
        var (_, granted, _) = WorkedOut(policy);
        var annotated = granted.GetOrAdd(agent.Id, _ =>
            policy.Grants(agent.Id, environment).Where(g => _ids.Contains(g.Tool.System)).Select(g => g.Tool.Name).ToHashSet(StringComparer.Ordinal));
        if (!_upstreams)
        {
            return annotated; // the call path of a gateway without upstreams allocates nothing more here
        }

        var unannotated = Unannotated(policy, agent).Select(g => g.Tool.Name).ToList();
        return unannotated.Count == 0 ? annotated : new HashSet<string>([.. annotated, .. unannotated], StringComparer.Ordinal);
    }

    /// <summary>What the agent can be granted here, each tool as its system offers it (an upstream's with the server's input schema).</summary>
    public IEnumerable<ToolGrant> Grants(Agent agent)
    {
        var policy = policies.Current;
        foreach (var grant in policy.Grants(agent.Id, environment).Where(g => _ids.Contains(g.Tool.System)))
        {
            yield return systems.Definition(policy, grant.Tool.Name) is { } offered && !ReferenceEquals(offered, grant.Tool) ? grant with { Tool = offered } : grant;
        }

        foreach (var grant in Unannotated(policy, agent))
        {
            yield return grant;
        }
    }

    private IEnumerable<ToolGrant> Unannotated(Policy policy, Agent agent) =>
        systems.Upstreams.SelectMany(u => u.Catalogue.Tools).Where(t => !t.Annotated)
            .Select(t => policy.GrantUnannotated(agent.Id, environment, t)).OfType<ToolGrant>();

    /// <summary>What an agent reads, masked as its policy says.</summary>
    public ReadMask MaskFor(Agent agent) => MaskFor(policies.Current, agent);

    /// <summary>What an agent reads, masked as <paramref name="policy"/> (the one a call started under) says.</summary>
    public ReadMask MaskFor(Policy policy, Agent agent)
    {
        var (_, _, masks) = WorkedOut(policy);
        // Masked as that policy says of the agent, whichever policy the caller found it in.
        return masks.GetOrAdd(agent.Id, _ => ReadMask.For(policy, policy.FindAgent(agent.Id) ?? agent));
    }

    /// <summary>
    /// What was worked out under <paramref name="policy"/>: kept for the policy in force, started
    /// afresh once a reload replaced it; for an older policy a call started under, worked out for that call alone.
    /// </summary>
    private Worked WorkedOut(Policy policy)
    {
        var worked = _worked;
        if (ReferenceEquals(worked.Policy, policy))
        {
            return worked;
        }

        if (!ReferenceEquals(policy, policies.Current))
        {
            return new Worked(policy);
        }

        _worked = worked = new Worked(policy);
        return worked;
    }

    private sealed record Worked(Policy Policy)
    {
        public ConcurrentDictionary<string, IReadOnlySet<string>> Granted { get; } = new(StringComparer.Ordinal);

        public ConcurrentDictionary<string, ReadMask> Masks { get; } = new(StringComparer.Ordinal);

        public void Deconstruct(out Policy policy, out ConcurrentDictionary<string, IReadOnlySet<string>> granted, out ConcurrentDictionary<string, ReadMask> masks) =>
            (policy, granted, masks) = (Policy, Granted, Masks);
    }
}
