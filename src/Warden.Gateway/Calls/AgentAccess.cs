using System.Collections.Concurrent;
using Warden.Core;

namespace Warden.Gateway.Calls;

/// <summary>What each agent may reach in this gateway's environment: the tools it can ever be granted, and how what it reads is masked. Worked out once per agent.</summary>
internal sealed class AgentAccess(Policy policy, string environment, IReadOnlySet<string> systems)
{
    private readonly ConcurrentDictionary<string, ReadMask> _masks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IReadOnlySet<string>> _granted = new(StringComparer.Ordinal);

    /// <summary>The tools of the systems governed here that the policy can ever grant the agent here: what it is shown, and all it may call.</summary>
    public IReadOnlySet<string> GrantedTools(Agent agent) => _granted.GetOrAdd(agent.Id, _ =>
        policy.Grants(agent.Id, environment).Where(g => systems.Contains(g.Tool.System)).Select(g => g.Tool.Name).ToHashSet(StringComparer.Ordinal));

    /// <summary>What an agent reads, masked as its policy says.</summary>
    public ReadMask MaskFor(Agent agent) => _masks.GetOrAdd(agent.Id, _ => ReadMask.For(policy, agent));
}
