using System.Net;

namespace Warden.Gateway.Tests.WebConsole;

/// <summary>
/// What the roles of the policy open to each person, in the console and the API alike: the whole
/// trail to auditors and owners, not to an approver alone; an auditor reads, and approves nothing.
/// </summary>
public sealed class RoleViewTests : IAsyncLifetime
{
    private GatewayFixture _gateway = null!;

    public async ValueTask InitializeAsync() => _gateway = await ConsolePeople.StartAsync("sam", "lee", "ines");

    public async ValueTask DisposeAsync() => await _gateway.DisposeAsync();

    private async Task<long> Update()
    {
        var (_, answer) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.update",
            new { ids = new[] { "c-0000003" }, set = new { job_title = "Set by the role tests" } });
        Assert.True(answer["status"]?.GetValue<string>() == "done", answer.ToJsonString());
        return answer["audit_seq"]!.GetValue<long>();
    }

    [Theory]
    [InlineData("/console/activity")]
    [InlineData("/console/activity/export")]
    [InlineData("/console/activity/{seq}")]
    public async Task An_approver_alone_cannot_open_the_trail_in_the_console(string path)
    {
        var seq = await Update();
        using var lee = await ConsolePeople.SignInAsync(_gateway, "lee");

        var (status, body) = await lee.Get(path.Replace("{seq}", seq.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.DoesNotContain("Set by the role tests", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_approver_alone_cannot_verify_the_trail_or_see_the_latest_refusals_or_the_links_to_it()
    {
        using var lee = await ConsolePeople.SignInAsync(_gateway, "lee");

        using var verify = await lee.Post("/console/activity/verify", ("csrf", lee.Csrf!));
        var (_, overview) = await lee.Get("/console/overview");

        Assert.Equal(HttpStatusCode.Forbidden, verify.StatusCode);
        Assert.DoesNotContain("Latest refusals", overview, StringComparison.Ordinal);
        Assert.DoesNotContain("href=\"/console/activity\"", overview, StringComparison.Ordinal);
        Assert.DoesNotContain("href=\"/console/rollback\"", overview, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_approver_alone_cannot_read_the_trail_through_the_api()
    {
        await Update();

        var (status, body) = await _gateway.Api(HttpMethod.Get, "/api/audit?tool=contacts.update", _gateway.Token("lee"));

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("auditors", body!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_auditor_reads_the_whole_trail_in_the_console_and_the_api()
    {
        var seq = await Update();
        using var ines = await ConsolePeople.SignInAsync(_gateway, "ines");

        var (pageStatus, entry) = await ines.Get($"/console/activity/{seq}");
        var (apiStatus, body) = await _gateway.Api(HttpMethod.Get, "/api/audit?tool=contacts.update", _gateway.Token("ines"));

        Assert.Equal(HttpStatusCode.OK, pageStatus);
        Assert.Contains("Set by the role tests", entry, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, apiStatus);
        Assert.Contains(body!["entries"]!.AsArray(), e => e!["seq"]!.GetValue<long>() == seq);
    }

    [Fact]
    public async Task An_auditor_approves_nothing_rolls_nothing_back_and_reloads_nothing()
    {
        var (_, held) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.update",
            new { filter = "country == 'DE'", set = new { job_title = "Set by the role tests" } });
        var id = held["approval_id"]!.GetValue<string>();
        var (_, done) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.update",
            new { ids = new[] { "c-0000004" }, set = new { job_title = "Set by the role tests" } });

        var (vote, _) = await _gateway.Api(HttpMethod.Post, $"/api/approvals/{id}/approve", _gateway.Token("ines"), new { comment = "looks fine" });
        var (rollback, _) = await _gateway.Api(HttpMethod.Post, "/api/rollback", _gateway.Token("ines"), new { action_id = done["action_id"]!.GetValue<string>() });
        var (reload, _) = await _gateway.Api(HttpMethod.Post, "/api/policy/reload", _gateway.Token("ines"), new { });

        Assert.Equal(HttpStatusCode.Forbidden, vote);
        Assert.Equal(HttpStatusCode.Forbidden, rollback);
        Assert.Equal(HttpStatusCode.Forbidden, reload);
        Assert.Equal("pending", (await _gateway.Api(HttpMethod.Get, $"/api/approvals/{id}", _gateway.Token("sam"))).Body!["status"]!.GetValue<string>());
    }
}
