using Warden.Tests;
using Warden.Core;
namespace Warden.Workspace.Tests;

/// <summary>Plan never writes; apply writes exactly the plan, with its journal, or nothing.</summary>
public sealed class PlanApplyOnSqliteTests() : PlanApplyTests(null);

public sealed class PlanApplyOnPostgresTests(PostgresServer server) : PlanApplyTests(server);

public abstract class PlanApplyTests(PostgresServer? server)
{
    private readonly WorkspaceFixture _workspace = new(server);

    [Fact]
    public void Planning_writes_nothing()
    {
        var before = _workspace.Dump();
        _workspace.Plan("contacts.update", """{"filter": "country == 'DE'", "set": {"lead_source": "trade_show"}}""");
        Assert.Equal(before, _workspace.Dump());
    }

    [Fact]
    public void A_plan_counts_the_affected_records_and_samples_them()
    {
        var plan = _workspace.Plan("contacts.update", """{"filter": "country == 'DE'", "set": {"lead_source": "trade_show"}}""");
        Assert.Equal(20, plan.Records);
        Assert.Equal(["c-01", "c-02", "c-03"], plan.SampleKeys.Take(3));
        Assert.Equal(["contacts.country"], plan.FieldsRead);
        Assert.Equal(["contacts.lead_source"], plan.FieldsChanged);
        Assert.Equal(5, plan.Sample.Count);
        Assert.Equal("web", plan.Sample[0].Before["lead_source"]);
        Assert.Equal("trade_show", plan.Sample[0].After["lead_source"]);
    }

    [Fact]
    public void A_plan_gives_the_field_level_diff_with_totals()
    {
        var plan = _workspace.Plan("contacts.update", """{"filter": "country == 'DE'", "set": {"lead_source": "webinar"}}""");
        var change = Assert.Single(plan.Changes);
        Assert.Equal("contacts.lead_source", change.Field);
        Assert.Equal(14, change.Records);  // 6 of the 20 are webinar already
        Assert.Equal([new ValueCount("web", 14), new ValueCount("webinar", 6)], change.Before);
        Assert.Equal("webinar", change.After);
    }

    [Fact]
    public void A_plan_names_the_objects_that_read_a_changed_field()
    {
        var plan = _workspace.Plan("contacts.update", """{"ids": ["c-01"], "set": {"lead_source": "referral"}}""");
        Assert.Equal(
            [("report", "rep-sources"), ("routing_rule", "route-webinar"), ("segment", "seg-webinar")],
            plan.Dependents.Select(d => (d.Kind, d.Id)));
        Assert.EndsWith("1 report and 1 routing rule and 1 segment read contacts.lead_source.", plan.Summary);
    }

    [Fact]
    public void A_plan_names_the_data_classes_it_touches()
    {
        var plan = _workspace.Plan("consent.update", """{"ids": ["c-01"], "status": "unsubscribed", "source": "request"}""");
        Assert.Equal(["consent"], plan.Classes);
        Assert.Equal(["consent"], plan.Facts.Classes);
        Assert.Equal(1, plan.Facts.Records);
    }

    [Fact]
    public void Applying_writes_the_change_and_bumps_versions()
    {
        var applied = _workspace.Apply("contacts.update", """{"filter": "country == 'DE'", "set": {"lead_source": "trade_show"}}""");
        Assert.Equal(20, applied.Records);
        Assert.StartsWith("act-", applied.ActionId);
        Assert.Equal("trade_show", _workspace.Field("c-05", "lead_source"));
        Assert.Equal("2", _workspace.Field("c-05", "version"));
        Assert.Equal("web", _workspace.Field("c-25", "lead_source"));
    }

