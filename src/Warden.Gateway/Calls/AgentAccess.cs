using System.Collections.Concurrent;
using Warden.Core;

namespace Warden.Gateway.Calls;

/// <summary>What each agent may reach in this gateway's environment: the tools it can ever be granted, and how what it reads is masked. Worked out once per agent.</summary>
internal sealed class AgentAccess(Policy policy, string environment, GovernedSystems systems)
{
    private readonly ConcurrentDictionary<string, ReadMask> _masks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IReadOnlySet<string>> _granted = new(StringComparer.Ordinal);
    private readonly HashSet<string> _ids = systems.Ids.ToHashSet(StringComparer.Ordinal);
    private readonly bool _upstreams = systems.Upstreams.Any();

    /// <summary>
    /// The tools of the systems governed here that the policy can ever grant the agent here: what it
    /// is shown, and all it may call. An upstream server's tools the policy does not annotate are
    /// those it lists now that a rule can grant (held for a person).
    /// </summary>
    public IReadOnlySet<string> GrantedTools(Agent agent)
    {
        var annotated = _granted.GetOrAdd(agent.Id, _ =>
            policy.Grants(agent.Id, environment).Where(g => _ids.Contains(g.Tool.System)).Select(g => g.Tool.Name).ToHashSet(StringComparer.Ordinal));
        if (!_upstreams)
        {
            return annotated; // the call path of a gateway without upstreams allocates nothing more here
        }

        var unannotated = Unannotated(agent).Select(g => g.Tool.Name).ToList();
        return unannotated.Count == 0 ? annotated : new HashSet<string>([.. annotated, .. unannotated], StringComparer.Ordinal);
    }

    /// <summary>What the agent can be granted here, each tool as its system offers it (an upstream's with the server's input schema).</summary>
    public IEnumerable<ToolGrant> Grants(Agent agent)
    {
        foreach (var grant in policy.Grants(agent.Id, environment).Where(g => _ids.Contains(g.Tool.System)))
        {
            yield return systems.Definition(policy, grant.Tool.Name) is { } offered && !ReferenceEquals(offered, grant.Tool) ? grant with { Tool = offered } : grant;
        }

        foreach (var grant in Unannotated(agent))
        {
            yield return grant;
        }
    }

    private IEnumerable<ToolGrant> Unannotated(Agent agent) =>
        systems.Upstreams.SelectMany(u => u.Catalogue.Tools).Where(t => !t.Annotated)
            .Select(t => policy.GrantUnannotated(agent.Id, environment, t)).OfType<ToolGrant>();

    /// <summary>What an agent reads, masked as its policy says.</summary>
    public ReadMask MaskFor(Agent agent) => _masks.GetOrAdd(agent.Id, _ => ReadMask.For(policy, agent));
}
