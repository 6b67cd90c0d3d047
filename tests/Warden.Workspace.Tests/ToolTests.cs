using Warden.Tests;
using System.Text.Json;
using Warden.Core;

namespace Warden.Workspace.Tests;

/// <summary>The write tools beyond contact fields: each plans its real change, applies it, and (where it can) rolls back.</summary>
public sealed class ToolOnSqliteTests() : ToolTests(null);

public sealed class ToolOnPostgresTests(PostgresServer server) : ToolTests(server);

public abstract class ToolTests(PostgresServer? server)
{
    private readonly WorkspaceFixture _workspace = new(server);

    private RollbackResult Undo(AppliedAction action) =>
        _workspace.Workspace.RollBack(new RollbackRequest(action.ActionId), ConflictResolution.Skip, "maria").Get();

    [Fact]
    public void Adding_list_members_counts_only_new_members()
    {
        var plan = _workspace.Plan("lists.add_members", """{"list": "newsletter", "ids": ["c-01", "c-11", "c-12"]}""");
        Assert.Equal(2, plan.Records);
        Assert.Equal(["newsletter|c-11", "newsletter|c-12"], plan.SampleKeys);
        Assert.Contains("1 already members", plan.Summary);
    }

    [Fact]
    public void List_membership_changes_roll_back()
    {
        var before = _workspace.Dump();
        var added = _workspace.Apply("lists.add_members", """{"list": "newsletter", "filter": "country == 'FR'"}""");
        Assert.Equal(20L, _workspace.Scalar("SELECT count(*) FROM list_members WHERE list_id = 'newsletter'"));
        Undo(added);
        Assert.Equal(10L, _workspace.Scalar("SELECT count(*) FROM list_members WHERE list_id = 'newsletter'"));
        var removed = _workspace.Apply("lists.remove_members", """{"list": "newsletter", "ids": ["c-01", "c-02"]}""");
        Assert.Equal(2, removed.Records);
        Undo(removed);
        Assert.Equal(10L, _workspace.Scalar("SELECT count(*) FROM list_members WHERE list_id = 'newsletter'"));
        Assert.Contains("|newsletter|c-01|", _workspace.Dump());
        _ = before;
    }

    [Fact]
    public void A_list_change_names_the_campaigns_that_go_to_the_list()
    {
        var plan = _workspace.Plan("lists.remove_members", """{"list": "newsletter", "ids": ["c-01"]}""");
        Assert.Equal(("campaign", "cmp-news"), (plan.Dependents.Single().Kind, plan.Dependents.Single().Id));
    }

    [Fact]
    public void An_unknown_list_is_refused() =>
        Assert.Equal("there is no list 'nope'; lists.add_members changed nothing",
            _workspace.Workspace.Plan(WorkspaceFixture.Call("lists.add_members", """{"list": "nope", "ids": ["c-01"]}""")).Error!.Message);

    [Fact]
    public void Nurture_removals_roll_back()
    {
        var removed = _workspace.Apply("nurture.remove_members", """{"flow": "onboarding", "filter": "lifecycle_stage == 'mql'"}""");
        Assert.Equal(1, removed.Records); // c-04 is the only mql among c-01..c-06
        Undo(removed);
        Assert.Equal(6L, _workspace.Scalar("SELECT count(*) FROM nurture_members"));
    }

    [Fact]
    public void Suppression_addresses_are_normalised_and_changes_roll_back()
    {
        var added = _workspace.Apply("suppression.add", """{"list": "global", "emails": [" Person8@Example.com", "person3@example.com"], "reason": "complaint"}""");
        Assert.Equal(1, added.Records);
        Assert.Equal(1L, _workspace.Scalar("SELECT count(*) FROM suppression WHERE email = 'person8@example.com'"));
        Undo(added);
        Assert.Equal(0L, _workspace.Scalar("SELECT count(*) FROM suppression WHERE email = 'person8@example.com'"));
        var removed = _workspace.Apply("suppression.remove", """{"list": "global", "emails": ["person3@example.com"], "reason": "resubscribed in person"}""");
        Undo(removed);
        Assert.Equal(1L, _workspace.Scalar("SELECT count(*) FROM suppression WHERE email = 'person3@example.com'"));
    }

    [Fact]
    public void A_segment_rule_change_counts_who_joins_and_who_leaves()
    {
        var plan = _workspace.Plan("segments.update_rule", """{"segment": "seg-de-leads", "rule": "country == 'DE'"}""");
        Assert.Equal(5, plan.Records - 1); // the segment itself, and the 5 German mqls who join
        Assert.Contains("5 contacts join and 0 leave; it will select 20", plan.Summary);
        Assert.Equal("segment:seg-de-leads", plan.SampleKeys[0]);
    }

    [Fact]
    public void A_segment_rule_change_names_its_syncs_and_campaigns()
    {
        var plan = _workspace.Plan("segments.update_rule", """{"segment": "seg-webinar", "rule": "lead_source == 'webinar' && country == 'DE'"}""");
        Assert.Contains(plan.Dependents, d => d.Kind == "audience_sync" && d.Id == "sync-webinar");
    }

