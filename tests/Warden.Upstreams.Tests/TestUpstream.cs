using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Warden.Core;

namespace Warden.Upstreams.Tests;

/// <summary>tests/peers/mcp-node/upstream.mjs, the CRM-like test server written with the TypeScript SDK, run in a Node process.</summary>
internal sealed class TestUpstream : IAsyncDisposable
{
    public const string Token = "crm-test-token";
    private readonly Process _process;

    private TestUpstream(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}/mcp";

    public static string Peers
    {
        get
        {
            var folder = new DirectoryInfo(AppContext.BaseDirectory);
            while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "Warden.slnx")))
            {
                folder = folder.Parent;
            }

            var peers = Path.Combine(folder?.FullName ?? throw new InvalidOperationException("the repository is not above " + AppContext.BaseDirectory), "tests", "peers", "mcp-node");
            if (!Directory.Exists(Path.Combine(peers, "node_modules", "@modelcontextprotocol", "sdk")))
            {
                throw new InvalidOperationException($"the Node MCP peers are not installed: run `npm ci` in {peers} (./test.sh does)");
            }

            return peers;
        }
    }

    /// <summary>The server over Streamable HTTP on a free loopback port, requiring <see cref="Token"/>.</summary>
    public static async Task<TestUpstream> StartAsync()
    {
        var start = new ProcessStartInfo("node") { WorkingDirectory = Peers, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("upstream.mjs");
        start.ArgumentList.Add("http");
        start.Environment["UPSTREAM_TOKEN"] = Token;
        var process = Process.Start(start)!;
        var line = await process.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        var port = JsonNode.Parse(line ?? throw new InvalidOperationException("upstream.mjs did not start: " + await process.StandardError.ReadToEndAsync()))!["port"]!.GetValue<int>();
        return new TestUpstream(process, port);
    }

    /// <summary>How Warden starts the same server over stdio.</summary>
    public static UpstreamEndpoint Stdio(string? log = null) =>
        new(["node", Path.Combine(Peers, "upstream.mjs"), "stdio"], null, new Dictionary<string, string>(),
            log is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["UPSTREAM_LOG"] = "env:TEST_UPSTREAM_LOG" });

    public UpstreamEndpoint Http(string reference = "env:CRM_TOKEN") =>
        new([], Url, new Dictionary<string, string> { ["Authorization"] = reference }, new Dictionary<string, string>());

    public async Task ControlAsync(object body)
    {
        using var http = new HttpClient();
        (await http.PostAsJsonAsync($"http://127.0.0.1:{Port}/control", body, TestContext.Current.CancellationToken)).EnsureSuccessStatusCode();
    }

    /// <summary>The tool calls the server received, by name.</summary>
    public async Task<List<string>> CallsAsync()
    {
        using var http = new HttpClient();
        var calls = await http.GetFromJsonAsync<JsonElement>($"http://127.0.0.1:{Port}/calls", TestContext.Current.CancellationToken);
        return [.. calls.EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];
    }

    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
