using System.Text.Json;
using Warden.Core.Diagnostics;
using Warden.Core.Policies;
using Warden.Core.Yaml;

namespace Warden.Core;

/// <summary>What a policy test case expects. Fields left null are not checked.</summary>
public sealed record PolicyTestExpectation(Effect Effect, string? Rule = null, DecisionBasis? Basis = null, string? Exception = null, string? Budget = null, Effect? Shadow = null);

/// <summary>One policy unit test: a call, the guard state around it, and the expected decision.</summary>
public sealed record PolicyTestCase(string Name, DecisionRequest Request, GuardSnapshot Guards, PolicyTestExpectation Expect, SourceLocation At)
{
    /// <summary>Why the gateway would refuse the case's arguments before any rule decides, each with where it is in the test file.</summary>
    internal IReadOnlyList<string> ArgumentProblems { get; init; } = [];
}

/// <summary>What came of one test case.</summary>
public sealed record PolicyTestResult(PolicyTestCase Case, Decision Decision, IReadOnlyList<string> Mismatches)
{
    /// <summary>True when the decision met every expectation.</summary>
    public bool Passed => Mismatches.Count == 0;
}

/// <summary>
/// Policy unit tests, as <c>opa test</c> has them: a YAML file of calls and the decisions they must
/// get. Cases run against a loaded policy; a failing case says what was expected, what came, and
/// which rule decided.
/// </summary>
public sealed class PolicyTestSuite
{
    private PolicyTestSuite(IReadOnlyList<PolicyTestCase> cases) => Cases = cases;

    /// <summary>The cases, in file order.</summary>
    public IReadOnlyList<PolicyTestCase> Cases { get; }

    /// <summary>Reads a test file. Returns null, with diagnostics, when the file is malformed.</summary>
    /// <remarks>Cases are decided at the file's <c>now:</c>, or the clock's time when it has none.</remarks>
    public static PolicyTestSuite? Parse(string text, string source, Policy policy, out IReadOnlyList<Diagnostic> diagnostics, TimeProvider? clock = null)
    {
        var bag = new DiagnosticBag();
        var root = YamlReader.Read(text, source, bag);
        var cases = new List<PolicyTestCase>();
        if (root is not null)
        {
            var top = new MappingReader(root, "the test file", bag, ["now", "environment", "cases"]);
            var now = top.Time("now")?.Value ?? (clock ?? TimeProvider.System).GetUtcNow();
            var environment = top.String("environment")?.Value ?? policy.Environments[0];
            var items = top.Sequence("cases");
            if (items is null && top.IsValid && !top.Has("cases"))
            {
                top.Missing("cases");
            }

            foreach (var item in items?.Items ?? [])
            {
                if (Case(item, now, environment, policy, bag) is { } testCase)
                {
                    cases.Add(testCase);
                }
            }

            if (items is { Items.Count: 0 })
            {
                bag.Error(DiagnosticCode.TestCase, items.Start, "the test file has no cases");
            }
        }

        diagnostics = bag.Sorted();
        return bag.HasErrors ? null : new PolicyTestSuite(cases);
    }

    /// <summary>Runs every case against the policy.</summary>
    public IReadOnlyList<PolicyTestResult> Run(Policy policy) => [.. Cases.Select(c => Run(policy, c))];

    private static PolicyTestResult Run(Policy policy, PolicyTestCase testCase)
    {
        var decision = policy.Decide(testCase.Request, testCase.Guards);
        var expect = testCase.Expect;

        // A case whose arguments every real call is refused for tests a decision that never happens.
        var mismatches = new List<string>(testCase.ArgumentProblems);
        if (decision.Effect != expect.Effect)
        {
            mismatches.Add($"expected {Names.Of(expect.Effect)}, got {Names.Of(decision.Effect)}");
        }

        if (expect.Rule is { } rule && decision.Rule?.Id != rule)
        {
            mismatches.Add($"expected rule '{rule}' to decide, but {(decision.Rule is null ? "no rule did" : $"rule '{decision.Rule.Id}' did")}");
        }

        if (expect.Basis is { } basis && decision.Basis != basis)
        {
            mismatches.Add($"expected it to be decided by {Basis(basis)}, but it was decided by {Basis(decision.Basis)}");
        }

        if (expect.Exception is { } exception && decision.Exception?.Id != exception)
        {
            mismatches.Add($"expected exception '{exception}' to apply, but {(decision.Exception is null ? "none did" : $"'{decision.Exception.Id}' did")}");
        }

        if (expect.Budget is { } budget && decision.Budget?.Id != budget)
        {
            mismatches.Add($"expected budget '{budget}' to refuse it, but {(decision.Budget is null ? "no budget did" : $"'{decision.Budget.Id}' did")}");
        }

        if (expect.Shadow is { } shadow && decision.ShadowEffect != shadow)
        {
            mismatches.Add($"expected the shadow rules to say {Names.Of(shadow)}, but {(decision.ShadowEffect is { } s ? $"they said {Names.Of(s)}" : "no shadow rule matched")}");
        }

        return new PolicyTestResult(testCase, decision, mismatches);
    }

