using Warden.Core;

namespace Warden.Gateway.Calls;

/// <summary>The stable code an agent gets for each reason a decision refuses.</summary>
internal static class RefusalCodes
{
    public static string Of(DecisionBasis basis) => basis switch
    {
        DecisionBasis.Rule => "denied_by_rule",
        DecisionBasis.DefaultDeny => "not_granted",
        DecisionBasis.Frozen => "frozen",
        DecisionBasis.Budget => "budget_exceeded",
        DecisionBasis.Environment => "wrong_environment",
        DecisionBasis.TierCap => "beyond_tier",
        DecisionBasis.Destination => "unknown_destination",
        _ => "refused",
    };
}
