using System.Net;
using System.Text.Json.Nodes;

namespace Warden.Gateway.Tests;

/// <summary>
/// An approval is for one environment, and a call approved earlier meets, when it runs, everything
/// a new call would meet there: attacked by restarting the same data folder in another environment,
/// or with a policy that no longer grants the call, between the request and its approval.
/// </summary>
public sealed class EnvironmentTests
{
    private const string Title = "Buyer (set by the environment tests)";

    private static async Task<string> HoldBulkUpdate(GatewayFixture gateway)
    {
        var (_, answer) = await GatewayFixture.Call(await gateway.Agent("hygiene-bot"), "contacts.update",
            new { filter = "country == 'DE'", set = new { job_title = Title } });
        Assert.Equal("pending_approval", answer["status"]!.GetValue<string>());
        return answer["approval_id"]!.GetValue<string>();
    }

    /// <summary>The example policy with a rule that now refuses the hygiene agent every contact update.</summary>
    private static string UpdatesPaused(string policy) => policy.Replace("rules:\n", """
        rules:
          - id: hygiene-no-updates
            agent: hygiene-bot
            tool: contacts.update
            effect: deny
            message: Contact updates are paused during the CRM migration.

        """, StringComparison.Ordinal);

    private static long Changed(GatewayFixture gateway) => (long)gateway.Workspace("SELECT count(*) FROM contacts WHERE job_title = @t", ("@t", Title))!;

    [Fact]
    public async Task A_request_held_in_the_sandbox_is_not_approved_by_a_production_gateway_on_the_same_data()
    {
        using var folder = new DataFolder();
        var directory = folder.Path;
        string id;
        await using (var sandbox = await GatewayFixture.StartAsync(directory: directory))
        {
            id = await HoldBulkUpdate(sandbox);
        }

        await using (var production = await GatewayFixture.StartAsync(environment: "production", directory: directory))
        {
            var (status, body) = await production.Api(HttpMethod.Post, $"/api/approvals/{id}/approve", production.Token("sam"), new { comment = "ok" });
            Assert.Equal(HttpStatusCode.Conflict, status);
            Assert.Contains("was made in sandbox, and this gateway runs production", body!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal(0L, Changed(production));
            var (_, view) = await production.Api(HttpMethod.Get, "/api/approvals/" + id, production.Token("sam"));
            Assert.Equal(("pending", "sandbox"), (view!["status"]!.GetValue<string>(), view["environment"]!.GetValue<string>()));
            Assert.Empty(view["votes"]!.AsArray());
        }

        await using (var sandbox = await GatewayFixture.StartAsync(directory: directory))
        {
            var (status, body) = await sandbox.Api(HttpMethod.Post, $"/api/approvals/{id}/approve", sandbox.Token("sam"), new { comment = "ok" });
            Assert.Equal((HttpStatusCode.OK, "executed"), (status, body!["result"]!.GetValue<string>()));
            Assert.True(Changed(sandbox) > 0);
            var call = sandbox.Trail().Last(e => e.Entry.Kind == "call" && e.Entry.ApprovalId == id).Entry;
            Assert.Equal(("sandbox", "ok"), (call.Environment, call.Outcome));
        }
    }

    [Fact]
    public async Task An_approved_call_is_refused_when_the_policy_no_longer_grants_it()
    {
        using var folder = new DataFolder();
        var directory = folder.Path;
        string id;
        await using (var gateway = await GatewayFixture.StartAsync(directory: directory))
        {
            id = await HoldBulkUpdate(gateway);
        }

        // Restarted with a policy that now refuses the hygiene agent every contact update.
        await using (var gateway = await GatewayFixture.StartAsync(directory: directory, editPolicy: UpdatesPaused))
        {
            var (status, body) = await gateway.Api(HttpMethod.Post, $"/api/approvals/{id}/approve", gateway.Token("sam"), new { comment = "ok" });
            Assert.Equal((HttpStatusCode.OK, "failed"), (status, body!["result"]!.GetValue<string>()));
            Assert.Contains("refused now: Contact updates are paused", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal(0L, Changed(gateway));
            var call = gateway.Trail().Last(e => e.Entry.Kind == "call" && e.Entry.ApprovalId == id).Entry;
            Assert.Equal(("deny", "hygiene-no-updates", "refused"), (call.Effect, call.Rule, call.Outcome));
        }
    }

    [Fact]
    public async Task A_rule_s_refusal_of_an_approved_call_counts_towards_repeated_denials_as_a_new_call_s_does()
    {
        using var folder = new DataFolder();
        var directory = folder.Path;
        string id;
        await using (var gateway = await GatewayFixture.StartAsync(directory: directory))
        {
            id = await HoldBulkUpdate(gateway);
        }

        await using (var gateway = await GatewayFixture.StartAsync(directory: directory, editPolicy: UpdatesPaused))
        {
            var since = gateway.Gateway.Clock.GetUtcNow() - TimeSpan.FromHours(1);
            long Denials() => gateway.Gateway.Store.Usage.Used("denials", "hygiene-bot", null, null, since);
            Assert.Equal(0L, Denials());

            var (status, body) = await gateway.Api(HttpMethod.Post, $"/api/approvals/{id}/approve", gateway.Token("sam"), new { comment = "ok" });

            Assert.Equal((HttpStatusCode.OK, "failed"), (status, body!["result"]!.GetValue<string>()));
            Assert.Equal(1L, Denials());

            // The same refusal reached by a new call counts the same.
            await GatewayFixture.Call(await gateway.Agent("hygiene-bot"), "contacts.update", new { filter = "country == 'DE'", set = new { job_title = Title } });
            Assert.Equal(2L, Denials());
        }
    }
}