    private static string? Named(Located<string>? name, string noun, IReadOnlyCollection<string> known, string what, DiagnosticBag bag)
    {
        if (name is { } n && !known.Contains(n.Value))
        {
            bag.Error(DiagnosticCode.UnknownReference, n.At, $"{what} expects the {noun} '{n.Value}', which the policy does not have", Suggest.HintOrChoices(n.Value, known));
        }

        return name?.Value;
    }

    private static readonly Dictionary<string, DecisionBasis> Bases = Enum.GetValues<DecisionBasis>()
        .ToDictionary(b => Snake(b.ToString()), b => b, StringComparer.Ordinal);

    /// <summary>The snake_case word for a basis, as test files write it.</summary>
    public static string Basis(DecisionBasis basis) => Snake(basis.ToString());

    private static string Snake(string name) => string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    private static PolicyTestCase? Case(YamlNode node, DateTimeOffset now, string environment, Policy policy, DiagnosticBag bag)
    {
        var name = node is YamlMapping m && m["name"] is YamlScalar s ? s.Value : null;
        var r = new MappingReader(node, name is null ? "this case" : $"case '{name}'", bag,
            ["name", "agent", "tool", "system", "environment", "args", "facts", "now", "frozen", "usage", "on_behalf_of", "expect"]);
        if (!r.IsValid)
        {
            return null;
        }

        var errors = bag.Items.Count(d => d.Severity == Severity.Error);
        var caseName = r.String("name", required: true)?.Value ?? "";
        var agentName = r.String("agent", required: true);
        var agent = agentName?.Value ?? "";
        var toolName = r.String("tool", required: true);
        var tool = toolName?.Value ?? "";
        var systemName = r.String("system");
        // Without system:, a tool of a system whose tools Warden knows (the workspace, a declared database) names its system.
        var system = systemName?.Value ?? KnownSystemOf(policy, tool);
        var caseEnvironment = r.String("environment")?.Value ?? environment;
        var caseNow = r.Time("now")?.Value ?? now;
        var definition = Identity(r, agentName, systemName is null ? null : systemName, toolName, policy, bag, system);

        var args = default(JsonElement);
        IReadOnlyList<string> argumentProblems = [];
        if (r.Node("args") is { } argsNode)
        {
            if (argsNode is YamlMapping argsMap)
            {
                args = YamlJson.Convert(argsNode);
                if (definition is not null)
                {
                    argumentProblems = ArgumentProblems(definition, args, argsMap);
                }
            }
            else
            {
                bag.Error(DiagnosticCode.WrongType, argsNode.Start, $"'args' in {r.What} should be a mapping of argument names to values");
            }
        }

        var facts = PlanFacts.None;
        if (r.Node("facts") is { } factsNode)
        {
            if (!StrictJson.TryReadFacts(YamlJson.Convert(factsNode), out facts, out var error))
            {
                bag.Error(DiagnosticCode.WrongType, factsNode.Start, $"the facts of {r.What} are wrong: {error}");
            }
        }

        var usage = new Dictionary<string, long>(StringComparer.Ordinal);
        if (r.Mapping("usage") is { } usageNode)
        {
            var u = new MappingReader(usageNode, $"the usage of {r.What}", bag, usageNode.Entries.Select(e => e.Key.Value).ToList());
            foreach (var (key, _) in usageNode.Entries)
            {
                if (policy.Budgets.All(b => b.Id != key.Value))
                {
                    bag.Error(DiagnosticCode.UnknownReference, key.Start, $"the policy has no budget '{key.Value}'",
                        Suggest.HintOrChoices(key.Value, policy.Budgets.Select(b => b.Id).ToList()));
                }
                else if (u.Integer(key.Value, 0, long.MaxValue) is { } used)
                {
                    usage[key.Value] = used.Value;
                }
            }
        }

        var person = r.String("on_behalf_of");
        var onBehalfOf = person?.Value;
        if (person is { } named && policy.FindOwner(named.Value) is null)
        {
            bag.Error(DiagnosticCode.UnknownReference, named.At, $"{r.What} is on behalf of '{onBehalfOf}', who is not a person of the policy",
                Suggest.HintOrChoices(named.Value, policy.Owners.Select(o => o.Id).ToList()));
        }

        // A budget per person counts nothing for a call on nobody's behalf: usage given for one
        // without a person would be ignored, and the case would pass whatever the budget says.
        foreach (var budget in policy.Budgets.Where(b => b.PerPerson && usage.ContainsKey(b.Id) && onBehalfOf is null))
        {
            bag.Error(DiagnosticCode.InvalidValue, r.At, $"{r.What} gives usage for '{budget.Id}', a budget per person, but no on_behalf_of: it would count nothing",
                "add on_behalf_of: PERSON");
        }

        var frozen = r.Boolean("frozen")?.Value ?? false;
        var expect = Expectation(r, policy, bag);
        if (expect is null || bag.Items.Count(d => d.Severity == Severity.Error) > errors)
        {
            return null;
        }

        var request = new DecisionRequest(agent, tool, caseEnvironment, args, facts, caseNow) { System = system, OnBehalfOf = onBehalfOf };
        var guards = new GuardSnapshot { Usage = usage, FrozenAgents = frozen ? new HashSet<string> { agent } : new HashSet<string>() };
        return new PolicyTestCase(caseName, request, guards, expect, r.At) { ArgumentProblems = argumentProblems };
    }

