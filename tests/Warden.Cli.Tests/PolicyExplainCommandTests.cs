namespace Warden.Cli.Tests;

public sealed class PolicyExplainCommandTests
{
    [Fact]
    public void Explain_shows_the_decision_the_trace_and_the_shadow_outcome()
    {
        var (exit, output) = Cli.Run("policy", "explain", Cli.Example("policy.yaml"), "--agent", "hygiene-bot", "--tool", "contacts.update",
            "--env", "production", "--args", """{"ids": ["c-7"], "set": {"lead_source": "webinar"}}""",
            "--facts", """{"records": 1, "fields": ["contacts.lead_source"]}""");
        Assert.Equal(0, exit);
        Assert.Contains("Decision     ALLOW  (rule hygiene-small-fixes)", output);
        Assert.Contains("Shadow       rule 'hygiene-lead-source-guard' matched in shadow mode; enforced, the outcome would be deny", output);
        Assert.Contains("hygiene-bulk-changes", output);
        Assert.Contains("condition false: records > 200 || 'consent' in classes", output);
        Assert.Contains("Budget 'hygiene-hourly-changes': 0 of 20,000 used; this call adds 1.", output);
    }

    [Fact]
    public void Explain_names_the_approvers_of_a_held_call()
    {
        var (exit, output) = Cli.Run("policy", "explain", Cli.Example("policy.yaml"), "--agent", "campaign-qa-bot", "--tool", "campaigns.send",
            "--env", "production", "--args", """{"campaign": "c-1"}""", "--facts", """{"recipients": 25000}""");
        Assert.Equal(0, exit);
        Assert.Contains("NEEDS APPROVAL", output);
        Assert.Contains("1 of lee (Lee Chen), maria (María López)".Replace("María", "Maria"), output);
        Assert.Contains("1 of rita (Rita Nguyen)", output);
    }

    [Fact]
    public void Explain_can_decide_as_of_another_time()
    {
        var (_, output) = Cli.Run("policy", "explain", Cli.Example("policy.yaml"), "--agent", "hygiene-bot", "--tool", "contacts.merge",
            "--facts", """{"records": 3}""", "--at", "2027-01-01T00:00:00Z");
        Assert.Contains("NEEDS APPROVAL  (rule hygiene-merges-and-deletes)", output);
        Assert.Contains("exception 'trade-show-dedupe' expired at 2026-12-31 18:00Z", output);
    }

    [Theory]
    [InlineData("--args", "{\"a\": 1, \"a\": 2}", "error: --args: the key at $.a appears twice")]
    [InlineData("--args", "[1]", "error: --args: expected a JSON object")]
    [InlineData("--args", "{oops", "error: --args: this is not valid JSON (line 1, position 2)")]
    [InlineData("--facts", "{\"recrods\": 5}", "error: --facts: 'recrods' is not a plan fact; did you mean 'records'?")]
    [InlineData("--at", "friday", "error: --at: 'friday' is not a time")]
    [InlineData("--usage", "hygiene-hourly-changes", "error: --usage: 'hygiene-hourly-changes' should be BUDGET=AMOUNT")]
    [InlineData("--usage", "nobudget=5", "error: --usage: the policy has no budget 'nobudget'")]
    [InlineData("--on-behalf-of", "mario", "error: --on-behalf-of: 'mario' is not a person of the policy; did you mean 'maria'?")]
    [InlineData("--usage", "per-person-daily-changes=5", "error: --usage: 'per-person-daily-changes' is a budget per person; say whose with --on-behalf-of PERSON")]
    public void Bad_input_gets_a_clear_error_and_exit_code_2(string option, string value, string message)
    {
        var (exit, output) = Cli.Run("policy", "explain", Cli.Example("policy.yaml"), "--agent", "hygiene-bot", "--tool", "contacts.get", option, value);
        Assert.Equal(2, exit);
        Assert.Contains(message, output);
    }

    [Fact]
    public void Budget_usage_can_be_supplied()
    {
        var (_, output) = Cli.Run("policy", "explain", Cli.Example("policy.yaml"), "--agent", "hygiene-bot", "--tool", "contacts.update",
            "--facts", """{"records": 150}""", "--usage", "hygiene-hourly-changes=19900");
        Assert.Contains("Decision     DENY", output);
        Assert.Contains("Budget 'hygiene-hourly-changes' would be exceeded: 19,900 of 20,000 changed records used in the last 1h, and this call adds 150.", output);
    }

    [Fact]
    public void A_budget_per_person_counts_for_the_person_given()
    {
        var (_, output) = Cli.Run("policy", "explain", Cli.Example("policy.yaml"), "--agent", "hygiene-bot", "--tool", "contacts.update",
            "--facts", """{"records": 150}""", "--usage", "per-person-daily-changes=49900", "--on-behalf-of", "maria");
        Assert.Contains("Decision     DENY", output);
        Assert.Contains("Budget 'per-person-daily-changes' would be exceeded for maria: 49,900 of 50,000 changed records used on their behalf in the last 24h, and this call adds 150.",
            output.ReplaceLineEndings(" "));
    }

    [Fact]
    public void A_missing_required_option_is_a_usage_error()
    {
        var (exit, output) = Cli.Run("policy", "explain", Cli.Example("policy.yaml"), "--agent", "hygiene-bot");
        Assert.NotEqual(0, exit);
        Assert.Contains("--tool", output);
    }

    [Fact]
    public void Explain_for_an_agent_the_policy_does_not_have_is_an_error_with_a_suggestion()
    {
        var (exit, output) = Cli.Run("policy", "explain", Cli.Example("policy.yaml"), "--agent", "hygeine-bot", "--tool", "contacts.update", "--args", "{}");

        Assert.Equal(2, exit);
        Assert.Contains("the policy has no agent 'hygeine-bot'; did you mean 'hygiene-bot'?", output, StringComparison.Ordinal);
        Assert.DoesNotContain("DENY", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_for_a_tool_the_system_does_not_have_is_an_error_with_a_suggestion()
    {
        var (exit, output) = Cli.Run("policy", "explain", Cli.Example("policy.yaml"), "--agent", "hygiene-bot", "--tool", "contacts.updte", "--args", "{}");

        Assert.Equal(2, exit);
        Assert.Contains("has no tool 'contacts.updte'; did you mean 'contacts.update'?", output, StringComparison.Ordinal);
    }
}
