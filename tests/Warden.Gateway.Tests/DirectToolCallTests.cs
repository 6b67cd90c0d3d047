using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Warden.Gateway.Mcp;

namespace Warden.Gateway.Tests;

/// <summary>
/// Two gateways alike but for <see cref="DirectToolCall"/>: on in one, off in the other (every
/// request through the MCP SDK). Each test sends both the same bytes, in the same order, so their
/// states stay alike too.
/// </summary>
public sealed class TwoGateways : IAsyncLifetime
{
    internal GatewayFixture Direct { get; private set; } = null!;

    internal GatewayFixture Sdk { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Direct = await GatewayFixture.StartAsync(directToolCalls: true);
        Sdk = await GatewayFixture.StartAsync(directToolCalls: false);
    }

    public async ValueTask DisposeAsync()
    {
        await Direct.DisposeAsync();
        await Sdk.DisposeAsync();
    }
}

/// <summary>
/// A tools/call answered by Warden's own path is answered as the MCP SDK 2.4.0 answers it (status,
/// headers, body), and every request the SDK would treat otherwise is left to the SDK: the same raw
/// HTTP request goes to a gateway with the direct path and to one without, and the answers must be
/// the same, byte for byte once ids and times that differ between two gateways are masked.
/// </summary>
public sealed partial class DirectToolCallTests(TwoGateways gateways) : IClassFixture<TwoGateways>
{
    private const string Json = "application/json";
    private const string BothAccepted = "application/json, text/event-stream";

    private static string Call(string id, string name, string arguments = "{}", string extra = "") =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + name + "\",\"arguments\":" + arguments + extra + "}}";

    private static readonly string Read = Call("1", "contacts.get", """{"id":"c-0000001"}""");

    private const string Envelope = """ "io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{} """;

    /// <summary>A call of the 2026-07-28 revision: its metadata in _meta (the envelope by default).</summary>
    private static string Modern(string id, string name, string arguments = "{}", string meta = Envelope) => Call(id, name, arguments, ",\"_meta\":{" + meta + "}");

    /// <summary>The headers a 2026-07-28 client sends with a call.</summary>
    private static (string, string)[] ModernHeaders(string name, string method = "tools/call") =>
        [("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", method), ("Mcp-Name", name)];

    private static readonly string ModernRead = Modern("40", "contacts.get", """{"id":"c-0000001"}""");

    /// <summary>One raw request: who sends it, its headers and body, and whether the direct path should take it.</summary>
    public sealed record Request(string Agent, string Body, bool Taken, string ContentType = Json, string? Accept = BothAccepted,
        string Path = "/mcp", (string Name, string Value)[]? Headers = null)
    {
        public override string ToString() => Body.Length > 60 ? Body[..60] : Body;
    }