    [Fact]
    public void A_segment_rule_change_updates_the_dependency_map_and_rolls_back()
    {
        var applied = _workspace.Apply("segments.update_rule", """{"segment": "seg-webinar", "rule": "country == 'FR'"}""");
        Assert.Equal("contacts.country", _workspace.Scalar("SELECT string_agg(field, ',' ORDER BY field) FROM field_dependencies WHERE object_id = 'seg-webinar'"));
        Undo(applied);
        Assert.Equal("lead_source == 'webinar'", _workspace.Scalar("SELECT rule FROM segments WHERE id = 'seg-webinar'"));
        Assert.Equal("contacts.lead_source", _workspace.Scalar("SELECT string_agg(field, ',' ORDER BY field) FROM field_dependencies WHERE object_id = 'seg-webinar'"));
    }

    [Fact]
    public void An_invalid_rule_is_refused() =>
        Assert.StartsWith("the new rule of segments.update_rule is not a valid filter: unknown name 'contry'",
            _workspace.Workspace.Plan(WorkspaceFixture.Call("segments.update_rule", """{"segment": "seg-webinar", "rule": "contry == 'FR'"}""")).Error!.Message);

    [Fact]
    public void A_routing_owner_change_reaches_the_contacts_it_routes()
    {
        var plan = _workspace.Plan("routing.update_rule", """{"rule": "route-webinar", "owner": "maria"}""");
        Assert.Equal(13, plan.Records - 1); // the rule itself, and the 13 webinar contacts (every third of c-01..c-40)
    }

    [Fact]
    public void A_send_never_reaches_unsubscribed_suppressed_or_unconsented_people_or_anyone_twice()
    {
        // seg-de-leads: DE leads c-01..c-20 without multiples of 4: 15 contacts.
        var plan = _workspace.Plan("campaigns.send", """{"campaign": "cmp-de"}""", agent: "campaign-qa-bot");
        Assert.Equal(
            [new Exclusion("no recorded consent", 2), new Exclusion("suppressed", 1), new Exclusion("unsubscribed", 1)],
            plan.Excluded);
        Assert.Equal(11, plan.Recipients);
        Assert.Equal(11, plan.Records);
        Assert.True(plan.Facts.External);
        Assert.False(plan.Facts.Reversible);
        Assert.Equal(11, plan.Facts.Recipients);
    }

    [Fact]
    public void A_send_records_each_recipient_and_cannot_be_rolled_back()
    {
        var sent = _workspace.Apply("campaigns.send", """{"campaign": "cmp-de"}""", agent: "campaign-qa-bot");
        Assert.False(sent.Reversible);
        Assert.Equal(11L, _workspace.Scalar("SELECT count(*) FROM campaign_sends WHERE campaign_id = 'cmp-de'"));
        Assert.Equal(0L, _workspace.Scalar("SELECT count(*) FROM campaign_sends s JOIN contacts c ON c.id = s.contact_id WHERE c.email_consent <> 'subscribed'"));
        Assert.Equal("sent", _workspace.Scalar("SELECT status FROM campaigns WHERE id = 'cmp-de'"));
        var undo = _workspace.Workspace.RollBack(new RollbackRequest(sent.ActionId), ConflictResolution.Force, "maria");
        Assert.Equal("refused", undo.Error!.Code);
        Assert.Contains("cannot be rolled back", undo.Error.Message);
        Assert.Equal("refused", _workspace.Workspace.Plan(WorkspaceFixture.Call("campaigns.send", """{"campaign": "cmp-de"}""")).Error!.Code);
    }

    [Fact]
    public void A_duplicate_address_is_reached_once()
    {
        _workspace.Execute("UPDATE contacts SET country = 'DE' WHERE id = 'c-41'");
        var plan = _workspace.Plan("segments.members", """{"segment": "seg-de-leads"}""");
        Assert.Equal(16, plan.Records);
        var send = _workspace.Plan("campaigns.send", """{"campaign": "cmp-de"}""");
        Assert.Equal(11, send.Recipients);
        Assert.Contains(send.Excluded, e => e.Reason == "address already reached through another contact" && e.Records == 1);
    }

    [Fact]
    public void A_sync_uploads_only_consented_people_and_is_irreversible()
    {
        var sync = _workspace.Apply("audiences.sync", """{"segment": "seg-webinar", "destination": "linkedin:webinar-retarget"}""", agent: "campaign-qa-bot");
        Assert.False(sync.Reversible);
        var members = (long)_workspace.Scalar("SELECT members FROM audience_syncs WHERE id = 'sync-webinar'")!;
        Assert.Equal(10, members); // 13 webinar contacts less c-30 (unsubscribed), c-21 (no consent), c-03 (suppressed)
        Assert.Equal("synced", _workspace.Scalar("SELECT status FROM audience_syncs WHERE id = 'sync-webinar'"));
    }

