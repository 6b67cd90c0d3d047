namespace Warden.Core.Policies;

/// <summary>
/// What a use case's tier lets rules grant it (allow or approve). Denials are never capped.
/// <list type="bullet">
/// <item>low: reads and reversible writes, all staying inside;</item>
/// <item>medium: reads, writes, deletes and configuration changes that are not irreversible and stay inside;</item>
/// <item>high: anything, with irreversible and external actions always held for a person (invariant 2).</item>
/// </list>
/// </summary>
internal static class TierCaps
{
    public static string? Violation(Tier tier, ActionKind kind, Reversibility reversibility, bool external) => tier switch
    {
        Tier.Low when !external && (kind == ActionKind.Read || (kind == ActionKind.Write && reversibility == Reversibility.Reversible)) => null,
        Tier.Low => "a low-tier use case may be granted only reads and reversible writes that stay inside",
        Tier.Medium when kind is ActionKind.Send or ActionKind.Sync || reversibility == Reversibility.Irreversible || external =>
            "a medium-tier use case may not be granted sends, syncs, or irreversible or external actions",
        _ => null,
    };

    public static string? Violation(Tier tier, ToolDefinition tool) => Violation(tier, tool.Kind, tool.Reversibility, tool.External);

    /// <summary>What the tier allows, for messages.</summary>
    public static string? Describe(Tier tier) => Violation(tier, ActionKind.Delete, Reversibility.Irreversible, external: true);

    public static string Name(Tier tier) => tier.ToString().ToLowerInvariant();
}
