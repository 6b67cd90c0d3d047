namespace Warden.Core;

/// <summary>The kind of a finding, stable so that tools and tests can match on it.</summary>
public enum DiagnosticCode
{
    /// <summary>The file cannot be read as YAML, or is too large or too deep.</summary>
    Syntax,
    /// <summary>A field the schema does not know.</summary>
    UnknownField,
    /// <summary>A required field is missing.</summary>
    MissingField,
    /// <summary>A value of the wrong shape or type.</summary>
    WrongType,
    /// <summary>A value outside what the field allows.</summary>
    InvalidValue,
    /// <summary>Two things share one name.</summary>
    DuplicateName,
    /// <summary>A name that refers to nothing declared.</summary>
    UnknownReference,
    /// <summary>References that go round in a circle.</summary>
    Cycle,
    /// <summary>A condition that does not parse.</summary>
    ConditionSyntax,
    /// <summary>A condition that does not type-check.</summary>
    ConditionType,
    /// <summary>A rule whose match or condition can never hold.</summary>
    RuleNeverMatches,
    /// <summary>A grant that would let an irreversible or external action run without a person.</summary>
    IrreversibleWithoutApproval,
    /// <summary>A grant beyond what the use case's tier allows.</summary>
    TierCapExceeded,
    /// <summary>A use case that does not name its owners.</summary>
    MissingOwner,
    /// <summary>An agent whose credential is written out instead of referenced.</summary>
    SecretInPolicy,
    /// <summary>An exception that has expired, or one granted by someone who may not.</summary>
    ExceptionProblem,
    /// <summary>A use case whose review is overdue.</summary>
    ReviewOverdue,
    /// <summary>An approval that nobody could give, or a quorum larger than the approvers.</summary>
    ApprovalUnsatisfiable,
    /// <summary>A deny rule without a message for the agent.</summary>
    MissingMessage,
    /// <summary>A data-class pattern that matches no known field.</summary>
    UnmatchedPattern,
    /// <summary>A rule that never decides, because a stronger rule without a condition covers every call it matches.</summary>
    RuleOutranked,
    /// <summary>A policy test case whose expectation did not hold, or that cannot run.</summary>
    TestCase,
}