    [Fact]
    public void A_bad_destination_is_refused() =>
        Assert.StartsWith("'myspace:x' is not a destination",
            _workspace.Workspace.Plan(WorkspaceFixture.Call("audiences.sync", """{"segment": "seg-webinar", "destination": "myspace:x"}""")).Error!.Message);

    [Fact]
    public void A_draft_can_be_created_scheduled_and_rolled_back()
    {
        var draft = _workspace.Apply("campaigns.create_draft", """{"name": "Spring", "audience": "newsletter", "subject": "Spring", "content": "Hi", "sender": "news@northwind.example"}""");
        var id = JsonSerializer.Deserialize<Dictionary<string, string>>(draft.Output)!["campaign"];
        Assert.Equal("draft", _workspace.Scalar("SELECT status FROM campaigns WHERE id = @id", ("@id", id)));
        var scheduled = _workspace.Apply("campaigns.schedule", $$"""{"campaign": "{{id}}", "at": "2026-12-01T09:00:00Z"}""");
        Assert.Equal("2026-12-01T09:00:00.000Z", _workspace.Scalar("SELECT scheduled_at FROM campaigns WHERE id = @id", ("@id", id)));
        Undo(scheduled);
        Assert.Equal("draft", _workspace.Scalar("SELECT status FROM campaigns WHERE id = @id", ("@id", id)));
        Undo(draft);
        Assert.Equal(0L, _workspace.Scalar("SELECT count(*) FROM campaigns WHERE id = @id", ("@id", id)));
    }

    [Fact]
    public void A_schedule_in_the_past_is_refused() =>
        Assert.Equal("'at' of campaigns.schedule is in the past; a schedule is for later",
            _workspace.Workspace.Plan(WorkspaceFixture.Call("campaigns.schedule", """{"campaign": "cmp-de", "at": "2020-01-01T00:00:00Z"}""")).Error!.Message);

    [Fact]
    public void A_merge_fills_fields_keeps_the_strictest_consent_moves_memberships_and_rolls_back()
    {
        _workspace.Execute("UPDATE contacts SET email_consent = 'unsubscribed' WHERE id = 'c-41'");
        var before = _workspace.Dump();
        var merged = _workspace.Apply("contacts.merge", """{"primary": "c-05", "duplicates": ["c-41"]}""");
        Assert.Equal("+49 30 1234", _workspace.Field("c-05", "phone"));
        Assert.Equal("unsubscribed", _workspace.Field("c-05", "email_consent"));
        Assert.Equal("77", _workspace.Field("c-05", "lead_score"));
        Assert.Equal(1L, _workspace.Scalar("SELECT count(*) FROM list_members WHERE list_id = 'vip' AND contact_id = 'c-05'"));
        Assert.NotEqual("", _workspace.Field("c-41", "deleted_at"));
        Undo(merged);
        Assert.Equal("", _workspace.Field("c-05", "phone"));
        Assert.Equal("subscribed", _workspace.Field("c-05", "email_consent"));
        Assert.Equal(1L, _workspace.Scalar("SELECT count(*) FROM list_members WHERE list_id = 'vip' AND contact_id = 'c-41'"));
        Assert.Equal("", _workspace.Field("c-41", "deleted_at"));
        _ = before;
    }

    [Fact]
    public void A_purge_erases_without_keeping_what_the_records_held_and_cannot_be_rolled_back()
    {
        var purged = _workspace.Apply("contacts.purge", """{"ids": ["c-01"], "reason": "erasure request 2026-118"}""");
        Assert.Equal(0L, _workspace.Scalar("SELECT count(*) FROM contacts WHERE id = 'c-01'"));
        Assert.Equal(0L, _workspace.Scalar("SELECT count(*) FROM list_members WHERE contact_id = 'c-01'"));
        Assert.Equal(0L, _workspace.Scalar("SELECT count(*) FROM journal WHERE action_id = @a AND (before IS NOT NULL OR after IS NOT NULL)", ("@a", purged.ActionId)));
        Assert.Equal("refused", _workspace.Workspace.RollBack(new RollbackRequest(purged.ActionId), ConflictResolution.Force, "maria").Error!.Code);
    }

    [Fact]
    public void A_purge_reaches_soft_deleted_contacts_too()
    {
        _workspace.Apply("contacts.delete", """{"ids": ["c-02"]}""");
        Assert.Equal(1, _workspace.Plan("contacts.purge", """{"ids": ["c-02"], "reason": "erasure"}""").Records);
    }

    [Fact]
    public void A_send_planned_for_a_segment_that_grew_is_not_applied()
    {
        var plan = _workspace.Plan("campaigns.send", """{"campaign": "cmp-de"}""", agent: "campaign-qa-bot");
        _workspace.Execute("UPDATE contacts SET country = 'DE' WHERE id IN ('c-21', 'c-22', 'c-23')");
        var before = _workspace.Dump();
        var applied = _workspace.Workspace.Apply(plan);
        Assert.Equal("stale_plan", applied.Error!.Code);
        Assert.Equal("the records campaigns.send would change are not the ones planned: 11 then, 13 now; plan again", applied.Error.Message);
        Assert.Equal(before, _workspace.Dump());
    }
}
