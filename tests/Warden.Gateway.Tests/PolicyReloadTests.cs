using System.Net;
using System.Text.Json.Nodes;

namespace Warden.Gateway.Tests;

/// <summary>
/// Reloading the policy in a running gateway: what it puts in force takes effect at the next call,
/// bound to the file as checked, by the people who may, recorded either way; a file that does not
/// load or would change a governed system leaves the policy in force as it was.
/// </summary>
public sealed class PolicyReloadTests : IAsyncLifetime
{
    private const string Reads = """
          - id: reads
            description: Every agent may read the workspace.
            kind: read
            system: workspace
            effect: allow
        """;

    private const string ReadsDenied = """
          - id: reads
            description: Every agent may read the workspace.
            kind: read
            system: workspace
            effect: deny
            message: Reading is paused while the data is audited.
        """;

    private string _file = null!;
    private string _text = null!;
    private GatewayFixture _gateway = null!;

    public async ValueTask InitializeAsync()
    {
        _file = Path.Combine(GatewayFixture.NewDirectory() + "-policy", "policy.yaml");
        Directory.CreateDirectory(Path.GetDirectoryName(_file)!);
        _text = GatewayFixture.ExamplePolicy;
        Assert.Contains(Reads, _text, StringComparison.Ordinal);
        await File.WriteAllTextAsync(_file, _text, TestContext.Current.CancellationToken);
        _gateway = await GatewayFixture.StartAsync(policyFile: _file);
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        Directory.Delete(Path.GetDirectoryName(_file)!, recursive: true);
    }

    private Task Write(string text) => File.WriteAllTextAsync(_file, text, TestContext.Current.CancellationToken);

    private Task WriteReadsDenied() => Write(_text.Replace(Reads, ReadsDenied, StringComparison.Ordinal));

    private Task<(HttpStatusCode Status, JsonNode? Body)> Reload(string person, string? checkedHash = null) =>
        _gateway.Api(HttpMethod.Post, "/api/policy/reload", _gateway.Token(person), checkedHash is null ? new { } : new { checked_hash = checkedHash });

    private async Task<JsonNode> Read(string agent = "reporting-bot")
    {
        var (_, answer) = await GatewayFixture.Call(await _gateway.Agent(agent), "contacts.get", new { id = "c-0000001" });
        return answer;
    }

