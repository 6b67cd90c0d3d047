using System.Text.Json;
using Warden.Core;

namespace Warden.Core.Tests;

/// <summary>A small valid policy that tests extend with the rules (and other sections) they are about.</summary>
internal static class TestPolicies
{
    public static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    public const string Base = """
        version: 1
        id: test
        owners:
          - { id: ana, name: Ana Lind, email: ana@example.com, roles: [approver, business_owner, risk_owner] }
          - { id: bo, name: Bo Berg, email: bo@example.com, roles: [approver, technical_owner, data_owner] }
          - { id: cy, name: Cy Dahl, email: cy@example.com, roles: [approver] }
        use_cases:
          - id: ops
            classification: { access: high, autonomy: medium, data_sensitivity: medium, customer_impact: high, compliance_exposure: medium, reversibility: high }
            owners: { business: ana, technical: bo, data: bo, risk: ana }
            escalation: ana
          - id: tidy
            classification: { access: medium, autonomy: medium, data_sensitivity: low, customer_impact: low, compliance_exposure: low, reversibility: low }
            owners: { business: ana, technical: bo, data: bo, risk: ana }
            escalation: bo
          - id: look
            classification: { access: low, autonomy: low, data_sensitivity: low, customer_impact: low, compliance_exposure: low, reversibility: low }
            owners: { business: ana, technical: bo, data: bo, risk: ana }
            escalation: bo
        agents:
          - { id: ops-bot, use_case: ops, environments: [sandbox, production], auth: { token: env:T_OPS } }
          - { id: tidy-bot, use_case: tidy, environments: [sandbox, production], auth: { token: env:T_TIDY } }
          - { id: look-bot, use_case: look, environments: [sandbox], auth: { token: env:T_LOOK } }
        """;

    /// <summary>The base policy with extra top-level sections appended (rules:, exceptions:, ...).</summary>
    public static string With(string sections) => Base + "\n" + sections.Trim('\n') + "\n";

    public static PolicyLoadResult Load(string text) =>
        PolicyLoader.Load(text, "test.yaml", new PolicyLoadOptions { Clock = new FixedClock(Now), Systems = [Warden.Workspace.WorkspaceCatalogue.Catalogue], Kinds = Kinds });

    /// <summary>The kinds of system the example policy declares (its warehouse is a PostgreSQL database).</summary>
    public static readonly IReadOnlyDictionary<string, Func<DeclaredSystem, SystemCatalogue>> Kinds =
        new Dictionary<string, Func<DeclaredSystem, SystemCatalogue>> { [Warden.Postgres.PostgresDatabase.Kind] = Warden.Postgres.PostgresDatabase.DeclaredCatalogue };

    /// <summary>Loads and insists on success, showing the diagnostics when it fails.</summary>
    public static Policy Valid(string text)
    {
        var result = Load(text);
        Assert.True(result.Succeeded, string.Join("\n", result.Diagnostics));
        return result.Policy!;
    }

    public static Policy WithRules(string rules) => Valid(With("rules:\n" + rules));

    public static DecisionRequest Call(string agent, string tool, string environment = "sandbox", string args = "{}", PlanFacts? facts = null,
        DateTimeOffset? now = null, string system = "workspace") =>
        new(agent, tool, environment, JsonDocument.Parse(args).RootElement.Clone(), facts ?? PlanFacts.None, now ?? Now) { System = system };

    public static Diagnostic Single(PolicyLoadResult result, DiagnosticCode code)
    {
        var matching = result.Diagnostics.Where(d => d.Code == code).ToList();
        Assert.True(matching.Count == 1, $"expected one {code}, got:\n{string.Join("\n", result.Diagnostics)}");
        return matching[0];
    }

    /// <summary>Line (1-based) of the first line of text containing the fragment.</summary>
    public static int LineOf(string text, string fragment)
    {
        var lines = text.Split('\n');
        var index = Array.FindIndex(lines, l => l.Contains(fragment, StringComparison.Ordinal));
        Assert.True(index >= 0, $"'{fragment}' is not in the text");
        return index + 1;
    }

    public static int ColumnOf(string text, string fragment) =>
        text.Split('\n')[LineOf(text, fragment) - 1].IndexOf(fragment, StringComparison.Ordinal) + 1;
}

internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
