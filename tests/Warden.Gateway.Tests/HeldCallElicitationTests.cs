using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Warden.Storage.Audit;

namespace Warden.Gateway.Tests;

/// <summary>
/// A held call for a client that takes URL elicitations: answered with one (error -32042) that
/// points at the request's console page, so the client waits on it instead of polling; its retry
/// gets the call's end from the request, the call having run once, when approved. Every other
/// client gets the plain pending answer.
/// </summary>
public sealed class HeldCallElicitationTests : IAsyncLifetime
{
    private const string Germany = "country == 'DE'";
    private const string Title = "Buyer (waited on)";
    private GatewayFixture _gateway = null!;

    public async ValueTask InitializeAsync() => _gateway = await GatewayFixture.StartAsync();

    public async ValueTask DisposeAsync() => await _gateway.DisposeAsync();

    /// <summary>What a client that takes URL elicitations declares.</summary>
    internal static McpClientOptions Waiting(string? protocolVersion = null) => new()
    {
        Capabilities = new ClientCapabilities { Elicitation = new ElicitationCapability { Url = new UrlElicitationCapability() } },
        ProtocolVersion = protocolVersion,
    };

    private static readonly object BulkUpdate = new { filter = Germany, set = new { job_title = Title }, instruction = "Normalise the job titles of German contacts." };

    private long Germans => (long)_gateway.Workspace("SELECT count(*) FROM contacts WHERE country = 'DE' AND deleted_at IS NULL")!;

    private long Retitled => (long)_gateway.Workspace("SELECT count(*) FROM contacts WHERE job_title = @t", ("@t", Title))!;

    /// <summary>Calls and expects the URL elicitation; returns it.</summary>
    private static async Task<(UrlElicitationRequiredException Error, ElicitRequestParams Elicitation)> Held(McpClient client, string tool, object arguments)
    {
        var error = await Assert.ThrowsAsync<UrlElicitationRequiredException>(() => GatewayFixture.Call(client, tool, arguments));
        Assert.Equal(McpErrorCode.UrlElicitationRequired, error.ErrorCode);
        return (error, Assert.Single(error.Elicitations));
    }

    private Task<(HttpStatusCode Status, JsonNode? Body)> Vote(string person, string id, string verb, string comment) =>
        _gateway.Api(HttpMethod.Post, $"/api/approvals/{id}/{verb}", _gateway.Token(person), new { comment });

    [Fact]
    public async Task A_held_call_points_a_client_that_takes_url_elicitations_at_the_requests_page()
    {
        var (error, elicitation) = await Held(await _gateway.Agent("hygiene-bot", Waiting()), "contacts.update", BulkUpdate);

        var held = _gateway.Trail().Last().Entry;
        Assert.Equal(("pending", "contacts.update"), (held.Outcome, held.Tool));
        Assert.Equal("url", elicitation.Mode);
        Assert.Equal(held.ApprovalId, elicitation.ElicitationId);
        Assert.Equal($"{_gateway.Url}/console/approvals/{held.ApprovalId}", elicitation.Url);
        Assert.Contains("Sam Okafor (sam)", elicitation.Message, StringComparison.Ordinal);
        Assert.Contains("hygiene-bulk-changes", elicitation.Message, StringComparison.Ordinal);
        Assert.Contains(held.ApprovalId!, error.Message, StringComparison.Ordinal);
        Assert.Equal(0L, Retitled);
    }

