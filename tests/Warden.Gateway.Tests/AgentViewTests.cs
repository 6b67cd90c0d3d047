using System.Text.Json.Nodes;
using ModelContextProtocol.Client;

namespace Warden.Gateway.Tests;

/// <summary>What an agent sees: only the tools its policy can grant it, which ones need a person, and its reads masked.</summary>
public sealed class AgentViewTests : IAsyncLifetime
{
    private GatewayFixture _gateway = null!;

    public async ValueTask InitializeAsync() => _gateway = await GatewayFixture.StartAsync();

    public async ValueTask DisposeAsync() => await _gateway.DisposeAsync();

    private async Task<IList<McpClientTool>> ToolsOf(string agent) =>
        await (await _gateway.Agent(agent)).ListToolsAsync(cancellationToken: TestContext.Current.CancellationToken);

    [Fact]
    public async Task Two_agents_see_only_the_tools_their_policy_can_grant()
    {
        var reporting = (await ToolsOf("reporting-bot")).Select(t => t.Name).ToList();
        var hygiene = (await ToolsOf("hygiene-bot")).Select(t => t.Name).ToList();
        Assert.Contains("contacts.search", reporting);
        Assert.DoesNotContain("contacts.update", reporting);
        Assert.DoesNotContain("campaigns.send", reporting);
        Assert.Contains("contacts.update", hygiene);
        Assert.Contains("consent.update", hygiene);
        Assert.DoesNotContain("suppression.remove", hygiene); // denied to everyone, so never listed
        Assert.DoesNotContain("campaigns.send", hygiene);
        Assert.Equal(["warden.approval_status", "warden.my_permissions"], reporting.Where(t => t.StartsWith("warden.", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_tool_that_always_needs_a_person_says_so()
    {
        var send = (await ToolsOf("campaign-qa-bot")).Single(t => t.Name == "campaigns.send");
        Assert.Contains("Needs a person's approval before it runs", send.Description, StringComparison.Ordinal);
        var update = (await ToolsOf("hygiene-bot")).Single(t => t.Name == "contacts.update");
        Assert.Contains("Some calls may need a person's approval", update.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_tool_takes_the_instruction_behind_the_call()
    {
        var update = (await ToolsOf("hygiene-bot")).Single(t => t.Name == "contacts.update");
        var schema = JsonNode.Parse(update.ProtocolTool.InputSchema.GetRawText())!;
        Assert.Equal("string", schema["properties"]!["instruction"]!["type"]!.GetValue<string>());
        Assert.False(schema["additionalProperties"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_read_masks_the_classes_the_agent_may_not_see()
    {
        var id = (string)_gateway.Workspace("SELECT id FROM contacts WHERE email_consent = 'subscribed' ORDER BY id LIMIT 1")!;
        var email = (string)_gateway.Workspace("SELECT email FROM contacts WHERE id = @id", ("@id", id))!;
        var (isError, answer) = await GatewayFixture.Call(await _gateway.Agent("reporting-bot"), "contacts.get", new { id });
        Assert.False(isError, answer.ToJsonString());
        var contact = answer["result"]!;
        Assert.Equal(email[0] + "***" + email[email.IndexOf('@', StringComparison.Ordinal)..], contact["email"]!.GetValue<string>());
        Assert.EndsWith("***", contact["first_name"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("s***", contact["email_consent"]!.GetValue<string>()); // reporting does not see consent
        Assert.Equal(id, contact["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_agent_that_sees_a_class_reads_it_in_the_clear()
    {
        var id = (string)_gateway.Workspace("SELECT id FROM contacts WHERE email_consent = 'subscribed' ORDER BY id LIMIT 1")!;
        var (_, answer) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.get", new { id });
        Assert.Equal("subscribed", answer["result"]!["email_consent"]!.GetValue<string>()); // sees: [consent]
        Assert.Contains("***@", answer["result"]!["email"]!.GetValue<string>(), StringComparison.Ordinal); // but not pii
    }

    [Fact]
    public async Task A_read_is_recorded_with_the_ids_it_returned_and_not_their_values()
    {
        var (_, answer) = await GatewayFixture.Call(await _gateway.Agent("reporting-bot"), "contacts.search", new { filter = "country == 'DE'", limit = 3 },
            new() { ["instruction"] = "How many German contacts?" });
        var entry = _gateway.Trail().Single(e => e.Seq == answer["audit_seq"]!.GetValue<long>()).Entry;
        Assert.Equal(("reporting-bot", "contacts.search", "allow", "reads", "ok"), (entry.Agent, entry.Tool, entry.Effect, entry.Rule, entry.Outcome));
        Assert.Equal("How many German contacts?", entry.Instruction);
        Assert.Equal(answer["result"]!["contacts"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()), entry.RecordsRead);
        Assert.Contains("contacts.email", entry.FieldsRead);
        Assert.DoesNotContain("@", Warden.Core.Audit.AuditText.Body(entry), StringComparison.Ordinal);
    }

    [Fact]
    public async Task My_permissions_says_what_the_agent_may_do_and_why()
    {
        var (isError, answer) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "warden.my_permissions", new { });
        Assert.False(isError);
        Assert.Equal(("hygiene-bot", "data-hygiene", "medium", false), (answer["agent"]!.GetValue<string>(), answer["use_case"]!.GetValue<string>(),
            answer["tier"]!.GetValue<string>(), answer["frozen"]!.GetValue<bool>()));
        var update = answer["tools"]!.AsArray().Single(t => t!["tool"]!.GetValue<string>() == "contacts.update")!;
        Assert.Contains("hygiene-small-fixes", update["rules"]!.AsArray().Select(r => r!["rule"]!.GetValue<string>()));
        Assert.Contains("email", answer["masked_fields"]!.AsArray().Select(f => f!.GetValue<string>()));
        Assert.Equal("hygiene-hourly-changes", answer["budgets"]![0]!["budget"]!.GetValue<string>());
    }

    [Fact]
    public async Task Asking_wardens_own_tools_is_in_the_trail_too()
    {
        var agent = await _gateway.Agent("nurture-bot");
        await GatewayFixture.Call(agent, "warden.my_permissions", new { }, new() { ["instruction"] = "What may I do?" });
        var entry = _gateway.Trail().Last().Entry;
        Assert.Equal(("nurture-bot", "warden.my_permissions", "allow", "ok", "What may I do?"), (entry.Agent, entry.Tool, entry.Effect, entry.Outcome, entry.Instruction));
    }

    [Fact]
    public async Task My_permissions_for_someone_the_policy_lacks_is_refused()
    {
        var agent = await _gateway.Agent("hygiene-bot");
        var refused = await Assert.ThrowsAsync<ModelContextProtocol.McpProtocolException>(() =>
            GatewayFixture.Call(agent, "warden.my_permissions", new { }, new() { ["on_behalf_of"] = "mallory" }));
        Assert.Contains("on behalf of 'mallory', who is not a person of the policy", refused.Message, StringComparison.Ordinal);
    }
}
