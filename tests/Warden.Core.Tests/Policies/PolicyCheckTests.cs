using static Warden.Core.Tests.TestPolicies;

namespace Warden.Core.Tests.Policies;

/// <summary>
/// The checker: every mistake a governance team can make in a policy file is reported with its
/// file, line and column, a plain sentence and, where it helps, a hint; errors stop the load.
/// </summary>
public sealed class PolicyCheckTests
{
    [Fact]
    public void The_base_test_policy_is_valid()
    {
        var result = Load(Base);
        Assert.True(result.Succeeded);
        Assert.Empty(result.Diagnostics);
    }

    [Fact]
    public void An_unknown_field_is_reported_where_it_is_with_a_suggestion()
    {
        var text = With("""
            rules:
              - id: r1
                tool: contacts.update
                effect: approve
                aproval: { approvers: [ana] }
            """);
        var result = Load(text);
        Assert.False(result.Succeeded);
        var error = Single(result, DiagnosticCode.UnknownField);
        Assert.Equal("unknown field 'aproval' in rule 'r1'", error.Message);
        Assert.Equal("did you mean 'approval'?", error.Hint);
        Assert.Equal(new SourceLocation("test.yaml", LineOf(text, "aproval:"), ColumnOf(text, "aproval:")), error.Location);
    }

    [Fact]
    public void Every_error_is_reported_in_one_pass()
    {
        var result = Load(With("""
            rules:
              - id: r1
                tool: contacts.updat
                effect: allow
              - id: r2
                agent: nobody
                tool: contacts.get
                effect: permit
            """));
        Assert.Equal(3, result.Errors.Count());
        Assert.Contains(result.Errors, d => d.Code == DiagnosticCode.UnknownReference && d.Hint == "did you mean 'contacts.update'?");
        Assert.Contains(result.Errors, d => d.Code == DiagnosticCode.UnknownReference && d.Message.Contains("'nobody'"));
        Assert.Contains(result.Errors, d => d.Code == DiagnosticCode.InvalidValue && d.Message == "'effect' in rule 'r2' cannot be 'permit'");
    }

    [Fact]
    public void A_wrong_type_says_what_was_expected()
    {
        var text = With("""
            budgets:
              - { id: b1, agent: ops-bot, metric: calls, limit: lots, per: 1h }
            """);
        var error = Single(Load(text), DiagnosticCode.WrongType);
        Assert.Equal("'limit' in budget 'b1' should be a whole number, not 'lots'", error.Message);
        Assert.Equal(LineOf(text, "limit: lots"), error.Location.Line);
    }

    [Fact]
    public void An_unknown_owner_is_reported_with_a_suggestion()
    {
        var text = Base.Replace("escalation: bo\n  - id: look", "escalation: boo\n  - id: look");
        var error = Single(Load(text), DiagnosticCode.UnknownReference);
        Assert.Equal("use case 'tidy' names 'boo', who is not among the owners", error.Message);
        Assert.Equal("did you mean 'bo'?", error.Hint);
    }

    [Fact]
    public void A_use_case_without_its_owners_is_refused()
    {
        var text = Base.Replace("owners: { business: ana, technical: bo, data: bo, risk: ana }\n    escalation: bo\n  - id: look",
            "owners: { business: ana, technical: bo }\n    escalation: bo\n  - id: look");
        var result = Load(text);
        var missing = result.Errors.Where(d => d.Code == DiagnosticCode.MissingOwner).Select(d => d.Message).ToList();
        Assert.Equal(["use case 'tidy' names no data owner", "use case 'tidy' names no risk owner"], missing);
    }