    [Fact]
    public async Task A_reloaded_rule_decides_the_next_call()
    {
        Assert.Equal("done", (await Read())["status"]!.GetValue<string>());
        await WriteReadsDenied();

        var (status, body) = await Reload("dev");
        var after = await Read();

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("reloaded", body!["outcome"]!.GetValue<string>());
        Assert.Equal(("refused", "reads"), (after["status"]!.GetValue<string>(), after["rule"]!.GetValue<string>()));
        Assert.Contains("Reading is paused", after["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_trail_records_who_reloaded_and_every_later_call_carries_the_new_hash()
    {
        var before = _gateway.Gateway.Policy.Hash;
        await WriteReadsDenied();

        await Reload("rita");
        await Read();

        var trail = _gateway.Trail();
        var load = trail.Last(e => e.Entry.Kind == "policy.load").Entry;
        var after = _gateway.Gateway.Policy.Hash;
        Assert.NotEqual(before, after);
        Assert.Equal(("rita", "ok", after), (load.Person, load.Outcome, load.PolicyHash));
        Assert.Contains($"{before} → {after}", load.Detail, StringComparison.Ordinal);
        Assert.Equal(after, trail.Last(e => e.Entry.Kind == "call").Entry.PolicyHash);
    }

    [Fact]
    public async Task A_person_who_is_neither_a_technical_nor_a_risk_owner_cannot_reload()
    {
        var before = _gateway.Gateway.Policy.Hash;
        await WriteReadsDenied();

        var (status, body) = await Reload("lee");

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("technical owner or a risk owner", body!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(before, _gateway.Gateway.Policy.Hash);
        Assert.Equal("done", (await Read())["status"]!.GetValue<string>());
        var refused = _gateway.Trail().Last(e => e.Entry.Kind == "policy.load").Entry;
        Assert.Equal(("lee", "refused"), (refused.Person, refused.Outcome));
    }

    [Fact]
    public async Task An_agent_cannot_reload_with_its_own_token()
    {
        await WriteReadsDenied();

        var (status, _) = await _gateway.Api(HttpMethod.Post, "/api/policy/reload", _gateway.Token("reporting-bot"), new { });

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("done", (await Read())["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_file_that_does_not_load_is_refused_with_its_errors_where_they_are_and_the_policy_stays()
    {
        var before = _gateway.Gateway.Policy.Hash;
        await Write(_text.Replace("effect: deny", "effect: denny", StringComparison.Ordinal));

        var (status, body) = await Reload("dev");

        Assert.Equal(HttpStatusCode.Conflict, status);
        var problem = body!["check"]!["problems"]!.AsArray().First(p => p!["severity"]!.GetValue<string>() == "error")!;
        Assert.Contains("denny", problem["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Matches(@"policy\.yaml:\d+:\d+", problem["at"]!.GetValue<string>());
        Assert.Equal(before, _gateway.Gateway.Policy.Hash);
        Assert.Equal("done", (await Read())["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_reload_takes_only_the_file_that_was_checked()
    {
        await WriteReadsDenied();
        var (_, check) = await _gateway.Api(HttpMethod.Post, "/api/policy/check", _gateway.Token("dev"));
        var checkedHash = check!["hash"]!.GetValue<string>();
        // Someone edits the file between the check and the reload.
        await Write(_text.Replace(Reads, ReadsDenied.Replace("paused", "stopped", StringComparison.Ordinal), StringComparison.Ordinal));

        var (status, body) = await Reload("dev", checkedHash);

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("changed since it was checked", body!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("done", (await Read())["status"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("127.0.0.1:8931", "127.0.0.1:8932")] // how the CRM's server is reached
    [InlineData("\"$.record.email\": [pii]", "\"$.record.email\": [pii], \"$.record.phone\": [pii]")] // what one of its tools returns, masked
    public async Task A_policy_that_changes_a_governed_system_waits_for_a_restart(string was, string becomes)
    {
        var before = _gateway.Gateway.Policy.Hash;
        Assert.Contains(was, _text, StringComparison.Ordinal);
        await Write(_text.Replace(was, becomes, StringComparison.Ordinal));

        var (status, body) = await Reload("dev");

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("restart", body!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("crm", body["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(before, _gateway.Gateway.Policy.Hash);
    }

    [Fact]
    public async Task An_agent_taken_out_by_a_reload_loses_its_token_at_once()
    {
        var client = await _gateway.Agent("schema-bot");
        var text = RemoveAgent(_text, "schema-bot");
        await Write(text);

        var (status, body) = await Reload("dev");

        Assert.True(status == HttpStatusCode.OK, body?.ToJsonString());
        var refused = await Assert.ThrowsAnyAsync<Exception>(async () =>
            await client.CallToolAsync("contacts.get", new Dictionary<string, object?> { ["id"] = "c-0000001" }, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("401", refused.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_agent_added_by_a_reload_can_sign_in_and_call()
    {
        const string added = "  - id: audit-bot\n    description: Reads for the audit.\n    use_case: reporting\n    environments: [sandbox]\n    auth: { token: env:WARDEN_TOKEN_AUDIT_BOT }\n";
        await Write(_text.Replace("  - id: schema-bot\n", added + "  - id: schema-bot\n", StringComparison.Ordinal));

        var (status, body) = await Reload("dev");

        Assert.True(status == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal("done", (await Read("audit-bot"))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_request_held_before_a_reload_is_decided_again_under_the_reloaded_policy()
    {
        var (_, held) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.update",
            new { filter = "country == 'DE'", set = new { job_title = "Buyer (set by the reload test)" } });
        Assert.Equal("pending_approval", held["status"]!.GetValue<string>());
        var start = _text.IndexOf("  - id: hygiene-bulk-changes\n", StringComparison.Ordinal);
        var end = _text.IndexOf("\n\n", start, StringComparison.Ordinal);
        const string refused = "  - id: hygiene-bulk-changes\n    description: Bulk changes are refused while the data is audited.\n    agent: hygiene-bot\n"
                               + "    tool: [contacts.update, lifecycle.set_stage, lists.add_members, lists.remove_members]\n    when: records > 200 || 'consent' in classes\n"
                               + "    effect: deny\n    message: Bulk changes are off until the audit ends.";
        await Write(_text[..start] + refused + _text[end..]);
        var (reloaded, body) = await Reload("dev");
        Assert.True(reloaded == HttpStatusCode.OK, body?.ToJsonString());

        var (_, vote) = await _gateway.Api(HttpMethod.Post, $"/api/approvals/{held["approval_id"]!.GetValue<string>()}/approve", _gateway.Token("sam"), new { comment = "fine" });

        Assert.NotEqual("executed", vote!["result"]?.GetValue<string>());
        Assert.Equal(0L, _gateway.Workspace("SELECT count(*) FROM contacts WHERE job_title = 'Buyer (set by the reload test)'"));
        Assert.Contains("refused now", _gateway.Trail().Last(e => e.Entry.Kind == "call").Entry.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_approval_given_before_a_reload_that_asks_more_approvers_does_not_run_the_call()
    {
        var (_, held) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.update",
            new { filter = "country == 'DE'", set = new { job_title = "Buyer (approved by the data owner)" } });
        Assert.Equal("pending_approval", held["status"]!.GetValue<string>());
        // Bulk changes need the risk owner as well as the data owner now.
        var start = _text.IndexOf("  - id: hygiene-bulk-changes\n", StringComparison.Ordinal);
        var end = _text.IndexOf("\n\n", start, StringComparison.Ordinal);
        await Write(_text[..start] + _text[start..end].Replace("approvers: [owner:data]", "approvers: [owner:data, owner:risk]\n      quorum: 2", StringComparison.Ordinal) + _text[end..]);
        var (reloaded, body) = await Reload("dev");
        Assert.True(reloaded == HttpStatusCode.OK, body?.ToJsonString());

        var (_, vote) = await _gateway.Api(HttpMethod.Post, $"/api/approvals/{held["approval_id"]!.GetValue<string>()}/approve", _gateway.Token("sam"), new { comment = "fine" });

        Assert.NotEqual("executed", vote!["result"]?.GetValue<string>());
        Assert.Equal(0L, _gateway.Workspace("SELECT count(*) FROM contacts WHERE job_title = 'Buyer (approved by the data owner)'"));
        var again = vote["replacement"]!.GetValue<string>();
        var asked = Assert.Single(Approvals.ApprovalDesk.RequirementsOf(_gateway.Gateway.Store.Approvals.Find(again)!));
        Assert.Equal(2, asked.Quorum);
        Assert.Equal(["rita", "sam"], asked.Approvers.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_approver_a_reload_takes_off_the_rule_neither_reads_nor_decides_a_request_held_before_it()
    {
        // Bulk hygiene changes go to the campaign leads too (lee among them), then no longer.
        var start = _text.IndexOf("  - id: hygiene-bulk-changes\n", StringComparison.Ordinal);
        var end = _text.IndexOf("\n\n", start, StringComparison.Ordinal);
        await Write(_text[..start] + _text[start..end].Replace("approvers: [owner:data]", "approvers: [owner:data, group:campaign-leads]", StringComparison.Ordinal) + _text[end..]);
        Assert.Equal(HttpStatusCode.OK, (await Reload("dev")).Status);
        var (_, held) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.update",
            new { filter = "country == 'DE'", set = new { job_title = "Buyer (seen by lee)" } });
        var id = held["approval_id"]!.GetValue<string>();
        Assert.NotNull((await _gateway.Api(HttpMethod.Get, $"/api/approvals/{id}", _gateway.Token("lee"))).Body!["plan"]);
        await Write(_text);
        Assert.Equal(HttpStatusCode.OK, (await Reload("dev")).Status);

        var (_, view) = await _gateway.Api(HttpMethod.Get, $"/api/approvals/{id}", _gateway.Token("lee"));
        var (vote, _) = await _gateway.Api(HttpMethod.Post, $"/api/approvals/{id}/approve", _gateway.Token("lee"), new { comment = "still mine?" });

        Assert.Null(view!["plan"]);
        Assert.Equal(HttpStatusCode.Forbidden, vote);
        Assert.Empty(_gateway.Gateway.Store.Approvals.Votes(id));
    }

    [Fact]
    public async Task Reloads_at_once_put_the_file_in_force_once()
    {
        await WriteReadsDenied();

        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Reload(i % 2 == 0 ? "dev" : "rita")));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        Assert.Equal(1, answers.Count(a => a.Body!["outcome"]!.GetValue<string>() == "reloaded"));
        Assert.Single(_gateway.Trail(), e => e.Entry is { Kind: "policy.load", Effect: "reload" });
    }

    [Fact]
    public async Task A_gateway_running_the_built_in_example_has_no_file_to_reload()
    {
        await using var example = await GatewayFixture.StartAsync();

        var (status, body) = await example.Api(HttpMethod.Post, "/api/policy/reload", example.Token("dev"), new { });

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("nothing on disk", body!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    /// <summary>The policy without the agent: its entry, and the rules that name it alone.</summary>
    private static string RemoveAgent(string text, string agent)
    {
        var lines = text.Split('\n').ToList();
        var start = lines.FindIndex(l => l == $"  - id: {agent}");
        var end = lines.FindIndex(start + 1, l => !l.StartsWith("    ", StringComparison.Ordinal));
        lines.RemoveRange(start, end - start);
        // Rules that name the agent go too: a rule about an agent the policy lacks does not load.
        for (var i = lines.FindIndex(l => l == "rules:"); i >= 0 && i < lines.Count; i++)
        {
            if (lines[i] == $"    agent: {agent}")
            {
                var ruleStart = lines.FindLastIndex(i, l => l.StartsWith("  - id:", StringComparison.Ordinal));
                var ruleEnd = lines.FindIndex(i, l => l.StartsWith("  - id:", StringComparison.Ordinal) || (l.Length > 0 && !l.StartsWith(' ')));
                lines.RemoveRange(ruleStart, ruleEnd - ruleStart);
                i = ruleStart - 1;
            }
        }

        return string.Join('\n', lines);
    }
}
