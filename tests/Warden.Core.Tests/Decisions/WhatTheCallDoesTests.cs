using static Warden.Core.Tests.TestPolicies;

namespace Warden.Core.Tests.Decisions;

/// <summary>
/// What a call really does decides how it is governed, not its tool's name: a plan that deletes
/// records is a delete for the tier, the budgets, `kind` and the conditions over `deleted`; a sync
/// goes only to a destination the policy names.
/// </summary>
public sealed class WhatTheCallDoesTests
{
    [Fact]
    public void A_write_whose_plan_deletes_records_is_a_delete_for_the_tier()
    {
        // look is low tier: it may make reversible writes, never deletes.
        var policy = WithRules("  - { id: edits, agent: look-bot, tool: contacts.update, effect: allow }");
        Assert.Equal(Effect.Allow, policy.Decide(Call("look-bot", "contacts.update", facts: new() { Records = 3 })).Effect);
        var deleting = policy.Decide(Call("look-bot", "contacts.update", facts: new() { Records = 3, Deleted = 2 }));
        Assert.Equal((Effect.Deny, DecisionBasis.TierCap), (deleting.Effect, deleting.Basis));
    }

    [Fact]
    public void Records_a_merge_deletes_count_against_a_budget_of_deleted_records()
    {
        var policy = Valid(With("""
            rules:
              - { id: merges, agent: tidy-bot, tool: contacts.merge, effect: allow }
            budgets:
              - { id: few-deletes, agent: tidy-bot, metric: deleted_records, limit: 10, per: 1h }
            """));
        var guards = new GuardSnapshot { Usage = new Dictionary<string, long> { ["few-deletes"] = 8 } };
        var merge = policy.Decide(Call("tidy-bot", "contacts.merge", facts: new() { Records = 4, Deleted = 3 }), guards);
        Assert.Equal((Effect.Deny, DecisionBasis.Budget, "few-deletes"), (merge.Effect, merge.Basis, merge.Budget!.Id));
        Assert.Contains("this call adds 3", merge.Reason, StringComparison.Ordinal);
        Assert.Equal(Effect.Allow, policy.Decide(Call("tidy-bot", "contacts.merge", facts: new() { Records = 3, Deleted = 2 }), guards).Effect);
    }

    [Fact]
    public void A_rule_over_deleted_holds_a_merge_as_it_holds_a_delete()
    {
        var policy = WithRules("""
              - { id: tidy, agent: tidy-bot, tool: [contacts.delete, contacts.merge], effect: allow }
              - { id: no-mass-delete, agent: tidy-bot, tool: [contacts.delete, contacts.merge], when: "deleted > 50", effect: deny, message: too many }
            """);
        Assert.Equal(("no-mass-delete", Effect.Deny), (policy.Decide(Call("tidy-bot", "contacts.merge", facts: new() { Records = 61, Deleted = 60 })).Rule!.Id, Effect.Deny));
        Assert.Equal(Effect.Allow, policy.Decide(Call("tidy-bot", "contacts.merge", facts: new() { Records = 41, Deleted = 40 })).Effect);
        Assert.Equal(Effect.Deny, policy.Decide(Call("tidy-bot", "contacts.delete", facts: new() { Records = 60 })).Effect); // a delete deletes its records
    }

    [Fact]
    public void Kind_is_delete_for_any_call_whose_plan_deletes()
    {
        var policy = WithRules("""
              - { id: edits, agent: tidy-bot, tool: contacts.update, effect: allow }
              - { id: deletes-need-bo, agent: tidy-bot, tool: contacts.update, when: "kind == 'delete'", effect: approve, approval: { approvers: [bo] } }
            """);
        Assert.Equal(Effect.Allow, policy.Decide(Call("tidy-bot", "contacts.update", facts: new() { Records = 2 })).Effect);
        Assert.Equal(Effect.Approve, policy.Decide(Call("tidy-bot", "contacts.update", facts: new() { Records = 2, Deleted = 1 })).Effect);
    }

    [Fact]
    public void A_sync_goes_only_to_a_destination_the_policy_names_whatever_a_rule_says()
    {
        var policy = Valid(With("""
            rules:
              - { id: syncs, agent: ops-bot, tool: audiences.sync, effect: approve, approval: { approvers: [ana] } }
            destinations:
              - { id: "linkedin:matched-audience-42", description: Retargeting }
            """));
        Assert.Equal(Effect.Approve, policy.Decide(Call("ops-bot", "audiences.sync", facts: new() { Records = 10, Destination = "linkedin:matched-audience-42" })).Effect);
        var elsewhere = policy.Decide(Call("ops-bot", "audiences.sync", facts: new() { Records = 10, Destination = "linkedin:matched-audience-43" }));
        Assert.Equal((Effect.Deny, DecisionBasis.Destination), (elsewhere.Effect, elsewhere.Basis));
        Assert.Equal("'linkedin:matched-audience-43' is not a destination the policy names; a sync goes only to a destination listed under destinations (a person adds one after review).",
            elsewhere.Reason);
        Assert.Equal(DecisionBasis.Destination, policy.Decide(Call("ops-bot", "audiences.sync", facts: new() { Records = 10 })).Basis);
    }

    [Fact]
    public void A_destination_named_twice_is_an_error_where_it_is_named_again()
    {
        var result = Load(With("""
            destinations:
              - { id: "meta:custom-audience-12" }
              - { id: "meta:custom-audience-12" }
            """));
        var duplicate = Single(result, DiagnosticCode.DuplicateName);
        Assert.Contains("destination 'meta:custom-audience-12' is named twice", duplicate.Message, StringComparison.Ordinal);
        Assert.False(result.Succeeded);
    }

    [Fact]
    public void Explain_and_policy_tests_read_deleted_changed_and_destination_from_the_facts()
    {
        Assert.True(StrictJson.TryReadFacts(System.Text.Json.JsonDocument.Parse("""{"records": 5, "deleted": 4, "changed": 5, "destination": "meta:x"}""").RootElement,
            out var facts, out var error), error);
        Assert.Equal((4L, 5L, "meta:x"), (facts.Deleted!.Value, facts.Changed!.Value, facts.Destination));
    }
}
