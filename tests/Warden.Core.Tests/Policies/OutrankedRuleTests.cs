using static Warden.Core.Tests.TestPolicies;

namespace Warden.Core.Tests.Policies;

public sealed class OutrankedRuleTests
{
    [Fact]
    public void An_allow_under_an_unconditional_approval_of_the_same_calls_is_pointed_out()
    {
        var result = Load(With("""
            rules:
              - { id: small, agent: tidy-bot, tool: contacts.update, when: "records < 10", effect: allow }
              - { id: all, agent: tidy-bot, tool: contacts.update, effect: approve, approval: { approvers: [bo] } }
            """));
        Assert.True(result.Succeeded);
        Assert.Equal("rule 'small' never decides: rule 'all' (approve, no condition) covers every call it matches",
            Single(result, DiagnosticCode.RuleOutranked).Message);
    }

    [Fact]
    public void A_stronger_rule_with_a_condition_does_not_outrank()
    {
        var result = Load(With("""
            rules:
              - { id: small, agent: tidy-bot, tool: contacts.update, effect: allow }
              - { id: big, agent: tidy-bot, tool: contacts.update, when: "records > 100", effect: approve, approval: { approvers: [bo] } }
            """));
        Assert.Empty(result.Diagnostics);
    }

    [Fact]
    public void A_stronger_rule_covering_fewer_tools_does_not_outrank()
    {
        var result = Load(With("""
            rules:
              - { id: writes, agent: tidy-bot, tool: [contacts.update, lists.add_members], effect: allow }
              - { id: updates, agent: tidy-bot, tool: contacts.update, effect: approve, approval: { approvers: [bo] } }
            """));
        Assert.Empty(result.Diagnostics);
    }
}
