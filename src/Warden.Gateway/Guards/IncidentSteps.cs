using Warden.Core;
using Warden.Core.Audit;
using Warden.Storage.Gateway;

namespace Warden.Gateway.Guards;

/// <summary>
/// A person acknowledges or resolves an incident, from the API or the console: only the people it
/// is routed to may, each step once and in order, and the trail records it.
/// </summary>
internal static class IncidentSteps
{
    public const string NotRouted = "not_routed", NotNow = "not_now";

    /// <summary>Null when the incident moved on; why not otherwise (not_found, not_routed, not_now).</summary>
    public static async Task<SystemError?> AdvanceAsync(Gateway gateway, string person, string id, IncidentStatus next)
    {
        var incident = gateway.Store.Incidents.List().FirstOrDefault(i => i.Id == id);
        if (incident is null)
        {
            return SystemError.NotFound($"there is no incident {id}");
        }

        if (!incident.Owners.Contains(person))
        {
            return new SystemError(NotRouted, $"{person} is not among the people incident {id} is routed to ({string.Join(", ", incident.Owners)})");
        }

        var status = IncidentStore.Word(next);
        if (!gateway.Store.Incidents.Advance(id, next, person, gateway.Clock.GetUtcNow()))
        {
            return new SystemError(NotNow, $"incident {id} is {IncidentStore.Word(incident.Status)}: it cannot be {status} now");
        }

        await gateway.AuditAsync(new AuditEntry
        {
            Kind = AuditKinds.Incident, Environment = gateway.Environment, Agent = incident.Agent, UseCase = incident.UseCase, Person = person,
            Effect = status, Detail = $"incident {id} ({incident.Kind}) {status}", Outcome = "ok",
        }).ConfigureAwait(false);
        return null;
    }
}
