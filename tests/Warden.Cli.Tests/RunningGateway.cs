using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Warden.Gateway;

namespace Warden.Cli.Tests;

/// <summary>A real gateway (the example policy, a seeded demo sandbox) serving on a free port in this process, for the commands people run against one.</summary>
internal sealed class RunningGateway : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly Task _running;

    private RunningGateway(string data, GatewayStarted started, Task running, CancellationTokenSource stop)
    {
        Data = data;
        Started = started;
        _running = running;
        _stop = stop;
    }

    public string Data { get; }

    public GatewayStarted Started { get; }

    public string Url => Started.Url;

    public string Token(string identity) => Started.DemoTokens[identity];

    public static async Task<RunningGateway> StartAsync(string? policy = null)
    {
        var data = Path.Combine(Path.GetTempPath(), "warden-cli-tests", Guid.NewGuid().ToString("N"));
        var started = new TaskCompletionSource<GatewayStarted>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stop = new CancellationTokenSource();
        var options = new GatewayOptions
        {
            PolicyPath = policy ?? Cli.Example("policy.yaml"), DataDirectory = data, Url = "http://127.0.0.1:0", Demo = true, DemoContacts = 500,
        };
        var running = Task.Run(() => GatewayServer.RunAsync(options, s => started.TrySetResult(s), stop.Token));
        var first = await Task.WhenAny(started.Task, running);
        if (first == running)
        {
            await running; // throws what stopped it
        }

        return new RunningGateway(data, await started.Task, running, stop);
    }

    /// <summary>Calls a tool as an agent over MCP (Streamable HTTP) and returns Warden's outcome object.</summary>
    public async Task<JsonObject> CallAsync(string agent, string tool, object arguments)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, Started.McpEndpoint)
        {
            Content = new StringContent(new JsonObject
            {
                ["jsonrpc"] = "2.0", ["id"] = 1, ["method"] = "tools/call",
                ["params"] = new JsonObject { ["name"] = tool, ["arguments"] = System.Text.Json.JsonSerializer.SerializeToNode(arguments) },
            }.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token(agent));
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var json = body.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("data:", StringComparison.Ordinal)).Select(l => l[5..].Trim()).LastOrDefault() ?? body;
        var text = JsonNode.Parse(json)!["result"]!["content"]![0]!["text"]!.GetValue<string>();
        return JsonNode.Parse(text)!.AsObject();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _running;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(Data, recursive: true);
    }
}
