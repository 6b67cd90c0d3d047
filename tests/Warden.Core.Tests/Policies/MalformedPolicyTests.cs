using System.Text;
using static Warden.Core.Tests.TestPolicies;

namespace Warden.Core.Tests.Policies;

/// <summary>Bad files get one clear sentence, never an exception trace and never a hang.</summary>
public sealed class MalformedPolicyTests
{
    [Fact]
    public void Malformed_yaml_is_reported_with_its_place()
    {
        var error = Single(Load("version: 1\nowners: [\n  - id: x\n"), DiagnosticCode.Syntax);
        Assert.StartsWith("this is not valid YAML: ", error.Message);
        Assert.True(error.Location.Line >= 2);
    }

    [Fact]
    public void An_empty_file_is_reported() =>
        Assert.Equal("the file is empty", Single(Load(""), DiagnosticCode.Syntax).Message);

    [Fact]
    public void A_file_that_is_not_a_mapping_is_reported() =>
        Assert.Equal("the policy should be a mapping of fields, not a list", Single(Load("- a\n- b\n"), DiagnosticCode.WrongType).Message);

    [Fact]
    public void A_ten_megabyte_file_is_refused_before_parsing()
    {
        var big = new StringBuilder(Base).Append('#', 10 * 1024 * 1024).ToString();
        Assert.Equal("the file is 10.0 MB; a policy may be at most 4 MB", Single(Load(big), DiagnosticCode.Syntax).Message);
    }

    [Fact]
    public void Deeply_nested_yaml_is_refused()
    {
        var deep = "version: 1\nid: " + new string('[', 50_000) + new string(']', 50_000) + "\n";
        Assert.Equal("values nest deeper than 64 levels", Single(Load(deep), DiagnosticCode.Syntax).Message);
    }

    [Fact]
    public void Anchors_and_aliases_are_refused()
    {
        var text = With("""
            rules:
              - &base { id: r1, tool: contacts.get, effect: allow }
              - *base
            """);
        Assert.Equal("anchors (&base) are not allowed in a policy", Single(Load(text), DiagnosticCode.Syntax).Message);
    }

    [Fact]
    public void Several_documents_are_refused() =>
        Assert.Equal("the file holds more than one YAML document; a policy is one document",
            Single(Load(Base + "\n---\nversion: 1\n"), DiagnosticCode.Syntax).Message);

    [Fact]
    public void A_very_long_condition_is_refused_with_a_sentence()
    {
        var condition = string.Join(" || ", Enumerable.Repeat("records == 1", 1000));
        var error = Single(Load(With($"rules:\n  - {{ id: r, tool: contacts.get, when: \"{condition}\", effect: allow }}")), DiagnosticCode.ConditionSyntax);
        Assert.StartsWith("in the condition of rule 'r': the condition is 15,996 characters long", error.Message);
    }

    [Fact]
    public void A_deeply_nested_condition_is_refused_with_a_sentence()
    {
        var condition = new string('(', 40) + "true" + new string(')', 40);
        var error = Single(Load(With($"rules:\n  - {{ id: r, tool: contacts.get, when: \"{condition}\", effect: allow }}")), DiagnosticCode.ConditionSyntax);
        Assert.Equal("in the condition of rule 'r': the condition nests deeper than 32 levels", error.Message);
    }

    [Fact]
    public void Loading_the_same_text_twice_gives_the_same_hash()
    {
        var first = Valid(Base);
        var second = Valid(Base);
        Assert.Equal(first.Hash, second.Hash);
        Assert.NotEqual(first.Hash, Valid(Base + "\n# a comment\n").Hash);
    }

    [Fact]
    public void A_broken_flow_mapping_that_trips_the_yaml_scanner_is_reported()
    {
        // Found by the fuzz test: YamlDotNet's scanner throws InvalidOperationException on this.
        var text = File.ReadAllText(Examples.PolicyPath).Replace("review: { cadence: quarterly, last: 2026-09-20 }", "review: { [adence: quarterly, last: 2026-09-20 }");
        var result = Load(text);
        Assert.False(result.Succeeded);
        // Reported, not thrown; which of YamlDotNet's messages depends on the text that follows.
        Assert.StartsWith("this is not valid YAML: ", Assert.Single(result.Diagnostics).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_condition_is_reported_not_a_crash()
    {
        var error = Single(Load(With("rules:\n  - { id: r, tool: contacts.get, when: \"\", effect: allow }")), DiagnosticCode.ConditionSyntax);
        Assert.Equal("in the condition of rule 'r': the condition is empty", error.Message);
    }

    [Fact]
    public void An_empty_matcher_is_an_error_not_match_anything()
    {
        var text = With("rules:\n  - id: r\n    agent:\n    tool: contacts.get\n    effect: allow");
        var error = Single(Load(text), DiagnosticCode.MissingField);
        Assert.Equal("'agent' in rule 'r' has no value", error.Message);
    }

    [Fact]
    public void An_empty_when_is_an_error_not_always()
    {
        var error = Single(Load(With("rules:\n  - { id: r, tool: contacts.get, when: null, effect: allow }")), DiagnosticCode.MissingField);
        Assert.Equal("'when' in rule 'r' has no value", error.Message);
    }

    [Fact]
    public void An_approval_with_no_approvers_is_refused()
    {
        var error = Single(Load(With("rules:\n  - { id: r, agent: ops-bot, tool: contacts.update, effect: approve, approval: { approvers: [] } }")), DiagnosticCode.MissingField);
        Assert.Equal("'approvers' in the approval of rule 'r' is an empty list", error.Message);
    }

    [Fact]
    public void An_agent_with_no_environments_is_refused()
    {
        var error = Single(Load(Base.Replace("environments: [sandbox], auth: { token: env:T_LOOK }", "environments: [], auth: { token: env:T_LOOK }")), DiagnosticCode.MissingField);
        Assert.Equal("'environments' in agent 'look-bot' is an empty list", error.Message);
    }

    [Fact]
    public void A_long_chain_of_groups_does_not_overflow_the_stack()
    {
        var groups = string.Join("\n", Enumerable.Range(0, 20_000).Select(i => $"  - {{ id: g{i}, members: [{(i == 19_999 ? "ana" : $"g{i + 1}")}] }}"));
        var policy = Valid(With("groups:\n" + groups + "\nrules:\n  - { id: r, agent: ops-bot, tool: contacts.update, effect: approve, approval: { approvers: [group:g0] } }"));
        Assert.Equal(["ana"], policy.EligibleApprovers(policy.Rules[0].Approval!, "ops-bot"));
    }
}