    [Fact]
    public void Applying_journals_every_before_image()
    {
        var applied = _workspace.Apply("contacts.update", """{"filter": "country == 'DE'", "set": {"lead_source": "trade_show"}}""");
        Assert.Equal(20L, _workspace.Scalar("SELECT count(*) FROM journal WHERE action_id = @a", ("@a", applied.ActionId)));
        var before = (string)_workspace.Scalar("SELECT before FROM journal WHERE action_id = @a AND record_key = 'c-03'", ("@a", applied.ActionId))!;
        Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(System.Text.Json.Nodes.JsonNode.Parse("""{"lead_source":"webinar","version":1}"""), System.Text.Json.Nodes.JsonNode.Parse(before!)), before);
    }

    [Fact]
    public void Apply_is_refused_when_the_affected_set_grew_and_writes_nothing()
    {
        var plan = _workspace.Plan("contacts.update", """{"filter": "country == 'DE'", "set": {"lead_source": "trade_show"}}""");
        _workspace.Execute("UPDATE contacts SET country = 'DE' WHERE id = 'c-25'");
        var before = _workspace.Dump();
        var applied = _workspace.Workspace.Apply(plan);
        Assert.Equal("stale_plan", applied.Error!.Code);
        Assert.Equal("the records contacts.update would change are not the ones planned: 20 then, 21 now; plan again", applied.Error.Message);
        Assert.Equal(before, _workspace.Dump());
    }

    [Fact]
    public void Apply_is_refused_when_the_same_number_are_different_records()
    {
        var plan = _workspace.Plan("contacts.update", """{"filter": "country == 'DE'", "set": {"lead_source": "trade_show"}}""");
        _workspace.Execute("UPDATE contacts SET country = 'DE' WHERE id = 'c-25'");
        _workspace.Execute("UPDATE contacts SET country = 'AT' WHERE id = 'c-01'");
        Assert.Equal("stale_plan", _workspace.Workspace.Apply(plan).Error!.Code);
    }

    [Fact]
    public void The_plan_hash_binds_the_agent_and_the_arguments()
    {
        var first = _workspace.Plan("contacts.update", """{"ids": ["c-01"], "set": {"job_title": "CMO"}}""");
        var sameAgain = _workspace.Plan("contacts.update", """{"set": {"job_title": "CMO"}, "ids": ["c-01"]}""");
        var otherAgent = _workspace.Plan("contacts.update", """{"ids": ["c-01"], "set": {"job_title": "CMO"}}""", agent: "other-bot");
        var otherValue = _workspace.Plan("contacts.update", """{"ids": ["c-01"], "set": {"job_title": "CEO"}}""");
        Assert.Equal(first.Hash, sameAgain.Hash);
        Assert.NotEqual(first.Hash, otherAgent.Hash);
        Assert.NotEqual(first.Hash, otherValue.Hash);
    }

    [Fact]
    public void Consent_updates_stamp_the_time_of_writing()
    {
        _workspace.Clock.Advance(TimeSpan.FromHours(2));
        _workspace.Apply("consent.update", """{"ids": ["c-02"], "status": "unsubscribed", "source": "request"}""");
        Assert.Equal("unsubscribed", _workspace.Field("c-02", "email_consent"));
        Assert.Equal("2026-11-25T14:00:00.000Z", _workspace.Field("c-02", "email_consent_at"));
        Assert.Equal("request", _workspace.Field("c-02", "email_consent_source"));
    }

    [Fact]
    public void A_soft_delete_hides_contacts_from_later_selections()
    {
        _workspace.Apply("contacts.delete", """{"ids": ["c-01", "c-02"]}""");
        Assert.Equal("2026-11-25T12:00:00.000Z", _workspace.Field("c-01", "deleted_at"));
        Assert.Equal(18, _workspace.Plan("lifecycle.set_stage", """{"filter": "country == 'DE'", "stage": "sql"}""").Records);
    }

    [Fact]
    public async Task Writers_take_turns_and_every_write_lands()
    {
        var plans = Enumerable.Range(1, 8)
            .Select(i => _workspace.Plan("contacts.update", """{"ids": ["c-ID"], "set": {"lead_source": "partner"}}""".Replace("ID", i.ToString("D2", System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)))
            .ToList();
        var applies = plans.Select(plan => Task.Run(() => _workspace.Workspace.Apply(plan))).ToArray();
        var results = await Task.WhenAll(applies).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        Assert.All(results, r => Assert.True(r.Succeeded, r.Error?.Message));
        Assert.Equal(8L, _workspace.Scalar("SELECT count(*) FROM contacts WHERE lead_source = 'partner'"));
        Assert.Equal(8L, _workspace.Scalar("SELECT count(DISTINCT action_id) FROM journal"));
    }

    [Fact]
    public async Task A_refused_write_lets_the_next_writer_in()
    {
        var stale = _workspace.Plan("contacts.update", """{"filter": "country == 'DE'", "set": {"lead_source": "trade_show"}}""");
        _workspace.Execute("UPDATE contacts SET country = 'DE' WHERE id = 'c-25'");
        Assert.Equal("stale_plan", _workspace.Workspace.Apply(stale).Error!.Code);
        var next = _workspace.Plan("contacts.update", """{"ids": ["c-01"], "set": {"lead_source": "partner"}}""");
        var applied = await Task.Run(() => _workspace.Workspace.Apply(next)).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.True(applied.Succeeded, applied.Error?.Message);
    }

    [Fact]
    public void A_closed_store_refuses_writes()
    {
        var plan = _workspace.Plan("contacts.update", """{"ids": ["c-01"], "set": {"lead_source": "partner"}}""");
        _workspace.Store.Dispose();
        Assert.Throws<ObjectDisposedException>(() => _workspace.Workspace.Apply(plan));
    }

    [Fact]
    public async Task A_write_that_waits_for_another_holds_no_thread_and_runs_once_that_one_ends()
    {
        var plan = _workspace.Plan("contacts.update", """{"ids": ["c-01"], "set": {"lead_source": "referral"}}""");
        var running = await _workspace.Store.WriteAsync(TestContext.Current.CancellationToken); // another write holds the database

        var waiting = _workspace.Workspace.ApplyAsync(plan, cancellationToken: TestContext.Current.CancellationToken);

        Assert.False(waiting.IsCompleted); // returned to its caller at once, waiting without a thread
        running.Dispose();
        Assert.True((await waiting).Succeeded);
    }
}
