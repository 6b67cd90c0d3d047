using static Warden.Core.Tests.TestPolicies;

namespace Warden.Core.Tests.Policies;

/// <summary>
/// A name in a policy that refers to nothing is an error at its own line and column, with "did you
/// mean": otherwise a deny over a misspelt tool loads with "0 errors" and refuses nothing. The
/// attacks start from the example policy, whose CRM system is what let a misspelt tool through
/// (it might have been a tool the CRM offers unannotated).
/// </summary>
public sealed class MisspeltNameTests
{
    [Theory]
    // tools in rules, whatever their effect
    [InlineData("    tool: contacts.purge\n    environment: production", "contacts.purge", "contacts.purg")]
    [InlineData("    tool: suppression.remove\n    effect: deny", "suppression.remove", "supression.remove")]
    [InlineData("tool: [campaigns.create_draft, campaigns.schedule]", "campaigns.schedule", "campaigns.schedul")]
    [InlineData("    tool: consent.update\n    effect: approve", "consent.update", "consent.updat")]
    [InlineData("    system: crm\n    tool: crm.update_record", "crm.update_record", "crm.update_recrod")]
    // who a rule is for, and who approves
    [InlineData("    agent: hygiene-bot\n    tool: [contacts.delete, contacts.merge]\n    when", "hygiene-bot", "hygene-bot")]
    [InlineData("use_case: [campaign-qa, reporting]", "reporting", "reportng")]
    [InlineData("      approvers: [owner:data]\n      expires: 24h\n      show: [diff, affected, sample, dependents]", "owner:data", "mariaa", "maria")]
    [InlineData("members: [maria, lee]", "maria", "mariaa")]
    [InlineData("escalation: sam", "sam", "samm")]
    // exceptions, budgets, breakers
    [InlineData("  - id: trade-show-dedupe\n    agent: hygiene-bot", "hygiene-bot", "hygene-bot")]
    [InlineData("    rule: hygiene-merges-and-deletes", "hygiene-merges-and-deletes", "hygiene-merges-and-delete")]
    [InlineData("granted_by: rita", "rita", "ritaa")]
    [InlineData("  - id: hygiene-hourly-changes\n    agent: hygiene-bot", "hygiene-bot", "hygene-bot")]
    [InlineData("    use_case: data-hygiene\n    metric: read_records", "data-hygiene", "data-hygeine")]
    [InlineData("    use_case: data-hygiene\n    metric: deleted_records\n    over", "data-hygiene", "data-hygeine")]
    // names inside conditions
    [InlineData("when: tool == 'contacts.merge'", "contacts.merge", "contacts.merg", null, "'contacts.merg'")]
    [InlineData("f == 'contacts.lead_source'", "contacts.lead_source", "contacts.lead_sorce", null, "'contacts.lead_sorce'")]
    [InlineData("f == 'contacts.lead_source'", "f == 'contacts.lead_source'", "f in ['contacts.email', 'contacts.lead_sorce']", "contacts.lead_source", "'contacts.lead_sorce'")]
    [InlineData("records > 1000 && 'pii' in classes", "pii", "pi", null, "'pi'")]
    [InlineData("records > 1000 && 'pii' in classes", "'pii' in classes", "classes.exists(c, c == 'pi')", "pii", "'pi'")]
    [InlineData("when: records <= 50\n    effect: allow", "records <= 50", "records <= 50 && agent == 'nurture-bt'", "nurture-bot", "'nurture-bt'")]
    [InlineData("when: records <= 50\n    effect: allow", "records <= 50", "records <= 50 && use_case in ['nurture-optimization']", "nurture-optimisation", "'nurture-optimization'")]
    [InlineData("when: records <= 50\n    effect: allow", "records <= 50", "records <= 50 && environment != 'sanbox'", "sandbox", "'sanbox'")]
    [InlineData("when: records <= 50\n    effect: allow", "records <= 50", "records <= 50 || kind == 'wrte'", "write", "'wrte'")]
    public void A_misspelt_name_is_an_error_at_its_place_with_did_you_mean(string around, string name, string misspelt, string? meant = null, string? at = null)
    {
        var text = Examples.PolicyText;
        Assert.Contains(around, text);
        var edited = text.Replace(around, around.Replace(name, misspelt), StringComparison.Ordinal);
        var token = at ?? misspelt;
        var fragment = around.Replace(name, misspelt).Split('\n').First(l => l.Contains(token, StringComparison.Ordinal));

        var result = Load(edited);

        Assert.False(result.Succeeded, "the misspelling loaded: " + string.Join("\n", result.Diagnostics));
        var line = LineOf(edited, fragment);
        var column = edited.Split('\n')[line - 1].IndexOf(token, StringComparison.Ordinal) + 1;
        var error = Assert.Single(result.Errors);
        Assert.Equal(new SourceLocation("test.yaml", line, column), error.Location);
        Assert.StartsWith($"did you mean '{meant ?? name}'?", error.Hint);
    }

