namespace Warden.Core.Policies;

/// <summary>The words a policy file uses for enum values, in one place for the binder and for messages.</summary>
internal static class Names
{
    public static readonly IReadOnlyDictionary<string, Effect> Effects = new Dictionary<string, Effect>
    {
        ["allow"] = Effect.Allow, ["approve"] = Effect.Approve, ["deny"] = Effect.Deny,
    };

    public static readonly IReadOnlyDictionary<string, RuleMode> Modes = new Dictionary<string, RuleMode>
    {
        ["enforce"] = RuleMode.Enforce, ["shadow"] = RuleMode.Shadow,
    };

    public static readonly IReadOnlyDictionary<string, ActionKind> Kinds = new Dictionary<string, ActionKind>
    {
        ["read"] = ActionKind.Read, ["write"] = ActionKind.Write, ["delete"] = ActionKind.Delete,
        ["send"] = ActionKind.Send, ["sync"] = ActionKind.Sync, ["configure"] = ActionKind.Configure,
    };

    public static readonly IReadOnlyDictionary<string, Reversibility> Reversibilities = new Dictionary<string, Reversibility>
    {
        ["reversible"] = Reversibility.Reversible, ["compensable"] = Reversibility.Compensable, ["irreversible"] = Reversibility.Irreversible,
    };

    public static readonly IReadOnlyDictionary<string, Rating> Ratings = new Dictionary<string, Rating>
    {
        ["low"] = Rating.Low, ["medium"] = Rating.Medium, ["high"] = Rating.High,
    };

    public static readonly IReadOnlyDictionary<string, OwnerRole> Roles = new Dictionary<string, OwnerRole>
    {
        ["approver"] = OwnerRole.Approver, ["business_owner"] = OwnerRole.BusinessOwner, ["technical_owner"] = OwnerRole.TechnicalOwner,
        ["data_owner"] = OwnerRole.DataOwner, ["risk_owner"] = OwnerRole.RiskOwner, ["auditor"] = OwnerRole.Auditor,
    };

    public static readonly IReadOnlyDictionary<string, ReviewCadence> Cadences = new Dictionary<string, ReviewCadence>
    {
        ["monthly"] = ReviewCadence.Monthly, ["quarterly"] = ReviewCadence.Quarterly,
        ["semiannual"] = ReviewCadence.Semiannual, ["annual"] = ReviewCadence.Annual,
    };

    public static readonly IReadOnlyDictionary<string, GuardMetric> Metrics = new Dictionary<string, GuardMetric>
    {
        ["calls"] = GuardMetric.Calls, ["changed_records"] = GuardMetric.ChangedRecords, ["deleted_records"] = GuardMetric.DeletedRecords,
        ["sends"] = GuardMetric.Sends, ["recipients"] = GuardMetric.Recipients, ["read_records"] = GuardMetric.ReadRecords,
    };

    public static readonly IReadOnlyDictionary<string, BreakerAction> BreakerActions = new Dictionary<string, BreakerAction>
    {
        ["freeze"] = BreakerAction.Freeze, ["alert"] = BreakerAction.Alert,
    };

    public static readonly IReadOnlyDictionary<string, ArgumentType> ArgumentTypes = new Dictionary<string, ArgumentType>
    {
        ["string"] = ArgumentType.String, ["integer"] = ArgumentType.Integer, ["number"] = ArgumentType.Number,
        ["boolean"] = ArgumentType.Boolean, ["string_list"] = ArgumentType.StringList, ["object"] = ArgumentType.Object,
    };

    public static readonly string[] OwnerSlots = ["business", "technical", "data", "risk"];

    public static readonly string[] DefaultEnvironments = ["sandbox", "production"];

    public static string Of(Effect effect) => effect switch { Effect.Allow => "allow", Effect.Approve => "approve", _ => "deny" };

    public static string Of(ActionKind kind) => KindNames[(int)kind];

    public static string Of(GuardMetric metric) => Metrics.First(m => m.Value == metric).Key;

    /// <summary>Indexed by <see cref="ActionKind"/>: conditions read the kind as a string without allocating.</summary>
    public static readonly string[] KindNames = ["read", "write", "delete", "send", "sync", "configure"];
}
