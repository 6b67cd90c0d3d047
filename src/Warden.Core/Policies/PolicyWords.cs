using Warden.Core.Policies;

namespace Warden.Core;

/// <summary>The words the policy file uses for effects, kinds and metrics: how the gateway, the trail and the API write them too.</summary>
public static class PolicyWords
{
    /// <summary>allow, approve or deny.</summary>
    public static string Of(Effect effect) => Names.Of(effect);

    /// <summary>read, write, delete, send, sync or configure.</summary>
    public static string Of(ActionKind kind) => Names.Of(kind);

    /// <summary>calls, changed_records, deleted_records, sends or recipients.</summary>
    public static string Of(GuardMetric metric) => Names.Of(metric);
}
