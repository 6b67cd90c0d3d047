namespace Warden.Core.Policies;

/// <summary>
/// What a use case's tier lets rules grant it (allow or approve). Denials are never capped.
/// <list type="bullet">
/// <item>low: reads, and writes that are reversible and stay inside;</item>
/// <item>medium: reads, writes, deletes and configuration changes that are not irreversible and stay inside;</item>
/// <item>high: anything, with irreversible and external actions always held for a person (invariant 2).</item>
/// </list>
/// </summary>
internal static class TierCaps
{
    public static string? Violation(Tier tier, ActionKind kind, bool irreversible, bool external) => tier switch
    {
        Tier.Low when kind == ActionKind.Read => null,
        Tier.Low when kind == ActionKind.Write && !irreversible && !external => null,
        Tier.Low => "a low-tier use case may be granted only reads and reversible writes",
        Tier.Medium when kind is ActionKind.Send or ActionKind.Sync || irreversible || external =>
            "a medium-tier use case may not be granted sends, syncs, or irreversible or external actions",
        _ => null,
    };

    public static string? Violation(Tier tier, ToolDefinition tool) =>
        Violation(tier, tool.Kind, tool.Reversibility == Reversibility.Irreversible, tool.External);

    public static string Name(Tier tier) => tier.ToString().ToLowerInvariant();
}
