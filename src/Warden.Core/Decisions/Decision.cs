using System.Globalization;
using Warden.Core.Policies;

namespace Warden.Core;

/// <summary>What decided a call.</summary>
public enum DecisionBasis
{
    /// <summary>A rule matched.</summary>
    Rule,
    /// <summary>An active exception over a matching rule.</summary>
    Exception,
    /// <summary>No rule matched: default deny.</summary>
    DefaultDeny,
    /// <summary>The agent is not in the policy.</summary>
    UnknownAgent,
    /// <summary>The tool or system is not known.</summary>
    UnknownTool,
    /// <summary>The agent may not act in this environment.</summary>
    Environment,
    /// <summary>The agent is frozen by the kill switch or a breaker.</summary>
    Frozen,
    /// <summary>The grant would exceed the use case's tier.</summary>
    TierCap,
    /// <summary>An allow was raised to an approval because the action is irreversible or external.</summary>
    Invariant,
    /// <summary>A budget would be exceeded.</summary>
    Budget,
    /// <summary>Evaluation failed; the call is denied (fail closed).</summary>
    EvaluationFailed,
    /// <summary>A sync to a destination the policy does not name.</summary>
    Destination,
}

/// <summary>
/// The answer for one call: allow, approve (wait for people) or deny, with the rule that decided and
/// a human-readable reason. A struct, and the reason is written only when asked for, so deciding
/// allocates nothing.
/// </summary>
public readonly struct Decision
{
    private static readonly ApprovalRequirement[] NoApprovals = [];

    private readonly string? _detail;
    private readonly long _used;
    private readonly long _amount;

    internal Decision(Effect effect, DecisionBasis basis, in DecisionRequest request, Rule? rule = null,
        IReadOnlyList<ApprovalRequirement>? approvals = null, PolicyException? exception = null, Budget? budget = null,
        string? detail = null, long used = 0, long amount = 0, string? conditionError = null)
    {
        Effect = effect;
        Basis = basis;
        Agent = request.Agent;
        Tool = request.Tool;
        System = request.System;
        Environment = request.Environment;
        Rule = rule;
        Approvals = approvals ?? NoApprovals;
        Exception = exception;
        Budget = budget;
        ConditionError = conditionError;
        _detail = detail;
        _used = used;
        _amount = amount;
    }

    private Decision(in Decision decision, Effect? shadowEffect, Rule? shadowRule)
    {
        this = decision;
        ShadowEffect = shadowEffect;
        ShadowRule = shadowRule;
    }

    /// <summary>Allow, approve or deny.</summary>
    public Effect Effect { get; }

    /// <summary>What decided it.</summary>
    public DecisionBasis Basis { get; }

    /// <summary>The rule that decided, when a rule did (also under an exception, a tier cap or the invariant).</summary>
    public Rule? Rule { get; }

    /// <summary>Who must approve, when the effect is approve: one requirement per approving rule, all to be met.</summary>
    public IReadOnlyList<ApprovalRequirement> Approvals { get; }

    /// <summary>The exception the call was allowed under, if any.</summary>
    public PolicyException? Exception { get; }

    /// <summary>The budget that refused the call, if any.</summary>
    public Budget? Budget { get; }

    /// <summary>When the deciding rule applied because its condition failed to evaluate (fail closed), the error.</summary>
    public string? ConditionError { get; }

    /// <summary>What the outcome would be with shadow rules enforced, when a shadow rule matched.</summary>
    public Effect? ShadowEffect { get; }

    /// <summary>The shadow rule that matched, if any.</summary>
    public Rule? ShadowRule { get; }

    /// <summary>The calling agent.</summary>
    public string Agent { get; }

    /// <summary>The tool called.</summary>
    public string Tool { get; }

    /// <summary>The tool's system.</summary>
    public string System { get; }

    /// <summary>The environment of the call.</summary>
    public string Environment { get; }

    /// <summary>True when the call may run now.</summary>
    public bool IsAllowed => Effect == Effect.Allow;

    internal Decision WithShadow(Effect? effect, Rule? rule) => new(this, effect, rule);

    /// <summary>What the agent is told: a deny rule's own message, or the reason.</summary>
    public string Message => Effect == Effect.Deny && Basis == DecisionBasis.Rule && Rule?.Message is { } message ? message : Reason;

    /// <summary>Why, in a sentence a person can check. Written when asked for.</summary>
    public string Reason => Basis switch
    {
        DecisionBasis.Rule when Effect == Effect.Allow => $"Allowed by rule '{Rule!.Id}'.",
        DecisionBasis.Rule when Effect == Effect.Approve && Approvals.Count == 1 => $"Rule '{Rule!.Id}' holds this call for approval: {Describe(Approvals)}.",
        DecisionBasis.Rule when Effect == Effect.Approve => $"Rules {string.Join(" and ", Approvals.Select(a => $"'{a.Rule}'"))} hold this call for approval, each to be met: {Describe(Approvals)}.",
        DecisionBasis.Rule => $"Denied by rule '{Rule!.Id}'" + (Rule.Message is { } m ? $": {m}" : ".")
                              + (ConditionError is { } e ? $" (its condition failed to evaluate: {e}; failing closed)" : ""),
        DecisionBasis.Exception => $"Allowed by exception '{Exception!.Id}' over rule '{Rule!.Id}', granted by {Exception.GrantedBy} until {Exception.Until.UtcDateTime:yyyy-MM-dd HH:mm}Z: {Exception.Reason}",
        DecisionBasis.DefaultDeny => $"No rule grants agent '{Agent}' the tool '{Tool}' in {Environment} (default deny).",
        DecisionBasis.UnknownAgent => $"'{Agent}' is not an agent of this policy.",
        DecisionBasis.UnknownTool => $"'{Tool}' is not a tool of system '{System}'.",
        DecisionBasis.Environment => $"Agent '{Agent}' may act only in {_detail}; this call is in {Environment}.",
        DecisionBasis.Frozen => $"Agent '{Agent}' is frozen (kill switch or breaker); no call runs until an owner unfreezes it.",
        DecisionBasis.TierCap => $"Rule '{Rule?.Id}' would grant '{Tool}', but {_detail}.",
        DecisionBasis.Invariant => $"Rule '{Rule!.Id}' allows '{Tool}', but it is {_detail}; such actions always need a person: {Describe(Approvals)}.",
        DecisionBasis.Destination => _detail is null
            ? $"'{Tool}' names no destination; a sync goes only to a destination the policy names under destinations."
            : $"'{_detail}' is not a destination the policy names; a sync goes only to a destination listed under destinations (a person adds one after review).",
        DecisionBasis.Budget => string.Create(CultureInfo.InvariantCulture,
            $"Budget '{Budget!.Id}' would be exceeded{(_detail is null ? "" : $" for {_detail}")}: {_used:N0} of {Budget.Limit:N0} {Names.Of(Budget.Metric).Replace('_', ' ')} used{(_detail is null ? "" : $" on their behalf")} in the last {Yaml.MappingReader.FormatDuration(Budget.Window)}, and this call adds {_amount:N0}."),
        _ => $"The decision failed and the call is denied (fail closed): {_detail}",
    };

    private static string Describe(IReadOnlyList<ApprovalRequirement> approvals) => string.Join("; and ", approvals.Select(a =>
        $"{a.Quorum} of {string.Join(", ", a.Approvers)} within {Yaml.MappingReader.FormatDuration(a.Expiry)}"));

    /// <inheritdoc />
    public override string ToString() => $"{Names.Of(Effect)}: {Reason}";
}

/// <summary>What happened to one rule while deciding a call.</summary>
public enum RuleOutcome
{
    /// <summary>The rule matched.</summary>
    Matched,
    /// <summary>The rule's condition was false.</summary>
    NotMatched,
    /// <summary>The condition failed to evaluate; the rule applied if it restricts (deny, approve) and not if it allows.</summary>
    ConditionError,
    /// <summary>The rule does not cover the call's environment.</summary>
    OtherEnvironment,
    /// <summary>The rule matched and an active exception turned it into an allow.</summary>
    ExceptionApplied,
    /// <summary>A shadow rule that matched; recorded, not enforced.</summary>
    ShadowMatched,
    /// <summary>A shadow rule that did not match.</summary>
    ShadowNotMatched,
}

/// <summary>One rule considered for a call, and what became of it.</summary>
public sealed record RuleTrace(Rule Rule, RuleOutcome Outcome, string Detail);

/// <summary>A decision with the trace of how it was reached: for <c>warden policy explain</c> and for people.</summary>
public sealed record Explanation(
    Decision Decision,
    Agent? Agent,
    UseCase? UseCase,
    ToolDefinition? Tool,
    IReadOnlyList<RuleTrace> Rules,
    IReadOnlyList<string> Steps);
