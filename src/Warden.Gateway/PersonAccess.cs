using Warden.Core;

namespace Warden.Gateway;

/// <summary>
/// What a person's roles let them see and do beyond deciding requests (which the rules' approvers
/// decide): one place for the console and the API alike.
/// </summary>
internal static class PersonAccess
{
    /// <summary>What a person lacking <see cref="MayReadTrail"/> is told.</summary>
    public const string TrailRefusal = "the trail is open to auditors and to business, technical, data and risk owners; an approver reads the requests put to them";

    /// <summary>
    /// The whole trail (every agent's calls with their arguments, records and results as recorded):
    /// auditors, who reconstruct incidents, and owners, who answer for use cases. An approver alone
    /// sees the requests put to them, not everything every agent did.
    /// </summary>
    public static bool MayReadTrail(Policy policy, string person) =>
        policy.FindOwner(person) is { } owner && (owner.Has(OwnerRole.Auditor) || OwnsSome(owner));

    /// <summary>Whether the person holds one of the four owner roles (business, technical, data, risk).</summary>
    public static bool OwnsSome(Owner owner) =>
        owner.Roles.Any(r => r is OwnerRole.BusinessOwner or OwnerRole.TechnicalOwner or OwnerRole.DataOwner or OwnerRole.RiskOwner);

    /// <summary>Reloading the policy: those who answer for how agents are run (technical owners) and for the risk (risk owners).</summary>
    public static bool MayReload(Policy policy, string person) =>
        policy.FindOwner(person) is { } owner && (owner.Has(OwnerRole.TechnicalOwner) || owner.Has(OwnerRole.RiskOwner));
}
