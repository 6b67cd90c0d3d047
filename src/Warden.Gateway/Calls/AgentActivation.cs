using Warden.Core;
using Warden.Core.Audit;
using Warden.Workspace;

namespace Warden.Gateway.Calls;

/// <summary>
/// Letting an agent act in an environment (production asks for it): an owner of its use case
/// decides, in an environment the policy grants the agent, and the trail records who and when.
/// One path for the API and the console.
/// </summary>
internal static class AgentActivation
{
    /// <summary>Codes of what is refused, mapped to HTTP at the edge.</summary>
    public const string UnknownAgent = "unknown_agent", NotAnOwner = "not_an_owner", NotGranted = "not_granted";

    /// <summary>Activates <paramref name="agentId"/> for <paramref name="environment"/> as <paramref name="person"/>; null when done, otherwise why not.</summary>
    public static async Task<SystemError?> ActivateAsync(Gateway gateway, string agentId, string environment, string person)
    {
        var policy = gateway.Policy;
        if (policy.FindAgent(agentId) is not { } agent)
        {
            return new SystemError(UnknownAgent, $"there is no agent '{agentId}'");
        }

        var owners = policy.FindUseCase(agent.UseCase)!.Owners;
        if (!owners.Include(person))
        {
            return new SystemError(NotAnOwner, $"{person} cannot activate agent '{agentId}': that takes an owner of use case '{agent.UseCase}' ({owners})");
        }

        if (!agent.Environments.Contains(environment))
        {
            return new SystemError(NotGranted, $"agent '{agentId}' may not act in {environment} at all (the policy grants it {string.Join(", ", agent.Environments)})");
        }

        gateway.Store.Activations.Activate(agent.Id, environment, person, gateway.Clock.GetUtcNow());
        await gateway.AuditAsync(new AuditEntry
        {
            Kind = AuditKinds.Activation,
            Environment = environment,
            Agent = agent.Id,
            UseCase = agent.UseCase,
            Person = person,
            Detail = $"agent {agent.Id} activated for {environment}",
            Outcome = "ok",
        }).ConfigureAwait(false);
        return null;
    }
}
