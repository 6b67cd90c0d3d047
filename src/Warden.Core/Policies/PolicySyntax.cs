using Warden.Core.Yaml;

namespace Warden.Core.Policies;

// The policy as written, with the place of every name and value. The binder fills it from YAML;
// the validator checks it; the builder turns it into the public model and the compiled index.

internal sealed class PolicySyntax
{
    public required string Source { get; init; }
    public required string Text { get; init; }
    public Located<long>? Version { get; set; }
    public Located<string>? Id { get; set; }
    public string Description { get; set; } = "";
    public List<Located<string>> Environments { get; } = [];
    public List<OwnerSyntax> Owners { get; } = [];
    public List<GroupSyntax> Groups { get; } = [];
    public List<DataClassSyntax> DataClasses { get; } = [];
    public List<UseCaseSyntax> UseCases { get; } = [];
    public List<AgentSyntax> Agents { get; } = [];
    public List<SystemSyntax> Systems { get; } = [];
    public List<RuleSyntax> Rules { get; } = [];
    public List<ExceptionSyntax> Exceptions { get; } = [];
    public List<BudgetSyntax> Budgets { get; } = [];
    public List<BreakerSyntax> Breakers { get; } = [];
    public List<DestinationSyntax> Destinations { get; } = [];
}

internal sealed record DestinationSyntax(Located<string> Id, string Description);

internal sealed record OwnerSyntax(Located<string> Id, string Name, string Email, List<Located<OwnerRole>> Roles, Located<string>? Token);

internal sealed record GroupSyntax(Located<string> Id, List<Located<string>> Members);

internal sealed record DataClassSyntax(Located<string> Name, List<Located<string>> Patterns);

internal sealed record UseCaseSyntax(
    Located<string> Id,
    string Description,
    Classification? Classification,
    Located<string>? Business,
    Located<string>? Technical,
    Located<string>? Data,
    Located<string>? Risk,
    Located<string>? Escalation,
    ReviewCadence Review,
    Located<DateOnly>? LastReviewed,
    SourceLocation At);

internal sealed record AgentSyntax(
    Located<string> Id,
    string Description,
    Located<string>? UseCase,
    List<Located<string>> Environments,
    Located<string>? Token,
    List<Located<string>> Sees,
    SourceLocation At);

internal sealed record SystemSyntax(Located<string> Id, string Description, List<ToolSyntax> Tools)
{
    public Located<string>? Kind { get; init; }

    /// <summary>The connection reference in each environment the system is in.</summary>
    public List<(Located<string> Environment, Located<string> Connection)> Connections { get; init; } = [];

    public List<Located<string>> Tables { get; init; } = [];

    /// <summary>An upstream MCP server's endpoint in each environment it is in.</summary>
    public List<(Located<string> Environment, EndpointSyntax Endpoint)> Endpoints { get; init; } = [];

    public Located<TimeSpan>? Timeout { get; init; }

    /// <summary>For an upstream with SQL tools: the connection Warden holds to classify their statements.</summary>
    public Located<string>? SqlConnection { get; init; }

    /// <summary>For an upstream: what is done with text in its results that tries to instruct the agent (flag, the default, or withhold).</summary>
    public Located<bool>? InstructionsInResults { get; init; }

    public SourceLocation At { get; init; }
}

/// <summary>How an upstream is reached, as written: a command (stdio) or a URL (Streamable HTTP), with the references it is given.</summary>
internal sealed record EndpointSyntax(
    List<Located<string>> Command,
    Located<string>? Url,
    List<(Located<string> Name, Located<string> Reference)> Headers,
    List<(Located<string> Name, Located<string> Reference)> Environment,
    SourceLocation At);

internal sealed record ToolSyntax(
    Located<string> Name,
    string Description,
    Located<ActionKind>? Kind,
    Located<Reversibility>? Reversibility,
    Located<bool>? External,
    List<ToolArgument>? Arguments,
    SourceLocation At)
{
    /// <summary>Data classes in the result, by JSON path.</summary>
    public List<(Located<string> Path, List<Located<string>> Classes)> Result { get; init; } = [];

    /// <summary>Data classes in the arguments, by JSON path.</summary>
    public List<(Located<string> Path, List<Located<string>> Classes)> ArgumentClasses { get; init; } = [];

    /// <summary>How many records a call touches, as a CEL expression over its arguments.</summary>
    public ConditionSyntax? Records { get; init; }

    /// <summary>The read that previews a call: its before-image and affected records.</summary>
    public ProxiedCallSyntax? Preview { get; init; }

    /// <summary>The call that reverses one.</summary>
    public ProxiedCallSyntax? Undo { get; init; }

    /// <summary>The version of the tool the policy approves (sha256:...).</summary>
    public Located<string>? Pin { get; init; }

    /// <summary>For a database server's SQL tool: the argument that holds its statement (args.sql).</summary>
    public YamlNode? Sql { get; init; }
}

/// <summary>A call Warden makes for a proxied call (its preview, its undo): a tool of the same upstream, and how its arguments are built.</summary>
internal sealed record ProxiedCallSyntax(Located<string> Tool, YamlNode? Arguments, Located<string>? Records, SourceLocation At);

internal sealed record ConditionSyntax(string Text, YamlScalar Node);

internal sealed record ApprovalSyntax(
    List<Located<string>> Approvers,
    Located<long>? Quorum,
    Located<TimeSpan>? Expiry,
    List<Located<string>> Show,
    SourceLocation At);

internal sealed record RuleSyntax(
    Located<string> Id,
    string Description,
    List<Located<string>> Agents,
    List<Located<string>> UseCases,
    List<Located<string>> Environments,
    List<Located<string>> Systems,
    List<Located<string>> Tools,
    List<Located<ActionKind>> Kinds,
    ConditionSyntax? Condition,
    Located<Effect> Effect,
    Located<string>? Message,
    ApprovalSyntax? Approval,
    RuleMode Mode,
    SourceLocation At);

internal sealed record ExceptionSyntax(
    Located<string> Id,
    Located<string>? Agent,
    Located<string>? Rule,
    Located<Effect> Effect,
    ConditionSyntax? Condition,
    Located<DateTimeOffset>? Until,
    Located<string>? GrantedBy,
    string Reason,
    SourceLocation At);

internal sealed record BudgetSyntax(
    Located<string> Id,
    Located<string>? Agent,
    Located<string>? UseCase,
    bool PerPerson,
    Located<GuardMetric>? Metric,
    Located<long>? Limit,
    Located<TimeSpan>? Window,
    SourceLocation At);

internal sealed record BreakerSyntax(
    Located<string> Id,
    Located<string>? Agent,
    Located<string>? UseCase,
    Located<GuardMetric>? Metric,
    Located<long>? Over,
    Located<TimeSpan>? Within,
    BreakerAction Then,
    SourceLocation At);
