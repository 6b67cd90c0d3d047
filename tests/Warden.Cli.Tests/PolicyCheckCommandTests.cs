namespace Warden.Cli.Tests;

public sealed class PolicyCheckCommandTests
{
    [Fact]
    public void Checking_the_example_succeeds_and_summarises_it()
    {
        var (exit, output) = Cli.Run("policy", "check", Cli.Example("policy.yaml"));
        Assert.Equal(0, exit);
        Assert.Contains("is valid: 0 errors, 0 warnings", output);
        Assert.Contains("campaign-qa (high), data-hygiene (medium), reporting (low), nurture-optimisation (medium)", output);
    }

    [Fact]
    public void Errors_show_file_line_column_the_source_line_a_caret_and_a_hint()
    {
        var path = Cli.Temp("policy.yaml", File.ReadAllText(Cli.Example("policy.yaml")).Replace("      approvers: [owner:data, owner:risk]", "      aprovers: [owner:data, owner:risk]"));
        var (exit, output) = Cli.Run("policy", "check", path);
        Assert.Equal(1, exit);
        var line = File.ReadAllLines(path).ToList().FindIndex(l => l.Contains("aprovers:", StringComparison.Ordinal)) + 1;
        Assert.Contains("error: unknown field 'aprovers' in the approval of rule 'hygiene-consent-needs-two'", output);
        Assert.Contains($"--> {path}:{line}:7", output);
        Assert.Contains($"{line} |       aprovers: [owner:data, owner:risk]", output);
        Assert.Contains("|       ^", output);
        Assert.Contains("= hint: did you mean 'approvers'?", output);
        Assert.Contains("does not load: 2 errors, 0 warnings", output);
    }

    [Fact]
    public void Warnings_are_shown_apart_from_errors_and_do_not_fail_the_check()
    {
        var path = Cli.Temp("policy.yaml", File.ReadAllText(Cli.Example("policy.yaml")).Replace("until: 2026-12-31T18:00:00Z", "until: 2026-11-01T18:00:00Z"));
        var (exit, output) = Cli.Run("policy", "check", path);
        Assert.Equal(0, exit);
        Assert.Contains("warning: exception 'trade-show-dedupe' expired on 2026-11-01 18:00Z and no longer applies", output);
        Assert.Contains("is valid: 0 errors, 1 warning", output);
    }

    [Fact]
    public void A_misspelt_tool_in_a_deny_rule_fails_the_check_at_the_name_with_did_you_mean()
    {
        // With an upstream system declared, this loaded with "0 errors" and refused nothing.
        var path = Cli.Temp("policy.yaml", File.ReadAllText(Cli.Example("policy.yaml")).Replace("    tool: contacts.purge\n", "    tool: contacts.purg\n", StringComparison.Ordinal));
        var (exit, output) = Cli.Run("policy", "check", path);
        Assert.Equal(1, exit);
        var line = File.ReadAllLines(path).ToList().FindIndex(l => l.Contains("contacts.purg", StringComparison.Ordinal)) + 1;
        Assert.Contains("error: rule 'no-purge-in-production' names the tool 'contacts.purg', which no system declares", output);
        Assert.Contains($"--> {path}:{line}:11", output);
        Assert.Contains("= hint: did you mean 'contacts.purge'?", output);
        Assert.Contains("does not load: 1 error, 0 warnings", output);
    }

    [Fact]
    public void A_read_annotation_over_a_name_the_workspace_writes_with_is_a_warning()
    {
        var path = Cli.Temp("policy.yaml", File.ReadAllText(Cli.Example("policy.yaml"))
            .Replace("      - name: query\n        kind: read\n", "      - name: query\n        kind: read\n      - name: contacts.update\n        kind: read\n", StringComparison.Ordinal));
        var (exit, output) = Cli.Run("policy", "check", path);
        Assert.Equal(0, exit);
        Assert.Contains("warning: tool 'contacts.update' of system 'crm' is annotated read, but the workspace has a tool 'contacts.update' that is a write", output);
        Assert.Contains("is valid: 0 errors, 1 warning", output);
    }

    [Fact]
    public void A_missing_file_is_a_usage_error()
    {
        var (exit, output) = Cli.Run("policy", "check", "/nonexistent/policy.yaml");
        Assert.Equal(2, exit);
        Assert.Contains("error: /nonexistent/policy.yaml: no such file", output);
    }

    [Fact]
    public void A_huge_file_gets_a_sentence_not_a_trace()
    {
        var path = Cli.Temp("big.yaml", "version: 1\n" + new string('#', 10 * 1024 * 1024));
        var (exit, output) = Cli.Run("policy", "check", path);
        Assert.Equal(1, exit);
        Assert.Contains("the file is 10.0 MB; a policy may be at most 4 MB", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public void The_real_program_exits_non_zero_on_a_broken_policy()
    {
        var path = Cli.Temp("policy.yaml", "version: 1\nrules: [");
        var (exit, output) = Cli.Process("policy", "check", path);
        Assert.Equal(1, exit);
        Assert.Contains("error: this is not valid YAML", output);
    }

    [Fact]
    public void The_real_program_checks_the_example()
    {
        var (exit, output) = Cli.Process("policy", "check", Cli.Example("policy.yaml"));
        Assert.Equal(0, exit);
        Assert.Contains("is valid", output);
    }

    [Fact]
    public void Help_puts_each_command_on_its_own_line()
    {
        var (_, output) = Cli.Run("policy", "--help");
        var lines = output.Split('\n').Select(l => l.Trim()).ToList();
        Assert.Contains(lines, l => l.StartsWith("check <file>", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("explain <file>", StringComparison.Ordinal));
    }
}