    [Fact]
    public async Task The_retry_after_approval_gets_the_result_and_the_call_ran_once()
    {
        var client = await _gateway.Agent("hygiene-bot", Waiting());
        var (_, elicitation) = await Held(client, "contacts.update", BulkUpdate);
        var (voted, _) = await Vote("sam", elicitation.ElicitationId!, "approve", "go ahead");
        Assert.Equal(HttpStatusCode.OK, voted);

        var (isError, answer) = await GatewayFixture.Call(client, "contacts.update", BulkUpdate);

        Assert.False(isError, answer.ToJsonString());
        Assert.Equal(("done", Germans), (answer["status"]!.GetValue<string>(), answer["records"]!.GetValue<long>()));
        Assert.Equal(Germans, Retitled);
        var applied = _gateway.Trail().Where(e => e.Entry.Kind == "call" && e.Entry.ActionId is not null).ToList();
        Assert.Equal(elicitation.ElicitationId, Assert.Single(applied).Entry.ApprovalId); // it ran once, when approved
        var retry = _gateway.Trail().Last().Entry;
        Assert.Equal(("ok", elicitation.ElicitationId), (retry.Outcome, retry.ApprovalId));
        Assert.Contains("not run again", retry.Detail, StringComparison.Ordinal);

        // The retry took the answer: the same call once more is a new call, held anew.
        var (_, again) = await Held(client, "contacts.update", BulkUpdate);
        Assert.NotEqual(elicitation.ElicitationId, again.ElicitationId);
    }

