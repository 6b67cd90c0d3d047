using static Warden.Core.Tests.TestPolicies;

namespace Warden.Core.Tests.Testing;

/// <summary>Policy unit tests (<c>warden policy test</c>): a failing case says what was expected, what came, and which rule decided.</summary>
public sealed class PolicyTestSuiteTests
{
    private static readonly Policy Policy = WithRules("""
          - { id: reads, kind: read, effect: allow }
          - { id: bulk, agent: tidy-bot, tool: contacts.update, when: "records > 100", effect: approve, approval: { approvers: [bo] } }
          - { id: small, agent: tidy-bot, tool: contacts.update, when: "records <= 100", effect: allow }
        """);

    private static IReadOnlyList<PolicyTestResult> Run(string cases)
    {
        var suite = PolicyTestSuite.Parse(cases, "cases.yaml", Policy, out var diagnostics);
        Assert.True(suite is not null, string.Join("\n", diagnostics));
        return suite.Run(Policy);
    }

    [Fact]
    public void A_passing_case_passes()
    {
        var result = Assert.Single(Run("""
            cases:
              - { name: small update, agent: tidy-bot, tool: contacts.update, facts: { records: 5 }, expect: { effect: allow, rule: small } }
            """));
        Assert.True(result.Passed);
    }

    [Fact]
    public void A_failing_case_says_what_was_expected_and_which_rule_decided()
    {
        var result = Assert.Single(Run("""
            cases:
              - { name: bulk update, agent: tidy-bot, tool: contacts.update, facts: { records: 500 }, expect: { effect: allow, rule: small } }
            """));
        Assert.False(result.Passed);
        Assert.Equal(["expected allow, got approve", "expected rule 'small' to decide, but rule 'bulk' did"], result.Mismatches);
        Assert.Equal("bulk", result.Decision.Rule!.Id);
    }

    [Fact]
    public void A_case_can_expect_the_basis_of_a_decision()
    {
        var result = Assert.Single(Run("""
            cases:
              - { name: frozen, agent: look-bot, tool: contacts.get, frozen: true, expect: { effect: deny, basis: default_deny } }
            """));
        Assert.Equal(["expected it to be decided by default_deny, but it was decided by frozen"], result.Mismatches);
    }

    [Fact]
    public void Arguments_in_yaml_keep_their_types()
    {
        var policy = WithRules("""  - { id: typed, agent: tidy-bot, tool: contacts.update, when: "args.all == true && args.ids[0] == '7' && size(args.ids) == 1", effect: allow }""");
        var suite = PolicyTestSuite.Parse("""
            cases:
              - { name: typed, agent: tidy-bot, tool: contacts.update, args: { all: true, ids: ["7"], set: { job_title: Buyer } }, expect: allow }
            """, "cases.yaml", policy, out _)!;
        Assert.True(Assert.Single(suite.Run(policy)).Passed);
    }

    [Fact]
    public void A_malformed_case_file_is_reported_with_places()
    {
        var suite = PolicyTestSuite.Parse("""
            cases:
              - name: no expectation
                agent: tidy-bot
                tool: contacts.get
              - name: typo
                agent: tidy-bot
                tool: contacts.get
                expct: allow
              - name: bad facts
                agent: tidy-bot
                tool: contacts.get
                facts: { recrods: 5 }
                expect: allow
            """, "cases.yaml", Policy, out var diagnostics);
        Assert.Null(suite);
        Assert.Contains(diagnostics, d => d.Message == "case 'no expectation' has no 'expect'");
        Assert.Contains(diagnostics, d => d.Message == "unknown field 'expct' in case 'typo'" && d.Hint == "did you mean 'expect'?" && d.Location.Line == 8);
        Assert.Contains(diagnostics, d => d.Message == "the facts of case 'bad facts' are wrong: 'recrods' is not a plan fact; did you mean 'records'?");
    }

    [Fact]
    public void An_empty_case_list_is_an_error()
    {
        Assert.Null(PolicyTestSuite.Parse("cases: []", "cases.yaml", Policy, out var diagnostics));
        Assert.Equal("the test file has no cases", Assert.Single(diagnostics).Message);
    }

    [Fact]
    public void Usage_of_a_budget_the_policy_lacks_is_an_error()
    {
        Assert.Null(PolicyTestSuite.Parse("""
            cases:
              - { name: x, agent: tidy-bot, tool: contacts.get, usage: { hourly: 5 }, expect: allow }
            """, "cases.yaml", Policy, out var diagnostics));
        Assert.Equal("the policy has no budget 'hourly'", Assert.Single(diagnostics).Message);
    }

    private static readonly Policy WithPersonBudget = Valid(With("""
        rules:
          - { id: small, agent: tidy-bot, tool: contacts.update, effect: allow }
        budgets:
          - { id: per-person, per_person: true, metric: changed_records, limit: 100, per: 1d }
        """));

    [Fact]
    public void A_case_on_behalf_of_a_person_counts_against_their_budget()
    {
        var suite = PolicyTestSuite.Parse("""
            cases:
              - { name: x, agent: tidy-bot, tool: contacts.update, facts: { records: 10 }, on_behalf_of: ana, usage: { per-person: 95 }, expect: { effect: deny, budget: per-person } }
            """, "cases.yaml", WithPersonBudget, out var diagnostics);
        Assert.True(suite is not null, string.Join("\n", diagnostics));
        Assert.True(Assert.Single(suite.Run(WithPersonBudget)).Passed);
    }

    [Fact]
    public void Usage_of_a_budget_per_person_without_a_person_is_an_error()
    {
        Assert.Null(PolicyTestSuite.Parse("""
            cases:
              - { name: x, agent: tidy-bot, tool: contacts.update, facts: { records: 10 }, usage: { per-person: 95 }, expect: allow }
            """, "cases.yaml", WithPersonBudget, out var diagnostics));
        Assert.Equal("case 'x' gives usage for 'per-person', a budget per person, but no on_behalf_of: it would count nothing", Assert.Single(diagnostics).Message);
    }

    [Fact]
    public void A_case_on_behalf_of_someone_the_policy_lacks_is_an_error()
    {
        Assert.Null(PolicyTestSuite.Parse("""
            cases:
              - { name: x, agent: tidy-bot, tool: contacts.update, on_behalf_of: anna, expect: allow }
            """, "cases.yaml", WithPersonBudget, out var diagnostics));
        Assert.Equal("case 'x' is on behalf of 'anna', who is not a person of the policy", Assert.Single(diagnostics).Message);
    }

    [Fact]
    public void Without_now_cases_are_decided_at_the_given_clock()
    {
        var policy = Valid(With("""
            rules:
              - { id: merges, agent: tidy-bot, tool: contacts.merge, effect: approve, approval: { approvers: [bo] } }
            exceptions:
              - { id: week, agent: tidy-bot, rule: merges, until: "2026-11-27T18:00:00Z", granted_by: ana, reason: import }
            """));
        var cases = "cases:\n  - { name: merge, agent: tidy-bot, tool: contacts.merge, expect: allow }";
        var before = PolicyTestSuite.Parse(cases, "c.yaml", policy, out _, new FixedClock(Now))!;
        var after = PolicyTestSuite.Parse(cases, "c.yaml", policy, out _, new FixedClock(Now.AddDays(7)))!;
        Assert.True(Assert.Single(before.Run(policy)).Passed);
        Assert.False(Assert.Single(after.Run(policy)).Passed);
    }
}
