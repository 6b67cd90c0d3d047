using System.Net;
using Warden.Gateway.WebConsole;

namespace Warden.Gateway.Tests.WebConsole;

/// <summary>
/// The console's Activity, Rollback and Agents pages over HTTP: each does what the API does, with
/// the same checks, and every change is a form that carries the session's token.
/// </summary>
public sealed class OperationsPagesTests : IAsyncLifetime
{
    private const string Password = ConsolePeople.Password;
    private GatewayFixture _gateway = null!;

    public async ValueTask InitializeAsync() => _gateway = await ConsolePeople.StartAsync("sam", "lee", "rita");

    public async ValueTask DisposeAsync() => await _gateway.DisposeAsync();

    private Task<ConsoleSession> SignedIn(string person) => ConsolePeople.SignInAsync(_gateway, person);

    /// <summary>A small update the hygiene agent may make alone: its action id.</summary>
    private async Task<string> Update()
    {
        var (_, answer) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.update",
            new { ids = new[] { "c-0000003", "c-0000004" }, set = new { job_title = "Set by the console tests" } });
        Assert.True(answer["status"]?.GetValue<string>() == "done", answer.ToJsonString());
        return answer["action_id"]!.GetValue<string>();
    }

    private long Retitled => (long)_gateway.Workspace("SELECT count(*) FROM contacts WHERE job_title = 'Set by the console tests'")!;

    [Fact]
    public async Task Activity_lists_the_trail_filtered_and_each_entry_whole()
    {
        await Update();
        using var sam = await SignedIn("sam");
        var (_, page) = await sam.Get("/console/activity?agent=hygiene-bot&tool=contacts.update");
        Assert.Contains("contacts.update", page, StringComparison.Ordinal);
        var seq = _gateway.Trail().Last(e => e.Entry.Tool == "contacts.update").Seq;
        Assert.Contains($"href=\"/console/activity/{seq}\"", page, StringComparison.Ordinal);
        var (_, other) = await sam.Get("/console/activity?agent=reporting-bot");
        Assert.DoesNotContain($"href=\"/console/activity/{seq}\"", other, StringComparison.Ordinal);

        var (_, entry) = await sam.Get($"/console/activity/{seq}");
        Assert.Contains("c-0000003", entry, StringComparison.Ordinal);
        Assert.Contains("roll it back", entry, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_filter_says_what_is_wrong()
    {
        using var sam = await SignedIn("sam");
        var (status, page) = await sam.Get("/console/activity?from=yesterday");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("&#x27;from&#x27; is a time such as", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_runs_the_chain_check_and_says_so()
    {
        await Update();
        using var sam = await SignedIn("sam");
        using var response = await sam.Post("/console/activity/verify", ("csrf", sam.Csrf!));
        var page = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("The chain verifies", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Export_gives_the_filtered_entries_as_json_lines()
    {
        await Update();
        using var sam = await SignedIn("sam");
        var (status, body) = await sam.Get("/console/activity/export?tool=contacts.update");
        Assert.Equal(HttpStatusCode.OK, status);
        var lines = body.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.Contains("\"tool\":\"contacts.update\"", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_api_and_the_export_give_an_entry_alike_and_a_bad_time_says_so()
    {
        await Update();
        var (status, api) = await _gateway.Api(HttpMethod.Get, "/api/audit?tool=contacts.update", _gateway.Token("sam"));
        Assert.Equal(HttpStatusCode.OK, status);
        using var sam = await SignedIn("sam");
        var (_, export) = await sam.Get("/console/activity/export?tool=contacts.update");
        Assert.Equal(api!["entries"]![0]!.ToJsonString(), System.Text.Json.Nodes.JsonNode.Parse(export.Split('\n')[0])!.ToJsonString());
        var (bad, problem) = await _gateway.Api(HttpMethod.Get, "/api/audit?from=yesterday", _gateway.Token("sam"));
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Contains("'from' is a time such as", problem!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rollback_is_previewed_then_run_on_confirmation_and_recorded()
    {
        var action = await Update();
        using var sam = await SignedIn("sam");
        var (_, preview) = await sam.Get($"/console/rollback?action={action}");
        Assert.Contains("id=\"restorable\">2<", preview, StringComparison.Ordinal);
        Assert.Equal(2, Retitled); // a preview restores nothing

        using var confirmed = await sam.Post("/console/rollback", ("csrf", sam.Csrf!), ("action", action));
        var done = await confirmed.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("id=\"rollback-done\"", done, StringComparison.Ordinal);
        Assert.Equal(0, Retitled);
        var entry = _gateway.Trail().Last(e => e.Entry.Kind == "rollback").Entry;
        Assert.Equal(("sam", "ok"), (entry.Person, entry.Outcome));
    }

    [Fact]
    public async Task A_person_who_owns_nothing_of_the_agent_can_neither_preview_nor_run_its_rollback()
    {
        var action = await Update();
        using var lee = await SignedIn("lee");
        var (_, preview) = await lee.Get($"/console/rollback?action={action}");
        Assert.Contains("cannot roll back", preview, StringComparison.Ordinal);
        Assert.DoesNotContain("c-0000003", preview, StringComparison.Ordinal);
        using var forced = await lee.Post("/console/rollback", ("csrf", lee.Csrf!), ("action", action));
        Assert.Equal(2, Retitled);
    }

    [Fact]
    public async Task A_rollback_posted_without_the_token_runs_nothing()
    {
        var action = await Update();
        using var sam = await SignedIn("sam");
        using var response = await sam.Post("/console/rollback", ("action", action));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(2, Retitled);
    }

    [Fact]
    public async Task Freezing_an_agent_on_the_agents_page_refuses_its_next_call()
    {
        using var sam = await SignedIn("sam");
        var (_, agents) = await sam.Get("/console/agents");
        Assert.Contains("id=\"freeze-hygiene-bot\"", agents, StringComparison.Ordinal);
        using var frozen = await sam.Post("/console/agents/freeze", ("csrf", sam.Csrf!), ("agent", "hygiene-bot"), ("reason", "looks wrong"));
        Assert.Contains("hygiene-bot is frozen", await frozen.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);

        var (isError, answer) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.get", new { id = "c-0000003" });
        Assert.True(isError, answer.ToJsonString());
        Assert.Contains("frozen", answer.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_an_owner_lifts_a_freeze_from_the_console()
    {
        using var sam = await SignedIn("sam");
        using var _ = await sam.Post("/console/agents/freeze", ("csrf", sam.Csrf!), ("agent", "hygiene-bot"), ("reason", "check"));
        using var lee = await SignedIn("lee");
        using var refused = await lee.Post("/console/agents/unfreeze", ("csrf", lee.Csrf!), ("agent", "hygiene-bot"));
        Assert.Contains("Refused", await refused.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Contains("hygiene-bot", _gateway.Gateway.Store.Freezes.Frozen());
        using var lifted = await sam.Post("/console/agents/unfreeze", ("csrf", sam.Csrf!), ("agent", "hygiene-bot"));
        Assert.DoesNotContain("hygiene-bot", _gateway.Gateway.Store.Freezes.Frozen());
    }

    [Fact]
    public async Task An_agents_page_says_what_it_may_do_and_what_it_has_used()
    {
        await Update();
        using var sam = await SignedIn("sam");
        var (status, page) = await sam.Get("/console/agents/hygiene-bot");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("<strong>contacts.update</strong>", page, StringComparison.Ordinal);
        Assert.Contains("hygiene-bulk-changes", page, StringComparison.Ordinal);
        Assert.DoesNotContain("<strong>campaigns.send</strong>", page, StringComparison.Ordinal);
        Assert.Matches("[1-9][0-9]* of [0-9,]+ ", page); // a budget's use counts the update
        Assert.Equal(HttpStatusCode.NotFound, (await sam.Get("/console/agents/nobody")).Status);
    }

    [Fact]
    public async Task A_freeze_posted_without_the_token_freezes_nothing()
    {
        using var sam = await SignedIn("sam");
        using var response = await sam.Post("/console/agents/freeze", ("agent", "*"), ("reason", "x"));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(_gateway.Gateway.Store.Freezes.Frozen());
    }

    [Theory]
    [InlineData("/console/rollback?agent=hygiene-bot&since=99999999d")]
    [InlineData("/console/rollback?agent=hygiene-bot&since=2147483647h")]
    [InlineData("/console/activity/9223372036854775807")]
    [InlineData("/console/activity?before=9223372036854775807")]
    [InlineData("/console/activity?from=9999-12-31T23:59:59-14:00")]
    [InlineData("/console/activity?from=0001-01-01T00:00:00%2B14:00")]
    [InlineData("/console/activity/export?before=99999999999999999999999")]
    [InlineData("/console/rollback?action=act-%00%27%22%3C")]
    [InlineData("/console/agents/%00%3Cb%3E")]
    public async Task A_bad_value_in_a_link_is_answered_not_a_server_error(string path)
    {
        using var sam = await SignedIn("sam");
        var (status, page) = await sam.Get(path);
        Assert.True(status < HttpStatusCode.InternalServerError, $"{path}: {(int)status} {page}");
        Assert.DoesNotContain(" at Warden.", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_very_long_action_or_agent_is_answered_not_a_server_error()
    {
        using var sam = await SignedIn("sam");
        var longName = new string('x', 6_000);
        foreach (var path in new[] { $"/console/rollback?action=act-{longName}", $"/console/rollback?agent={longName}&since=1d", $"/console/agents/{longName}" })
        {
            var (status, page) = await sam.Get(path);
            Assert.True(status < HttpStatusCode.InternalServerError, $"{(int)status} {page[..Math.Min(page.Length, 2000)]}");
        }

        using var freeze = await sam.Post("/console/agents/freeze", ("csrf", sam.Csrf!), ("agent", longName), ("reason", "x"));
        Assert.True(freeze.StatusCode < HttpStatusCode.InternalServerError, freeze.StatusCode.ToString());
        using var step = await sam.Post($"/console/incidents/{longName}/acknowledge", ("csrf", sam.Csrf!));
        Assert.True(step.StatusCode < HttpStatusCode.InternalServerError, step.StatusCode.ToString());
    }

    [Fact]
    public async Task Two_confirmations_of_one_rollback_at_once_roll_it_back_once()
    {
        var action = await Update();
        using var sam = await SignedIn("sam");
        await sam.Get($"/console/rollback?action={action}");
        var posts = Enumerable.Range(0, 4).Select(_ => sam.Post("/console/rollback", ("csrf", sam.Csrf!), ("action", action))).ToList();
        foreach (var response in await Task.WhenAll(posts))
        {
            response.Dispose();
        }

        Assert.Equal(0, Retitled);
        Assert.Single(_gateway.Trail(), e => e.Entry.Kind == "rollback" && e.Entry.Outcome == "ok");
    }

    [Fact]
    public async Task Confirming_an_agents_window_runs_the_window_previewed_not_one_that_has_moved_on()
    {
        var previewed = await Update();
        using var sam = await SignedIn("sam");
        var (_, preview) = await sam.Get("/console/rollback?agent=hygiene-bot&since=1h");
        Assert.Contains(previewed, preview, StringComparison.Ordinal);
        await Task.Delay(50, TestContext.Current.CancellationToken);

        // The agent works on after the preview: the confirmation must not undo what the person never saw.
        var (_, later) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.update",
            new { ids = new[] { "c-0000005" }, set = new { job_title = "Set after the preview" } });
        var unseen = later["action_id"]!.GetValue<string>();
        Assert.DoesNotContain(unseen, preview, StringComparison.Ordinal);

        var form = System.Text.RegularExpressions.Regex.Matches(preview, "<input type=\"hidden\" name=\"([a-z]+)\" value=\"([^\"]*)\"")
            .Select(m => (m.Groups[1].Value, System.Net.WebUtility.HtmlDecode(m.Groups[2].Value))).DistinctBy(f => f.Item1).ToArray();
        using var confirmed = await sam.Post("/console/rollback", form);
        var done = await confirmed.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("id=\"rollback-done\"", done, StringComparison.Ordinal);
        Assert.Equal(0, Retitled);
        Assert.Equal(1L, (long)_gateway.Workspace("SELECT count(*) FROM contacts WHERE job_title = 'Set after the preview'")!);
    }

    [Fact]
    public async Task An_owner_activates_an_agent_for_production_from_its_page_and_the_trail_says_who()
    {
        using var sam = await SignedIn("sam");
        var (_, before) = await sam.Get("/console/agents/hygiene-bot");

        using var response = await sam.Post("/console/agents/hygiene-bot/activate", ("csrf", sam.Csrf!));
        var page = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Contains("id=\"activate\"", before, StringComparison.Ordinal);
        Assert.Contains("not activated", before, StringComparison.Ordinal);
        Assert.Contains("risk axes", before, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("activated by Sam Okafor (sam)", page, StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"activate\"", page, StringComparison.Ordinal);
        Assert.NotNull(_gateway.Gateway.Store.Activations.Activation("hygiene-bot", "production"));
        var entry = _gateway.Trail().Last(e => e.Entry.Kind == "activation").Entry;
        Assert.Equal(("hygiene-bot", "sam", "production"), (entry.Agent, entry.Person, entry.Environment));
    }

    [Fact]
    public async Task Someone_who_owns_nothing_of_the_use_case_is_not_offered_activation_and_cannot_post_it()
    {
        using var lee = await SignedIn("lee");
        var (_, page) = await lee.Get("/console/agents/hygiene-bot");

        using var response = await lee.Post("/console/agents/hygiene-bot/activate", ("csrf", lee.Csrf!));

        Assert.DoesNotContain("id=\"activate\"", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Null(_gateway.Gateway.Store.Activations.Activation("hygiene-bot", "production"));
    }

    [Fact]
    public async Task An_activation_posted_without_the_sessions_token_is_refused()
    {
        using var sam = await SignedIn("sam");

        using var response = await sam.Post("/console/agents/hygiene-bot/activate");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Null(_gateway.Gateway.Store.Activations.Activation("hygiene-bot", "production"));
    }
}
