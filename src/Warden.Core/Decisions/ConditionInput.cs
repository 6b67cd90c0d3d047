using System.Text.Json;

namespace Warden.Core.Cel;

/// <summary>Everything a rule's condition can read about one call, resolved once per decision.</summary>
internal readonly struct ConditionInput(
    PlanFacts facts,
    IReadOnlyList<string> classes,
    JsonElement arguments,
    string environment,
    string agent,
    string useCase,
    string system,
    string tool,
    string kind,
    bool external,
    bool reversible,
    long deleted,
    long changed)
{
    public readonly PlanFacts Facts = facts;

    /// <summary>Records the call deletes and changes, from the plan or, where it does not say, from the tool's kind (GuardAmounts).</summary>
    public readonly long Deleted = deleted;
    public readonly long Changed = changed;

    /// <summary>The plan's classes and those of its fields (see DataClassMap).</summary>
    public readonly IReadOnlyList<string> Classes = classes;
    public readonly JsonElement Arguments = arguments;
    public readonly string Environment = environment;
    public readonly string Agent = agent;
    public readonly string UseCase = useCase;
    public readonly string System = system;
    public readonly string Tool = tool;
    public readonly string Kind = kind;
    public readonly bool External = external;
    public readonly bool Reversible = reversible;
}