    public static TheoryData<string, Request> Requests => new()
    {
        // Taken: what agents send every day, in its variations.
        { "a read with a numeric id", new("reporting-bot", Read, true) },
        { "a string id with escapes", new("reporting-bot", Call("\"r\\u00e9q \\\"1\\\"\"", "contacts.get", """{"id":"c-0000002"}"""), true) },
        { "a negative id", new("reporting-bot", Call("-7", "contacts.get", """{"id":"c-0000003"}"""), true) },
        { "id zero", new("reporting-bot", Call("0", "contacts.get", """{"id":"c-0000003"}"""), true) },
        { "an id past 2^53", new("reporting-bot", Call("9007199254740993", "contacts.get", """{"id":"c-0000003"}"""), true) },
        { "members in another order", new("reporting-bot",
            """{"params":{"arguments":{"id":"c-0000004"},"name":"contacts.get"},"method":"tools/call","id":5,"jsonrpc":"2.0"}""", true) },

        { "version 2025-11-25", new("reporting-bot", Read, true, Headers: [("MCP-Protocol-Version", "2025-11-25")]) },
        { "version 2025-06-18 with a stray Mcp-Method", new("reporting-bot", Read, true, Headers: [("MCP-Protocol-Version", "2025-06-18"), ("Mcp-Method", "tools/list")]) },
        { "version 2025-03-26", new("reporting-bot", Read, true, Headers: [("MCP-Protocol-Version", "2025-03-26")]) },
        { "version 2024-11-05", new("reporting-bot", Read, true, Headers: [("MCP-Protocol-Version", "2024-11-05")]) },
        { "accept in another order with weights", new("reporting-bot", Read, true, Accept: "text/event-stream, application/json;q=0.5") },
        { "accept of anything", new("reporting-bot", Read, true, Accept: "*/*") },
        { "utf-8 named", new("reporting-bot", Read, true, ContentType: "application/json; charset=utf-8") },
        { "a byte order mark", new("reporting-bot", "\uFEFF" + Read, true) },
        { "a name written with escapes", new("reporting-bot", Call("6", "contacts\\u002eget", """{"id":"c-0000001"}"""), true) },
        { "a progress token and an instruction in _meta", new("reporting-bot",
            Call("7", "contacts.get", """{"id":"c-0000001"}""", ""","_meta":{"progressToken":"p1","instruction":"the weekly report"}"""), true) },
        { "an instruction argument", new("reporting-bot", Call("8", "contacts.get", """{"id":"c-0000001","instruction":"for the report"}"""), true) },
        { "a record that does not exist", new("reporting-bot", Call("9", "contacts.get", """{"id":"c-9999999"}"""), true) },
        { "arguments the tool refuses", new("reporting-bot", Call("10", "contacts.get", "{}"), true) },
        { "a tool the policy never grants", new("reporting-bot", Call("11", "contacts.update", """{"ids":["c-0000001"],"set":{"job_title":"x"}}"""), true) },
        { "a call held for approval", new("campaign-qa-bot", Call("12", "campaigns.send", """{"campaign":"cmp-2026-11-black-friday"}"""), true) },
        { "the same call again, joining the held one", new("campaign-qa-bot", Call("13", "campaigns.send", """{"campaign":"cmp-2026-11-black-friday"}"""), true) },
        { "an unknown tool", new("reporting-bot", Call("14", "contacts.gte"), true) },
        { "an empty tool name", new("reporting-bot", Call("15", ""), true) },
        { "Warden's permissions tool without arguments", new("reporting-bot", """{"jsonrpc":"2.0","id":16,"method":"tools/call","params":{"name":"warden.my_permissions"}}""", true) },
        { "an approval the agent does not have", new("reporting-bot", Call("17", "warden.approval_status", """{"approval_id":"apr-nope"}"""), true) },
        { "a trailing slash", new("reporting-bot", Read, true, Path: "/mcp/") },
        { "unknown headers", new("reporting-bot", Read, true, Headers: [("Mcp-Name", "something.else"), ("X-Anything", "1")]) },

        // Taken: the 2026-07-28 revision, its envelope and headers as the SDK accepts them.
        { "2026-07-28: a read", new("reporting-bot", ModernRead, true, Headers: ModernHeaders("contacts.get")) },
        { "2026-07-28: client info and capabilities", new("reporting-bot", Modern("41", "contacts.get", """{"id":"c-0000002"}""",
            Envelope.Replace("{}", """{"roots":{"listChanged":true},"sampling":{}},"io.modelcontextprotocol/clientInfo":{"name":"an agent","version":"1.0"}""", StringComparison.Ordinal)),
            true, Headers: ModernHeaders("contacts.get")) },
        { "2026-07-28: the tool's name in base64", new("reporting-bot", ModernRead, true, Headers: ModernHeaders("=?base64?Y29udGFjdHMuZ2V0?=")) },
        { "2026-07-28: headers with spaces around", new("reporting-bot", ModernRead, true, Headers: ModernHeaders(" contacts.get ", " tools/call ")) },
        { "2026-07-28: an unknown tool", new("reporting-bot", Modern("42", "contacts.gte"), true, Headers: ModernHeaders("contacts.gte")) },
        { "2026-07-28: a record that does not exist", new("reporting-bot", Modern("43", "contacts.get", """{"id":"c-9999999"}"""), true, Headers: ModernHeaders("contacts.get")) },
        { "2026-07-28: a call held for approval", new("campaign-qa-bot", Modern("44", "campaigns.send", """{"campaign":"cmp-2026-11-black-friday"}"""), true, Headers: ModernHeaders("campaigns.send")) },
        { "2026-07-28: a held call for a client that takes URL elicitations", new("campaign-qa-bot", Modern("50", "campaigns.send", """{"campaign":"cmp-2026-11-black-friday"}""",
            Envelope.Replace("{}", """{"elicitation":{"url":{}}}""", StringComparison.Ordinal)), true, Headers: ModernHeaders("campaigns.send")) },
        { "2026-07-28: a held call for a client that takes form elicitations only", new("campaign-qa-bot", Modern("51", "campaigns.send", """{"campaign":"cmp-2026-11-black-friday"}""",
            Envelope.Replace("{}", """{"elicitation":{"form":{}}}""", StringComparison.Ordinal)), true, Headers: ModernHeaders("campaigns.send")) },
        { "2026-07-28: Warden's permissions tool", new("reporting-bot", Modern("45", "warden.my_permissions"), true, Headers: ModernHeaders("warden.my_permissions")) },
        { "2026-07-28: an empty tool name", new("reporting-bot", Modern("46", ""), true, Headers: ModernHeaders("")) },

        // Left to the SDK: everything it answers in another way, or that it may.
        { "2026-07-28: no Mcp-Method", new("reporting-bot", ModernRead, false, Headers: [("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Name", "contacts.get")]) },
        { "2026-07-28: another Mcp-Method", new("reporting-bot", ModernRead, false, Headers: ModernHeaders("contacts.get", "tools/list")) },
        { "2026-07-28: no Mcp-Name", new("reporting-bot", ModernRead, false, Headers: [("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/call")]) },
        { "2026-07-28: Mcp-Name naming another tool", new("reporting-bot", ModernRead, false, Headers: ModernHeaders("contacts.search")) },
        { "2026-07-28: Mcp-Name in another case", new("reporting-bot", ModernRead, false, Headers: ModernHeaders("Contacts.get")) },
        { "2026-07-28: Mcp-Name in broken base64", new("reporting-bot", ModernRead, false, Headers: ModernHeaders("=?base64?***?=")) },
        { "2026-07-28: Mcp-Name given twice", new("reporting-bot", ModernRead, false, Headers: [.. ModernHeaders("contacts.get"), ("Mcp-Name", "contacts.get")]) },
        { "2026-07-28: a tool name that is a number", new("reporting-bot", """{"jsonrpc":"2.0","id":47,"method":"tools/call","params":{"name":5,"_meta":{""" + Envelope + "}}}", false, Headers: ModernHeaders("5")) },
        { "2026-07-28: no metadata", new("reporting-bot", Call("48", "contacts.get", """{"id":"c-0000001"}"""), false, Headers: ModernHeaders("contacts.get")) },
        { "2026-07-28: another version in the metadata", new("reporting-bot",
            Modern("49", "contacts.get", """{"id":"c-0000001"}""", Envelope.Replace("2026-07-28", "2025-11-25", StringComparison.Ordinal)), false, Headers: ModernHeaders("contacts.get")) },
        { "2026-07-28: a version in the metadata that is not text", new("reporting-bot",
            Modern("50", "contacts.get", """{"id":"c-0000001"}""", Envelope.Replace("\"2026-07-28\"", "20260728", StringComparison.Ordinal)), false, Headers: ModernHeaders("contacts.get")) },
        { "2026-07-28: no client capabilities", new("reporting-bot",
            Modern("51", "contacts.get", """{"id":"c-0000001"}""", """ "io.modelcontextprotocol/protocolVersion":"2026-07-28" """), false, Headers: ModernHeaders("contacts.get")) },
        { "2026-07-28: client capabilities that are not an object", new("reporting-bot",
            Modern("52", "contacts.get", """{"id":"c-0000001"}""", Envelope.Replace("{}", "[]", StringComparison.Ordinal)), false, Headers: ModernHeaders("contacts.get")) },
        { "2026-07-28: client capabilities the SDK cannot read", new("reporting-bot",
            Modern("53", "contacts.get", """{"id":"c-0000001"}""", Envelope.Replace("{}", """{"roots":5}""", StringComparison.Ordinal)), false, Headers: ModernHeaders("contacts.get")) },
        { "2026-07-28: client info without a version", new("reporting-bot",
            Modern("54", "contacts.get", """{"id":"c-0000001"}""", Envelope + ""","io.modelcontextprotocol/clientInfo":{"name":"an agent"}"""), false, Headers: ModernHeaders("contacts.get")) },
        { "2026-07-28: client info that is a number", new("reporting-bot",
            Modern("55", "contacts.get", """{"id":"c-0000001"}""", Envelope + ""","io.modelcontextprotocol/clientInfo":5"""), false, Headers: ModernHeaders("contacts.get")) },
        { "2026-07-28: a log level (deprecated)", new("reporting-bot",
            Modern("60", "contacts.get", """{"id":"c-0000001"}""", Envelope + ""","io.modelcontextprotocol/logLevel":"info" """), false, Headers: ModernHeaders("contacts.get")) },
        { "2026-07-28: an unknown log level", new("reporting-bot",
            Modern("56", "contacts.get", """{"id":"c-0000001"}""", Envelope + ""","io.modelcontextprotocol/logLevel":"loud" """), false, Headers: ModernHeaders("contacts.get")) },
        { "2026-07-28: a reserved key the SDK does not read", new("reporting-bot",
            Modern("57", "contacts.get", """{"id":"c-0000001"}""", Envelope + ""","io.modelcontextprotocol/other":1"""), false, Headers: ModernHeaders("contacts.get")) },
        { "2026-07-28: a session id", new("reporting-bot", ModernRead, false, Headers: [.. ModernHeaders("contacts.get"), ("Mcp-Session-Id", "abc")]) },
        { "2026-07-28: tools/list", new("reporting-bot", """{"jsonrpc":"2.0","id":58,"method":"tools/list","params":{"_meta":{""" + Envelope + "}}}", false, Headers: ModernHeaders("", "tools/list")) },
        { "2026-07-28: a retry of a multi-round-trip call", new("reporting-bot",
            Modern("59", "contacts.get", """{"id":"c-0000001"}""").Replace("\"_meta\"", "\"requestState\":\"s\",\"_meta\"", StringComparison.Ordinal), false, Headers: ModernHeaders("contacts.get")) },

        { "arguments that are not an object", new("reporting-bot", Call("20", "contacts.get", "5"), false) },
        { "no tool name", new("reporting-bot", """{"jsonrpc":"2.0","id":21,"method":"tools/call","params":{"arguments":{}}}""", false) },
        { "a tool name that is a number", new("reporting-bot", """{"jsonrpc":"2.0","id":22,"method":"tools/call","params":{"name":5}}""", false) },
        { "no params", new("reporting-bot", """{"jsonrpc":"2.0","id":23,"method":"tools/call"}""", false) },
        { "params that are an array", new("reporting-bot", """{"jsonrpc":"2.0","id":24,"method":"tools/call","params":["contacts.get"]}""", false) },
        { "_meta that is not an object", new("reporting-bot", Call("25", "contacts.get", """{"id":"c-0000001"}""", ""","_meta":"x" """), false) },
        { "a null id", new("reporting-bot", Call("null", "contacts.get", """{"id":"c-0000001"}"""), false) },
        { "a fractional id", new("reporting-bot", Call("1.5", "contacts.get", """{"id":"c-0000001"}"""), false) },
        { "an id that is true", new("reporting-bot", Call("true", "contacts.get", """{"id":"c-0000001"}"""), false) },
        { "an id that is an object", new("reporting-bot", Call("{}", "contacts.get", """{"id":"c-0000001"}"""), false) },
        { "JSON-RPC 1.0", new("reporting-bot", Read.Replace("\"2.0\"", "\"1.0\"", StringComparison.Ordinal), false) },
        { "no jsonrpc member", new("reporting-bot", """{"id":26,"method":"tools/call","params":{"name":"contacts.get","arguments":{"id":"c-0000001"}}}""", false) },
        { "an unknown member (the SDK's reader cannot skip it)", new("reporting-bot",
            """{"jsonrpc":"2.0","extra":1,"id":35,"method":"tools/call","params":{"name":"contacts.get","arguments":{"id":"c-0000004"}}}""", false) },
        { "an unknown member whose value is an array", new("reporting-bot",
            """{"jsonrpc":"2.0","extra":[1,{"a":null}],"id":36,"method":"tools/call","params":{"name":"contacts.get","arguments":{"id":"c-0000004"}}}""", false) },
        { "an unknown member whose value is an object", new("reporting-bot",
            """{"jsonrpc":"2.0","id":37,"method":"tools/call","params":{"name":"contacts.get","arguments":{"id":"c-0000004"}},"extra":{}}""", false) },
        { "a method named in another case", new("reporting-bot", """{"jsonrpc":"2.0","id":27,"Method":"tools/call","params":{"name":"contacts.get"}}""", false) },
        { "a method with a trailing space", new("reporting-bot", """{"jsonrpc":"2.0","id":28,"method":"tools/call ","params":{"name":"contacts.get"}}""", false) },
        { "tools/list", new("reporting-bot", """{"jsonrpc":"2.0","id":29,"method":"tools/list"}""", false) },
        { "a notification", new("reporting-bot", """{"jsonrpc":"2.0","method":"tools/call","params":{"name":"contacts.get","arguments":{"id":"c-0000001"}}}""", false) },
        { "a batch", new("reporting-bot", "[" + Read + "]", false) },
        { "a JSON string", new("reporting-bot", "\"tools/call\"", false) },
        { "null", new("reporting-bot", "null", false) },
        { "broken JSON", new("reporting-bot", "{\"jsonrpc\":\"2.0\",\"id\":1,", false) },
        { "a name given twice", new("reporting-bot", """{"jsonrpc":"2.0","id":30,"method":"tools/call","params":{"name":"contacts.get","name":"contacts.update"}}""", false) },
        { "an unknown protocol version", new("reporting-bot", Read, false, Headers: [("MCP-Protocol-Version", "1999-01-01")]) },
        { "a later version", new("reporting-bot", Read, false, Headers: [("MCP-Protocol-Version", "2027-01-01")]) },
        { "a version header given twice", new("reporting-bot", Read, false, Headers: [("MCP-Protocol-Version", "2025-11-25"), ("MCP-Protocol-Version", "2025-11-25")]) },
        { "per-request metadata without a version header", new("reporting-bot",
            Call("31", "contacts.get", """{"id":"c-0000001"}""", ""","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}"""), false) },
        { "an unreadable per-request version without a header", new("reporting-bot",
            Call("32", "contacts.get", """{"id":"c-0000001"}""", ""","_meta":{"io.modelcontextprotocol/protocolVersion":5}"""), false) },
        { "a retry of a multi-round-trip call", new("reporting-bot", Call("33", "contacts.get", """{"id":"c-0000001"}""", ""","requestState":"s1" """), false) },
        { "input responses", new("reporting-bot", Call("34", "contacts.get", """{"id":"c-0000001"}""", ""","inputResponses":{}"""), false) },
        { "a session id", new("reporting-bot", Read, false, Headers: [("Mcp-Session-Id", "abc")]) },
        { "an empty session id", new("reporting-bot", Read, false, Headers: [("Mcp-Session-Id", "")]) },
        { "accepting JSON only", new("reporting-bot", Read, false, Accept: Json) },
        { "accepting events only", new("reporting-bot", Read, false, Accept: "text/event-stream") },
        { "no accept", new("reporting-bot", Read, false, Accept: null) },
        { "a text body", new("reporting-bot", Read, false, ContentType: "text/plain") },
        { "another charset", new("reporting-bot", Read, false, ContentType: "application/json; charset=iso-8859-1") },
        { "a JSON suffix type", new("reporting-bot", Read, true, ContentType: "application/merge-patch+json") },
        { "another path below", new("reporting-bot", Read, false, Path: "/mcp/other") },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task A_request_is_answered_as_the_sdk_answers_it_and_only_a_plain_tools_call_is_taken(string what, Request request)
    {
        var taken = Taken();
        var direct = await SendAsync(gateways.Direct, request);
        var sdk = await SendAsync(gateways.Sdk, request);

        Assert.Equal(sdk, direct);
        Assert.True(request.Taken == (Taken() == taken + 1), $"{what}: the direct path {(request.Taken ? "should have" : "should not have")} taken it");
    }

    [Fact]
    public async Task A_held_call_is_answered_with_the_url_elicitation_error_on_both_paths_alike()
    {
        var request = new Request("campaign-qa-bot", Modern("52", "campaigns.send", """{"campaign":"cmp-2026-11-black-friday"}""",
            Envelope.Replace("{}", """{"elicitation":{"url":{}}}""", StringComparison.Ordinal)), true, Headers: ModernHeaders("campaigns.send"));

        var direct = await SendAsync(gateways.Direct, request);
        var sdk = await SendAsync(gateways.Sdk, request);

        Assert.Equal(sdk, direct);
        Assert.StartsWith("200\n", direct, StringComparison.Ordinal);
        Assert.Contains("\"code\":-32042", direct, StringComparison.Ordinal);
        Assert.Contains("\"elicitations\":[{\"mode\":\"url\"", direct, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_on_a_handshake_version_is_answered_on_the_direct_path()
    {
        await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(gateways.Direct.Url + "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + gateways.Direct.Token("reporting-bot") },
        }), new McpClientOptions { ProtocolVersion = "2025-11-25" }, cancellationToken: TestContext.Current.CancellationToken);
        var taken = Taken();

        var read = await client.CallToolAsync("contacts.get", new Dictionary<string, object?> { ["id"] = "c-0000001" }, cancellationToken: TestContext.Current.CancellationToken);
        var unknown = await Assert.ThrowsAsync<ModelContextProtocol.McpProtocolException>(() =>
            client.CallToolAsync("contacts.gte", new Dictionary<string, object?>(), cancellationToken: TestContext.Current.CancellationToken).AsTask());

        Assert.Equal(taken + 2, Taken());
        Assert.NotEqual(true, read.IsError);
        Assert.Equal("c-0000001", read.StructuredContent!.Value.GetProperty("result").GetProperty("id").GetString());
        Assert.Equal(ModelContextProtocol.McpErrorCode.InvalidParams, unknown.ErrorCode);
    }

    [Fact]
    public async Task A_client_on_the_2026_07_28_revision_is_answered_on_the_direct_path()
    {
        var client = await gateways.Direct.Agent("reporting-bot");
        var taken = Taken();

        var read = await client.CallToolAsync("contacts.get", new Dictionary<string, object?> { ["id"] = "c-0000001" }, cancellationToken: TestContext.Current.CancellationToken);
        var unknown = await Assert.ThrowsAsync<ModelContextProtocol.McpProtocolException>(() =>
            client.CallToolAsync("contacts.gte", new Dictionary<string, object?>(), cancellationToken: TestContext.Current.CancellationToken).AsTask());

        Assert.Equal("2026-07-28", client.NegotiatedProtocolVersion);
        Assert.Equal(taken + 2, Taken());
        Assert.NotEqual(true, read.IsError);
        Assert.Equal("c-0000001", read.StructuredContent!.Value.GetProperty("result").GetProperty("id").GetString());
        Assert.Equal(ModelContextProtocol.McpErrorCode.InvalidParams, unknown.ErrorCode);
    }

    [Fact]
    public async Task The_typescript_sdk_client_is_answered_on_the_direct_path()
    {
        var taken = Taken();

        var run = await EndToEnd.NodeClient.RunAsync("http", gateways.Direct.Url + "/mcp", gateways.Direct.Token("reporting-bot"), EndToEnd.NodeClient.Steps(
            new { op = "call", name = "contacts.get", arguments = new { id = "c-0000001" } },
            new { op = "call", name = "warden.my_permissions", arguments = new { } }));

        Assert.True(run["connected"]!.GetValue<bool>(), run.ToJsonString());
        Assert.Equal("c-0000001", EndToEnd.NodeClient.Answer(run["steps"]![0]!)["result"]!["id"]!.GetValue<string>());
        Assert.Equal("reporting-bot", EndToEnd.NodeClient.Answer(run["steps"]![1]!)["agent"]!.GetValue<string>());
        Assert.Equal(taken + 2, Taken());
    }

    [Fact]
    public void The_direct_path_refuses_a_server_with_a_call_filter_it_would_skip()
    {
        var options = gateways.Direct.App.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ModelContextProtocol.Server.McpServerOptions>>().Value;
        var filtered = new ModelContextProtocol.Server.McpServerOptions();
        filtered.Filters.Request.CallToolFilters.Add(next => next);

        Assert.True(DirectToolCall.Fits(options));
        Assert.False(DirectToolCall.Fits(filtered));
    }

    private long Taken() => gateways.Direct.App.Services.GetRequiredService<DirectToolCall>().Taken;

    /// <summary>The answer as a client sees it: status, headers but the date, and the body with the two gateways' own ids and times masked.</summary>
    private static async Task<string> SendAsync(GatewayFixture gateway, Request request)
    {
        using var http = new HttpClient();
        using var message = new HttpRequestMessage(HttpMethod.Post, gateway.Url + request.Path)
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(request.Body)),
        };
        message.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
        message.Headers.TryAddWithoutValidation("Authorization", "Bearer " + gateway.Token(request.Agent));
        if (request.Accept is not null)
        {
            message.Headers.TryAddWithoutValidation("Accept", request.Accept);
        }

        foreach (var (name, value) in request.Headers ?? [])
        {
            message.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await http.SendAsync(message, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var headers = response.Headers.Concat(response.Content.Headers)
            .Where(h => h.Key != "Date")
            .OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase)
            .Select(h => $"{h.Key}: {string.Join(", ", h.Value)}");
        return $"{(int)response.StatusCode}\n{string.Join("\n", headers)}\n\n{Mask(body)}";
    }

    /// <summary>Approval and action ids, times, the trail's sequence numbers and the port in a request's link are each gateway's own; everything else must match.</summary>
    private static string Mask(string body) =>
        Ports().Replace(Seqs().Replace(Times().Replace(Ids().Replace(body, "$1-…"), "…T…Z"), "$1…"), "$1…");

    [GeneratedRegex(@"(127\.0\.0\.1:)\d+")]
    private static partial Regex Ports();

    [GeneratedRegex(@"(audit_seq(?:\\u0022|"")\s*:\s*)\d+")]
    private static partial Regex Seqs();

    [GeneratedRegex(@"(?<![A-Za-z])(apr|act)-[0-9A-Za-z-]+")]
    private static partial Regex Ids();

    [GeneratedRegex(@"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")]
    private static partial Regex Times();
}