    [Fact]
    public void Duplicate_names_point_at_the_second_and_name_the_first()
    {
        var text = With("""
            rules:
              - { id: same, tool: contacts.get, effect: allow }
              - { id: same, tool: contacts.search, effect: allow }
            """);
        var error = Single(Load(text), DiagnosticCode.DuplicateName);
        Assert.Equal("there are two rules named 'same'", error.Message);
        Assert.Equal($"the first is at line {LineOf(text, "{ id: same")}", error.Hint);
        Assert.Equal(LineOf(text, "{ id: same, tool: contacts.search"), error.Location.Line);
    }

    [Fact]
    public void A_duplicate_yaml_key_is_refused()
    {
        var text = With("""
            rules:
              - id: r1
                tool: contacts.get
                effect: allow
                effect: deny
            """);
        var error = Single(Load(text), DiagnosticCode.DuplicateName);
        Assert.StartsWith("the key 'effect' appears twice in this mapping", error.Message);
    }

    [Fact]
    public void Groups_that_contain_each_other_are_a_cycle()
    {
        var error = Single(Load(With("""
            groups:
              - { id: a, members: [ana, b] }
              - { id: b, members: [c] }
              - { id: c, members: [a] }
            """)), DiagnosticCode.Cycle);
        Assert.Equal("groups contain each other in a circle: a → b → c → a", error.Message);
    }

    [Fact]
    public void A_condition_that_does_not_type_check_points_into_the_condition()
    {
        var text = With("""
            rules:
              - id: r1
                tool: contacts.update
                when: records > 10 && tool == 5
                effect: allow
            """);
        var error = Single(Load(text), DiagnosticCode.ConditionType);
        Assert.Equal("in the condition of rule 'r1': a string cannot be compared with an int using '=='", error.Message);
        Assert.Equal(new SourceLocation("test.yaml", LineOf(text, "when:"), ColumnOf(text, "tool == 5")), error.Location);
    }

    [Fact]
    public void A_condition_error_in_a_block_scalar_points_at_its_line()
    {
        var text = With("""
            rules:
              - id: r1
                tool: contacts.update
                when: |
                  records > 10 &&
                    'pii' in clases
                effect: allow
            """);
        var error = Single(Load(text), DiagnosticCode.ConditionType);
        Assert.Equal("in the condition of rule 'r1': unknown name 'clases'", error.Message);
        Assert.Equal("did you mean 'classes'?", error.Hint);
        Assert.Equal(new SourceLocation("test.yaml", LineOf(text, "'pii' in clases"), ColumnOf(text, "clases")), error.Location);
    }

    [Fact]
    public void A_condition_syntax_error_is_reported_as_such()
    {
        var text = With("""
            rules:
              - { id: r1, tool: contacts.update, when: "records = 5", effect: allow }
            """);
        var error = Single(Load(text), DiagnosticCode.ConditionSyntax);
        Assert.Equal("in the condition of rule 'r1': '=' is not an operator in CEL", error.Message);
        Assert.Equal("to compare, write '=='", error.Hint);
        Assert.Equal(ColumnOf(text, "= 5\""), error.Location.Column);
    }

    [Fact]
    public void A_rule_that_allows_an_irreversible_action_is_refused()
    {
        var error = Single(Load(With("""
            rules:
              - { id: purge, agent: ops-bot, tool: contacts.purge, effect: allow }
            """)), DiagnosticCode.IrreversibleWithoutApproval);
        Assert.Equal("rule 'purge' would allow contacts.purge, which is irreversible; such actions always need a person", error.Message);
    }

    [Fact]
    public void A_wildcard_allow_that_reaches_an_external_action_is_refused()
    {
        var error = Single(Load(With("""
            rules:
              - { id: all-campaigns, agent: ops-bot, tool: "campaigns.*", effect: allow }
            """)), DiagnosticCode.IrreversibleWithoutApproval);
        Assert.Contains("campaigns.send, which is irreversible and external", error.Message);
    }

    [Fact]
    public void An_allow_over_unannotated_upstream_tools_is_refused()
    {
        var error = Single(Load(With("""
            systems:
              - id: crm
                tools:
                  - { name: query, kind: read }
            rules:
              - { id: crm-all, agent: ops-bot, system: crm, effect: allow }
            """)), DiagnosticCode.IrreversibleWithoutApproval);
        Assert.Contains("tools of crm that the policy does not annotate", error.Message);
    }

    [Fact]
    public void An_approval_over_the_same_action_is_accepted()
    {
        var policy = WithRules("""
              - id: purge
                agent: ops-bot
                tool: contacts.purge
                effect: approve
                approval: { approvers: [owner:risk] }
            """);
        Assert.Single(policy.Rules);
    }

    [Fact]
    public void A_low_tier_use_case_cannot_be_granted_deletes()
    {
        var error = Single(Load(With("""
            rules:
              - id: look-deletes
                agent: look-bot
                tool: contacts.delete
                effect: approve
                approval: { approvers: [ana] }
            """)), DiagnosticCode.TierCapExceeded);
        Assert.Equal("rule 'look-deletes' grants use case 'look' (low tier) contacts.delete; a low-tier use case may be granted only reads and reversible writes that stay inside", error.Message);
    }

    [Fact]
    public void A_medium_tier_use_case_cannot_be_granted_sends_even_with_approval()
    {
        var error = Single(Load(With("""
            rules:
              - id: tidy-sends
                agent: tidy-bot
                tool: campaigns.send
                effect: approve
                approval: { approvers: [ana] }
            """)), DiagnosticCode.TierCapExceeded);
        Assert.Contains("(medium tier) campaigns.send", error.Message);
    }

    [Fact]
    public void A_deny_is_never_capped_by_tier() =>
        Assert.Single(WithRules("""
              - { id: no-sends, agent: look-bot, tool: campaigns.send, effect: deny, message: never }
            """).Rules);

    [Theory]
    [InlineData("{ id: r, agent: look-bot, environment: production, tool: contacts.get, effect: allow }", "rule 'r' can never match: its agents act only in sandbox")]
    [InlineData("{ id: r, agent: ops-bot, use_case: look, tool: contacts.get, effect: allow }", "rule 'r' can never match: none of its agents serves its use cases")]
    [InlineData("{ id: r, tool: campaigns.send, kind: read, effect: allow }", "rule 'r' can never match: none of its tools is a read")]
    [InlineData("{ id: r, tool: contacts.get, when: 'records > 10 && records < 5', effect: allow }", "rule 'r' can never match: its condition can never be true: no value of records is at least 11 and at most 4")]
    [InlineData("{ id: r, agent: 'x*', tool: contacts.get, effect: allow }", "rule 'r' can never match: no agent's name matches 'x*'")]
    public void A_rule_that_can_never_match_is_refused(string rule, string message) =>
        Assert.Equal(message, Single(Load(With("rules:\n  - " + rule)), DiagnosticCode.RuleNeverMatches).Message);

    [Fact]
    public void An_agent_token_written_out_is_refused()
    {
        var text = Base.Replace("env:T_LOOK", "sk-live-4f9a8b7c6d5e");
        var error = Single(Load(text), DiagnosticCode.SecretInPolicy);
        Assert.Equal("the token of agent 'look-bot' must be a reference, not a value", error.Message);
        Assert.Equal(LineOf(text, "sk-live"), error.Location.Line);
    }

    [Fact]
    public void Two_agents_may_not_share_a_token()
    {
        var error = Single(Load(Base.Replace("env:T_LOOK", "env:T_OPS")), DiagnosticCode.DuplicateName);
        Assert.Equal("agent 'look-bot' and agent 'ops-bot' use the same token (env:T_OPS)", error.Message);
    }

    [Fact]
    public void People_may_have_tokens_and_agents_may_see_data_classes()
    {
        var policy = Valid(With("data_classes:\n  pii: [contacts.email]")
            .Replace("roles: [approver] }", "roles: [approver], auth: { token: env:T_CY } }")
            .Replace("auth: { token: env:T_LOOK } }", "auth: { token: env:T_LOOK }, sees: [pii] }"));
        Assert.Equal("env:T_CY", policy.Owners.Single(o => o.Id == "cy").TokenReference);
        Assert.Null(policy.Owners.Single(o => o.Id == "ana").TokenReference);
        Assert.Equal(["pii"], policy.FindAgent("look-bot")!.Sees);
        Assert.Empty(policy.FindAgent("ops-bot")!.Sees);
    }

    [Fact]
    public void A_persons_token_written_out_is_refused()
    {
        var error = Single(Load(Base.Replace("roles: [approver] }", "roles: [approver], auth: { token: hunter2 } }")), DiagnosticCode.SecretInPolicy);
        Assert.Equal("the token of owner 'cy' must be a reference, not a value", error.Message);
    }

    [Fact]
    public void A_person_and_an_agent_may_not_share_a_token()
    {
        var error = Single(Load(Base.Replace("roles: [approver] }", "roles: [approver], auth: { token: env:T_OPS } }")), DiagnosticCode.DuplicateName);
        Assert.Equal("agent 'ops-bot' and owner 'cy' use the same token (env:T_OPS)", error.Message);
    }

    [Fact]
    public void An_agent_may_only_see_declared_data_classes()
    {
        var text = With("data_classes:\n  pii: [contacts.email]").Replace("auth: { token: env:T_LOOK } }", "auth: { token: env:T_LOOK }, sees: [pi] }");
        var error = Single(Load(text), DiagnosticCode.UnknownReference);
        Assert.Equal("agent 'look-bot' sees the data class 'pi', which is not declared", error.Message);
        Assert.Equal("did you mean 'pii'?", error.Hint);
        Assert.Equal(LineOf(text, "sees: [pi]"), error.Location.Line);
    }

    [Fact]
    public void An_approval_nobody_can_give_is_refused()
    {
        var error = Single(Load(With("""
            rules:
              - id: r
                agent: ops-bot
                tool: contacts.update
                effect: approve
                approval: { approvers: [ana, owner:risk], quorum: 2 }
            """)), DiagnosticCode.ApprovalUnsatisfiable);
        Assert.Equal("rule 'r' needs 2 approvers for use case 'ops', but only 1 person can approve (ana)", error.Message);
    }

    [Fact]
    public void An_approve_rule_must_say_who_approves() =>
        Assert.Equal("rule 'r' needs approval but does not say who approves",
            Single(Load(With("rules:\n  - { id: r, tool: contacts.update, agent: ops-bot, effect: approve }")), DiagnosticCode.MissingField).Message);

    [Fact]
    public void A_deny_without_a_message_is_a_warning_not_an_error()
    {
        var result = Load(With("rules:\n  - { id: r, tool: contacts.purge, effect: deny }"));
        Assert.True(result.Succeeded);
        Assert.Equal("rule 'r' denies without a message", Single(result, DiagnosticCode.MissingMessage).Message);
    }

    [Fact]
    public void An_expired_exception_is_a_warning()
    {
        var result = Load(With("""
            rules:
              - { id: bulk, agent: tidy-bot, tool: contacts.update, effect: approve, approval: { approvers: [bo] } }
            exceptions:
              - { id: old, agent: tidy-bot, rule: bulk, until: "2026-11-01T00:00:00Z", granted_by: ana, reason: cleanup }
            """));
        Assert.True(result.Succeeded);
        Assert.Equal("exception 'old' expired on 2026-11-01 00:00Z and no longer applies", Single(result, DiagnosticCode.ExceptionProblem).Message);
    }

    [Fact]
    public void An_exception_granted_by_someone_who_is_not_a_risk_owner_is_refused()
    {
        var error = Single(Load(With("""
            rules:
              - { id: bulk, agent: tidy-bot, tool: contacts.update, effect: approve, approval: { approvers: [bo] } }
            exceptions:
              - { id: ex, agent: tidy-bot, rule: bulk, until: "2026-12-01T00:00:00Z", granted_by: cy, reason: cleanup }
            """)), DiagnosticCode.ExceptionProblem);
        Assert.Equal("exception 'ex' is granted by 'cy', who is not a risk owner", error.Message);
    }

    [Fact]
    public void An_exception_cannot_allow_an_irreversible_action()
    {
        var error = Single(Load(With("""
            rules:
              - { id: purge, agent: ops-bot, tool: contacts.purge, effect: approve, approval: { approvers: [ana] } }
            exceptions:
              - { id: ex, agent: ops-bot, rule: purge, until: "2026-12-01T00:00:00Z", granted_by: ana, reason: gdpr backlog }
            """)), DiagnosticCode.IrreversibleWithoutApproval);
        Assert.StartsWith("exception 'ex' over rule 'purge' would allow contacts.purge", error.Message);
    }

    [Fact]
    public void An_exception_time_must_carry_its_zone()
    {
        var error = Single(Load(With("""
            rules:
              - { id: bulk, agent: tidy-bot, tool: contacts.update, effect: approve, approval: { approvers: [bo] } }
            exceptions:
              - { id: ex, agent: tidy-bot, rule: bulk, until: "2026-12-01", granted_by: ana, reason: cleanup }
            """)), DiagnosticCode.InvalidValue);
        Assert.Equal("'until' in exception 'ex' should be a time with its zone, not '2026-12-01'", error.Message);
    }

    [Fact]
    public void An_overdue_review_is_a_warning()
    {
        var result = Load(Base.Replace("escalation: bo\n  - id: look", "escalation: bo\n    review: { cadence: quarterly, last: 2026-01-15 }\n  - id: look"));
        Assert.True(result.Succeeded);
        Assert.Equal("use case 'tidy' was last reviewed on 2026-01-15; its quarterly review was due on 2026-04-15",
            Single(result, DiagnosticCode.ReviewOverdue).Message);
    }

    [Fact]
    public void A_budget_names_exactly_one_scope() =>
        Assert.Equal("budget 'b' must name either an agent or a use case",
            Single(Load(With("budgets:\n  - { id: b, metric: calls, limit: 5, per: 1h }")), DiagnosticCode.InvalidValue).Message);

    [Fact]
    public void A_budget_per_person_may_span_every_agent()
    {
        var result = Load(With("budgets:\n  - { id: b, per_person: true, metric: changed_records, limit: 5, per: 1d }"));
        Assert.True(result.Succeeded, string.Join("\n", result.Diagnostics));
        var budget = result.Policy!.Budgets.Single();
        Assert.Equal((true, null, null), (budget.PerPerson, budget.Agent, budget.UseCase));
    }

    [Fact]
    public void Per_person_is_true_or_false() =>
        Assert.Equal("'per_person' in budget 'b' should be true or false, not 'yes'",
            Single(Load(With("budgets:\n  - { id: b, per_person: yes, metric: calls, limit: 5, per: 1h }")), DiagnosticCode.WrongType).Message);

    [Fact]
    public void An_unannotated_upstream_tool_is_a_warning_and_counts_as_destructive()
    {
        var result = Load(With("""
            systems:
              - id: crm
                tools:
                  - name: mass_update
            """));
        Assert.True(result.Succeeded);
        Assert.Equal("tool 'mass_update' of system 'crm' has no kind", Single(result, DiagnosticCode.MissingField).Message);
        var tool = result.Policy!.FindTool("crm", "mass_update")!;
        Assert.Equal((ActionKind.Delete, Reversibility.Irreversible, true), (tool.Kind, tool.Reversibility, tool.External));
    }

    [Fact]
    public void The_version_must_be_1() =>
        Assert.Equal("'version' in the policy is 2; it must be between 1 and 1",
            Single(Load(Base.Replace("version: 1", "version: 2")), DiagnosticCode.InvalidValue).Message);

    [Fact]
    public void A_low_tier_use_case_cannot_be_granted_a_compensable_write()
    {
        var error = Single(Load(With("""
            systems:
              - id: crm
                tools:
                  - { name: update_record, kind: write, reversibility: compensable }
            rules:
              - { id: look-crm, agent: look-bot, system: crm, tool: update_record, effect: allow }
            """)), DiagnosticCode.TierCapExceeded);
        Assert.Contains("(low tier) update_record", error.Message);
    }

    [Fact]
    public void An_external_read_needs_a_high_tier()
    {
        var result = Load(With("""
            systems:
              - id: web
                tools:
                  - { name: fetch, kind: read, external: true }
            rules:
              - { id: look-web, agent: look-bot, system: web, tool: fetch, effect: approve, approval: { approvers: [ana] } }
              - { id: tidy-web, agent: tidy-bot, system: web, tool: fetch, effect: approve, approval: { approvers: [ana] } }
            """));
        Assert.Equal(2, result.Errors.Count(d => d.Code == DiagnosticCode.TierCapExceeded));
    }
}
