using Warden.Tests;
using Warden.Core;
namespace Warden.Workspace.Tests;

/// <summary>Rollback restores before-images, never silently overwrites later changes, and is itself journaled.</summary>
public sealed class RollbackOnSqliteTests() : RollbackTests(null);

public sealed class RollbackOnPostgresTests(PostgresServer server) : RollbackTests(server);

public abstract class RollbackTests(PostgresServer? server)
{
    private readonly WorkspaceFixture _workspace = new(server);

    [Fact]
    public void Rolling_back_restores_every_before_image()
    {
        var before = _workspace.Scalar("SELECT string_agg(id || '=' || lead_source, ',' ORDER BY id) FROM contacts");
        var applied = _workspace.Apply("contacts.update", """{"filter": "country == 'DE'", "set": {"lead_source": "trade_show"}}""");
        var result = _workspace.Workspace.RollBack(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria");
        Assert.True(result.Succeeded, result.Error?.Message);
        Assert.Equal(20, result.Value!.Restored);
        Assert.Empty(result.Value.Skipped);
        Assert.Equal(before, _workspace.Scalar("SELECT string_agg(id || '=' || lead_source, ',' ORDER BY id) FROM contacts"));
        Assert.Equal("3", _workspace.Field("c-01", "version"));
    }

    [Fact]
    public void A_rollback_can_be_previewed_without_writing()
    {
        var applied = _workspace.Apply("contacts.update", """{"filter": "country == 'DE'", "set": {"lead_source": "trade_show"}}""");
        var before = _workspace.Dump();
        var plan = _workspace.Workspace.PlanRollback(new RollbackRequest(applied.ActionId)).Get();
        Assert.Equal(20, plan.Restorable);
        Assert.Equal("Rolling back 1 action restores 20 records.", plan.Summary);
        Assert.Equal(before, _workspace.Dump());
    }

    [Fact]
    public void A_record_changed_after_the_action_is_a_conflict_and_is_skipped()
    {
        var applied = _workspace.Apply("contacts.update", """{"filter": "country == 'DE'", "set": {"lead_source": "trade_show"}}""");
        var later = _workspace.Apply("contacts.update", """{"ids": ["c-04"], "set": {"lead_source": "referral"}}""", agent: "campaign-qa-bot");
        var plan = _workspace.Workspace.PlanRollback(new RollbackRequest(applied.ActionId)).Get();
        var conflict = Assert.Single(plan.Conflicts);
        Assert.Equal(("contacts", "c-04", $"changed since by {later.ActionId}"), (conflict.Table, conflict.Key, conflict.Reason));

        var result = _workspace.Workspace.RollBack(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria").Get();
        Assert.Equal(19, result.Restored);
        Assert.Equal("referral", _workspace.Field("c-04", "lead_source"));
        Assert.Equal("web", _workspace.Field("c-05", "lead_source"));
    }

    [Fact]
    public void A_change_made_outside_warden_is_a_conflict_too()
    {
        var applied = _workspace.Apply("contacts.update", """{"ids": ["c-04"], "set": {"lead_source": "trade_show"}}""");
        _workspace.Execute("UPDATE contacts SET lead_source = 'import', version = version + 1 WHERE id = 'c-04'");
        var conflict = Assert.Single(_workspace.Workspace.PlanRollback(new RollbackRequest(applied.ActionId)).Get().Conflicts);
        Assert.Equal("changed since, outside Warden", conflict.Reason);
    }

    [Fact]
    public void A_forced_rollback_overwrites_the_later_change()
    {
        var applied = _workspace.Apply("contacts.update", """{"filter": "country == 'DE'", "set": {"lead_source": "trade_show"}}""");
        _workspace.Apply("contacts.update", """{"ids": ["c-04"], "set": {"lead_source": "referral"}}""");
        var result = _workspace.Workspace.RollBack(new RollbackRequest(applied.ActionId), ConflictResolution.Force, "maria").Get();
        Assert.Equal(20, result.Restored);
        Assert.Equal("web", _workspace.Field("c-04", "lead_source"));
    }

    [Fact]
    public void A_rollback_is_journaled_and_can_itself_be_rolled_back()
    {
        var applied = _workspace.Apply("contacts.update", """{"ids": ["c-01", "c-02"], "set": {"job_title": "CMO"}}""");
        var rollback = _workspace.Workspace.RollBack(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria").Get();
        Assert.Equal("Marketing Manager", _workspace.Field("c-01", "job_title"));
        Assert.Equal(rollback.ActionId, _workspace.Scalar("SELECT rolled_back_by FROM actions WHERE id = @a", ("@a", applied.ActionId)));

        var redo = _workspace.Workspace.RollBack(new RollbackRequest(rollback.ActionId), ConflictResolution.Skip, "maria").Get();
        Assert.Equal(2, redo.Restored);
        Assert.Equal("CMO", _workspace.Field("c-01", "job_title"));
    }

    [Fact]
    public void An_action_cannot_be_rolled_back_twice()
    {
        var applied = _workspace.Apply("contacts.update", """{"ids": ["c-01"], "set": {"job_title": "CMO"}}""");
        var first = _workspace.Workspace.RollBack(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria").Get();
        var second = _workspace.Workspace.RollBack(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria");
        Assert.Equal($"action {applied.ActionId} was already rolled back by {first.ActionId}", second.Error!.Message);
    }

    [Fact]
    public void Everything_an_agent_did_in_a_window_can_be_rolled_back_newest_first()
    {
        _workspace.Apply("contacts.update", """{"ids": ["c-01"], "set": {"job_title": "CMO"}}""");
        _workspace.Apply("contacts.update", """{"ids": ["c-01"], "set": {"job_title": "CEO"}}""");
        _workspace.Apply("contacts.update", """{"ids": ["c-02"], "set": {"job_title": "CFO"}}""", agent: "someone-else");
        var result = _workspace.Workspace.RollBack(
            new RollbackRequest(Agent: "hygiene-bot", From: WorkspaceFixture.Now, To: WorkspaceFixture.Now.AddMinutes(1)), ConflictResolution.Skip, "maria").Get();
        Assert.Equal(2, result.Undone.Count);
        Assert.Equal("Marketing Manager", _workspace.Field("c-01", "job_title"));
        Assert.Equal("CFO", _workspace.Field("c-02", "job_title"));
    }

    [Fact]
    public void Restoring_a_soft_delete_brings_the_contact_back()
    {
        var applied = _workspace.Apply("contacts.delete", """{"ids": ["c-07"]}""");
        _workspace.Workspace.RollBack(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria").Get();
        Assert.Equal("", _workspace.Field("c-07", "deleted_at"));
    }

    [Fact]
    public void A_rollback_of_an_unknown_action_is_refused() =>
        Assert.Equal("there is no action act-nope", _workspace.Workspace.PlanRollback(new RollbackRequest("act-nope")).Error!.Message);

    [Fact]
    public void Rolling_back_a_window_never_overwrites_a_change_made_in_between_by_someone_else()
    {
        _workspace.Apply("contacts.update", """{"ids": ["c-01"], "set": {"job_title": "CMO"}}""");
        _workspace.Apply("contacts.update", """{"ids": ["c-01"], "set": {"job_title": "CEO"}}""", agent: "someone-else");
        _workspace.Apply("contacts.update", """{"ids": ["c-01"], "set": {"lead_source": "referral"}}""");
        var window = new RollbackRequest(Agent: "hygiene-bot", From: WorkspaceFixture.Now, To: WorkspaceFixture.Now.AddMinutes(1));
        var preview = _workspace.Workspace.PlanRollback(window).Get();
        Assert.Equal("job_title", preview.Conflicts.Count == 1 ? "job_title" : "?");
        var result = _workspace.Workspace.RollBack(window, ConflictResolution.Skip, "maria").Get();
        Assert.Single(result.Skipped);
        Assert.Equal("CEO", _workspace.Field("c-01", "job_title"));
        Assert.Equal("web", _workspace.Field("c-01", "lead_source"));
    }

    [Fact]
    public void A_record_changed_and_changed_back_is_not_a_conflict()
    {
        var applied = _workspace.Apply("contacts.update", """{"ids": ["c-01"], "set": {"job_title": "CMO"}}""");
        var other = _workspace.Apply("contacts.update", """{"ids": ["c-01"], "set": {"job_title": "CEO"}}""", agent: "someone-else");
        _workspace.Workspace.RollBack(new RollbackRequest(other.ActionId), ConflictResolution.Skip, "maria").Get();
        Assert.Empty(_workspace.Workspace.PlanRollback(new RollbackRequest(applied.ActionId)).Get().Conflicts);
    }

    private RollbackResult Undo(string actionId, ConflictResolution resolution = ConflictResolution.Skip) =>
        _workspace.Workspace.RollBack(new RollbackRequest(actionId), resolution, "maria").Get();

    private AppliedAction SetTitle(string title, params string[] ids) => SetTitleAs("hygiene-bot", title, ids);

    private AppliedAction SetTitleAs(string agent, string title, params string[] ids) =>
        _workspace.Apply("contacts.update", System.Text.Json.JsonSerializer.Serialize(new { ids, set = new { job_title = title } }), agent);

    private static RollbackRequest Window(string agent = "hygiene-bot") => new(Agent: agent, From: WorkspaceFixture.Now, To: WorkspaceFixture.Now.AddMinutes(1));

    private string? RolledBackBy(string actionId) => _workspace.Scalar("SELECT rolled_back_by FROM actions WHERE id = @a", ("@a", actionId)) as string;

    [Fact]
    public void A_change_made_outside_warden_without_a_version_bump_is_a_conflict_and_is_kept()
    {
        var applied = _workspace.Apply("contacts.update", """{"filter": "country == 'DE'", "set": {"lead_source": "trade_show"}}""");
        // Another system writes the field and leaves version alone.
        _workspace.Execute("UPDATE contacts SET lead_source = 'import' WHERE id = 'c-04'");

        var conflict = Assert.Single(_workspace.Workspace.PlanRollback(new RollbackRequest(applied.ActionId)).Get().Conflicts);
        Assert.Equal(("c-04", "changed since, outside Warden"), (conflict.Key, conflict.Reason));
        var result = Undo(applied.ActionId);
        Assert.Equal((19L, "c-04"), (result.Restored, Assert.Single(result.Skipped).Key));
        Assert.Equal("import", _workspace.Field("c-04", "lead_source"));
        Assert.Equal("web", _workspace.Field("c-05", "lead_source"));
    }

    [Fact]
    public void A_rule_edited_outside_warden_without_a_version_bump_is_a_conflict_and_is_kept()
    {
        var applied = _workspace.Apply("segments.update_rule", """{"segment": "seg-webinar", "rule": "country == 'FR'"}""");
        _workspace.Execute("UPDATE segments SET rule = 'country == ''SE''' WHERE id = 'seg-webinar'");

        var conflict = Assert.Single(_workspace.Workspace.PlanRollback(new RollbackRequest(applied.ActionId)).Get().Conflicts);
        Assert.Equal(("segments", "seg-webinar", "changed since, outside Warden"), (conflict.Table, conflict.Key, conflict.Reason));
        Undo(applied.ActionId);
        Assert.Equal("country == 'SE'", _workspace.Scalar("SELECT rule FROM segments WHERE id = 'seg-webinar'"));
    }

    [Fact]
    public void A_change_to_another_field_of_the_record_is_no_conflict()
    {
        var applied = _workspace.Apply("contacts.update", """{"ids": ["c-04"], "set": {"lead_source": "trade_show"}}""");
        _workspace.Execute("UPDATE contacts SET phone = '+49 89 555', version = version + 1 WHERE id = 'c-04'");

        Assert.Empty(_workspace.Workspace.PlanRollback(new RollbackRequest(applied.ActionId)).Get().Conflicts);
        Assert.Equal(1L, Undo(applied.ActionId).Restored);
        Assert.Equal(("web", "+49 89 555"), (_workspace.Field("c-04", "lead_source"), _workspace.Field("c-04", "phone")));
    }

    [Fact]
    public void A_forced_rollback_names_what_it_overwrote_and_undoing_it_brings_the_later_change_back()
    {
        var applied = _workspace.Apply("contacts.update", """{"ids": ["c-04", "c-05"], "set": {"lead_source": "trade_show"}}""");
        _workspace.Execute("UPDATE contacts SET lead_source = 'import' WHERE id = 'c-04'");
        var forced = Undo(applied.ActionId, ConflictResolution.Force);
        Assert.Equal((2L, "c-04", "changed since, outside Warden"), (forced.Restored, Assert.Single(forced.Overwritten).Key, forced.Overwritten[0].Reason));
        Assert.Empty(forced.Skipped);
        Assert.Equal("web", _workspace.Field("c-04", "lead_source"));

        Undo(forced.ActionId);
        Assert.Equal(("import", "trade_show"), (_workspace.Field("c-04", "lead_source"), _workspace.Field("c-05", "lead_source")));
    }

    [Fact]
    public void Of_two_actions_in_one_millisecond_the_one_applied_second_is_the_later_change()
    {
        _workspace.SameInstant = true;
        // Action ids are the time and a random part: within one millisecond they sort at random,
        // so eight pairs leave an order by id one chance in 256 of passing by luck.
        for (var i = 1; i <= 8; i++)
        {
            var first = SetTitle("CMO", $"c-0{i}");
            var second = SetTitleAs("someone-else", "CEO", $"c-0{i}");
            var conflict = Assert.Single(_workspace.Workspace.PlanRollback(new RollbackRequest(first.ActionId)).Get().Conflicts);
            Assert.Equal($"changed since by {second.ActionId}", conflict.Reason);
            Assert.Empty(_workspace.Workspace.PlanRollback(new RollbackRequest(second.ActionId)).Get().Conflicts);
        }
    }

    [Fact]
    public void A_window_of_actions_applied_in_one_millisecond_is_undone_newest_first()
    {
        _workspace.SameInstant = true;
        for (var i = 1; i <= 8; i++)
        {
            SetTitle("CMO", $"c-0{i}");
            SetTitle("CEO", $"c-0{i}");
        }

        var result = _workspace.Workspace.RollBack(Window(), ConflictResolution.Skip, "maria").Get();
        Assert.Empty(result.Skipped);
        Assert.Equal((16, 16L), (result.Undone.Count, result.Restored));
        Assert.All(Enumerable.Range(1, 8), i => Assert.Equal("Marketing Manager", _workspace.Field($"c-0{i}", "job_title")));
    }

    [Fact]
    public void The_preview_lists_exactly_the_conflicts_the_run_skips_when_actions_share_a_millisecond()
    {
        _workspace.SameInstant = true;
        for (var i = 1; i <= 8; i++)
        {
            // The agent sets a title twice; someone then overwrites the second one in the CRM.
            SetTitle("CMO", $"c-0{i}", $"c-{i + 10}");
            SetTitle("CFO", $"c-0{i}");
            _workspace.Execute("UPDATE contacts SET job_title = 'Owner', version = version + 1 WHERE id = @id", ("@id", $"c-0{i}"));
        }

        var preview = _workspace.Workspace.PlanRollback(Window()).Get();
        var result = _workspace.Workspace.RollBack(Window(), ConflictResolution.Skip, "maria").Get();
        Assert.Equal(16, result.Skipped.Count);
        Assert.Equal(result.Skipped.Select(c => (c.ActionId, c.Key)).Order(), preview.Conflicts.Select(c => (c.ActionId, c.Key)).Order());
        Assert.Equal((8L, 8L), (preview.Restorable, result.Restored));
        Assert.Equal("Owner", _workspace.Field("c-01", "job_title"));
    }

    [Fact]
    public void A_window_keeps_a_field_whose_newer_change_in_the_window_could_not_be_undone()
    {
        _workspace.Apply("contacts.update", """{"ids": ["c-01", "c-02"], "set": {"job_title": "CMO"}}""");
        _workspace.Apply("contacts.update", """{"ids": ["c-01"], "set": {"job_title": "CFO"}}""");
        _workspace.Apply("contacts.update", """{"ids": ["c-02"], "set": {"lead_source": "referral"}}""");
        // By hand, someone sets c-01's title back to CMO and c-02's source to import: the agent's
        // newer changes are gone, and c-01 happens to hold what its first change wrote again.
        _workspace.Execute("UPDATE contacts SET job_title = 'CMO' WHERE id = 'c-01'");
        _workspace.Execute("UPDATE contacts SET lead_source = 'import' WHERE id = 'c-02'");

        var preview = _workspace.Workspace.PlanRollback(Window()).Get();
        var result = _workspace.Workspace.RollBack(Window(), ConflictResolution.Skip, "maria").Get();
        Assert.Equal(["c-01", "c-01", "c-02"], result.Skipped.Select(c => c.Key).Order());
        Assert.Equal(result.Skipped, preview.Conflicts);
        Assert.Equal(("CMO", "Marketing Manager", "import"), (_workspace.Field("c-01", "job_title"), _workspace.Field("c-02", "job_title"), _workspace.Field("c-02", "lead_source")));
    }

    [Fact]
    public void A_rollback_of_a_rollback_puts_the_action_back_in_effect_so_it_can_be_rolled_back_again()
    {
        _workspace.SameInstant = true;
        var applied = _workspace.Apply("contacts.update", """{"ids": ["c-01", "c-02"], "set": {"job_title": "CMO"}}""");
        var undo = Undo(applied.ActionId);
        var redo = Undo(undo.ActionId);
        Assert.Equal((2L, "CMO"), (redo.Restored, _workspace.Field("c-01", "job_title")));
        Assert.Equal((null, redo.ActionId), (RolledBackBy(applied.ActionId), RolledBackBy(undo.ActionId)));

        var again = Undo(applied.ActionId);
        Assert.Equal((2L, "Marketing Manager"), (again.Restored, _workspace.Field("c-01", "job_title")));
        Assert.Equal(again.ActionId, RolledBackBy(applied.ActionId));
    }

    [Fact]
    public void Undoing_a_redo_undoes_the_action_again_and_says_by_which_rollback()
    {
        var applied = _workspace.Apply("contacts.update", """{"ids": ["c-01"], "set": {"job_title": "CMO"}}""");
        var undo = Undo(applied.ActionId);
        var redo = Undo(undo.ActionId);
        var undoRedo = Undo(redo.ActionId);
        Assert.Equal("Marketing Manager", _workspace.Field("c-01", "job_title"));
        Assert.Equal((undo.ActionId, null, undoRedo.ActionId), (RolledBackBy(applied.ActionId), RolledBackBy(undo.ActionId), RolledBackBy(redo.ActionId)));
        Assert.Equal($"action {applied.ActionId} was already rolled back by {undo.ActionId}",
            _workspace.Workspace.RollBack(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria").Error!.Message);
    }

    [Fact]
    public void A_rollback_of_a_rollback_never_overwrites_a_change_made_after_the_rollback()
    {
        var applied = _workspace.Apply("contacts.update", """{"ids": ["c-01", "c-02"], "set": {"job_title": "CMO"}}""");
        var undo = Undo(applied.ActionId);
        _workspace.Execute("UPDATE contacts SET job_title = 'Founder' WHERE id = 'c-01'");

        var conflict = Assert.Single(_workspace.Workspace.PlanRollback(new RollbackRequest(undo.ActionId)).Get().Conflicts);
        Assert.Equal(("c-01", "changed since, outside Warden"), (conflict.Key, conflict.Reason));
        var redo = Undo(undo.ActionId);
        Assert.Equal((1L, "c-01"), (redo.Restored, Assert.Single(redo.Skipped).Key));
        Assert.Equal(("Founder", "CMO"), (_workspace.Field("c-01", "job_title"), _workspace.Field("c-02", "job_title")));
    }

    [Fact]
    public void Restored_counts_only_records_the_rollback_changed()
    {
        // c-03 is already a webinar lead: setting it again changes nothing, and undoing that restores nothing.
        var applied = _workspace.Apply("contacts.update", """{"ids": ["c-01", "c-02", "c-03", "c-04"], "set": {"lead_source": "webinar"}}""");
        _workspace.Execute("UPDATE contacts SET lead_source = 'import' WHERE id = 'c-01'");
        _workspace.Execute("DELETE FROM contacts WHERE id = 'c-02'");

        Assert.Equal(1L, _workspace.Workspace.PlanRollback(new RollbackRequest(applied.ActionId)).Get().Restorable);
        var result = Undo(applied.ActionId);
        Assert.Equal((1L, 2), (result.Restored, result.Skipped.Count));
        Assert.Equal(1L, _workspace.Scalar("SELECT records FROM actions WHERE id = @a", ("@a", result.ActionId)));
    }

    [Fact]
    public void A_forced_rollback_counts_what_it_overwrote_but_not_what_was_deleted_since()
    {
        var applied = _workspace.Apply("contacts.update", """{"ids": ["c-01", "c-02", "c-03", "c-04"], "set": {"lead_source": "webinar"}}""");
        _workspace.Execute("UPDATE contacts SET lead_source = 'import' WHERE id = 'c-01'");
        _workspace.Execute("DELETE FROM contacts WHERE id = 'c-02'");

        var result = Undo(applied.ActionId, ConflictResolution.Force);
        Assert.Equal(2L, result.Restored); // c-01 overwritten, c-04 restored; c-02 is gone, c-03 never changed
        Assert.Equal(("c-01", "c-02", "deleted since, outside Warden"), (Assert.Single(result.Overwritten).Key, Assert.Single(result.Skipped).Key, result.Skipped[0].Reason));
        Assert.Equal(("web", "web"), (_workspace.Field("c-01", "lead_source"), _workspace.Field("c-04", "lead_source")));
    }
}

/// <summary>
/// Undo that does not destroy, attacked where today's tests cannot see: changes made outside
/// Warden that leave the version alone, and actions applied within one millisecond (the clock here
/// never moves between applies), whose order only their sequence keeps.
/// </summary>
public sealed class RollbackAttackOnSqliteTests() : RollbackAttackTests(null);

public sealed class RollbackAttackOnPostgresTests(PostgresServer server) : RollbackAttackTests(server);

public abstract class RollbackAttackTests(PostgresServer? server)
{
    private readonly WorkspaceFixture _workspace = new(server);

    /// <summary>Applies without moving the clock: every action of a test shares one millisecond.</summary>
    private AppliedAction Apply(string tool, string arguments, string agent = "hygiene-bot") =>
        _workspace.Workspace.Apply(_workspace.Plan(tool, arguments, agent)).Get();

    private AppliedAction SetTitle(int contact, string title, string agent = "hygiene-bot") =>
        Apply("contacts.update", System.Text.Json.JsonSerializer.Serialize(new { ids = new[] { $"c-{contact:D2}" }, set = new { job_title = title } }), agent);

    [Fact]
    public void A_change_made_outside_Warden_that_leaves_the_version_alone_is_a_conflict_and_is_kept()
    {
        var applied = Apply("contacts.update", """{"filter": "country == 'DE'", "set": {"lead_source": "trade_show"}}""");
        _workspace.Execute("UPDATE contacts SET lead_source = 'import' WHERE id = 'c-04'"); // version untouched
        var conflict = Assert.Single(_workspace.Workspace.PlanRollback(new RollbackRequest(applied.ActionId)).Get().Conflicts);
        Assert.Equal(("c-04", "changed since, outside Warden"), (conflict.Key, conflict.Reason));
        var result = _workspace.Workspace.RollBack(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria").Get();
        Assert.Equal((19L, 1), (result.Restored, result.Skipped.Count));
        Assert.Equal("import", _workspace.Field("c-04", "lead_source"));
        Assert.Equal("web", _workspace.Field("c-05", "lead_source"));
    }

    [Fact]
    public void A_change_to_another_table_made_outside_Warden_is_a_conflict_too()
    {
        var applied = Apply("segments.update_rule", """{"segment": "seg-webinar", "rule": "lead_source == 'referral'"}""");
        _workspace.Execute("UPDATE segments SET rule = 'lead_source == ''import''' WHERE id = 'seg-webinar'");
        Assert.Single(_workspace.Workspace.PlanRollback(new RollbackRequest(applied.ActionId)).Get().Conflicts);
        _workspace.Workspace.RollBack(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria").Get();
        Assert.Equal("lead_source == 'import'", _workspace.Scalar("SELECT rule FROM segments WHERE id = 'seg-webinar'"));
    }

    [Fact]
    public void A_later_action_in_the_same_millisecond_is_seen_as_later()
    {
        // Eight pairs: with ids ordered by their random part, some pair would come out backwards.
        var first = new List<string>();
        for (var i = 1; i <= 8; i++)
        {
            first.Add(SetTitle(i, "CMO").ActionId);
            SetTitle(i, "CEO", agent: "someone-else");
        }

        foreach (var action in first)
        {
            var conflict = Assert.Single(_workspace.Workspace.PlanRollback(new RollbackRequest(action)).Get().Conflicts);
            Assert.StartsWith("changed since by act-", conflict.Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_window_undoes_actions_of_one_millisecond_newest_first_and_its_preview_says_so()
    {
        for (var i = 1; i <= 8; i++)
        {
            SetTitle(i, "CMO");
            SetTitle(i, "CEO");
        }

        var window = new RollbackRequest(Agent: "hygiene-bot", From: WorkspaceFixture.Now, To: WorkspaceFixture.Now);
        var preview = _workspace.Workspace.PlanRollback(window).Get();
        Assert.Empty(preview.Conflicts);
        Assert.Equal(16, preview.Restorable);
        var result = _workspace.Workspace.RollBack(window, ConflictResolution.Skip, "maria").Get();
        Assert.Equal((16L, 0), (result.Restored, result.Skipped.Count));
        Assert.Equal(8L, _workspace.Scalar("SELECT count(*) FROM contacts WHERE job_title = 'Marketing Manager' AND id <= 'c-08'"));
    }

    [Fact]
    public void Rolling_back_a_rollback_makes_the_action_live_again_and_it_can_be_rolled_back_once_more()
    {
        var applied = Apply("contacts.update", """{"ids": ["c-01", "c-02"], "set": {"job_title": "CMO"}}""");
        var undo = _workspace.Workspace.RollBack(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria").Get();
        var redo = _workspace.Workspace.RollBack(new RollbackRequest(undo.ActionId), ConflictResolution.Skip, "maria").Get();
        Assert.Equal(2L, redo.Restored);
        Assert.Equal("CMO", _workspace.Field("c-01", "job_title"));
        Assert.Equal(DBNull.Value, _workspace.Scalar("SELECT rolled_back_by FROM actions WHERE id = @a", ("@a", applied.ActionId)) ?? DBNull.Value);
        var again = _workspace.Workspace.RollBack(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria").Get();
        Assert.Equal(2L, again.Restored);
        Assert.Equal("Marketing Manager", _workspace.Field("c-01", "job_title"));
        Assert.Equal("hygiene-bot", _workspace.Workspace.AgentOf(redo.ActionId));
    }

    [Fact]
    public void A_forced_rollback_counts_only_the_records_it_restored()
    {
        var applied = Apply("lists.add_members", """{"list": "vip", "ids": ["c-01", "c-02", "c-03"]}""");
        _workspace.Execute("DELETE FROM list_members WHERE list_id = 'vip' AND contact_id = 'c-02'"); // gone already
        var result = _workspace.Workspace.RollBack(new RollbackRequest(applied.ActionId), ConflictResolution.Force, "maria").Get();
        Assert.Equal(2L, result.Restored);
        Assert.Equal(1L, _workspace.Scalar("SELECT count(*) FROM list_members WHERE list_id = 'vip'")); // c-41 only
    }

}

/// <summary>SQLite files written before actions had a sequence gain one, in the order their actions were applied.</summary>
public sealed class SqliteActionSequenceTests
{
    private readonly WorkspaceFixture _workspace = new();

    /// <summary>Applies without moving the clock: every action of a test shares one millisecond.</summary>
    private AppliedAction Apply(string tool, string arguments, string agent = "hygiene-bot") =>
        _workspace.Workspace.Apply(_workspace.Plan(tool, arguments, agent)).Get();

    [Fact]
    public void An_older_workspace_file_numbers_its_actions_in_the_order_they_were_applied()
    {
        var first = _workspace.Apply("contacts.update", """{"ids": ["c-01"], "set": {"job_title": "CMO"}}""");
        var second = _workspace.Apply("contacts.update", """{"ids": ["c-01"], "set": {"job_title": "CEO"}}""");
        // As the file was before actions had a sequence.
        _workspace.Execute("DROP INDEX IF EXISTS actions_seq; ALTER TABLE actions DROP COLUMN seq");

        using var reopened = WorkspaceStore.Open(_workspace.Path);
        Assert.Equal($"{first.ActionId} {second.ActionId}", _workspace.Scalar("SELECT group_concat(id, ' ') FROM (SELECT id FROM actions ORDER BY seq)"));
        var workspace = new MarketingWorkspace(reopened, _workspace.Clock);
        var third = workspace.Apply(workspace.Plan(WorkspaceFixture.Call("contacts.update", """{"ids": ["c-02"], "set": {"job_title": "CFO"}}""")).Get()).Get();
        Assert.Equal(3L, _workspace.Scalar("SELECT seq FROM actions WHERE id = @a", ("@a", third.ActionId)));
        Assert.Equal($"changed since by {second.ActionId}", Assert.Single(workspace.PlanRollback(new RollbackRequest(first.ActionId)).Get().Conflicts).Reason);
    }

    [Fact]
    public void An_older_workspace_gains_the_sequence_in_the_order_of_its_actions()
    {
        Apply("contacts.update", """{"ids": ["c-01"], "set": {"job_title": "CMO"}}""");
        _workspace.Clock.Advance(TimeSpan.FromSeconds(1));
        Apply("contacts.update", """{"ids": ["c-02"], "set": {"job_title": "CMO"}}""");
        _workspace.Store.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _workspace.Execute("DROP INDEX actions_seq; ALTER TABLE actions DROP COLUMN seq;");
        using var store = WorkspaceStore.Open(_workspace.Path);
        Assert.Equal("1,2", _workspace.Scalar("SELECT group_concat(seq, ',') FROM (SELECT seq FROM actions ORDER BY applied_at)"));
    }
}