    [Fact]
    public async Task The_retry_after_a_denial_is_refused_with_the_comment()
    {
        var client = await _gateway.Agent("hygiene-bot", Waiting());
        var (_, elicitation) = await Held(client, "contacts.update", BulkUpdate);
        Assert.Equal(HttpStatusCode.OK, (await Vote("sam", elicitation.ElicitationId!, "deny", "not before the migration")).Status);

        var (isError, answer) = await GatewayFixture.Call(client, "contacts.update", BulkUpdate);

        Assert.True(isError);
        Assert.Equal(("refused", "denied"), (answer["status"]!.GetValue<string>(), answer["code"]!.GetValue<string>()));
        Assert.Contains("not before the migration", answer["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("denied by Sam Okafor", answer["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(0L, Retitled);
        Assert.Equal("refused", _gateway.Trail().Last().Entry.Outcome);
    }

    [Fact]
    public async Task Two_retries_at_once_take_the_result_once()
    {
        var client = await _gateway.Agent("hygiene-bot", Waiting());
        var (_, elicitation) = await Held(client, "contacts.update", BulkUpdate);
        Assert.Equal(HttpStatusCode.OK, (await Vote("sam", elicitation.ElicitationId!, "approve", "go ahead")).Status);

        var retries = await Task.WhenAll(Enumerable.Range(0, 2).Select(async _ =>
        {
            try
            {
                var (_, answer) = await GatewayFixture.Call(client, "contacts.update", BulkUpdate);
                return answer["status"]!.GetValue<string>();
            }
            catch (UrlElicitationRequiredException)
            {
                return "held anew";
            }
        }));

        Assert.Equal(["done", "held anew"], retries.Order(StringComparer.Ordinal));
        Assert.Single(_gateway.Trail(), e => e.Entry.Kind == "call" && e.Entry.ActionId is not null);
    }

    [Fact]
    public async Task The_retry_after_the_request_expired_is_refused_and_nothing_runs()
    {
        var client = await _gateway.Agent("hygiene-bot", Waiting());
        var (_, elicitation) = await Held(client, "contacts.update", BulkUpdate);
        // Just past its expiry: the offer is kept an hour longer for such a late retry.
        _gateway.Clock.Advance(_gateway.Gateway.Store.Approvals.Find(elicitation.ElicitationId!)!.ExpiresAt - _gateway.Clock.GetUtcNow() + TimeSpan.FromMinutes(5));
        await _gateway.Gateway.Approvals.ExpireDueAsync(TestContext.Current.CancellationToken);

        var (isError, answer) = await GatewayFixture.Call(client, "contacts.update", BulkUpdate);

        Assert.True(isError);
        Assert.Equal(("refused", "expired", elicitation.ElicitationId), (answer["status"]!.GetValue<string>(), answer["code"]!.GetValue<string>(), answer["approval_id"]!.GetValue<string>()));
        Assert.Equal(0L, Retitled);
    }

    [Fact]
    public async Task A_retry_while_the_request_waits_joins_it_and_is_told_to_wait_again()
    {
        var client = await _gateway.Agent("hygiene-bot", Waiting());
        var (_, first) = await Held(client, "contacts.update", BulkUpdate);

        var (_, second) = await Held(client, "contacts.update", BulkUpdate);

        Assert.Equal(first.ElicitationId, second.ElicitationId);
        var (_, pending) = await _gateway.Api(HttpMethod.Get, "/api/approvals?status=pending", _gateway.Token("sam"));
        Assert.Single(pending!["approvals"]!.AsArray());
    }

    [Fact]
    public async Task A_client_without_url_elicitation_gets_the_plain_pending_answer()
    {
        var (isError, answer) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.update", BulkUpdate);

        Assert.False(isError, answer.ToJsonString());
        Assert.Equal("pending_approval", answer["status"]!.GetValue<string>());
        Assert.Equal($"{_gateway.Url}/console/approvals/{answer["approval_id"]!.GetValue<string>()}", answer["approval_url"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_client_whose_capabilities_a_stateless_server_cannot_know_gets_the_plain_pending_answer()
    {
        // On the handshake versions the capabilities went with initialize, another POST: unknown here.
        var client = await _gateway.Agent("hygiene-bot", Waiting("2025-11-25"));

        var (isError, answer) = await GatewayFixture.Call(client, "contacts.update", BulkUpdate);

        Assert.False(isError, answer.ToJsonString());
        Assert.Equal("pending_approval", answer["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_typescript_sdk_client_over_stateless_http_gets_the_plain_pending_answer()
    {
        // SDK 1.32.2 speaks 2025-11-25: what it declared went with initialize, another POST.
        var run = await EndToEnd.NodeClient.RunDeclaringAsync("""{"elicitation":{"url":{}}}""", "http", _gateway.Url + "/mcp", _gateway.Token("hygiene-bot"),
            EndToEnd.NodeClient.Steps(new { op = "call", name = "contacts.update", arguments = BulkUpdate }));

        Assert.True(run["connected"]!.GetValue<bool>(), run.ToJsonString());
        Assert.Equal("pending_approval", EndToEnd.NodeClient.Answer(run["steps"]![0]!)["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_elicitation_shows_nothing_the_agent_sees_masked()
    {
        // hygiene-bot sees contacts' personal data masked; deleting one of them is held.
        var id = (string)_gateway.Workspace("SELECT id FROM contacts WHERE deleted_at IS NULL ORDER BY id LIMIT 1")!;
        var email = (string)_gateway.Workspace("SELECT email FROM contacts WHERE id = @id", ("@id", id))!;
        var name = (string)_gateway.Workspace("SELECT first_name || ' ' || last_name FROM contacts WHERE id = @id", ("@id", id))!;

        var (error, elicitation) = await Held(await _gateway.Agent("hygiene-bot", Waiting()), "contacts.delete", new { ids = new[] { id } });

        var shown = error.Message + JsonSerializer.Serialize(elicitation, McpJsonUtilities.DefaultOptions);
        Assert.DoesNotContain(email, shown, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(email[..email.IndexOf('@', StringComparison.Ordinal)], shown, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(name, shown, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_elicitation_id_approves_nothing_for_the_agent()
    {
        var client = await _gateway.Agent("hygiene-bot", Waiting());
        var (_, elicitation) = await Held(client, "contacts.update", BulkUpdate);

        var (status, _) = await _gateway.Api(HttpMethod.Post, $"/api/approvals/{elicitation.ElicitationId}/approve", _gateway.Token("hygiene-bot"), new { comment = "self" });
        var (_, again) = await Held(client, "contacts.update", BulkUpdate);

        Assert.True(status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, status.ToString());
        Assert.Equal(elicitation.ElicitationId, again.ElicitationId); // still waiting for people
        Assert.Equal(0L, Retitled);
        Assert.DoesNotContain(_gateway.Trail(), e => e.Entry.Kind == "approval");
    }

    [Fact]
    public async Task Another_agents_identical_call_does_not_take_the_answer()
    {
        // Two agents of the same use case would share nothing: the request is the caller's alone.
        var client = await _gateway.Agent("hygiene-bot", Waiting());
        var (_, elicitation) = await Held(client, "contacts.update", BulkUpdate);
        Assert.Equal(HttpStatusCode.OK, (await Vote("sam", elicitation.ElicitationId!, "approve", "go ahead")).Status);

        var (isError, answer) = await GatewayFixture.Call(await _gateway.Agent("reporting-bot", Waiting()), "contacts.update", BulkUpdate);

        Assert.True(isError);
        Assert.NotEqual("done", answer["status"]!.GetValue<string>());
        var (mine, result) = await GatewayFixture.Call(client, "contacts.update", BulkUpdate);
        Assert.False(mine, result.ToJsonString());
        Assert.Equal("done", result["status"]!.GetValue<string>());
    }
    [Fact]
    public async Task A_retry_long_after_the_offer_lapsed_is_a_new_call_not_the_old_answer()
    {
        // The offer is kept an hour past the request's expiry; days later the same call is the agent's new intent.
        var client = await _gateway.Agent("hygiene-bot", Waiting());
        var (_, elicitation) = await Held(client, "contacts.update", BulkUpdate);
        Assert.Equal(HttpStatusCode.OK, (await Vote("sam", elicitation.ElicitationId!, "approve", "go ahead")).Status);
        _gateway.Clock.Advance(TimeSpan.FromDays(30));

        var (_, again) = await Held(client, "contacts.update", BulkUpdate);

        Assert.NotEqual(elicitation.ElicitationId, again.ElicitationId);
        Assert.Equal("pending", _gateway.Trail().Last().Entry.Outcome);
    }

    [Fact]
    public async Task A_retry_on_behalf_of_a_person_a_reload_took_out_gets_no_result()
    {
        var file = Path.Combine(GatewayFixture.NewDirectory() + "-policy", "policy.yaml");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var text = GatewayFixture.ExamplePolicy;
        const string Ines = """
              - id: ines
                name: Ines Duarte
                email: ines.duarte@northwind.example
                roles: [auditor]                 # reads the whole trail; approves and rolls back nothing
                auth: { token: env:WARDEN_TOKEN_INES }

            """;
        Assert.Contains(Ines, text, StringComparison.Ordinal);
        await File.WriteAllTextAsync(file, text, TestContext.Current.CancellationToken);
        await using var gateway = await GatewayFixture.StartAsync(policyFile: file);
        try
        {
            var client = await gateway.Agent("hygiene-bot", Waiting());
            var forInes = new Dictionary<string, string> { ["on_behalf_of"] = "ines" };
            var error = await Assert.ThrowsAsync<UrlElicitationRequiredException>(() => GatewayFixture.Call(client, "contacts.update", BulkUpdate, forInes));
            var id = Assert.Single(error.Elicitations).ElicitationId!;
            Assert.Equal(HttpStatusCode.OK, (await gateway.Api(HttpMethod.Post, $"/api/approvals/{id}/approve", gateway.Token("sam"), new { comment = "go ahead" })).Status);
            await File.WriteAllTextAsync(file, text.Replace(Ines, "", StringComparison.Ordinal), TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, (await gateway.Api(HttpMethod.Post, "/api/policy/reload", gateway.Token("dev"), new { })).Status);

            var (isError, answer) = await GatewayFixture.Call(client, "contacts.update", BulkUpdate, forInes);

            // As every call on behalf of someone the policy does not name: refused, the request's result not handed over.
            Assert.True(isError, answer.ToJsonString());
            Assert.Equal("unknown_person", answer["code"]!.GetValue<string>());
            Assert.Equal(("error", "on behalf of an unknown person"), (gateway.Trail().Last().Entry.Outcome, gateway.Trail().Last().Entry.Reason));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
        }
    }
}