    [Fact]
    public void A_deny_over_a_misspelt_tool_would_have_refused_nothing()
    {
        // What the error prevents: the same policy with the name fixed refuses the purge.
        var policy = Valid(Examples.PolicyText);
        var decision = policy.Decide(Call("hygiene-bot", "contacts.purge", "production"));
        Assert.Equal(("no-purge-in-production", Effect.Deny), (decision.Rule?.Id, decision.Effect));
        var error = Assert.Single(Load(Examples.PolicyText.Replace("    tool: contacts.purge\n", "    tool: contacts.purg\n", StringComparison.Ordinal)).Errors);
        Assert.Equal("rule 'no-purge-in-production' names the tool 'contacts.purg', which no system declares", error.Message);
    }

    [Fact]
    public void A_rule_that_names_its_upstream_system_may_name_a_tool_the_policy_does_not_annotate()
    {
        var text = Examples.PolicyText.Replace("rules:\n", """
            rules:
              - id: no-crm-mass-delete
                system: crm
                tool: crm.bulk_delete
                effect: deny
                message: Mass deletes in the CRM go through its admins.

            """, StringComparison.Ordinal);
        var result = Load(text);
        Assert.True(result.Succeeded, string.Join("\n", result.Diagnostics));
        var warning = Single(result, DiagnosticCode.UnknownReference);
        Assert.Equal(Severity.Warning, warning.Severity);
        Assert.StartsWith("rule 'no-crm-mass-delete' names the tool 'crm.bulk_delete', which crm does not annotate", warning.Message);
        Assert.Equal(LineOf(text, "tool: crm.bulk_delete"), warning.Location.Line);
        Assert.Equal(Effect.Deny, result.Policy!.Decide(Call("hygiene-bot", "crm.bulk_delete", "production", system: "crm")).Effect);
    }

    [Fact]
    public void A_rule_without_a_system_cannot_reach_an_unannotated_upstream_tool_by_name()
    {
        var result = Load(Examples.PolicyText.Replace("rules:\n", "rules:\n  - { id: no-bulk, tool: bulk_delete, effect: deny, message: no }\n", StringComparison.Ordinal));
        var error = Assert.Single(result.Errors);
        Assert.Equal("rule 'no-bulk' names the tool 'bulk_delete', which no system declares", error.Message);
        Assert.Contains("system: NAME", error.Hint);
    }

    [Fact]
    public void A_near_miss_of_a_tool_the_system_annotates_is_an_error_even_with_its_system()
    {
        var result = Load(With("""
            systems:
              - id: crm
                tools:
                  - { name: delete_record, kind: delete, reversibility: irreversible }
            rules:
              - { id: no-crm-deletes, system: crm, tool: delete_recrod, effect: deny, message: no }
            """));
        var error = Assert.Single(result.Errors);
        Assert.Equal("rule 'no-crm-deletes' names the tool 'delete_recrod', which crm does not annotate", error.Message);
        Assert.StartsWith("did you mean 'delete_record'?", error.Hint);
    }

    [Theory]
    [InlineData("contcts.*", false)]
    [InlineData("contacts.purge*x", false)]
    public void A_wildcard_that_matches_no_tool_can_never_match(string pattern, bool valid)
    {
        var result = Load(With($"rules:\n  - {{ id: r, tool: [contacts.update, '{pattern}'], effect: deny, message: no }}\n"));
        Assert.Equal(valid, result.Succeeded);
        Assert.Equal($"rule 'r' can never match '{pattern}': no tool's name matches it", Single(result, DiagnosticCode.RuleNeverMatches).Message);
    }