    /// <summary>
    /// The case's agent, system and tool must be the policy's: a case for an agent nobody declared,
    /// or a misspelt tool, is decided as a deny whatever the policy says, and would pass as one.
    /// Returns the tool's definition, or null when it is not known (an upstream tool the policy
    /// does not annotate, which a case may rightly try).
    /// </summary>
    private static string KnownSystemOf(Policy policy, string tool) =>
        policy.Catalogues.SelectMany(c => c.Tools).FirstOrDefault(t => t.Name == tool)?.System ?? ToolDefinition.WorkspaceSystem;

    private static ToolDefinition? Identity(MappingReader r, Located<string>? agent, Located<string>? system, Located<string>? tool, Policy policy, DiagnosticBag bag, string systemId)
    {
        if (agent is { } a && policy.FindAgent(a.Value) is null)
        {
            bag.Error(DiagnosticCode.UnknownReference, a.At, $"{r.What} is a call by '{a.Value}', which is not an agent of the policy",
                Suggest.HintOrChoices(a.Value, policy.Agents.Select(x => x.Id).ToList()));
        }

        if (system is { } s && s.Value != ToolDefinition.WorkspaceSystem && policy.Systems.All(x => x.Id != s.Value) && policy.Declared.All(x => x.Id != s.Value))
        {
            bag.Error(DiagnosticCode.UnknownReference, s.At, $"{r.What} names the system '{s.Value}', which the policy does not declare",
                Suggest.HintOrChoices(s.Value, [ToolDefinition.WorkspaceSystem, .. policy.Systems.Select(x => x.Id), .. policy.Declared.Select(x => x.Id)]));
            return null;
        }

        if (tool is not { } t)
        {
            return null;
        }

        var definition = policy.FindTool(systemId, t.Value);
        if (definition is null && systemId == ToolDefinition.WorkspaceSystem)
        {
            bag.Error(DiagnosticCode.UnknownReference, t.At, $"{r.What} calls '{t.Value}', which is not a workspace tool",
                Suggest.Hint(t.Value, policy.Tools.Where(x => x.System == systemId).Select(x => x.Name)) ?? "an upstream tool needs system: too");
        }

        return definition;
    }

    /// <summary>The problems the gateway would refuse the arguments for, each with where it is in the file.</summary>
    private static List<string> ArgumentProblems(ToolDefinition tool, JsonElement args, YamlMapping node)
    {
        var problems = new List<string>();
        foreach (var problem in tool.CheckArguments(args))
        {
            var at = node.Start;
            foreach (var (key, value) in node.Entries)
            {
                if (key.Value == problem.Argument)
                {
                    // An argument the tool does not take is its name; a bad value is the value.
                    at = tool.Arguments!.Any(a => a.Name == key.Value) ? value.Start : key.Start;
                }
            }

            problems.Add($"args ({at}): {problem.Message}; the gateway refuses such a call before any rule decides it");
        }

        return problems;
    }

    private static PolicyTestExpectation? Expectation(MappingReader r, Policy policy, DiagnosticBag bag)
    {
        switch (r.Node("expect"))
        {
            case null:
                r.Missing("expect", "write expect: allow, approve or deny, or a mapping with effect: and rule:");
                return null;
            case YamlScalar scalar:
                return r.ChoiceOf(scalar, "expect", Names.Effects) is { } effect ? new PolicyTestExpectation(effect.Value) : null;
            case var node:
                var e = new MappingReader(node, $"the expectation of {r.What}", bag, ["effect", "rule", "basis", "exception", "budget", "shadow"]);
                var expected = e.Choice("effect", Names.Effects, required: true);
                var basis = e.Choice("basis", Bases);
                var shadow = e.Choice("shadow", Names.Effects);

                // A misspelt name here would make the case fail with a puzzling "but rule 'x' did".
                var rule = Named(e.String("rule"), "rule", policy.Rules.Select(x => x.Id).ToList(), r.What, bag);
                var exception = Named(e.String("exception"), "exception", policy.Exceptions.Select(x => x.Id).ToList(), r.What, bag);
                var budget = Named(e.String("budget"), "budget", policy.Budgets.Select(x => x.Id).ToList(), r.What, bag);
                return expected is null ? null
                    : new PolicyTestExpectation(expected.Value.Value, rule, basis?.Value, exception, budget, shadow?.Value);
        }
    }
}
