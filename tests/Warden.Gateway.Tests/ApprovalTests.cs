using System.Net;
using System.Text.Json.Nodes;
using Warden.Storage.Audit;

namespace Warden.Gateway.Tests;

/// <summary>
/// Calls held for people: a request binds to its plan, runs once approved if the plan is unchanged,
/// is void when the affected set changed, and can be rolled back; approvers are the policy's, never
/// the person the agent acted for.
/// </summary>
public sealed class ApprovalTests : IAsyncLifetime
{
    private const string Germany = "country == 'DE'";
    private const string Title = "Buyer (set by Warden tests)";
    private GatewayFixture _gateway = null!;

    public async ValueTask InitializeAsync() => _gateway = await GatewayFixture.StartAsync();

    public async ValueTask DisposeAsync() => await _gateway.DisposeAsync();

    private long Germans => (long)_gateway.Workspace("SELECT count(*) FROM contacts WHERE country = 'DE' AND deleted_at IS NULL")!;

    private async Task<JsonNode> HoldBulkUpdate(Dictionary<string, string>? meta = null)
    {
        var (isError, answer) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.update",
            new { filter = Germany, set = new { job_title = Title }, instruction = "Normalise the job titles of German contacts." }, meta);
        Assert.False(isError, answer.ToJsonString());
        Assert.Equal("pending_approval", answer["status"]!.GetValue<string>());
        return answer;
    }

    private Task<(HttpStatusCode Status, JsonNode? Body)> Vote(string person, string id, string verb, string comment = "looked at it") =>
        _gateway.Api(HttpMethod.Post, $"/api/approvals/{id}/{verb}", _gateway.Token(person), new { comment });

    [Fact]
    public async Task A_bulk_update_waits_for_the_data_owner_and_says_who_and_until_when()
    {
        var answer = await HoldBulkUpdate();
        Assert.Equal(Germans, answer["records"]!.GetValue<long>());
        var waiting = answer["waiting_for"]!.AsArray().Single()!;
        Assert.Equal(("hygiene-bulk-changes", "Sam Okafor (sam)", 1), (waiting["rule"]!.GetValue<string>(), waiting["approvers"]![0]!.GetValue<string>(), waiting["quorum"]!.GetValue<int>()));
        Assert.EndsWith("Z", answer["expires_at"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(0L, _gateway.Workspace("SELECT count(*) FROM contacts WHERE job_title = '" + Title + "'")); // nothing written yet
        var entry = _gateway.Trail().Last().Entry;
        Assert.Equal(("approve", "pending", answer["approval_id"]!.GetValue<string>()), (entry.Effect, entry.Outcome, entry.ApprovalId));
    }

    [Fact]
    public async Task Approved_by_the_data_owner_the_call_runs_and_can_be_rolled_back()
    {
        var held = await HoldBulkUpdate();
        var id = held["approval_id"]!.GetValue<string>();
        var (status, body) = await Vote("sam", id, "approve", "titles are a mess, go ahead");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(("executed", "executed"), (body!["result"]!.GetValue<string>(), body["status"]!.GetValue<string>()));
        Assert.Equal(Germans, _gateway.Workspace("SELECT count(*) FROM contacts WHERE job_title = '" + Title + "'"));

        var trail = _gateway.Trail();
        var approval = trail.Single(e => e.Entry.Kind == "approval").Entry;
        Assert.Equal(("sam", "approved", "titles are a mess, go ahead", id), (approval.Person, approval.Effect, approval.Comment, approval.ApprovalId));
        var call = trail.Last(e => e.Entry.Kind == "call");
        Assert.Equal(("ok", id, "Normalise the job titles of German contacts."), (call.Entry.Outcome, call.Entry.ApprovalId, call.Entry.Instruction));
        var actionId = call.Entry.ActionId!;

        var (rolledBack, rollback) = await _gateway.Api(HttpMethod.Post, "/api/rollback", _gateway.Token("sam"), new { action_id = actionId });
        Assert.True(rolledBack == HttpStatusCode.OK, rollback?.ToJsonString());
        Assert.True(rollback!["restored"] is not null, rollback.ToJsonString());
        Assert.Equal(Germans, rollback!["restored"]!.GetValue<long>());
        Assert.Equal(0L, _gateway.Workspace("SELECT count(*) FROM contacts WHERE job_title = '" + Title + "'"));
        var after = AuditLog.Query(_gateway.TrailPath, new AuditQuery { Limit = 1 }).Entries.Single();
        Assert.Equal(("rollback", "sam", call.Seq), (after.Entry.Kind, after.Entry.Person, after.Entry.RollbackOf));
        Assert.Equal([after.Seq], _gateway.Trail().Single(e => e.Seq == call.Seq).RolledBackBy);
    }

    [Fact]
    public async Task An_approval_is_void_when_the_affected_set_grew_and_the_approvers_are_asked_again()
    {
        var held = await HoldBulkUpdate();
        var id = held["approval_id"]!.GetValue<string>();
        var before = Germans;
        // Meanwhile, someone in the marketing system moves 25 contacts to Germany.
        _gateway.Workspace("UPDATE contacts SET country = 'DE', version = version + 1 WHERE id IN (SELECT id FROM contacts WHERE country <> 'DE' ORDER BY id LIMIT 25)");
        var (status, body) = await Vote("sam", id, "approve");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(("voided", "void"), (body!["result"]!.GetValue<string>(), body["status"]!.GetValue<string>()));
        Assert.Contains($"{before:N0} records then, {before + 25:N0} now", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(0L, _gateway.Workspace("SELECT count(*) FROM contacts WHERE job_title = '" + Title + "'"));

        var replacement = body["replacement"]!.GetValue<string>();
        var (_, again) = await _gateway.Api(HttpMethod.Get, "/api/approvals/" + replacement, _gateway.Token("sam"));
        Assert.Equal(("pending", id, before + 25), (again!["status"]!.GetValue<string>(), again["replaces"]!.GetValue<string>(), again["plan"]!["records"]!.GetValue<long>()));
        var (_, status2) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "warden.approval_status", new { approval_id = id });
        Assert.Equal(("void", replacement), (status2["status"]!.GetValue<string>(), status2["replaced_by"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_read_held_for_people_returns_the_record_as_it_is_when_approved_not_as_it_was_planned()
    {
        // The record changes in the marketing system while the read waits (a writer the gateway
        // does not see): the answer is read when the call runs, not kept from when it was asked.
        await using var gateway = await GatewayFixture.StartAsync(policy => policy.Replace("  # --- data hygiene ---", """
              - id: hygiene-reads-wait
                description: The hygiene bot's point reads wait for the data owner (a test's rule).
                agent: hygiene-bot
                tool: contacts.get
                effect: approve
                approval:
                  approvers: [owner:data]
                  expires: 1h

              # --- data hygiene ---
            """, StringComparison.Ordinal));
        var id = (string)gateway.Workspace("SELECT id FROM contacts WHERE deleted_at IS NULL ORDER BY id LIMIT 1")!;
        var (isError, held) = await GatewayFixture.Call(await gateway.Agent("hygiene-bot"), "contacts.get", new { id, instruction = "Look at one contact." });
        Assert.False(isError, held.ToJsonString());
        Assert.Equal("pending_approval", held["status"]!.GetValue<string>());
        gateway.Workspace($"UPDATE contacts SET job_title = 'Changed while waiting', version = version + 1 WHERE id = '{id}'");

        var approvalId = held["approval_id"]!.GetValue<string>();
        var (status, body) = await gateway.Api(HttpMethod.Post, $"/api/approvals/{approvalId}/approve", gateway.Token("sam"), new { comment = "fine" });
        Assert.True(status == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal("executed", body!["result"]!.GetValue<string>());
        var (_, view) = await gateway.Api(HttpMethod.Get, "/api/approvals/" + approvalId, gateway.Token("sam"));
        Assert.Equal("Changed while waiting", view!["outcome"]!["result"]!["job_title"]!.GetValue<string>());
    }

    [Fact]
    public async Task Naming_the_only_approver_as_the_person_acted_for_does_not_stop_them_deciding()
    {
        // The attack: the agent names Sam, the only approver, so that nobody could ever approve.
        var held = await HoldBulkUpdate(new() { ["on_behalf_of"] = "sam" });
        Assert.Equal("Sam Okafor (sam)", held["waiting_for"]![0]!["approvers"]![0]!.GetValue<string>());
        var (status, body) = await Vote("sam", held["approval_id"]!.GetValue<string>(), "approve");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("executed", body!["result"]!.GetValue<string>());
        Assert.Equal(Germans, _gateway.Workspace("SELECT count(*) FROM contacts WHERE job_title = '" + Title + "'"));
    }

    [Fact]
    public async Task Naming_a_person_never_changes_who_is_asked_to_approve()
    {
        // The attack: naming one of two required approvers to take them out of the quorum.
        var id = (string)_gateway.Workspace("SELECT id FROM contacts WHERE email_consent = 'subscribed' ORDER BY id LIMIT 1")!;
        var agent = await _gateway.Agent("hygiene-bot");
        var (_, plain) = await GatewayFixture.Call(agent, "consent.update", new { ids = new[] { id }, status = "unsubscribed", source = "request" });
        var (_, named) = await GatewayFixture.Call(agent, "consent.update", new { ids = new[] { id }, status = "unsubscribed", source = "form" }, new() { ["on_behalf_of"] = "rita" });
        Assert.Equal(plain["waiting_for"]!.ToJsonString(), named["waiting_for"]!.ToJsonString());
        var (_, view) = await _gateway.Api(HttpMethod.Get, "/api/approvals/" + named["approval_id"], _gateway.Token("rita"));
        Assert.Equal("rita", view!["on_behalf_of"]!.GetValue<string>());
        Assert.Equal("recorded", (await Vote("rita", named["approval_id"]!.GetValue<string>(), "approve")).Body!["result"]!.GetValue<string>());
    }

    [Fact]
    public async Task People_who_may_not_decide_a_request_see_that_it_exists_but_not_its_records()
    {
        // Lee approves campaign sends only; the hygiene agent's request names contacts and their diff.
        var held = await HoldBulkUpdate();
        var id = held["approval_id"]!.GetValue<string>();
        var (status, view) = await _gateway.Api(HttpMethod.Get, "/api/approvals/" + id, _gateway.Token("lee"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(("pending", "hygiene-bot", "contacts.update"), (view!["status"]!.GetValue<string>(), view["agent"]!.GetValue<string>(), view["tool"]!.GetValue<string>()));
        Assert.Null(view["plan"]);
        Assert.Null(view["arguments"]);
        Assert.Null(view["instruction"]);
        Assert.DoesNotContain("c-0", view.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains("withheld", view["details"]!.GetValue<string>(), StringComparison.Ordinal);

        var (_, list) = await _gateway.Api(HttpMethod.Get, "/api/approvals", _gateway.Token("lee"));
        var line = list!["approvals"]!.AsArray().Single(a => a!["id"]!.GetValue<string>() == id)!;
        Assert.Null(line["summary"]);
        Assert.Null(line["instruction"]);

        var (_, owner) = await _gateway.Api(HttpMethod.Get, "/api/approvals/" + id, _gateway.Token("rita")); // risk owner of the use case
        Assert.Equal(Germans, owner!["plan"]!["records"]!.GetValue<long>());
    }

    [Fact]
    public async Task Someone_who_is_not_an_approver_of_the_rule_cannot_decide()
    {
        var held = await HoldBulkUpdate();
        var (status, body) = await Vote("maria", held["approval_id"]!.GetValue<string>(), "approve");
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("Maria López (maria) is not among the approvers of request " + held["approval_id"] + " (1 of Sam Okafor (sam) for rule 'hygiene-bulk-changes')",
            body!["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_agent_token_can_never_approve()
    {
        var held = await HoldBulkUpdate();
        var (status, body) = await _gateway.Api(HttpMethod.Post, $"/api/approvals/{held["approval_id"]}/approve", _gateway.Token("hygiene-bot"), new { comment = "me" });
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("'hygiene-bot' is an agent: an agent's token cannot approve, freeze or operate the gateway", body!["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_denied_call_never_runs_and_the_agent_can_see_why()
    {
        var held = await HoldBulkUpdate();
        var id = held["approval_id"]!.GetValue<string>();
        var (status, body) = await Vote("sam", id, "deny", "not before the CRM sync");
        Assert.Equal((HttpStatusCode.OK, "denied"), (status, body!["result"]!.GetValue<string>()));
        var (_, seen) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "warden.approval_status", new { approval_id = id });
        Assert.Equal(("denied", "deny", "not before the CRM sync"), (seen["status"]!.GetValue<string>(), seen["decisions"]![0]!["vote"]!.GetValue<string>(),
            seen["decisions"]![0]!["comment"]!.GetValue<string>()));
        var (again, _) = await Vote("sam", id, "approve");
        Assert.Equal(HttpStatusCode.Conflict, again);
    }

    [Fact]
    public async Task The_same_request_twice_is_one_request()
    {
        var first = await HoldBulkUpdate();
        var second = await HoldBulkUpdate();
        Assert.Equal(first["approval_id"]!.GetValue<string>(), second["approval_id"]!.GetValue<string>());
        Assert.True(second["merged"]!.GetValue<bool>());
        var (_, list) = await _gateway.Api(HttpMethod.Get, "/api/approvals", _gateway.Token("sam"));
        Assert.Single(list!["approvals"]!.AsArray());
    }

    [Fact]
    public async Task A_request_for_records_denied_before_is_marked_as_asked_again()
    {
        var first = await HoldBulkUpdate();
        await Vote("sam", first["approval_id"]!.GetValue<string>(), "deny");
        var (_, again) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.update",
            new { filter = "country in ['DE']", set = new { job_title = "Purchasing" } }); // other words, same records
        var (_, view) = await _gateway.Api(HttpMethod.Get, "/api/approvals/" + again["approval_id"], _gateway.Token("sam"));
        Assert.Equal(first["approval_id"]!.GetValue<string>(), view!["resubmits"]!.GetValue<string>());
    }

    [Fact]
    public async Task Approvals_needing_two_people_count_distinct_people()
    {
        var id = (string)_gateway.Workspace("SELECT id FROM contacts WHERE email_consent = 'subscribed' ORDER BY id LIMIT 1")!;
        var (_, held) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "consent.update", new { ids = new[] { id }, status = "unsubscribed", source = "request" });
        Assert.Equal("pending_approval", held["status"]!.GetValue<string>());
        var approval = held["approval_id"]!.GetValue<string>();
        var (_, first) = await Vote("sam", approval, "approve");
        Assert.Equal("recorded", first!["result"]!.GetValue<string>());
        var (twice, _) = await Vote("sam", approval, "approve");
        Assert.Equal(HttpStatusCode.Conflict, twice);
        var (_, second) = await Vote("rita", approval, "approve");
        Assert.Equal("executed", second!["result"]!.GetValue<string>());
        Assert.Equal("unsubscribed", _gateway.Workspace("SELECT email_consent FROM contacts WHERE id = @id", ("@id", id)));
    }

    [Fact]
    public async Task A_request_nobody_decides_expires_and_is_recorded()
    {
        var held = await HoldBulkUpdate();
        var id = held["approval_id"]!.GetValue<string>();
        _gateway.Clock.Advance(TimeSpan.FromHours(25));
        var (status, body) = await Vote("sam", id, "approve");
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("is expired", body!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(_gateway.Trail(), e => e.Entry.ApprovalId == id && e.Entry.Outcome == "expired");
    }

    [Fact]
    public async Task An_agent_cannot_pile_up_requests()
    {
        await using var gateway = await GatewayFixture.StartAsync(maxPending: 2);
        var agent = await gateway.Agent("hygiene-bot");
        foreach (var filter in new[] { "country == 'DE'", "country == 'AT'" })
        {
            var (_, held) = await GatewayFixture.Call(agent, "contacts.update", new { filter, set = new { job_title = Title } });
            Assert.Equal("pending_approval", held["status"]!.GetValue<string>());
        }

        var (isError, refused) = await GatewayFixture.Call(agent, "contacts.update", new { filter = "country == 'US'", set = new { job_title = Title } });
        Assert.True(isError);
        Assert.Equal(("refused", "too_many_pending"), (refused["status"]!.GetValue<string>(), refused["code"]!.GetValue<string>()));
    }

    [Fact]
    public async Task The_queue_puts_the_riskiest_request_first()
    {
        // The less risky request first, so that the order by age and the order by risk differ.
        var id = (string)_gateway.Workspace("SELECT id FROM contacts ORDER BY id LIMIT 1")!;
        await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "consent.update", new { ids = new[] { id }, status = "unsubscribed", source = "request" });
        await HoldBulkUpdate();
        var (_, list) = await _gateway.Api(HttpMethod.Get, "/api/approvals", _gateway.Token("sam"));
        var risks = list!["approvals"]!.AsArray().Select(a => a!["risk"]!.GetValue<int>()).ToList();
        Assert.Equal(2, risks.Count);
        Assert.Equal(risks.OrderDescending(), risks);
        Assert.Equal("contacts.update", list["approvals"]![0]!["tool"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_same_call_for_two_people_is_two_requests_each_recording_whom_the_agent_names()
    {
        var forMaria = await HoldBulkUpdate(new() { ["on_behalf_of"] = "maria" });
        var forSam = await HoldBulkUpdate(new() { ["on_behalf_of"] = "sam" });
        Assert.NotEqual(forMaria["approval_id"]!.GetValue<string>(), forSam["approval_id"]!.GetValue<string>());
        var (other, body) = await Vote("sam", forMaria["approval_id"]!.GetValue<string>(), "approve");
        Assert.Equal((HttpStatusCode.OK, "executed"), (other, body!["result"]!.GetValue<string>()));
        Assert.Contains(_gateway.Trail(), e => e.Entry.ApprovalId == forSam["approval_id"]!.GetValue<string>() && e.Entry.Detail == "on behalf of sam");
    }

    [Fact]
    public async Task A_request_left_running_by_a_stopped_gateway_is_settled_when_it_starts_again()
    {
        var held = await HoldBulkUpdate();
        var id = held["approval_id"]!.GetValue<string>();
        Assert.True(_gateway.Gateway.Store.Approvals.Close(id, Warden.Storage.Gateway.ApprovalStatus.Executing, null, DateTimeOffset.UtcNow)); // as if it stopped mid-way
        await _gateway.Gateway.Approvals.ReconcileAsync();
        var (_, view) = await _gateway.Api(HttpMethod.Get, "/api/approvals/" + id, _gateway.Token("sam"));
        Assert.Equal("failed", view!["status"]!.GetValue<string>());
        Assert.Contains("it did not run", view["outcome"]!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(_gateway.Trail(), e => e.Entry.ApprovalId == id && e.Entry.Outcome == "error");
    }

    [Fact]
    public async Task Several_requests_are_approved_together_except_the_risky_ones()
    {
        var agent = await _gateway.Agent("hygiene-bot");
        var (_, retitle) = await GatewayFixture.Call(agent, "contacts.update", new { filter = "country == 'AT'", set = new { job_title = Title } });
        var (_, stage) = await GatewayFixture.Call(agent, "lifecycle.set_stage", new { filter = "country == 'GB'", stage = "lead" });
        var id = (string)_gateway.Workspace("SELECT id FROM contacts ORDER BY id LIMIT 1")!;
        var (_, consent) = await GatewayFixture.Call(agent, "consent.update", new { ids = new[] { id }, status = "unsubscribed", source = "request" });
        var ids = new[] { retitle, stage, consent }.Select(a => a["approval_id"]!.GetValue<string>()).ToArray();

        var (status, body) = await _gateway.Api(HttpMethod.Post, "/api/approvals/approve", _gateway.Token("sam"), new { ids, comment = "weekly cleanup" });
        Assert.Equal(HttpStatusCode.OK, status);
        var results = body!["results"]!.AsArray().ToDictionary(r => r!["id"]!.GetValue<string>(), r => r!);
        Assert.Equal("executed", results[ids[0]]["result"]!.GetValue<string>());
        Assert.Equal("executed", results[ids[1]]["result"]!.GetValue<string>());
        Assert.Equal("refused", results[ids[2]]["result"]!.GetValue<string>());
        Assert.Equal($"request {ids[2]} cannot be approved in bulk: it touches consent data; approve it on its own after looking at it", results[ids[2]]["message"]!.GetValue<string>());
        Assert.DoesNotContain(_gateway.Trail(), e => e.Entry.ApprovalId == ids[2] && e.Entry.Kind == "approval");
        Assert.Equal(2, _gateway.Trail().Count(e => e.Entry.Kind == "approval" && e.Entry.Comment == "weekly cleanup"));
    }
}
