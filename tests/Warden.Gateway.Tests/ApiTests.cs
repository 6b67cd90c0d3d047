using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Warden.Gateway.Tests;

/// <summary>The people's API: who may do what, and bad bodies refused in a sentence.</summary>
public sealed class ApiTests : IAsyncLifetime
{
    private GatewayFixture _gateway = null!;

    public async ValueTask InitializeAsync() => _gateway = await GatewayFixture.StartAsync();

    public async ValueTask DisposeAsync() => await _gateway.DisposeAsync();

    private async Task<(HttpStatusCode Status, string Body)> Raw(string path, string person, string body)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, _gateway.Url + path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _gateway.Token(person));
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Only_an_owner_of_the_agents_use_case_may_roll_back_its_work()
    {
        var (_, done) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.update", new { ids = new[] { "c-0000001" }, set = new { job_title = "Rollback owner" } });
        var action = done["action_id"]!.GetValue<string>();
        var (refused, why) = await _gateway.Api(HttpMethod.Post, "/api/rollback", _gateway.Token("lee"), new { action_id = action, force = true });
        Assert.Equal(HttpStatusCode.Forbidden, refused);
        Assert.Equal("lee cannot roll back what agent 'hygiene-bot' did: that takes an owner of use case 'data-hygiene' (maria, dev, sam or rita)", why!["detail"]!.GetValue<string>());
        Assert.Equal("Rollback owner", _gateway.Workspace("SELECT job_title FROM contacts WHERE id = 'c-0000001'"));
        Assert.Contains(_gateway.Trail(), e => e.Entry.Kind == "rollback" && e.Entry.Outcome == "refused" && e.Entry.Person == "lee");
        var (allowed, _) = await _gateway.Api(HttpMethod.Post, "/api/rollback", _gateway.Token("dev"), new { action_id = action });
        Assert.Equal(HttpStatusCode.OK, allowed);
    }

    [Theory]
    [InlineData("/api/freeze", """{"agent": "hygiene-bot", "agent": "nurture-bot"}""", "the body: the key at $.agent appears twice")]
    [InlineData("/api/rollback", """{"action_id": "a", "action_id": "b"}""", "the body: the key at $.action_id appears twice")]
    [InlineData("/api/agents/reporting-bot/activate", """{"environment": "sandbox" """, "the body: this is not valid JSON")]
    [InlineData("/api/freeze", """["hygiene-bot"]""", "the body: expected a JSON object")]
    public async Task A_body_that_is_not_one_clear_json_object_is_refused_and_changes_nothing(string path, string body, string message)
    {
        var before = _gateway.Trail().Count;
        var (status, text) = await Raw(path, "dev", body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(message, text, StringComparison.Ordinal);
        Assert.Equal(before, _gateway.Trail().Count);
        Assert.Null(_gateway.Gateway.Store.Activations.Activation("reporting-bot", "production"));
    }

    [Fact]
    public async Task Only_the_people_an_incident_is_routed_to_acknowledge_it()
    {
        await _gateway.Api(HttpMethod.Post, "/api/freeze", _gateway.Token("lee"), new { agent = "nurture-bot", reason = "drill" });
        var incident = Assert.Single(_gateway.Gateway.Store.Incidents.List(Warden.Storage.Gateway.IncidentStatus.Open));
        var (refused, _) = await _gateway.Api(HttpMethod.Post, $"/api/incidents/{incident.Id}/acknowledge", _gateway.Token("lee"));
        Assert.Equal(HttpStatusCode.Forbidden, refused);
        var (done, _) = await _gateway.Api(HttpMethod.Post, $"/api/incidents/{incident.Id}/resolve", _gateway.Token("maria"));
        Assert.Equal(HttpStatusCode.OK, done);
        Assert.Contains(_gateway.Trail(), e => e.Entry.Kind == "incident" && e.Entry.Person == "maria" && e.Entry.Effect == "resolved");
    }
}
