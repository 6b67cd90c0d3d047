using Warden.Core;
using Warden.Core.Audit;

namespace Warden.Gateway.Calls;

/// <summary>A rollback done: what the system did, and the trail entry that records it.</summary>
internal sealed record RolledBack(RollbackResult Done, long AuditSeq);

/// <summary>
/// A person's rollback of an action, or of an agent's actions in a time window, as the API and the
/// console both run it: only an owner of the agent's use case may preview or run it (a refusal is
/// recorded); the run is intended before it starts and recorded once it ended, and is an action
/// itself, so that it can be rolled back in turn.
/// </summary>
internal static class PersonRollback
{
    public const string NotAnOwner = "not_an_owner";

    /// <summary>What the rollback would restore and what conflicts, for an owner of the agent's use case.</summary>
    public static async Task<SystemResult<RollbackPlan>> PreviewAsync(Gateway gateway, string person, RollbackRequest request)
    {
        var refused = await AuthorizeAsync(gateway, person, request).ConfigureAwait(false);
        return refused ?? (SystemResult<RollbackPlan>)await gateway.Systems.PlanRollbackAsync(request).ConfigureAwait(false);
    }

    public static async Task<SystemResult<RolledBack>> RunAsync(Gateway gateway, string person, RollbackRequest request, bool force)
    {
        if (await AuthorizeAsync(gateway, person, request).ConfigureAwait(false) is { } refused)
        {
            return refused;
        }

        var agent = gateway.Policy.FindAgent(AgentOf(gateway, request)!)!;
        var rollbackOf = request.ActionId is { } undone ? gateway.Store.Intents.ActionEntry(undone) : null;
        var intended = new AuditEntry
        {
            Kind = AuditKinds.Rollback, Environment = gateway.Environment, Agent = agent.Id, UseCase = agent.UseCase, Person = person, RollbackOf = rollbackOf,
            Detail = $"rollback of {request.ActionId ?? $"{agent.Id}'s actions from {request.From:O} to {request.To:O}"}" + (force ? " (forced)" : ""), Outcome = "ok",
        };
        var intent = gateway.Recovery.Intend(person, "rollback", "", intended);
        try
        {
            return await RollBackAsync(gateway, request, person, force, intended, intent).ConfigureAwait(false);
        }
        finally
        {
            gateway.Recovery.Release(intent); // settled already, unless the rollback broke: then it is recovered as a stopped gateway's is
        }
    }

    private static async Task<SystemResult<RolledBack>> RollBackAsync(Gateway gateway, RollbackRequest request, string person, bool force, AuditEntry intended, string intent)
    {
        var result = await gateway.Systems.RollBackAsync(request, force ? ConflictResolution.Force : ConflictResolution.Skip, person, CancellationToken.None).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            gateway.Recovery.Settle(intent);
            return result.Error!;
        }

        var done = result.Value!;
        var seq = await gateway.AuditAsync(intended with
        {
            ActionId = done.ActionId,
            Detail = $"undid {string.Join(", ", done.Undone)}: {done.Restored:N0} records restored" + (done.Skipped.Count > 0 ? $", {done.Skipped.Count:N0} skipped (changed since)" : "")
                     + (done.Overwritten.Count > 0 ? $", {done.Overwritten.Count:N0} changed since and overwritten (forced)" : force ? " (forced)" : ""),
        }).ConfigureAwait(false);
        // The rollback is an action too: rolling it back links to this entry.
        gateway.Store.Intents.RememberAction(done.ActionId, seq);
        gateway.Recovery.Settle(intent);
        return new RolledBack(done, seq);
    }

    // A rollback is run by a person, but undoing it re-applies the agent's work, so it is the agent's.
    private static string? AgentOf(Gateway gateway, RollbackRequest request) => request.ActionId is { } action ? gateway.Systems.AgentOf(action) : request.Agent;

    /// <summary>Null when <paramref name="person"/> may undo what the request names; the refusal otherwise (recorded when it is the person who may not).</summary>
    private static async Task<SystemError?> AuthorizeAsync(Gateway gateway, string person, RollbackRequest request)
    {
        var agentId = AgentOf(gateway, request);
        if (agentId is null || gateway.Policy.FindAgent(agentId) is not { } owned)
        {
            return SystemError.NotFound(request.ActionId is null ? "a rollback names an action, or an agent with a time window" : $"there is no action {request.ActionId} that an agent of this policy applied");
        }

        // Undoing an agent's work is for the people who answer for it: an owner of its use case.
        var owners = gateway.Policy.FindUseCase(owned.UseCase)!.Owners;
        if (owners.Include(person))
        {
            return null;
        }

        var refusal = $"{person} cannot roll back what agent '{agentId}' did: that takes an owner of use case '{owned.UseCase}' ({owners})";
        await gateway.AuditAsync(new AuditEntry
        {
            Kind = AuditKinds.Rollback, Environment = gateway.Environment, Agent = agentId, UseCase = owned.UseCase, Person = person,
            ActionId = request.ActionId, Effect = "deny", Reason = refusal, Outcome = "refused",
        }).ConfigureAwait(false);
        return new SystemError(NotAnOwner, refusal);
    }
}
