using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ModelContextProtocol;

namespace Warden.Gateway.Tests;

/// <summary>Calls that run, calls the policy refuses, and calls that are wrong: each answered in a sentence, recorded, and nothing half-written.</summary>
public sealed class CallTests : IAsyncLifetime
{
    private GatewayFixture _gateway = null!;

    public async ValueTask InitializeAsync() => _gateway = await GatewayFixture.StartAsync();

    public async ValueTask DisposeAsync() => await _gateway.DisposeAsync();

    private long Contacts(string where) => (long)_gateway.Workspace("SELECT count(*) FROM contacts WHERE " + where)!;

    [Fact]
    public async Task A_small_update_the_policy_allows_runs_at_once_and_is_recorded_with_its_records()
    {
        var ids = new[] { "c-0000001", "c-0000002" };
        var (isError, answer) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.update",
            new { ids, set = new { job_title = "Head of Outdoor Buying" }, instruction = "Fix two titles from the trade show." });
        Assert.False(isError, answer.ToJsonString());
        Assert.Equal(("done", 2L), (answer["status"]!.GetValue<string>(), answer["records"]!.GetValue<long>()));
        Assert.Equal(2L, Contacts("job_title = 'Head of Outdoor Buying'"));
        var entry = _gateway.Trail().Single(e => e.Seq == answer["audit_seq"]!.GetValue<long>()).Entry;
        Assert.Equal(("allow", "hygiene-small-fixes", "ok"), (entry.Effect, entry.Rule, entry.Outcome));
        Assert.Equal(ids, entry.RecordsChanged);
        Assert.Equal(answer["action_id"]!.GetValue<string>(), entry.ActionId);
        Assert.Equal("Fix two titles from the trade show.", entry.Instruction);
    }

    [Fact]
    public async Task A_call_a_rule_denies_is_refused_with_the_rules_message_and_writes_nothing()
    {
        var before = (long)_gateway.Workspace("SELECT count(*) FROM suppression")!;
        var address = (string)_gateway.Workspace("SELECT email FROM suppression ORDER BY email LIMIT 1")!;
        var list = (string)_gateway.Workspace("SELECT list_id FROM suppression WHERE email = @e", ("@e", address))!;
        var (isError, answer) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "suppression.remove", new { list, emails = new[] { address }, reason = "the customer asked to hear from us again" });
        Assert.True(isError);
        Assert.Equal(("refused", "denied_by_rule", "no-suppression-removal"), (answer["status"]!.GetValue<string>(), answer["code"]!.GetValue<string>(), answer["rule"]!.GetValue<string>()));
        Assert.Equal("Agents may not remove addresses from a suppression list. Ask the data owner.", answer["message"]!.GetValue<string>());
        Assert.Equal(before, _gateway.Workspace("SELECT count(*) FROM suppression"));
        Assert.Equal(("deny", "refused"), (_gateway.Trail().Last().Entry.Effect, _gateway.Trail().Last().Entry.Outcome));
    }

    [Fact]
    public async Task A_tool_the_policy_never_grants_the_agent_is_refused_by_default()
    {
        var (isError, answer) = await GatewayFixture.Call(await _gateway.Agent("reporting-bot"), "contacts.update", new { ids = new[] { "c-0000001" }, set = new { job_title = "x" } });
        Assert.True(isError);
        Assert.Equal("not_granted", answer["code"]!.GetValue<string>());
        Assert.Equal("No rule grants agent 'reporting-bot' the tool 'contacts.update' in sandbox (default deny).", answer["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_unknown_tool_is_a_protocol_error_with_a_suggestion_and_is_recorded()
    {
        var agent = await _gateway.Agent("hygiene-bot");
        var error = await Assert.ThrowsAsync<McpProtocolException>(() => agent.CallToolAsync("contacts.updat", new Dictionary<string, object?>(),
            cancellationToken: TestContext.Current.CancellationToken).AsTask());
        Assert.Equal(McpErrorCode.InvalidParams, error.ErrorCode);
        Assert.Contains("'contacts.updat' is not a tool Warden offers; did you mean 'contacts.update'?", error.Message, StringComparison.Ordinal);
        Assert.Equal(("contacts.updat", "refused"), (_gateway.Trail().Last().Entry.Tool, _gateway.Trail().Last().Entry.Outcome));
    }

    [Theory]
    [InlineData("""{"ids": ["c-0000001"], "set": {"job_titel": "x"}}""", "invalid_arguments")]
    [InlineData("""{"ids": "c-0000001", "set": {"job_title": "x"}}""", "invalid_arguments")]
    [InlineData("""{"ids": ["c-9999999"], "set": {"job_title": "x"}}""", "not_found")]
    [InlineData("""{"filter": "lead_score >= 0", "set": {"job_title": "x"}}""", "matches_everything")]
    public async Task Bad_arguments_are_refused_in_a_sentence_and_nothing_is_written(string arguments, string code)
    {
        var before = _gateway.Workspace("SELECT group_concat(job_title) FROM contacts");
        var parsed = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, object?>>(arguments)!;
        var (isError, answer) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.update", parsed);
        Assert.True(isError);
        Assert.Equal(("error", code), (answer["status"]!.GetValue<string>(), answer["code"]!.GetValue<string>()));
        Assert.False(string.IsNullOrWhiteSpace(answer["message"]!.GetValue<string>()));
        Assert.Equal(before, _gateway.Workspace("SELECT group_concat(job_title) FROM contacts"));
        Assert.Equal("error", _gateway.Trail().Last().Entry.Outcome);
    }

    [Fact]
    public async Task A_send_never_reaches_an_unsubscribed_or_suppressed_address()
    {
        const string campaign = "cmp-2026-11-black-friday";
        var (_, held) = await GatewayFixture.Call(await _gateway.Agent("campaign-qa-bot"), "campaigns.send", new { campaign, instruction = "Black Friday goes out now." });
        Assert.Equal("pending_approval", held["status"]!.GetValue<string>());
        var (_, view) = await _gateway.Api(HttpMethod.Get, "/api/approvals/" + held["approval_id"], _gateway.Token("lee"));
        Assert.Contains(view!["plan"]!["excluded"]!.AsArray(), e => e!["records"]!.GetValue<long>() > 0);

        // Between the request and the approval, nothing changes; the approval runs the send.
        var (status, body) = await _gateway.Api(HttpMethod.Post, $"/api/approvals/{held["approval_id"]}/approve", _gateway.Token("lee"), new { comment = "copy checked" });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("executed", body!["result"]!.GetValue<string>());
        Assert.True((long)_gateway.Workspace("SELECT count(*) FROM campaign_sends WHERE campaign_id = @c", ("@c", campaign))! > 0);
        // Nobody reached had unsubscribed (under any of their records), was suppressed, or lacked consent.
        Assert.Equal(0L, _gateway.Workspace("""
            SELECT count(*) FROM campaign_sends s JOIN contacts sent ON sent.id = s.contact_id
            WHERE s.campaign_id = @c
              AND (sent.email_consent <> 'subscribed'
                   OR lower(trim(s.email)) IN (SELECT email FROM suppression)
                   OR EXISTS (SELECT 1 FROM contacts other WHERE lower(trim(other.email)) = lower(trim(s.email)) AND other.email_consent = 'unsubscribed'))
            """, ("@c", campaign)));
    }

    [Fact]
    public async Task A_token_nobody_holds_is_refused_before_anything_runs()
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, _gateway.Url + "/mcp")
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "wd_agent_somebody_else");
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("not one this gateway knows", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_persons_token_does_not_open_the_agents_endpoint()
    {
        var (status, body) = await _gateway.Api(HttpMethod.Post, "/mcp", _gateway.Token("sam"), new { jsonrpc = "2.0", id = 1, method = "tools/list" });
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("sam is a person: people use the API and the console, agents the MCP endpoint", body!["error"]!["message"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("{not json", "-32700")]
    [InlineData("", "-32700")]
    [InlineData("""{"hello": 1}""", "-32600")]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]""", "-32600")]
    public async Task Malformed_json_rpc_gets_a_clear_error_and_the_next_call_works(string body, string code)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, _gateway.Url + "/mcp") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _gateway.Token("hygiene-bot"));
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(code, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        var (isError, _) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.search", new { filter = "country == 'DE'", limit = 1 });
        Assert.False(isError);
    }

    [Fact]
    public async Task An_unknown_method_is_refused_by_name()
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, _gateway.Url + "/mcp")
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":7,"method":"tools/delete_everything"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _gateway.Token("hygiene-bot"));
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("-32601", text, StringComparison.Ordinal);
        Assert.Contains("tools/delete_everything", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_oversized_request_is_refused_with_its_size_and_writes_nothing()
    {
        var count = _gateway.Trail().Count;
        var huge = new string('x', 2 * 1024 * 1024);
        var (status, body) = await _gateway.Api(HttpMethod.Post, "/mcp", _gateway.Token("hygiene-bot"),
            new { jsonrpc = "2.0", id = 1, method = "tools/call", @params = new { name = "contacts.update", arguments = new { ids = new[] { "c-0000001" }, set = new { job_title = huge } } } });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Contains("the gateway takes at most 1,048,576", body!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(count, _gateway.Trail().Count);
    }

    [Fact]
    public async Task Filtering_on_a_field_the_agent_sees_masked_is_refused()
    {
        var (isError, answer) = await GatewayFixture.Call(await _gateway.Agent("reporting-bot"), "contacts.search", new { filter = "id == 'c-0000004' && email.startsWith('ma')" });
        Assert.True(isError);
        Assert.Equal(("masked_field", "agent 'reporting-bot' may not filter on contacts.email: it reads that field masked"),
            (answer["code"]!.GetValue<string>(), answer["message"]!.GetValue<string>()));
        var (allowed, _) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.search", new { filter = "email_consent == 'unsubscribed'", limit = 1 });
        Assert.False(allowed); // hygiene-bot sees consent
    }

    [Fact]
    public async Task A_tool_never_granted_is_refused_before_anything_is_read()
    {
        var (isError, answer) = await GatewayFixture.Call(await _gateway.Agent("reporting-bot"), "contacts.merge", new { primary = "c-0000001", duplicates = new[] { "c-0000002" } });
        Assert.True(isError);
        Assert.Equal("not_granted", answer["code"]!.GetValue<string>());
        Assert.Null(answer["summary"]);
        Assert.Null(_gateway.Trail().Last().Entry.PlanSummary);
    }

    [Fact]
    public async Task Arguments_that_name_a_field_twice_are_refused_before_anything_runs()
    {
        var count = _gateway.Trail().Count;
        var agent = await _gateway.Agent("hygiene-bot");
        var refused = await Assert.ThrowsAsync<ModelContextProtocol.McpProtocolException>(() => GatewayFixture.Call(agent, "contacts.update",
            System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, object?>>("""{"ids": ["c-0000001"], "set": {"job_title": "a", "job_title": "b"}}""")!));
        Assert.Contains("the key at $.params.arguments.set.job_title appears twice in the request; give it once (nothing was run)", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0L, Contacts("job_title IN ('a', 'b')"));
        Assert.Equal(count, _gateway.Trail().Count);
    }

    [Fact]
    public async Task A_byte_order_mark_does_not_carry_a_name_given_twice_past_the_screen()
    {
        var body = "\uFEFF" + """{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"warden.approval_status","arguments":{"approval_id":"apr-x"}},"params":{"name":"warden.my_permissions","arguments":{}}}""";
        var (status, answer) = await PostMcp(body);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("the key at $.params appears twice in the request; give it once (nothing was run)", answer["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_byte_order_mark_before_a_good_request_is_taken_off_and_the_call_runs()
    {
        var (status, answer) = await PostMcp("\uFEFF" + """{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"warden.my_permissions","arguments":{}}}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("hygiene-bot", answer["result"]!["content"]![0]!["text"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_name_that_is_a_lone_surrogate_is_refused_as_not_json_and_the_gateway_goes_on()
    {
        var (status, answer) = await PostMcp("""{"jsonrpc":"2.0","id":10,"method":"tools/list","params":{"\udc00":1}}""");
        Assert.Equal((HttpStatusCode.BadRequest, -32700), (status, answer["error"]!["code"]!.GetValue<int>()));
        var (isError, _) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.search", new { filter = "country == 'DE'", limit = 1 });
        Assert.False(isError);
    }

    [Fact]
    public async Task Bytes_that_are_not_utf8_cannot_make_two_names_into_one()
    {
        // "x\xff" and "x\xfe" differ as bytes, and both read as "x\uFFFD" to the SDK.
        var body = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"contacts.search","arguments":{"filter":"country == 'DE'","x""")
            .Concat(new byte[] { 0xFF }).Concat(Encoding.UTF8.GetBytes("\":1,\"x")).Concat(new byte[] { 0xFE }).Concat(Encoding.UTF8.GetBytes("\":2}}}")).ToArray();
        var (status, answer) = await PostMcp(body);
        Assert.Equal((HttpStatusCode.BadRequest, -32700), (status, answer["error"]!["code"]!.GetValue<int>()));
        Assert.StartsWith("the request is not UTF-8", answer["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Arguments_reach_the_trail_and_the_tool_as_the_agent_sent_them_the_instruction_taken_out()
    {
        // Escapes, numbers the way they were written, nesting, and order: the arguments are copied
        // from the SDK's message into the call; nothing of them may change on the way.
        var (status, answer) = await PostMcp("""
            {"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"warden.my_permissions","arguments":
             {"z":{"b":[2.50,1e3,-0,null,true],"a":"Zo\u00eb \"q\" <b>&\u2028'"},"instruction":"Check what I may do.","a":"plain","n":12345678901234567890}}}
            """);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Null(answer["error"]);
        var entry = _gateway.Trail().Last().Entry;
        Assert.Equal(("warden.my_permissions", "Check what I may do."), (entry.Tool, entry.Instruction));
        // The trail keeps them canonical (keys in order, minimal escaping): the values are the ones sent.
        Assert.Equal("""{"a":"plain","n":12345678901234567890,"z":{"a":"Zoë \"q\" <b>&\u2028'","b":[2.50,1e3,-0,null,true]}}""",
            entry.Arguments!.Value.GetRawText());
    }

    private Task<(HttpStatusCode Status, System.Text.Json.Nodes.JsonNode Answer)> PostMcp(string body) => PostMcp(Encoding.UTF8.GetBytes(body));

    /// <summary>A raw POST to /mcp as hygiene-bot; the status and the JSON-RPC answer (SSE framing taken off).</summary>
    private async Task<(HttpStatusCode Status, System.Text.Json.Nodes.JsonNode Answer)> PostMcp(byte[] body)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, _gateway.Url + "/mcp") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _gateway.Token("hygiene-bot"));
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var json = text.StartsWith("event:", StringComparison.Ordinal) ? text.Split('\n').First(l => l.StartsWith("data: ", StringComparison.Ordinal))[6..] : text;
        return (response.StatusCode, System.Text.Json.Nodes.JsonNode.Parse(json)!);
    }

    [Fact]
    public async Task A_top_level_argument_given_twice_is_refused_although_the_sdk_would_keep_the_last()
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, _gateway.Url + "/mcp")
        {
            Content = new StringContent("""
                {"jsonrpc":"2.0","id":41,"method":"tools/call","params":{"name":"contacts.update",
                 "arguments":{"ids":["c-0000001"],"set":{"job_title":"Twice"},"ids":["c-0000002"]}}}
                """, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _gateway.Token("hygiene-bot"));
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        var answer = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!;
        Assert.Equal((41, -32602), (answer["id"]!.GetValue<int>(), answer["error"]!["code"]!.GetValue<int>()));
        Assert.Equal("the key at $.params.arguments.ids appears twice in the request; give it once (nothing was run)", answer["error"]!["message"]!.GetValue<string>());
        Assert.Equal(0L, Contacts("job_title = 'Twice'"));
    }

    [Fact]
    public async Task Every_write_is_in_the_trail_even_when_the_agent_hangs_up_half_way()
    {
        var token = _gateway.Token("hygiene-bot");
        for (var i = 0; i < 12; i++)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromMilliseconds(2 + (i * 3)) };
            using var request = new HttpRequestMessage(HttpMethod.Post, _gateway.Url + "/mcp")
            {
                Content = new StringContent(System.Text.Json.JsonSerializer.Serialize(new
                {
                    jsonrpc = "2.0", id = i, method = "tools/call",
                    @params = new { name = "contacts.update", arguments = new { filter = "country == 'GB' && lead_score > " + i, set = new { job_title = $"Hang-up {i}" } } },
                }), Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            request.Headers.Accept.ParseAdd("application/json, text/event-stream");
            try
            {
                using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
            }
            catch (TaskCanceledException)
            {
                // hung up
            }
        }

        await Task.Delay(1500, TestContext.Current.CancellationToken); // let calls that were still running finish
        // And one that waits for its answer, so that the check below never holds for want of writes.
        var (isError, _) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.update", new { filter = "country == 'GB' && lead_score > 90", set = new { job_title = "Hang-up done" } });
        Assert.False(isError);
        var actions = new List<string>();
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_gateway.WorkspacePath};Mode=ReadOnly;Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT id FROM actions";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                actions.Add(reader.GetString(0));
            }
        }

        var recorded = _gateway.Trail().Select(e => e.Entry.ActionId).Where(a => a is not null).ToHashSet();
        Assert.NotEmpty(actions);
        Assert.All(actions, action => Assert.Contains(action, recorded));
    }
}
