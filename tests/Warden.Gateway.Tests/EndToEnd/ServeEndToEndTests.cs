using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Warden.Storage.Audit;

namespace Warden.Gateway.Tests.EndToEnd;

/// <summary>
/// <c>warden serve</c> as its own process, driven by the official TypeScript SDK (in Node) and the
/// C# SDK, over Streamable HTTP; and <c>warden mcp</c> over stdio. One gateway for the class.
/// </summary>
public sealed class ServeEndToEndTests : IAsyncLifetime
{
    private WardenProcess _warden = null!;

    public async ValueTask InitializeAsync() => _warden = await WardenProcess.StartAsync("--demo");

    public async ValueTask DisposeAsync() => await _warden.DisposeAsync();

    private Task<JsonNode> Node(string agent, params object[] steps) =>
        NodeClient.RunAsync("http", _warden.Url + "/mcp", WardenProcess.Tokens[agent], NodeClient.Steps(steps));

    private string TrailPath => Path.Combine(_warden.Directory, "data", "audit.db");

    [Fact]
    public async Task The_typescript_sdk_lists_different_tools_for_two_agents()
    {
        var reporting = (await Node("reporting-bot", new { op = "list" }))["steps"]![0]!["result"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
        var hygiene = (await Node("hygiene-bot", new { op = "list" }))["steps"]![0]!["result"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
        Assert.DoesNotContain("contacts.update", reporting);
        Assert.Contains("contacts.update", hygiene);
        Assert.Contains("warden.my_permissions", reporting);
    }

    [Fact]
    public async Task The_typescript_sdk_reads_masked_updates_and_waits_for_an_approval_that_then_runs()
    {
        var run = await Node("hygiene-bot",
            new { op = "call", name = "contacts.search", arguments = new { filter = "country == 'AT'", limit = 2 } },
            new { op = "call", name = "contacts.update", arguments = new { ids = new[] { "c-0000003" }, set = new { job_title = "Outdoor Buyer" } } },
            new { op = "call", name = "contacts.update", arguments = new { filter = "country == 'AT'", set = new { job_title = "Austria desk" } }, meta = new { instruction = "Retitle the Austria desk." } });
        Assert.True(run["connected"]!.GetValue<bool>(), run.ToJsonString());
        var steps = run["steps"]!.AsArray();
        var read = NodeClient.Answer(steps[0]!);
        Assert.All(read["result"]!["contacts"]!.AsArray(), c => Assert.Contains("***@", c!["email"]!.GetValue<string>(), StringComparison.Ordinal));
        Assert.Equal("done", NodeClient.Answer(steps[1]!)["status"]!.GetValue<string>());
        var held = NodeClient.Answer(steps[2]!);
        Assert.Equal("pending_approval", held["status"]!.GetValue<string>());
        var id = held["approval_id"]!.GetValue<string>();

        var (status, body) = await _warden.Api(HttpMethod.Post, $"/api/approvals/{id}/approve", "sam", new { comment = "fine" });
        Assert.Equal(200, status);
        Assert.Equal("executed", body!["result"]!.GetValue<string>());
        var seen = NodeClient.Answer((await Node("hygiene-bot", new { op = "call", name = "warden.approval_status", arguments = new { approval_id = id } }))["steps"]![0]!);
        Assert.Equal("executed", seen["status"]!.GetValue<string>());
        Assert.Equal("done", seen["outcome"]!["status"]!.GetValue<string>());

        var trail = AuditLog.Query(TrailPath, new AuditQuery { Agent = "hygiene-bot", Limit = 20 }).Entries;
        Assert.Contains(trail, e => e.Entry.ApprovalId == id && e.Entry.Kind == "call" && e.Entry.Outcome == "ok" && e.Entry.Instruction == "Retitle the Austria desk.");
        Assert.Contains(trail, e => e.Entry.Tool == "contacts.search" && e.Entry.RecordsRead.Count == 2);
    }

    [Fact]
    public async Task Every_answer_carries_structured_content_that_the_typescript_sdk_checks_against_the_tool_s_output_schema()
    {
        // The SDK validates structuredContent against the outputSchema it listed, and fails the call when they disagree.
        var run = await Node("hygiene-bot",
            new { op = "list_full" },
            new { op = "call", name = "contacts.get", arguments = new { id = "c-0000002" } },
            new { op = "call", name = "contacts.update", arguments = new { filter = "country == 'DE'", set = new { job_title = "Structured" } } },
            new { op = "call", name = "contacts.purge", arguments = new { ids = new[] { "c-0000002" }, reason = "test" } },
            new { op = "call", name = "contacts.update", arguments = new { ids = new[] { "c-0000002" }, set = new { no_such_field = 1 } } },
            new { op = "call", name = "warden.my_permissions", arguments = new { } });
        Assert.True(run["connected"]!.GetValue<bool>(), run.ToJsonString());
        var steps = run["steps"]!.AsArray();
        var tools = steps[0]!["result"]!.AsArray();
        Assert.All(tools, t => Assert.Equal("object", t!["outputSchema"]!["type"]!.GetValue<string>()));

        var statuses = new List<string>();
        foreach (var step in steps.Skip(1))
        {
            Assert.True(step!["ok"]!.GetValue<bool>(), step.ToJsonString());
            var structured = step["result"]!["structuredContent"]!;
            Assert.True(JsonNode.DeepEquals(NodeClient.Answer(step), structured), step.ToJsonString());
            statuses.Add(structured["status"]?.GetValue<string>() ?? "permissions");
        }

        Assert.Equal(["done", "pending_approval", "refused", "error", "permissions"], statuses);
    }

    [Fact]
    public async Task The_typescript_sdk_gets_a_protocol_error_for_a_tool_that_does_not_exist_and_a_refusal_for_one_not_granted()
    {
        var run = await Node("reporting-bot",
            new { op = "call", name = "contacts.nuke", arguments = new { } },
            new { op = "call", name = "contacts.delete", arguments = new { ids = new[] { "c-0000001" } } });
        var steps = run["steps"]!.AsArray();
        Assert.Equal((false, -32602), (steps[0]!["ok"]!.GetValue<bool>(), steps[0]!["error"]!["code"]!.GetValue<int>()));
        Assert.True(steps[1]!["result"]!["isError"]!.GetValue<bool>());
        Assert.Equal("not_granted", NodeClient.Answer(steps[1]!)["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_bad_token_cannot_connect()
    {
        var run = await NodeClient.RunAsync("http", _warden.Url + "/mcp", "not-a-token", NodeClient.Steps(new { op = "list" }));
        Assert.False(run["connected"]!.GetValue<bool>());
        Assert.Equal(401, run["error"]!["code"]!.GetValue<int>());
    }

    [Fact]
    public async Task The_kill_switch_stops_a_csharp_client_in_the_middle_of_its_session()
    {
        await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(_warden.Url + "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + WardenProcess.Tokens["nurture-bot"] },
        }), cancellationToken: TestContext.Current.CancellationToken);
        var before = await client.CallToolAsync("contacts.search", new Dictionary<string, object?> { ["filter"] = "country == 'GB'", ["limit"] = 1 },
            cancellationToken: TestContext.Current.CancellationToken);
        Assert.NotEqual(true, before.IsError);

        var (frozen, _) = await _warden.Api(HttpMethod.Post, "/api/freeze", "lee", new { agent = "nurture-bot", reason = "e2e" });
        Assert.Equal(200, frozen);
        var after = await client.CallToolAsync("contacts.search", new Dictionary<string, object?> { ["filter"] = "country == 'GB'", ["limit"] = 1 },
            cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(after.IsError);
        Assert.Contains("\"code\":\"frozen\"", ((TextContentBlock)after.Content[0]).Text, StringComparison.Ordinal);
        await _warden.Api(HttpMethod.Post, "/api/unfreeze", "maria", new { agent = "nurture-bot" });
    }

    [Fact]
    public async Task The_trail_the_process_writes_verifies_from_the_command_line_while_it_runs()
    {
        await Node("reporting-bot", new { op = "call", name = "workspace.describe", arguments = new { } });
        var verify = AuditVerifier.Verify(TrailPath);
        Assert.True(verify.Verified, verify.Finding?.Message);
        Assert.True(verify.Entries >= 2);
    }
}

/// <summary><c>warden mcp --agent NAME</c>: the gateway as a child process of the MCP client, over stdio.</summary>
public sealed class StdioEndToEndTests
{
    private static string Data() => Path.Combine(Path.GetTempPath(), "warden-e2e", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task The_csharp_sdk_runs_the_gateway_over_stdio_as_the_configured_agent()
    {
        var data = Data();
        var stderr = new System.Text.StringBuilder();
        await using (var client = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Command = "dotnet",
            Arguments = [WardenProcess.WardenDll, "mcp", "--agent", "hygiene-bot", "--data", data, "--demo"],
            WorkingDirectory = Path.GetTempPath(),
            StandardErrorLines = line => stderr.AppendLine(line),
        }), cancellationToken: TestContext.Current.CancellationToken))
        {
            var tools = await client.ListToolsAsync(cancellationToken: TestContext.Current.CancellationToken);
            Assert.Contains(tools, t => t.Name == "contacts.update");
            var result = await client.CallToolAsync("contacts.update", new Dictionary<string, object?>
            {
                ["ids"] = new[] { "c-0000005" }, ["set"] = new Dictionary<string, object?> { ["job_title"] = "Buyer over stdio" }, ["instruction"] = "stdio test",
            }, cancellationToken: TestContext.Current.CancellationToken);
            Assert.NotEqual(true, result.IsError);
            Assert.Contains("\"status\":\"done\"", ((TextContentBlock)result.Content[0]).Text, StringComparison.Ordinal);
        }

        var entries = AuditLog.Query(Path.Combine(data, "audit.db"), new AuditQuery { Tool = "contacts.update" }).Entries;
        Assert.Equal(("hygiene-bot", "stdio test", "ok"), (entries[0].Entry.Agent, entries[0].Entry.Instruction, entries[0].Entry.Outcome));
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task The_typescript_sdk_runs_the_gateway_over_stdio()
    {
        var data = Data();
        var run = await NodeClient.RunAsync("stdio", NodeClient.Steps(new { op = "list" }, new { op = "call", name = "warden.my_permissions", arguments = new { } }),
            "--", "dotnet", WardenProcess.WardenDll, "mcp", "--agent", "reporting-bot", "--data", data, "--demo");
        Assert.True(run["connected"]!.GetValue<bool>(), run.ToJsonString());
        var steps = run["steps"]!.AsArray();
        Assert.Contains("contacts.search", steps[0]!["result"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal("reporting-bot", NodeClient.Answer(steps[1]!)["agent"]!.GetValue<string>());
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task A_call_held_over_stdio_is_approved_with_the_cli_beside_it_and_then_runs()
    {
        // The folder a person works in: `warden mcp` keeps .warden here and says where its API listens.
        var folder = Data();
        Directory.CreateDirectory(folder);
        var stderr = new System.Text.StringBuilder();
        string approval;
        await using (var client = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Command = "dotnet",
            Arguments = [WardenProcess.WardenDll, "mcp", "--agent", "hygiene-bot", "--demo"],
            WorkingDirectory = folder,
            StandardErrorLines = line => stderr.AppendLine(line),
        }), cancellationToken: TestContext.Current.CancellationToken))
        {
            var held = await client.CallToolAsync("contacts.update", new Dictionary<string, object?>
            {
                ["filter"] = "country == 'DE'", ["set"] = new Dictionary<string, object?> { ["job_title"] = "Approved over stdio" },
            }, cancellationToken: TestContext.Current.CancellationToken);
            var answer = System.Text.Json.Nodes.JsonNode.Parse(((TextContentBlock)held.Content[0]).Text)!;
            Assert.Equal("pending_approval", answer["status"]!.GetValue<string>());
            approval = answer["approval_id"]!.GetValue<string>();

            var sam = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(folder, ".warden", "demo-tokens.json"), TestContext.Current.CancellationToken))!["sam"]!
                .GetValue<string>();
            var (exit, output) = await Cli(folder, sam, "approvals", "approve", approval, "--comment", "fine from the side");
            Assert.True(exit == 0, output + stderr);

            var status = await client.CallToolAsync("warden.approval_status", new Dictionary<string, object?> { ["approval_id"] = approval },
                cancellationToken: TestContext.Current.CancellationToken);
            Assert.Contains("\"status\":\"executed\"", ((TextContentBlock)status.Content[0]).Text, StringComparison.Ordinal);
        }

        Assert.False(File.Exists(Path.Combine(folder, ".warden", "gateway.url")), "the address is taken away when the gateway stops");
        var entries = AuditLog.Query(Path.Combine(folder, ".warden", "audit.db"), new AuditQuery { Tool = "contacts.update" }).Entries;
        Assert.Contains(entries, e => e.Entry.Outcome == "ok" && e.Entry.Agent == "hygiene-bot");
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task Over_stdio_a_client_that_waits_on_a_held_call_hears_when_it_is_decided_and_its_retry_gets_the_result()
    {
        var data = Data();
        var port = GatewayFixture.FreePort();
        var stderr = new System.Text.StringBuilder();
        var options = HeldCallElicitationTests.Waiting();
        var decided = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        options.Handlers.NotificationHandlers =
        [
            new(NotificationMethods.ElicitationCompleteNotification, (notification, _) =>
            {
                decided.TrySetResult(notification.Params!["elicitationId"]!.GetValue<string>());
                return ValueTask.CompletedTask;
            }),
        ];
        var update = new Dictionary<string, object?>
        {
            ["filter"] = "country == 'DE'", ["set"] = new Dictionary<string, object?> { ["job_title"] = "Waited on over stdio" }, ["instruction"] = "stdio wait",
        };
        await using (var client = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Command = "dotnet",
            Arguments = [WardenProcess.WardenDll, "mcp", "--agent", "hygiene-bot", "--data", data, "--demo", "--api-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            WorkingDirectory = Path.GetTempPath(),
            StandardErrorLines = line => stderr.AppendLine(line),
        }), options, cancellationToken: TestContext.Current.CancellationToken))
        {
            var held = await Assert.ThrowsAsync<ModelContextProtocol.UrlElicitationRequiredException>(() =>
                client.CallToolAsync("contacts.update", update, cancellationToken: TestContext.Current.CancellationToken).AsTask());
            var elicitation = Assert.Single(held.Elicitations);
            var id = elicitation.ElicitationId!;
            Assert.Equal($"http://127.0.0.1:{port}/console/approvals/{id}", elicitation.Url);
            Assert.False(decided.Task.IsCompleted);

            var sam = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(data, "demo-tokens.json"), TestContext.Current.CancellationToken))!["sam"]!
                .GetValue<string>();
            using var http = new HttpClient();
            using var vote = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/api/approvals/{id}/approve")
            {
                Content = new StringContent("""{"comment":"fine"}""", System.Text.Encoding.UTF8, "application/json"),
            };
            vote.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", sam);
            using var voted = await http.SendAsync(vote, TestContext.Current.CancellationToken);
            Assert.True(voted.IsSuccessStatusCode, await voted.Content.ReadAsStringAsync(TestContext.Current.CancellationToken) + stderr);

