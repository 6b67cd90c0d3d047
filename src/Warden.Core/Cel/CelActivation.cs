using System.Runtime.CompilerServices;

namespace Warden.Core.Cel;

/// <summary>Evaluates one compiled node against the activation.</summary>
internal delegate CelValue CelEval(ref CelActivation activation);

/// <summary>
/// What a condition is evaluated against: the call's facts, plus slots for the variables of
/// exists()/all(). Lives on the caller's stack and is passed by reference, so evaluation allocates nothing.
/// </summary>
internal struct CelActivation
{
    public const int MaxNestedComprehensions = 4;

    public ConditionInput Input;
    public CelSlots Slots;

    public CelActivation(in ConditionInput input)
    {
        Input = input;
    }
}

[InlineArray(CelActivation.MaxNestedComprehensions)]
internal struct CelSlots
{
    private CelValue _slot;
}

/// <summary>A name a condition may use, its type and how to read it from the activation.</summary>
internal sealed record CelVariable(string Name, CelType Type, CelEval Read, string Description)
{
    /// <summary>Known fields when the variable is a map (the arguments of the tools a rule targets).</summary>
    public IReadOnlyDictionary<string, CelType>? Fields { get; init; }

    /// <summary>When true, a field not in <see cref="Fields"/> is an error instead of dyn.</summary>
    public bool FieldsClosed { get; init; }

    /// <summary>How to name the fields in an error, e.g. "the arguments of contacts.update".</summary>
    public string FieldsDescription { get; init; } = "its fields";
}
