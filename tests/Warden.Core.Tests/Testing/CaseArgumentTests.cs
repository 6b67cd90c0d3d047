using static Warden.Core.Tests.TestPolicies;

namespace Warden.Core.Tests.Testing;

/// <summary>
/// A policy test case's arguments are checked as the gateway checks a real call's: a case cannot
/// pass with arguments every real call is refused for (the example's tests used to filter with
/// <c>country = 'DE'</c>, which no call gets past). A case about nobody, or a tool nobody has, is
/// an error at its place.
/// </summary>
public sealed class CaseArgumentTests
{
    private static readonly Policy Example = Valid(Examples.PolicyText);

    private static IReadOnlyList<PolicyTestResult> Run(string cases)
    {
        var suite = PolicyTestSuite.Parse(cases, "cases.yaml", Example, out var diagnostics);
        Assert.True(suite is not null, string.Join("\n", diagnostics));
        return suite.Run(Example);
    }

    [Theory]
    [InlineData("reporting-bot", "contacts.search", "{ filter: \"country = 'DE'\" }", "deny",
        "the filter of contacts.search is not valid: '=' is not an operator in CEL (at '=', character 9); to compare, write '=='", "\"country")]
    [InlineData("hygiene-bot", "contacts.update", "{ filter: \"lifecycle_stage = 'lead' AND updated_at < '2024-01-01'\", set: { lifecycle_stage: subscriber } }", "approve",
        "the filter of contacts.update is not valid", "\"lifecycle_stage")]
    [InlineData("hygiene-bot", "contacts.update", "{ fliter: \"country == 'DE'\", set: { owner: sam } }", "approve",
        "contacts.update has no argument 'fliter'; did you mean 'filter'?", "fliter")]
    [InlineData("hygiene-bot", "contacts.update", "{ ids: [c-1] }", "allow",
        "contacts.update needs 'set': Field changes: field name to new value.", "{ ids")]
    [InlineData("hygiene-bot", "contacts.update", "{ ids: c-1, set: { owner: sam } }", "allow",
        "'ids' of contacts.update must be a list of strings", "c-1,")]
    [InlineData("nurture-bot", "scoring.update_rule", "{ rule: webinar-attended, condition: \"lead_scor > 40\" }", "deny",
        "the new condition of scoring.update_rule is not a valid filter: unknown name 'lead_scor'", "\"lead_scor")]
    [InlineData("nurture-bot", "scoring.update_rule", "{ rule: webinar-attended, points: fifteen }", "deny",
        "'points' of scoring.update_rule must be a whole number", "fifteen")]
    public void A_case_with_arguments_a_real_call_is_refused_for_fails_with_the_problem_and_its_place(string agent, string tool, string args, string expect,
        string problem, string at)
    {
        var cases = $"""
            environment: production
            cases:
              - name: the case
                agent: {agent}
                tool: {tool}
                args: {args}
                facts: {"{"} records: 5 {"}"}
                expect: {expect}
            """;
        var result = Assert.Single(Run(cases));

        Assert.False(result.Passed);
        var line = LineOf(cases, "args:");
        var column = cases.Split('\n')[line - 1].IndexOf(at, StringComparison.Ordinal) + 1;
        Assert.StartsWith($"args (cases.yaml:{line}:{column}): {problem}", result.Mismatches[0]);
    }

    [Fact]
    public void An_annotated_upstream_tool_has_its_arguments_checked_too()
    {
        const string cases = """
            environment: production
            cases:
              - name: crm update
                agent: hygiene-bot
                system: crm
                tool: crm.update_record
                args: { object: Contact, recordid: "003xx", fields: { Title: CMO } }
                expect: approve
            """;
        var result = Assert.Single(Run(cases));
        Assert.StartsWith($"args (cases.yaml:7:{ColumnOf(cases, "recordid")}): crm.update_record has no argument 'recordid'; did you mean 'record_id'?", Assert.Single(result.Mismatches));
    }

    [Fact]
    public void An_unannotated_upstream_tool_may_be_called_with_any_arguments()
    {
        var result = Assert.Single(Run("""
            environment: production
            cases:
              - { name: crm mass delete, agent: hygiene-bot, system: crm, tool: crm.bulk_delete, args: { where: everything }, expect: { effect: deny, basis: default_deny } }
            """));
        Assert.True(result.Passed, string.Join("; ", result.Mismatches));
    }

    [Fact]
    public void A_case_without_args_is_decided_without_them()
    {
        var result = Assert.Single(Run("""
            environment: production
            cases:
              - { name: bulk, agent: hygiene-bot, tool: contacts.update, facts: { records: 5000 }, expect: approve }
            """));
        Assert.True(result.Passed);
    }

    [Theory]
    [InlineData("agent: hygene-bot", "hygene-bot", "case 'c' is a call by 'hygene-bot', which is not an agent of the policy", "did you mean 'hygiene-bot'?")]
    [InlineData("tool: contacts.purg", "contacts.purg", "case 'c' calls 'contacts.purg', which is not a workspace tool", "did you mean 'contacts.purge'?")]
    [InlineData("system: crn", "crn", "case 'c' names the system 'crn', which the policy does not declare", "did you mean 'crm'?")]
    [InlineData("expect: { effect: deny, rule: no-purge-in-productio }", "no-purge-in-productio", "case 'c' expects the rule 'no-purge-in-productio', which the policy does not have", "did you mean 'no-purge-in-production'?")]
    [InlineData("expect: { effect: deny, budget: hygiene-hourly-change }", "hygiene-hourly-change", "case 'c' expects the budget 'hygiene-hourly-change', which the policy does not have", "did you mean 'hygiene-hourly-changes'?")]
    public void A_case_naming_what_the_policy_does_not_have_is_an_error_at_its_place(string line, string name, string message, string hint)
    {
        var fields = new Dictionary<string, string>
        {
            ["agent"] = "agent: hygiene-bot", ["system"] = "", ["tool"] = "tool: contacts.purge", ["expect"] = "expect: { effect: deny, rule: no-purge-in-production }",
        };
        fields[line[..line.IndexOf(':', StringComparison.Ordinal)]] = line;
        var cases = "environment: production\ncases:\n  - name: c\n" + string.Concat(fields.Values.Where(v => v.Length > 0).Select(v => "    " + v + "\n"));

        var suite = PolicyTestSuite.Parse(cases, "cases.yaml", Example, out var diagnostics);

        Assert.Null(suite);
        var error = Assert.Single(diagnostics, d => d.Severity == Severity.Error);
        Assert.Equal((message, hint), (error.Message, error.Hint));
        Assert.Equal(new SourceLocation("cases.yaml", LineOf(cases, line), ColumnOf(cases, name)), error.Location);
    }
}