            Assert.Equal(id, await decided.Task.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken));
            var retry = await client.CallToolAsync("contacts.update", update, cancellationToken: TestContext.Current.CancellationToken);
            Assert.NotEqual(true, retry.IsError);
            Assert.Contains("\"status\":\"done\"", ((TextContentBlock)retry.Content[0]).Text, StringComparison.Ordinal);
        }

        var applied = AuditLog.Query(Path.Combine(data, "audit.db"), new AuditQuery { Tool = "contacts.update" }).Entries.Where(e => e.Entry.ActionId is not null).ToList();
        Assert.Single(applied); // it ran once, when approved
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task Over_stdio_the_typescript_sdk_client_waits_on_a_held_call_and_its_retry_gets_the_result()
    {
        var data = Data();
        var port = GatewayFixture.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var update = new { filter = "country == 'DE'", set = new { job_title = "Waited on by node" } };
        var run = NodeClient.RunDeclaringAsync("""{"elicitation":{"url":{}}}""", "stdio", NodeClient.Steps(
                new { op = "call", name = "contacts.update", arguments = update },
                new { op = "wait_notification", method = "notifications/elicitation/complete", timeout_ms = 60_000 },
                new { op = "call", name = "contacts.update", arguments = update }),
            "--", "dotnet", WardenProcess.WardenDll, "mcp", "--agent", "hygiene-bot", "--data", data, "--demo", "--api-port", port);

        // Sam approves what waits, from beside it, once it waits (the peer hands the gateway the tests' tokens).
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", WardenProcess.Tokens["sam"]);
        string? id = null;
        for (var tries = 0; id is null && tries < 240 && !run.IsCompleted; tries++)
        {
            await Task.Delay(500, TestContext.Current.CancellationToken);
            try
            {
                var pending = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/api/approvals?status=pending", TestContext.Current.CancellationToken))!;
                id = pending["approvals"]!.AsArray().SingleOrDefault()?["id"]!.GetValue<string>();
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
        }

        Assert.NotNull(id);
        using var voted = await http.PostAsync($"http://127.0.0.1:{port}/api/approvals/{id}/approve",
            new StringContent("""{"comment":"fine"}""", System.Text.Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        Assert.True(voted.IsSuccessStatusCode, await voted.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var output = await run;

        Assert.True(output["connected"]!.GetValue<bool>(), output.ToJsonString());
        var steps = output["steps"]!.AsArray();
        var error = steps[0]!["error"]!;
        Assert.Equal(("UrlElicitationRequiredError", -32042), (error["type"]!.GetValue<string>(), error["code"]!.GetValue<int>()));
        var elicitation = error["data"]!["elicitations"]!.AsArray().Single()!;
        Assert.Equal((id, $"http://127.0.0.1:{port}/console/approvals/{id}"), (elicitation["elicitationId"]!.GetValue<string>(), elicitation["url"]!.GetValue<string>()));
        Assert.Equal(id, steps[1]!["result"]!["elicitationId"]!.GetValue<string>());
        Assert.Equal("done", NodeClient.Answer(steps[2]!)["status"]!.GetValue<string>());
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task The_cli_sends_no_token_where_an_address_file_points_off_this_machine()
    {
        var folder = Data();
        Directory.CreateDirectory(Path.Combine(folder, ".warden"));
        await File.WriteAllTextAsync(Path.Combine(folder, ".warden", "gateway.url"), "https://collector.example\n", TestContext.Current.CancellationToken);

        var (exit, output) = await Cli(folder, "wd_person_not_for_strangers", "approvals", "list");

        Assert.Equal(2, exit);
        Assert.Contains("which is not an http address on this machine", output.ReplaceLineEndings(" "), StringComparison.Ordinal);
        Directory.Delete(folder, recursive: true);
    }

    /// <summary>Runs the CLI in <paramref name="folder"/> as the person with <paramref name="token"/>, the gateway found from the folder.</summary>
    private static Task<(int Exit, string Output)> Cli(string folder, string token, params string[] arguments) =>
        WardenProcess.CliAsync(token, url: null, folder, arguments);

    [Fact]
    public async Task Over_stdio_a_name_given_twice_is_answered_with_an_error_and_the_session_goes_on()
    {
        var data = Data();
        var start = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var argument in new[] { WardenProcess.WardenDll, "mcp", "--agent", "hygiene-bot", "--data", data, "--demo", "--no-api" })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        try
        {
            var input = process.StandardInput;
            await input.WriteLineAsync("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""");
            await input.WriteLineAsync("""{"jsonrpc":"2.0","method":"notifications/initialized"}""");
            await input.WriteLineAsync("""{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"contacts.update","arguments":{"ids":["c-0000001"],"set":{"job_title":"Twice"},"ids":["c-0000002"]}}}""");
            await input.WriteLineAsync("""{"jsonrpc":"2.0","id":3,"method":"tools/list"}""");
            // A lone CR ends a line for the SDK's reader too: the second message is screened on its own.
            await input.WriteAsync("""{"jsonrpc":"2.0","id":4,"method":"ping"}""" + "\r" +
                """{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"warden.approval_status","arguments":{}},"params":{"name":"warden.my_permissions","arguments":{}}}""" + "\n");
            await input.WriteLineAsync("""{"jsonrpc":"2.0","id":6,"method":"ping","params":{"pad":" """ + new string('x', 1_100_000) + "\"}}");
            await input.WriteLineAsync("{not json");
            await input.WriteLineAsync("""{"jsonrpc":"2.0","id":8,"method":"ping","params":{"\udc00":1}}""");
            await input.WriteLineAsync("""{"jsonrpc":"2.0","id":7,"method":"ping"}""");
            await input.FlushAsync(TestContext.Current.CancellationToken);

            var answers = new Dictionary<int, System.Text.Json.Nodes.JsonNode>();
            var withoutId = new List<System.Text.Json.Nodes.JsonNode>();
            while ((answers.Count < 6 || withoutId.Count < 3) && await process.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken) is { } line)
            {
                var answer = System.Text.Json.Nodes.JsonNode.Parse(line)!;
                if (answer["id"] is null)
                {
                    withoutId.Add(answer);
                }
                else
                {
                    answers[answer["id"]!.GetValue<int>()] = answer;
                }
            }

            Assert.Equal(-32602, answers[2]["error"]!["code"]!.GetValue<int>());
            Assert.Equal("the key at $.params.arguments.ids appears twice in the request; give it once (nothing was run)", answers[2]["error"]!["message"]!.GetValue<string>());
            Assert.NotEmpty(answers[3]["result"]!["tools"]!.AsArray());
            Assert.NotNull(answers[4]["result"]);
            Assert.Equal("the key at $.params appears twice in the request; give it once (nothing was run)", answers[5]["error"]!["message"]!.GetValue<string>());
            Assert.NotNull(answers[7]["result"]);
            Assert.DoesNotContain(6, answers.Keys);
            Assert.Equal([-32600, -32700, -32700], withoutId.Select(a => a["error"]!["code"]!.GetValue<int>()));
            Assert.DoesNotContain(8, answers.Keys);
            Assert.StartsWith("the message is longer than the 1,048,576 bytes", withoutId[0]["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        finally
        {
            process.StandardInput.Close();
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        Assert.Empty(AuditLog.Query(Path.Combine(data, "audit.db"), new AuditQuery { Tool = "contacts.update" }).Entries);
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task An_agent_the_policy_does_not_know_is_refused_in_a_sentence_on_stderr()
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { WardenProcess.WardenDll, "mcp", "--agent", "hygeine-bot", "--data", Data(), "--demo" })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(2, process.ExitCode);
        Assert.Equal("", stdout);
        Assert.Contains("'hygeine-bot' is not an agent of the policy", stderr, StringComparison.Ordinal);
        Assert.Contains("did you mean 'hygiene-bot'?", stderr, StringComparison.Ordinal);
    }
}