    [Fact]
    public void A_wildcard_that_matches_only_unannotated_upstream_tools_is_a_warning()
    {
        var result = Load(With("""
            systems:
              - id: crm
                tools:
                  - { name: query, kind: read }
            rules:
              - { id: no-exports, tool: 'export_*', effect: deny, message: no }
            """));
        Assert.True(result.Succeeded, string.Join("\n", result.Diagnostics));
        Assert.Equal(Severity.Warning, Single(result, DiagnosticCode.UnknownReference).Severity);
    }

    [Fact]
    public void A_condition_name_that_exists_but_not_where_the_condition_applies_is_a_warning()
    {
        var text = Examples.PolicyText.Replace("when: tool == 'contacts.merge'", "when: tool == 'contacts.update'", StringComparison.Ordinal);
        var result = Load(text);
        Assert.True(result.Succeeded, string.Join("\n", result.Diagnostics));
        var warning = Single(result, DiagnosticCode.RuleNeverMatches);
        Assert.Equal(Severity.Warning, warning.Severity);
        Assert.Equal("in the condition of exception 'trade-show-dedupe': the tool is never 'contacts.update' there, since exception 'trade-show-dedupe' (for agent 'hygiene-bot', over rule 'hygiene-merges-and-deletes') applies only to contacts.merge, contacts.delete",
            warning.Message);
        Assert.Equal((LineOf(text, "'contacts.update' &&"), ColumnOf(text, "'contacts.update' &&")), (warning.Location.Line, warning.Location.Column));
    }

    [Fact]
    public void A_data_class_no_policy_declares_and_nothing_resembles_is_a_warning()
    {
        var result = Load(Examples.PolicyText.Replace("'pii' in classes", "'vip' in classes", StringComparison.Ordinal));
        Assert.True(result.Succeeded);
        Assert.StartsWith("in the condition of rule 'no-bulk-pii-reads': no data class 'vip' is declared", Single(result, DiagnosticCode.UnknownReference).Message);
    }

    [Fact]
    public void A_loop_variable_that_shadows_a_name_variable_is_read_as_the_loop_variable()
    {
        // 'tool' here is each field, so 'contacts.email' is a field, not a misspelt tool.
        var policy = WithRules("  - { id: r, agent: tidy-bot, tool: contacts.update, when: \"fields.exists(tool, tool == 'contacts.email')\", effect: deny, message: no }");
        Assert.Single(policy.Rules);
    }

    [Fact]
    public void A_read_annotation_under_a_name_another_system_writes_with_is_a_warning_at_the_annotation()
    {
        var text = With("""
            systems:
              - id: erp
                tools:
                  - { name: update_record, kind: write, reversibility: reversible }
              - id: crm
                tools:
                  - { name: query, kind: read }
                  - { name: Update_Record, kind: read }
                  - { name: crm.contacts.update, kind: read }
            """);
        var result = Load(text);
        Assert.True(result.Succeeded);
        var warnings = result.Diagnostics.Where(d => d.Code == DiagnosticCode.InvalidValue).OrderBy(d => d.Location.Line).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.Equal("tool 'Update_Record' of system 'crm' is annotated read, but system 'erp' has a tool 'update_record' that is a write", warnings[0].Message);
        var line = LineOf(text, "name: Update_Record");
        Assert.Equal((line, text.Split('\n')[line - 1].IndexOf("kind: read", StringComparison.Ordinal) + 7), (warnings[0].Location.Line, warnings[0].Location.Column));
        Assert.Equal("tool 'crm.contacts.update' of system 'crm' is annotated read, but the workspace has a tool 'contacts.update' that is a write", warnings[1].Message);
    }

    [Fact]
    public void Reads_that_share_a_name_with_reads_are_not_warned_about()
    {
        var result = Load(With("""
            systems:
              - id: crm
                tools:
                  - { name: query, kind: read }
                  - { name: contacts.search, kind: read }
              - id: erp
                tools:
                  - { name: query, kind: read }
            """));
        Assert.Empty(result.Diagnostics);
    }
}
