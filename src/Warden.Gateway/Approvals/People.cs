using Warden.Core;

namespace Warden.Gateway.Approvals;

/// <summary>People as approvers and messages name them.</summary>
internal static class People
{
    /// <summary>"Sam Okafor (sam)": the person's name and id; the id alone for someone the policy does not name.</summary>
    public static string Who(this Policy policy, string person) => policy.FindOwner(person) is { } owner ? $"{owner.Name} ({owner.Id})" : person;
}
