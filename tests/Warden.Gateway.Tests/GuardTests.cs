using System.Text.Json.Nodes;
using System.Net;
using Warden.Core;

namespace Warden.Gateway.Tests;

/// <summary>Guards around the policy: the kill switch, budgets, breakers, activation for production; every one refuses with its reason and is recorded.</summary>
public sealed class GuardTests
{
    private static string TwoIds(GatewayFixture gateway, int skip = 0) =>
        string.Join(",", Enumerable.Range(0, 2).Select(i => (string)gateway.Workspace($"SELECT id FROM contacts ORDER BY id LIMIT 1 OFFSET {skip + i}")!));

    [Fact]
    public async Task The_kill_switch_stops_an_agent_mid_session_and_cancels_its_pending_requests()
    {
        await using var gateway = await GatewayFixture.StartAsync();
        var agent = await gateway.Agent("hygiene-bot");
        var (_, read) = await GatewayFixture.Call(agent, "contacts.search", new { filter = "country == 'DE'", limit = 1 });
        Assert.Equal("done", read["status"]!.GetValue<string>());
        var (_, held) = await GatewayFixture.Call(agent, "contacts.update", new { filter = "country == 'DE'", set = new { job_title = "Buyer (kill switch test)" } });

        var (status, body) = await gateway.Api(HttpMethod.Post, "/api/freeze", gateway.Token("lee"), new { agent = "hygiene-bot", reason = "odd behaviour in the CRM" });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([held["approval_id"]!.GetValue<string>()], body!["cancelled_requests"]!.AsArray().Select(c => c!.GetValue<string>()));

        var (isError, refused) = await GatewayFixture.Call(agent, "contacts.search", new { filter = "country == 'DE'", limit = 1 });
        Assert.True(isError);
        Assert.Equal(("refused", "frozen"), (refused["status"]!.GetValue<string>(), refused["code"]!.GetValue<string>()));
        var freeze = gateway.Trail().Single(e => e.Entry.Kind == "kill_switch").Entry;
        Assert.Equal(("lee", "freeze", "odd behaviour in the CRM"), (freeze.Person, freeze.Effect, freeze.Comment));
        Assert.Contains(gateway.Gateway.Store.Incidents.List(), i => i.Kind == "kill_switch" && i.Agent == "hygiene-bot" && i.Owners.Contains("sam"));

        // Only an owner of the use case lifts it.
        var (notOwner, why) = await gateway.Api(HttpMethod.Post, "/api/unfreeze", gateway.Token("lee"), new { agent = "hygiene-bot" });
        Assert.Equal(HttpStatusCode.Forbidden, notOwner);
        Assert.Contains("that takes an owner of use case 'data-hygiene'", why!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        var (unfrozen, _) = await gateway.Api(HttpMethod.Post, "/api/unfreeze", gateway.Token("sam"), new { agent = "hygiene-bot", reason = "checked" });
        Assert.Equal(HttpStatusCode.OK, unfrozen);
        var (again, _) = await GatewayFixture.Call(agent, "contacts.search", new { filter = "country == 'DE'", limit = 1 });
        Assert.False(again);
    }

    [Fact]
    public async Task Freezing_every_agent_stops_them_all()
    {
        await using var gateway = await GatewayFixture.StartAsync();
        await gateway.Api(HttpMethod.Post, "/api/freeze", gateway.Token("maria"), new { all = true, reason = "incident drill" });
        foreach (var name in new[] { "reporting-bot", "hygiene-bot" })
        {
            var (isError, answer) = await GatewayFixture.Call(await gateway.Agent(name), "contacts.search", new { filter = "country == 'DE'", limit = 1 });
            Assert.True(isError);
            Assert.Equal("frozen", answer["code"]!.GetValue<string>());
        }

        var (notRisk, _) = await gateway.Api(HttpMethod.Post, "/api/unfreeze", gateway.Token("sam"), new { all = true });
        Assert.Equal(HttpStatusCode.Forbidden, notRisk);
        var (lifted, _) = await gateway.Api(HttpMethod.Post, "/api/unfreeze", gateway.Token("rita"), new { all = true });
        Assert.Equal(HttpStatusCode.OK, lifted);
    }

    [Fact]
    public async Task A_budget_once_used_up_refuses_the_next_call_and_names_itself()
    {
        await using var gateway = await GatewayFixture.StartAsync(policy => policy.Replace("    limit: 20000\n", "    limit: 3\n", StringComparison.Ordinal));
        var agent = await gateway.Agent("hygiene-bot");
        var (first, done) = await GatewayFixture.Call(agent, "contacts.update", new { ids = TwoIds(gateway).Split(','), set = new { job_title = "Buyer" } });
        Assert.False(first, done.ToJsonString());
        var (isError, refused) = await GatewayFixture.Call(agent, "contacts.update", new { ids = TwoIds(gateway, skip: 2).Split(','), set = new { job_title = "Buyer" } });
        Assert.True(isError);
        Assert.Equal("budget_exceeded", refused["code"]!.GetValue<string>());
        Assert.Equal("Budget 'hygiene-hourly-changes' would be exceeded: 2 of 3 changed records used in the last 1h, and this call adds 2.", refused["message"]!.GetValue<string>());
        gateway.Clock.Advance(TimeSpan.FromMinutes(61));
        var (later, _) = await GatewayFixture.Call(agent, "contacts.update", new { ids = TwoIds(gateway, skip: 2).Split(','), set = new { job_title = "Buyer" } });
        Assert.False(later); // the window slid past the first call
    }

    [Fact]
    public async Task A_breaker_trips_on_a_burst_freezes_the_agent_and_opens_an_incident()
    {
        await using var gateway = await GatewayFixture.StartAsync(policy => policy
            .Replace("    metric: deleted_records\n    over: 2000\n", "    metric: changed_records\n    over: 3\n", StringComparison.Ordinal));
        var agent = await gateway.Agent("hygiene-bot");
        await GatewayFixture.Call(agent, "contacts.update", new { ids = TwoIds(gateway).Split(','), set = new { job_title = "Buyer" } });
        var (tripping, _) = await GatewayFixture.Call(agent, "contacts.update", new { ids = TwoIds(gateway, skip: 2).Split(','), set = new { job_title = "Buyer" } });
        Assert.False(tripping); // the call that trips it has run; the next one is refused
        var (isError, refused) = await GatewayFixture.Call(agent, "contacts.search", new { filter = "country == 'DE'", limit = 1 });
        Assert.True(isError);
        Assert.Equal("frozen", refused["code"]!.GetValue<string>());
        var breaker = gateway.Trail().Single(e => e.Entry.Kind == "breaker").Entry;
        Assert.Equal(("hygiene-bot", "delete-burst", "freeze"), (breaker.Agent, breaker.Rule, breaker.Effect));
        var incident = Assert.Single(gateway.Gateway.Store.Incidents.List(Warden.Storage.Gateway.IncidentStatus.Open), i => i.Kind == "breaker");
        Assert.Equal(["sam", "maria", "dev", "rita"], incident.Owners);
    }

    [Fact]
    public async Task The_kill_switch_stops_a_send_that_is_already_going_out_and_the_trail_says_how_far_it_got()
    {
        // Batches of 20, a fifth of a second apart: the freeze arrives while the approved send runs.
        await using var gateway = await GatewayFixture.StartAsync(sendBatch: 20, sendPause: TimeSpan.FromMilliseconds(200));
        var (_, draft) = await GatewayFixture.Call(await gateway.Agent("campaign-qa-bot"), "campaigns.create_draft",
            new { name = "Winter newsletter", audience = "newsletter", subject = "Winter news", content = "Our winter range is in.", sender = "news@northwind.example" });
        var campaign = draft["result"]!["campaign"]!.GetValue<string>();
        var (_, held) = await GatewayFixture.Call(await gateway.Agent("campaign-qa-bot"), "campaigns.send", new { campaign });
        var planned = held["records"]!.GetValue<long>();
        Assert.True(planned > 100, $"the newsletter reaches {planned}");

        var approving = gateway.Api(HttpMethod.Post, $"/api/approvals/{held["approval_id"]}/approve", gateway.Token("lee"), new { comment = "go" });
        long Sent() => (long)gateway.Workspace("SELECT count(*) FROM campaign_sends WHERE campaign_id = @c", ("@c", campaign))!;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Sent() == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        var (frozen, _) = await gateway.Api(HttpMethod.Post, "/api/freeze", gateway.Token("rita"), new { agent = "campaign-qa-bot", reason = "wrong list" });
        Assert.Equal(HttpStatusCode.OK, frozen);
        var (status, body) = await approving;
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("stopped", body!["status"]!.GetValue<string>());
        Assert.Contains("stopped while it ran", body["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var sent = Sent();
        Assert.InRange(sent, 1, planned - 1);
        Assert.Equal("stopped", gateway.Workspace("SELECT status FROM campaigns WHERE id = @c", ("@c", campaign)));
        var call = gateway.Trail().Last(e => e.Entry.Kind == "call" && e.Entry.Tool == "campaigns.send").Entry;
        Assert.Equal("stopped", call.Outcome);
        Assert.Contains($"stopped after {sent:N0} of {planned:N0} recipients had been sent to (agent campaign-qa-bot was frozen)", call.Detail, StringComparison.Ordinal);
        await Task.Delay(500, TestContext.Current.CancellationToken);
        Assert.Equal(sent, Sent()); // and nothing more went out after it said so
    }

    /// <summary>Merges of 100 duplicates each, into primaries that are not among them, with the trade-show exception letting them run without a person.</summary>
    private static async Task<IReadOnlyList<(bool IsError, JsonNode Answer)>> MergeAway(GatewayFixture gateway, int merges)
    {
        var agent = await gateway.Agent("hygiene-bot");
        var answers = new List<(bool, JsonNode)>();
        for (var i = 0; i < merges; i++)
        {
            var ids = Enumerable.Range(0, 101).Select(j => (string)gateway.Workspace($"SELECT id FROM contacts WHERE deleted_at IS NULL ORDER BY id LIMIT 1 OFFSET {i * 101 + j}")!).ToList();
            answers.Add(await GatewayFixture.Call(agent, "contacts.merge", new { primary = ids[0], duplicates = ids.Skip(1).ToArray() }));
        }

        return answers;
    }

    private static string MergesRunAlone(string policy) => policy.Replace("until: 2026-12-31T18:00:00Z", "until: 2099-12-31T18:00:00Z", StringComparison.Ordinal);

    [Fact]
    public async Task Merging_contacts_away_trips_the_breaker_on_deletes()
    {
        await using var gateway = await GatewayFixture.StartAsync(policy => MergesRunAlone(policy)
            .Replace("    metric: deleted_records\n    over: 2000\n", "    metric: deleted_records\n    over: 150\n", StringComparison.Ordinal));
        var merges = await MergeAway(gateway, 2);
        Assert.All(merges, m => Assert.True(m.Answer["status"]!.GetValue<string>() == "done", m.Answer.ToJsonString()));
        var breaker = gateway.Trail().Single(e => e.Entry.Kind == "breaker").Entry;
        Assert.Equal(("delete-burst", "freeze"), (breaker.Rule, breaker.Effect));
        Assert.Contains("more than 150 deleted records", breaker.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_budget_of_deleted_records_stops_merges_as_it_stops_deletes()
    {
        await using var gateway = await GatewayFixture.StartAsync(policy => MergesRunAlone(policy).Replace("budgets:\n",
            "budgets:\n  - { id: hygiene-few-deletes, agent: hygiene-bot, metric: deleted_records, limit: 150, per: 1h }\n", StringComparison.Ordinal));
        var merges = await MergeAway(gateway, 2);
        Assert.Equal("done", merges[0].Answer["status"]!.GetValue<string>());
        Assert.Equal(("refused", "budget_exceeded"), (merges[1].Answer["status"]!.GetValue<string>(), merges[1].Answer["code"]!.GetValue<string>()));
        Assert.Contains("Budget 'hygiene-few-deletes' would be exceeded: 100 of 150 deleted records", merges[1].Answer["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task In_production_an_agent_acts_only_once_an_owner_has_activated_it()
    {
        await using var gateway = await GatewayFixture.StartAsync(environment: "production");
        var agent = await gateway.Agent("reporting-bot");
        var (isError, refused) = await GatewayFixture.Call(agent, "contacts.search", new { filter = "country == 'DE'", limit = 1 });
        Assert.True(isError);
        Assert.Equal("not_activated", refused["code"]!.GetValue<string>());

        var (notOwner, _) = await gateway.Api(HttpMethod.Post, "/api/agents/reporting-bot/activate", gateway.Token("lee"));
        Assert.Equal(HttpStatusCode.Forbidden, notOwner);
        var (activated, body) = await gateway.Api(HttpMethod.Post, "/api/agents/reporting-bot/activate", gateway.Token("dev"));
        Assert.Equal(HttpStatusCode.OK, activated);
        Assert.Equal("dev", body!["activated_for_production"]!["by"]!.GetValue<string>());
        var (now, _) = await GatewayFixture.Call(agent, "contacts.search", new { filter = "country == 'DE'", limit = 1 });
        Assert.False(now);
        Assert.Contains(gateway.Trail(), e => e.Entry.Kind == "activation" && e.Entry.Person == "dev" && e.Entry.Agent == "reporting-bot");
    }

    [Fact]
    public async Task A_flood_from_one_agent_is_refused_and_slows_nobody_else()
    {
        await using var gateway = await GatewayFixture.StartAsync(perSecond: 3);
        var flood = await gateway.Agent("reporting-bot"); // connecting takes requests of its own
        var refused = 0;
        for (var i = 0; i < 12; i++)
        {
            try
            {
                await GatewayFixture.Call(flood, "contacts.search", new { filter = "country == 'DE'", limit = 1 });
            }
            catch (HttpRequestException e) when (e.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused++;
            }
        }

        Assert.InRange(refused, 1, 12);
        var (status, body) = await gateway.Api(HttpMethod.Post, "/mcp", gateway.Token("reporting-bot"), new { jsonrpc = "2.0", id = 1, method = "tools/list" });
        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal("agent 'reporting-bot' is sending more than 3 requests a second; slow down and retry", body!["error"]!["message"]!.GetValue<string>());
        var (isError, _) = await GatewayFixture.Call(await gateway.Agent("hygiene-bot"), "contacts.search", new { filter = "country == 'DE'", limit = 1 });
        Assert.False(isError);
    }

    [Fact]
    public async Task An_agent_refused_again_and_again_opens_an_incident_for_its_owners()
    {
        await using var gateway = await GatewayFixture.StartAsync();
        var agent = await gateway.Agent("hygiene-bot");
        var list = (string)gateway.Workspace("SELECT list_id FROM suppression LIMIT 1")!;
        for (var i = 0; i < 6; i++)
        {
            var (isError, _) = await GatewayFixture.Call(agent, "suppression.remove", new { list, emails = new[] { $"someone{i}@example.com" }, reason = "try" });
            Assert.True(isError);
        }

        var incident = Assert.Single(gateway.Gateway.Store.Incidents.List(Warden.Storage.Gateway.IncidentStatus.Open));
        Assert.Equal(("repeated_denials", "hygiene-bot"), (incident.Kind, incident.Agent));
        Assert.Equal("agent hygiene-bot was refused 5 times in 10 minutes, the last by rule 'no-suppression-removal'", incident.Summary);
        Assert.Single(gateway.Trail(), e => e.Entry.Kind == "breaker" && e.Entry.Effect == "alert");

        var (status, acknowledged) = await gateway.Api(HttpMethod.Post, $"/api/incidents/{incident.Id}/acknowledge", gateway.Token("sam"));
        Assert.Equal((HttpStatusCode.OK, "acknowledged"), (status, acknowledged!["status"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Calls_at_the_same_time_cannot_spend_one_budget_twice()
    {
        await using var gateway = await GatewayFixture.StartAsync(policy => policy.Replace("    limit: 20000\n", "    limit: 300\n", StringComparison.Ordinal));
        var agent = await gateway.Agent("hygiene-bot");
        var live = ((string)gateway.Workspace("SELECT group_concat(id) FROM (SELECT id FROM contacts WHERE deleted_at IS NULL ORDER BY id LIMIT 800)")!).Split(',');
        var batches = live.Chunk(100).ToList();
        var results = await Task.WhenAll(batches.Select(ids => GatewayFixture.Call(agent, "contacts.update", new { ids, set = new { job_title = "Budget race" } })));
        var done = results.Where(r => r.Answer["status"]!.GetValue<string>() == "done").Sum(r => r.Answer["records"]!.GetValue<long>());
        Assert.InRange(done, 1, 300);
        Assert.True(results.Any(r => r.Answer["code"]?.GetValue<string>() == "budget_exceeded"), string.Join("\n", results.Select(r => r.Answer.ToJsonString())));
        Assert.Equal(done, (long)gateway.Workspace("SELECT count(*) FROM contacts WHERE job_title = 'Budget race'")!);
    }

    /// <summary>The example policy with its budget per person cut to <paramref name="limit"/> changed records a day.</summary>
    private static Func<string, string> PersonBudget(int limit) => policy => policy.Replace("    limit: 50000\n", $"    limit: {limit}\n", StringComparison.Ordinal);

    [Fact]
    public async Task A_budget_per_person_adds_up_what_every_agent_did_on_their_behalf()
    {
        await using var gateway = await GatewayFixture.StartAsync(PersonBudget(3));
        var flow = (string)gateway.Workspace("SELECT flow_id FROM nurture_members GROUP BY flow_id HAVING count(*) >= 2 ORDER BY flow_id LIMIT 1")!;
        var members = ((string)gateway.Workspace($"SELECT group_concat(contact_id) FROM (SELECT contact_id FROM nurture_members WHERE flow_id = '{flow}' ORDER BY contact_id LIMIT 2)")!).Split(',');
        var forMaria = new Dictionary<string, string> { ["on_behalf_of"] = "maria" };

        var (first, done) = await GatewayFixture.Call(await gateway.Agent("hygiene-bot"), "contacts.update", new { ids = TwoIds(gateway).Split(','), set = new { job_title = "Buyer" } }, forMaria);
        Assert.False(first, done.ToJsonString());
        var (isError, refused) = await GatewayFixture.Call(await gateway.Agent("nurture-bot"), "nurture.remove_members", new { flow, ids = members }, forMaria);

        Assert.True(isError, refused.ToJsonString());
        Assert.Equal("budget_exceeded", refused["code"]!.GetValue<string>());
        Assert.Equal("Budget 'per-person-daily-changes' would be exceeded for maria: 2 of 3 changed records used on their behalf in the last 24h, and this call adds 2.",
            refused["message"]!.GetValue<string>());
        var entry = gateway.Trail().Last(e => e.Entry.Tool == "nurture.remove_members").Entry;
        Assert.Equal(("deny", "refused", "on behalf of maria"), (entry.Effect, entry.Outcome, entry.Detail));
        Assert.Equal(2L, (long)gateway.Workspace($"SELECT count(*) FROM nurture_members WHERE flow_id = '{flow}' AND contact_id IN ('{members[0]}', '{members[1]}')")!);
    }

    [Fact]
    public async Task A_budget_per_person_leaves_other_people_and_unattributed_calls_alone()
    {
        await using var gateway = await GatewayFixture.StartAsync(PersonBudget(3));
        var agent = await gateway.Agent("hygiene-bot");
        await GatewayFixture.Call(agent, "contacts.update", new { ids = TwoIds(gateway).Split(','), set = new { job_title = "Buyer" } }, new() { ["on_behalf_of"] = "maria" });

        var (forSam, samAnswer) = await GatewayFixture.Call(agent, "contacts.update", new { ids = TwoIds(gateway, skip: 2).Split(','), set = new { job_title = "Buyer" } }, new() { ["on_behalf_of"] = "sam" });
        var (forNobody, nobodyAnswer) = await GatewayFixture.Call(agent, "contacts.update", new { ids = TwoIds(gateway, skip: 4).Split(','), set = new { job_title = "Buyer" } });

        Assert.False(forSam, samAnswer.ToJsonString());
        Assert.False(forNobody, nobodyAnswer.ToJsonString());
    }

    [Fact]
    public async Task My_permissions_shows_a_budget_per_person_used_by_whom_the_call_is_for()
    {
        await using var gateway = await GatewayFixture.StartAsync(PersonBudget(3));
        var agent = await gateway.Agent("hygiene-bot");
        await GatewayFixture.Call(agent, "contacts.update", new { ids = TwoIds(gateway).Split(','), set = new { job_title = "Buyer" } }, new() { ["on_behalf_of"] = "maria" });

        var (_, forMaria) = await GatewayFixture.Call(agent, "warden.my_permissions", new { }, new() { ["on_behalf_of"] = "maria" });
        var (_, forNobody) = await GatewayFixture.Call(agent, "warden.my_permissions", new { });

        var budget = forMaria["budgets"]!.AsArray().Single(b => b!["budget"]!.GetValue<string>() == "per-person-daily-changes")!;
        Assert.Equal((2L, "every agent"), (budget["used"]!.GetValue<long>(), budget["shared_by"]!.GetValue<string>()));
        Assert.Null(forNobody["budgets"]!.AsArray().Single(b => b!["budget"]!.GetValue<string>() == "per-person-daily-changes")!["used"]);
    }

    [Fact]
    public async Task Paging_through_contacts_stops_at_the_budget_of_records_read()
    {
        await using var gateway = await GatewayFixture.StartAsync(policy => policy.Replace("    metric: read_records\n    limit: 20000\n", "    metric: read_records\n    limit: 1000\n", StringComparison.Ordinal));
        var agent = await gateway.Agent("hygiene-bot");
        string? cursor = null;
        var pages = new List<JsonNode>();
        for (var i = 0; i < 3; i++)
        {
            var (_, page) = await GatewayFixture.Call(agent, "contacts.search", cursor is null ? new { filter = "country != ''", limit = 400 } : new { filter = "country != ''", limit = 400, cursor });
            pages.Add(page);
            cursor = page["result"]?["next_cursor"]?.GetValue<string>();
        }

        Assert.Equal(["done", "done", "refused"], pages.Select(p => p["status"]!.GetValue<string>()));
        Assert.Equal("Budget 'hygiene-hourly-reads' would be exceeded: 800 of 1,000 read records used in the last 1h, and this call adds 400.", pages[2]["message"]!.GetValue<string>());
        Assert.Equal(("deny", "refused"), (gateway.Trail().Last().Entry.Effect, gateway.Trail().Last().Entry.Outcome));
    }

    [Fact]
    public async Task Usage_older_than_every_window_is_forgotten()
    {
        await using var gateway = await GatewayFixture.StartAsync();
        var agent = await gateway.Agent("hygiene-bot");
        await GatewayFixture.Call(agent, "contacts.update", new { ids = TwoIds(gateway).Split(','), set = new { job_title = "Buyer" } });
        var longAgo = gateway.Clock.GetUtcNow().AddYears(-1);
        Assert.Equal(2, gateway.Gateway.Store.Usage.Used("changed_records", "hygiene-bot", null, null, longAgo));

        gateway.Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1)); // past the longest window of the example, a day
        gateway.Gateway.Guards.Forget();

        Assert.Equal(0, gateway.Gateway.Store.Usage.Used("changed_records", "hygiene-bot", null, null, longAgo));
    }

    [Fact]
    public async Task A_held_call_approved_later_counts_against_the_person_it_was_for()
    {
        await using var gateway = await GatewayFixture.StartAsync(PersonBudget(232));
        var agent = await gateway.Agent("hygiene-bot");
        var forMaria = new Dictionary<string, string> { ["on_behalf_of"] = "maria" };
        var (_, held) = await GatewayFixture.Call(agent, "contacts.update", new { filter = "country == 'AT'", set = new { job_title = "Buyer" } }, forMaria);
        var (approved, _) = await gateway.Api(HttpMethod.Post, $"/api/approvals/{held["approval_id"]!.GetValue<string>()}/approve", gateway.Token("sam"), new { comment = "fine" });
        Assert.Equal(HttpStatusCode.OK, approved);

        var (isError, refused) = await GatewayFixture.Call(agent, "contacts.update", new { ids = TwoIds(gateway).Split(','), set = new { job_title = "Buyer again" } }, forMaria);

        Assert.True(isError, refused.ToJsonString());
        Assert.Equal("Budget 'per-person-daily-changes' would be exceeded for maria: 231 of 232 changed records used on their behalf in the last 24h, and this call adds 2.",
            refused["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Calls_that_share_no_budget_do_not_wait_for_each_other_and_calls_that_share_one_do()
    {
        await using var gateway = await GatewayFixture.StartAsync();
        var policy = gateway.Gateway.Policy;
        Plan PlanOf(string agent, string tool, string arguments) =>
            gateway.Gateway.Workspace.Plan(new ToolCall(tool, System.Text.Json.JsonDocument.Parse(arguments).RootElement, agent, "sandbox")).Get();
        var hygiene = policy.FindAgent("hygiene-bot")!;
        var update = PlanOf("hygiene-bot", "contacts.update", """{"ids": ["c-0000001"], "set": {"job_title": "Buyer"}}""");
        var send = PlanOf("campaign-qa-bot", "campaigns.send", """{"campaign": "cmp-2026-11-black-friday"}""");

        using (await gateway.Gateway.Guards.EnterAsync(policy, hygiene, update, null))
        {
            var unrelated = gateway.Gateway.Guards.EnterAsync(policy, policy.FindAgent("campaign-qa-bot")!, send, null);
            var sameBudget = gateway.Gateway.Guards.EnterAsync(policy, hygiene, update, null);
            Assert.True(unrelated.IsCompletedSuccessfully, "a send waited for a contact update");
            await Task.Delay(100, TestContext.Current.CancellationToken);
            Assert.False(sameBudget.IsCompleted, "two updates under one budget held its lock at once");
            (await unrelated).Dispose();
            _ = sameBudget.ContinueWith(t => t.Result.Dispose(), TaskScheduler.Default);
        }
    }

    /// <summary>The example policy with hygiene-bot's hourly budget of changed records cut to one.</summary>
    private static Task<GatewayFixture> OneChangeAnHourAsync() =>
        GatewayFixture.StartAsync(policy => policy.Replace("    limit: 20000\n    per: 1h\n  - id: reporting", "    limit: 1\n    per: 1h\n  - id: reporting", StringComparison.Ordinal));

    /// <summary>hygiene-bot's plan to retitle one contact: one changed record.</summary>
    private static Plan UpdateOfOne(GatewayFixture gateway) => gateway.Gateway.Workspace.Plan(new ToolCall("contacts.update",
        System.Text.Json.JsonDocument.Parse("""{"ids": ["c-0000001"], "set": {"job_title": "Buyer"}}""").RootElement, "hygiene-bot", "sandbox")).Get();

    [Fact]
    public async Task A_budget_lock_goes_once_the_call_has_reserved_its_use_and_the_next_decision_counts_the_reservation()
    {
        await using var gateway = await OneChangeAnHourAsync();
        var (policy, guards, hygiene, update) = (gateway.Gateway.Policy, gateway.Gateway.Guards, gateway.Gateway.Policy.FindAgent("hygiene-bot")!, UpdateOfOne(gateway));

        using var first = await guards.EnterAsync(policy, hygiene, update, null);
        var second = guards.EnterAsync(policy, hygiene, update, null);
        await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.False(second.IsCompleted, "a second call decided before the first had reserved its use");

        var reservation = guards.Reserve(policy, hygiene, null, update, first);
        using var next = await second.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken); // while the first is still running
        Assert.NotNull(reservation);
        var decision = guards.Decide(policy, "sandbox", hygiene, "contacts.update", update.Call.Arguments, update, null);
        Assert.Equal((Effect.Deny, DecisionBasis.Budget), (decision.Effect, decision.Basis));
        Assert.Contains("1 of 1 changed records used", decision.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_call_that_does_not_run_gives_back_what_it_reserved()
    {
        await using var gateway = await OneChangeAnHourAsync();
        var (policy, guards, hygiene, update) = (gateway.Gateway.Policy, gateway.Gateway.Guards, gateway.Gateway.Policy.FindAgent("hygiene-bot")!, UpdateOfOne(gateway));

        string? reservation;
        using (var hold = await guards.EnterAsync(policy, hygiene, update, null))
        {
            reservation = guards.Reserve(policy, hygiene, null, update, hold);
        }

        guards.Unreserve(reservation);
        Assert.Equal(Effect.Allow, guards.Decide(policy, "sandbox", hygiene, "contacts.update", update.Call.Arguments, update, null).Effect);
        Assert.Equal(0, gateway.Gateway.Store.Usage.Used("changed_records", "hygiene-bot", null, null, DateTimeOffset.UnixEpoch));
    }

    [Fact]
    public async Task A_call_a_breaker_counts_holds_its_lock_until_it_has_run_so_the_next_call_sees_the_trip()
    {
        await using var gateway = await GatewayFixture.StartAsync();
        var (policy, guards) = (gateway.Gateway.Policy, gateway.Gateway.Guards);
        var hygiene = policy.FindAgent("hygiene-bot")!;
        var merge = gateway.Gateway.Workspace.Plan(new ToolCall("contacts.merge",
            System.Text.Json.JsonDocument.Parse("""{"primary": "c-0000001", "duplicates": ["c-0000002"]}""").RootElement, "hygiene-bot", "sandbox")).Get();
        Assert.True(merge.Deleted > 0);

        using var first = await guards.EnterAsync(policy, hygiene, merge, null);
        guards.Reserve(policy, hygiene, null, merge, first);
        var second = guards.EnterAsync(policy, hygiene, merge, null);
        await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.False(second.IsCompleted, "a call the delete-burst breaker counts went ahead before the one before it had run");
        first.Dispose();
        (await second.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Dispose();
    }
}
