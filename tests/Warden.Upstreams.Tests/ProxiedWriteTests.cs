using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Warden.Core;

namespace Warden.Upstreams.Tests;

/// <summary>
/// Proxied writes the policy gives a preview and an undo, against the TypeScript SDK test CRM: the
/// preview is the before-image and is read again before the call; the undo restores it, record by
/// record, refusing to overwrite what changed since.
/// </summary>
public sealed class ProxiedWriteTests : IAsyncLifetime
{
    private TestUpstream _server = null!;
    private McpUpstream _upstream = null!;
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "warden-proxied-tests", Guid.NewGuid().ToString("N"));

    /// <summary>The CRM's tools as a policy annotates them, loaded by the policy checker.</summary>
    private const string Policy = """
        version: 1
        id: test
        owners:
          - { id: ana, name: Ana Lind, email: ana@example.com, roles: [approver, business_owner, risk_owner, technical_owner, data_owner] }
        use_cases:
          - id: ops
            classification: { access: high, autonomy: medium, data_sensitivity: medium, customer_impact: high, compliance_exposure: medium, reversibility: high }
            owners: { business: ana, technical: ana, data: ana, risk: ana }
            escalation: ana
        agents:
          - { id: bot, use_case: ops, environments: [sandbox], auth: { token: env:T_BOT } }
        data_classes:
          pii: [contacts.email]
          consent: [contacts.email]
        systems:
          - id: crm
            kind: mcp
            url: http://127.0.0.1:9/mcp
            environment: sandbox
            tools:
              - { name: get_record, kind: read, arguments: { id: string }, result: { "$.record.email": [pii] } }
              - { name: get_records, kind: read, arguments: { ids: string_list } }
              - { name: create_record, kind: write, arguments: { record: object } }
              - name: update_record
                kind: write
                arguments: { id: string, fields: object }
                argument_classes: { "$.fields.consent": [consent], "$.fields.email": [pii] }
                preview: { tool: get_record, arguments: { id: args.id } }
                undo: { tool: update_record, arguments: { id: args.id, fields: "pick(before.record, args.fields)" } }
              - name: bulk_update
                kind: write
                arguments: { ids: string_list, fields: object }
                preview: { tool: get_records, arguments: { ids: args.ids }, records: "$.records[*]" }
                undo: { tool: update_record, arguments: { id: record.id, fields: "pick(record, args.fields)" } }
              - name: delete_record
                kind: delete
                arguments: { id: string }
                preview: { tool: get_record, arguments: { id: args.id } }
                undo: { tool: create_record, arguments: { record: before.record } }
        """;

    public async ValueTask InitializeAsync()
    {
        _server = await TestUpstream.StartAsync();
        var policy = PolicyLoader.Load(Policy, "test.yaml", new PolicyLoadOptions { Systems = [new SystemCatalogue(ToolDefinition.WorkspaceSystem, [], [new SystemField("contacts.email", FilterFieldType.Text, [])])] });
        Assert.True(policy.Succeeded, string.Join("\n", policy.Diagnostics));
        _upstream = await McpUpstream.OpenAsync(new UpstreamOptions
        {
            Id = "crm",
            Environment = "sandbox",
            Endpoint = _server.Http(),
            Resolve = r => r == "env:CRM_TOKEN" ? "Bearer " + TestUpstream.Token : null,
            Annotated = [.. policy.Policy!.Tools.Where(t => t.System == "crm")],
            PinPath = Path.Combine(_folder, "crm.db"),
            RelistAfter = TimeSpan.Zero,
            Hidden = (agent, classes) => classes.Count > 0,
        }, TimeProvider.System, TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _upstream.DisposeAsync();
        await _server.DisposeAsync();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private static ToolCall Call(string tool, object arguments) => new(tool, JsonSerializer.SerializeToElement(arguments), "bot", "sandbox");

    private async Task<Plan> PlanAsync(string tool, object arguments)
    {
        var plan = await _upstream.PlanAsync(Call(tool, arguments), TestContext.Current.CancellationToken);
        Assert.True(plan.Succeeded, plan.Error?.Message);
        return plan.Value!;
    }

    private async Task<string> RunAsync(string tool, object arguments)
    {
        var applied = await _upstream.ApplyAsync(await PlanAsync(tool, arguments), cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(applied.Succeeded, applied.Error?.Message);
        return applied.Value!.ActionId;
    }

    private async Task<JsonArray> RecordsAsync()
    {
        using var http = new HttpClient();
        return (await http.GetFromJsonAsync<JsonArray>($"http://127.0.0.1:{_server.Port}/records", TestContext.Current.CancellationToken))!;
    }

    private async Task<string> LifecycleAsync(string id) => (await RecordsAsync()).Single(r => r!["id"]!.GetValue<string>() == id)!["lifecycle"]!.GetValue<string>();

    private Task<SystemResult<RollbackResult>> RollBackAsync(string action, ConflictResolution resolution = ConflictResolution.Skip) =>
        _upstream.RollBackAsync(new RollbackRequest(action), resolution, "ana", TestContext.Current.CancellationToken);

    [Fact]
    public async Task A_previewed_plan_counts_the_records_it_read_and_shows_them_masked()
    {
        var plan = await PlanAsync("crm.bulk_update", new { ids = new[] { "c-1", "c-2", "c-404" }, fields = new { lifecycle = "mql" } });
        Assert.Equal(2, plan.Records);
        Assert.Equal(["c-1", "c-2"], plan.SampleKeys);
        Assert.Equal("customer", plan.Sample[0].Before["lifecycle"]);
        Assert.True(plan.Facts.Reversible);
        Assert.Contains("Warden can undo it with crm.update_record (2 call(s)", plan.Summary, StringComparison.Ordinal);
        var single = await PlanAsync("crm.update_record", new { id = "c-1", fields = new { lifecycle = "mql" } });
        Assert.Equal("a***@example.com", single.Sample[0].Before["record"] is { } record ? JsonNode.Parse(record)!["email"]!.GetValue<string>() : null);
    }

    [Fact]
    public async Task The_plan_hash_binds_the_records_as_they_were_read()
    {
        var before = await PlanAsync("crm.update_record", new { id = "c-1", fields = new { lifecycle = "mql" } });
        await _server.ControlAsync(new { set = new { id = "c-1", fields = new { consent = false } } });
        var after = await PlanAsync("crm.update_record", new { id = "c-1", fields = new { lifecycle = "mql" } });
        Assert.NotEqual(before.Hash, after.Hash);
    }

    [Fact]
    public async Task A_call_whose_records_changed_after_it_was_planned_is_not_sent()
    {
        var plan = await PlanAsync("crm.update_record", new { id = "c-1", fields = new { lifecycle = "mql" } });
        await _server.ControlAsync(new { set = new { id = "c-1", fields = new { consent = false } } });
        var applied = await _upstream.ApplyAsync(plan, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("stale_plan", applied.Error!.Code);
        Assert.DoesNotContain("update_record", await _server.CallsAsync());
        Assert.Equal("customer", await LifecycleAsync("c-1"));
    }

    [Fact]
    public async Task An_update_is_undone_with_the_old_values_of_the_fields_it_set()
    {
        var action = await RunAsync("crm.update_record", new { id = "c-1", fields = new { lifecycle = "mql" } });
        Assert.Equal("mql", await LifecycleAsync("c-1"));
        var preview = await _upstream.PlanRollbackAsync(new RollbackRequest(action), TestContext.Current.CancellationToken);
        Assert.Equal((1L, 0), (preview.Value!.Restorable, preview.Value.Conflicts.Count));
        var result = await RollBackAsync(action);
        Assert.True(result.Succeeded, result.Error?.Message);
        Assert.Equal(1L, result.Value!.Restored);
        Assert.Equal([action], result.Value.Undone);
        Assert.Equal("customer", await LifecycleAsync("c-1"));
    }

    [Fact]
    public async Task A_deleted_record_is_restored_whole()
    {
        var before = (await RecordsAsync()).Single(r => r!["id"]!.GetValue<string>() == "c-2")!.ToJsonString();
        var action = await RunAsync("crm.delete_record", new { id = "c-2" });
        Assert.DoesNotContain(await RecordsAsync(), r => r!["id"]!.GetValue<string>() == "c-2");
        Assert.True((await RollBackAsync(action)).Succeeded);
        Assert.Equal(before, (await RecordsAsync()).Single(r => r!["id"]!.GetValue<string>() == "c-2")!.ToJsonString());
    }

    [Fact]
    public async Task A_record_changed_since_the_call_is_left_as_it_is_unless_forced()
    {
        var action = await RunAsync("crm.bulk_update", new { ids = new[] { "c-1", "c-2" }, fields = new { lifecycle = "mql" } });
        await _server.ControlAsync(new { set = new { id = "c-2", fields = new { lifecycle = "sql" } } });

        var conflict = Assert.Single((await _upstream.PlanRollbackAsync(new RollbackRequest(action), TestContext.Current.CancellationToken)).Value!.Conflicts);
        Assert.Equal("c-2", conflict.Key);
        var skipped = await RollBackAsync(action);
        Assert.Equal((1L, "c-2"), (skipped.Value!.Restored, Assert.Single(skipped.Value.Skipped).Key));
        Assert.Equal(("customer", "sql"), (await LifecycleAsync("c-1"), await LifecycleAsync("c-2")));

        // Forced, the rest is restored, and what ran already is not run again.
        var forced = await RollBackAsync(action, ConflictResolution.Force);
        Assert.Equal((1L, "c-2"), (forced.Value!.Restored, Assert.Single(forced.Value.Overwritten).Key));
        Assert.Equal(("customer", "lead"), (await LifecycleAsync("c-1"), await LifecycleAsync("c-2")));
        Assert.Equal(2, (await _server.CallsAsync()).Count(c => c == "update_record"));
    }

    [Fact]
    public async Task An_action_rolled_back_is_not_rolled_back_again()
    {
        var action = await RunAsync("crm.update_record", new { id = "c-1", fields = new { lifecycle = "mql" } });
        Assert.True((await RollBackAsync(action)).Succeeded);
        var again = await RollBackAsync(action);
        Assert.Equal("refused", again.Error!.Code);
        Assert.Contains("rolled back already", again.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_undo_the_server_refuses_says_how_far_it_got_and_finishes_when_run_again()
    {
        var action = await RunAsync("crm.bulk_update", new { ids = new[] { "c-1", "c-2" }, fields = new { lifecycle = "mql" } });
        await _server.ControlAsync(new { answer = new { tool = "update_record", error = "CRM is read-only for maintenance" } });
        var failed = await RollBackAsync(action);
        Assert.Contains("0 of 2 undo call(s)", failed.Error!.Message, StringComparison.Ordinal);
        Assert.Contains("CRM is read-only for maintenance", failed.Error.Message, StringComparison.Ordinal);

        await _server.ControlAsync(new { answer = new { tool = "update_record" } });
        var finished = await RollBackAsync(action);
        Assert.True(finished.Succeeded, finished.Error?.Message);
        Assert.Equal(("customer", "lead"), (await LifecycleAsync("c-1"), await LifecycleAsync("c-2")));
    }

    [Fact]
    public async Task An_agents_window_undoes_its_reversible_calls_and_names_the_others()
    {
        var update = await RunAsync("crm.update_record", new { id = "c-1", fields = new { lifecycle = "mql" } });
        var created = await RunAsync("crm.create_record", new { record = new { id = "c-3", name = "Cy", lifecycle = "lead" } });
        var plan = await _upstream.PlanRollbackAsync(new RollbackRequest(Agent: "bot", From: DateTimeOffset.UtcNow.AddHours(-1), To: DateTimeOffset.UtcNow.AddHours(1)),
            TestContext.Current.CancellationToken);
        Assert.Equal([update], plan.Value!.Actions);
        Assert.Equal([created], plan.Value.Irreversible);
    }

    [Fact]
    public async Task A_write_touches_the_classes_of_the_arguments_it_sets()
    {
        Assert.Contains("consent", (await PlanAsync("crm.update_record", new { id = "c-2", fields = new { consent = true } })).Classes);
        var lifecycle = await PlanAsync("crm.update_record", new { id = "c-2", fields = new { lifecycle = "mql" } });
        Assert.DoesNotContain("consent", lifecycle.Classes);
        // Clearing a consent flag changes consent as much as setting it.
        Assert.Contains("consent", (await PlanAsync("crm.update_record", new { id = "c-2", fields = new { consent = (bool?)null } })).Facts.Classes);
    }

    [Fact]
    public async Task A_preview_that_answers_with_an_error_does_not_pass_for_no_records()
    {
        // A search that fails ("too broad") would select no records: the call would count as touching none, and undo none.
        await _server.ControlAsync(new { answer = new { tool = "get_records", result = new { content = new[] { new { type = "text", text = "query too broad" } }, isError = true } } });
        var plan = await _upstream.PlanAsync(Call("crm.bulk_update", new { ids = new[] { "c-1", "c-2" }, fields = new { lifecycle = "mql" } }), TestContext.Current.CancellationToken);
        Assert.False(plan.Succeeded, $"planned as {plan.Value?.Records} record(s): {plan.Value?.Summary}");
        Assert.Equal("preview_failed", plan.Error!.Code);
        Assert.Contains("query too broad", plan.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_rollbacks_of_one_action_at_once_restore_it_once()
    {
        var action = await RunAsync("crm.update_record", new { id = "c-1", fields = new { lifecycle = "mql" } });
        var both = await Task.WhenAll(RollBackAsync(action), RollBackAsync(action));
        Assert.Single(both, r => r.Succeeded);
        Assert.Contains("rolled back already", Assert.Single(both, r => !r.Succeeded).Error!.Message, StringComparison.Ordinal);
        Assert.Equal(2, (await _server.CallsAsync()).Count(c => c == "update_record"));
    }

    [Fact]
    public async Task An_agents_window_undoes_its_calls_newest_first_so_a_record_it_changed_twice_is_restored_to_the_start()
    {
        await RunAsync("crm.update_record", new { id = "c-1", fields = new { lifecycle = "mql" } });
        await RunAsync("crm.update_record", new { id = "c-1", fields = new { lifecycle = "sql" } });
        var window = new RollbackRequest(Agent: "bot", From: DateTimeOffset.UtcNow.AddHours(-1), To: DateTimeOffset.UtcNow.AddHours(1));
        var result = await _upstream.RollBackAsync(window, ConflictResolution.Skip, "ana", TestContext.Current.CancellationToken);
        Assert.True(result.Succeeded, result.Error?.Message);
        Assert.Empty(result.Value!.Skipped);
        Assert.Equal("customer", await LifecycleAsync("c-1"));
    }

    [Fact]
    public async Task Two_records_with_one_id_are_both_compared_before_an_undo_overwrites_them()
    {
        // A contact and a company both "c-1": a change to the second must not hide behind the first.
        object Records(string company) => new
        {
            content = new[] { new { type = "text", text = $$"""{"records":[{"id":"c-1","type":"contact","lifecycle":"customer"},{"id":"c-1","type":"company","lifecycle":"{{company}}"}]}""" } },
        };
        await _server.ControlAsync(new { answer = new { tool = "get_records", result = Records("lead") } });
        var action = await RunAsync("crm.bulk_update", new { ids = new[] { "c-1" }, fields = new { lifecycle = "mql" } });
        await _server.ControlAsync(new { answer = new { tool = "get_records", result = Records("sql") } });
        var plan = await _upstream.PlanRollbackAsync(new RollbackRequest(action), TestContext.Current.CancellationToken);
        Assert.NotEmpty(plan.Value!.Conflicts);
        Assert.All(plan.Value.Conflicts, c => Assert.Equal("c-1", c.Key));
    }
}
