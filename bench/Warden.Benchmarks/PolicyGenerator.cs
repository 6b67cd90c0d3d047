using System.Globalization;
using System.Text;
using System.Text.Json;
using Warden.Core;
using Warden.Workspace;

namespace Warden.Benchmarks;

/// <summary>
/// Generates a realistic, valid policy of N rules, deterministically (same N and seed, same text),
/// and calls to decide against it. Shape: N/10 agents in N/200 use cases (at least 2 each); 85% of
/// rules name one agent, 12% one use case, the rest (at most 50) apply to everyone. Rules target one
/// workspace tool, or a family such as contacts.* narrowed by kind; conditions mix counts, data
/// classes, field lists and arguments, as the example policy does.
/// </summary>
internal static class PolicyGenerator
{
    /// <summary>How generated policies are loaded: with the workspace's catalogue, as the gateway loads them.</summary>
    public static PolicyLoadOptions Options { get; } = new() { Systems = [WorkspaceCatalogue.Catalogue] };

    private static readonly string[] FactConditions =
    [
        "records <= {n}",
        "records > {n} && 'pii' in classes",
        "!('consent' in classes) && records < {n}",
        "fields.exists(f, f.startsWith('contacts.email'))",
        "environment == 'production' && records > {n}",
        "'restricted' in classes || records > {n}",
        "fields.all(f, f.startsWith('contacts.')) && size(fields) <= 3",
        "tool in ['contacts.update', 'lists.add_members', 'lifecycle.set_stage'] && records < {n}",
    ];

    public static string Generate(int ruleCount, int seed = 42)
    {
        var random = new Random(seed);
        var agentCount = Math.Max(2, ruleCount / 10);
        var useCaseCount = Math.Max(2, ruleCount / 200);
        var tools = WorkspaceCatalogue.Tools;
        var granted = tools.Where(t => !t.AlwaysNeedsPerson).ToList();
        var text = new StringBuilder();
        text.Append("""
            version: 1
            id: generated
            owners:
              - { id: owner-a, name: Owner A, email: a@example.com, roles: [approver, business_owner, risk_owner] }
              - { id: owner-b, name: Owner B, email: b@example.com, roles: [approver, technical_owner, data_owner] }
            use_cases:

            """);
        for (var u = 0; u < useCaseCount; u++)
        {
            text.Append(CultureInfo.InvariantCulture, $"""
                  - id: uc-{u}
                    classification: {"{"} access: high, autonomy: medium, data_sensitivity: medium, customer_impact: high, compliance_exposure: medium, reversibility: medium {"}"}
                    owners: {"{"} business: owner-a, technical: owner-b, data: owner-b, risk: owner-a {"}"}
                    escalation: owner-a

                """);
        }

        text.Append("agents:\n");
        for (var a = 0; a < agentCount; a++)
        {
            text.Append(CultureInfo.InvariantCulture, $"  - {{ id: agent-{a}, use_case: uc-{a % useCaseCount}, environments: [sandbox, production], auth: {{ token: env:T_{a} }} }}\n");
        }

        text.Append("rules:\n");
        var global = 0;
        for (var r = 0; r < ruleCount; r++)
        {
            var roll = random.NextDouble();
            string scope;
            if (roll < 0.85 || global >= 50)
            {
                scope = $"agent: agent-{random.Next(agentCount)}";
            }
            else if (roll < 0.97)
            {
                scope = $"use_case: uc-{random.Next(useCaseCount)}";
            }
            else
            {
                scope = "use_case: '*'";
                global++;
            }

            var effectRoll = random.NextDouble();
            var effect = effectRoll < 0.2 ? "deny" : effectRoll < 0.5 ? "approve" : "allow";
            ToolDefinition? single = null;
            string target;
            if (random.NextDouble() < 0.7)
            {
                single = effect == "allow" ? granted[random.Next(granted.Count)] : tools[random.Next(tools.Count)];
                target = $"tool: {single.Name}";
            }
            else
            {
                var family = new[] { "contacts.*", "lists.*", "segments.*", "campaigns.*" }[random.Next(4)];
                target = $"tool: '{family}', kind: [read, write]";
            }

            var condition = Condition(random, single);
            var tail = effect switch
            {
                "deny" => ", message: generated deny",
                "approve" => ", approval: { approvers: [owner:data], expires: 24h }",
                _ => "",
            };
            text.Append(CultureInfo.InvariantCulture, $"  - {{ id: r-{r}, {scope}, {target}, when: \"{condition}\", effect: {effect}{tail} }}\n");
        }

        return text.ToString();
    }

    private static string Condition(Random random, ToolDefinition? tool)
    {
        var n = random.Next(10, 5000).ToString(CultureInfo.InvariantCulture);
        if (tool?.Arguments is { Count: > 0 } arguments && random.NextDouble() < 0.3)
        {
            var argument = arguments[random.Next(arguments.Count)];
            var test = argument.Type switch
            {
                ArgumentType.String => $"args.{argument.Name}.startsWith('seg-')",
                ArgumentType.StringList => $"args.{argument.Name}.exists(i, i == 'c-{n}')",
                ArgumentType.Integer => $"args.{argument.Name} > {n}",
                ArgumentType.Boolean => $"args.{argument.Name} == true",
                _ => $"size(args.{argument.Name}) > 2",
            };
            return $"has(args.{argument.Name}) && {test} && records < {n}";
        }

        return FactConditions[random.Next(FactConditions.Length)].Replace("{n}", n, StringComparison.Ordinal);
    }

    /// <summary>A deterministic mix of calls: every agent, tools from the whole catalogue, varied facts and arguments.</summary>
    public static DecisionRequest[] Calls(Policy policy, int count, int seed = 7)
    {
        var random = new Random(seed);
        var now = new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
        var arguments = new[]
        {
            """{"ids": ["c-1", "c-2"], "set": {"country": "DE"}}""",
            """{"filter": "country = 'DE'", "set": {"lifecycle_stage": "lead"}}""",
            """{"segment": "seg-42", "limit": 100}""",
            """{"list": "newsletter", "ids": ["c-9"]}""",
            "{}",
        }.Select(a => JsonDocument.Parse(a).RootElement.Clone()).ToArray();
        var facts = new[]
        {
            new PlanFacts { Records = 12, Fields = ["contacts.country"] },
            new PlanFacts { Records = 2400, Classes = ["pii"], Fields = ["contacts.email", "contacts.first_name"] },
            new PlanFacts { Records = 1, Classes = ["consent"], Fields = ["contacts.email_consent"] },
            new PlanFacts { Records = 180, Fields = ["contacts.lifecycle_stage", "contacts.lead_score"] },
        };
        var calls = new DecisionRequest[count];
        for (var i = 0; i < count; i++)
        {
            var agent = policy.Agents[random.Next(policy.Agents.Count)];
            var tool = WorkspaceCatalogue.Tools[random.Next(WorkspaceCatalogue.Tools.Count)];
            calls[i] = new DecisionRequest(agent.Id, tool.Name, random.Next(2) == 0 ? "sandbox" : "production",
                arguments[random.Next(arguments.Length)], facts[random.Next(facts.Length)], now);
        }

        return calls;
    }
}
