namespace Warden.Cli.Tests;

public sealed class PolicyTestCommandTests
{
    [Fact]
    public void The_example_passes_its_tests()
    {
        var (exit, output) = Cli.Run("policy", "test", Cli.Example("policy.yaml"), Cli.Example("policy.tests.yaml"));
        Assert.Equal(0, exit);
        Assert.Matches(@"\n\d+ passed, 0 failed", output);
        Assert.Contains("PASS  merging trade-show duplicates runs under the exception", output);
    }

    [Fact]
    public void A_failing_case_prints_expected_got_and_the_deciding_rule()
    {
        var cases = Cli.Temp("cases.yaml", """
            now: 2026-11-25T10:00:00Z
            environment: production
            cases:
              - name: wrong expectation
                agent: hygiene-bot
                tool: contacts.update
                facts: { records: 5000 }
                expect: { effect: allow, rule: hygiene-small-fixes }
            """);
        var (exit, output) = Cli.Run("policy", "test", Cli.Example("policy.yaml"), cases);
        Assert.Equal(1, exit);
        Assert.Contains($"FAIL  wrong expectation  ({cases}:4:5)", output);
        Assert.Contains("expected allow, got approve", output);
        Assert.Contains("expected rule 'hygiene-small-fixes' to decide, but rule 'hygiene-bulk-changes' did", output);
        Assert.Contains("decided: NEEDS APPROVAL — Rule 'hygiene-bulk-changes' holds this call for approval", output);
        Assert.Contains("0 passed, 1 failed", output);
    }

    [Fact]
    public void A_case_with_a_filter_no_real_call_gets_past_fails_with_the_problem_and_its_place()
    {
        // It passed before: the decision came out as expected for a call the gateway refuses.
        var cases = Cli.Temp("cases.yaml", """
            now: 2026-11-25T10:00:00Z
            environment: production
            cases:
              - name: a bulk read of personal data is refused
                agent: reporting-bot
                tool: contacts.search
                args: { filter: "country = 'DE'", fields: [email] }
                facts: { records: 48000, classes: [pii] }
                expect: { effect: deny, rule: no-bulk-pii-reads }
            """);
        var (exit, output) = Cli.Run("policy", "test", Cli.Example("policy.yaml"), cases);
        Assert.Equal(1, exit);
        Assert.Contains($"FAIL  a bulk read of personal data is refused  ({cases}:4:5)", output);
        Assert.Contains($"args ({cases}:7:21): the filter of contacts.search is not valid: '=' is not an operator in CEL", output);
        Assert.Contains("0 passed, 1 failed", output);
    }

    [Fact]
    public void A_malformed_case_file_is_reported_with_places()
    {
        var cases = Cli.Temp("cases.yaml", "cases:\n  - name: x\n    agent: hygiene-bot\n    tol: contacts.get\n    expect: allow\n");
        var (exit, output) = Cli.Run("policy", "test", Cli.Example("policy.yaml"), cases);
        Assert.Equal(1, exit);
        Assert.Contains("error: unknown field 'tol' in case 'x'", output);
        Assert.Contains($"--> {cases}:4:5", output);
    }

    [Fact]
    public void A_policy_with_errors_is_reported_before_any_case_runs()
    {
        var policy = Cli.Temp("policy.yaml", "version: 1\nid: x\nowners: 5\n");
        var (exit, output) = Cli.Run("policy", "test", policy, Cli.Example("policy.tests.yaml"));
        Assert.Equal(1, exit);
        Assert.Contains("'owners' in the policy should be a list, not '5'", output);
        Assert.DoesNotContain("PASS", output);
    }
}
