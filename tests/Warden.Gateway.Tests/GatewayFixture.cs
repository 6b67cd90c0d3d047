using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Warden.Gateway.Http;
using Warden.Core.Audit;
using Warden.Storage.Audit;

namespace Warden.Gateway.Tests;

/// <summary>The clock of the tests: real time, moved ahead on demand (approvals expire, budget windows pass).</summary>
internal sealed class AheadClock : TimeProvider
{
    private long _ahead;

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _ahead));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ahead, by.Ticks);
}

/// <summary>
/// A real gateway on a free port of 127.0.0.1, with the example policy (edited as a test needs), a
/// seeded sandbox workspace in a temporary folder, and made-up tokens. Agents talk to it with the
/// official C# MCP client over Streamable HTTP; people with HTTP requests to the API.
/// </summary>
internal sealed class GatewayFixture : IAsyncDisposable
{
    private readonly List<McpClient> _clients = [];
    private readonly HttpClient _http = new();

    private readonly bool _ownsDirectory;

    private GatewayFixture(string directory, bool ownsDirectory, Gateway gateway, WebApplication app, string url, AheadClock clock)
    {
        Directory = directory;
        _ownsDirectory = ownsDirectory;
        Gateway = gateway;
        App = app;
        Url = url;
        Clock = clock;
    }

    public static string ExamplePolicy => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "policy.yaml"));

    public string Directory { get; }

    public Gateway Gateway { get; }

    public WebApplication App { get; }

    public string Url { get; }

    public AheadClock Clock { get; }

    public string TrailPath => Gateway.Trail.Path;

    public string WorkspacePath => Gateway.WorkspaceStore.Path;

    /// <summary>Starts a gateway; <paramref name="directory"/> names a data folder to use (and keep) instead of a new temporary one: how a test restarts a gateway on the same data.</summary>
    public static async Task<GatewayFixture> StartAsync(Func<string, string>? editPolicy = null, string environment = "sandbox", int maxPending = 20, int perSecond = 200, string? webhook = null,
        string? directory = null, int sendBatch = 500, TimeSpan sendPause = default, bool directToolCalls = true, string? publicUrl = null, string? policyFile = null,
        IdentityProviderOptions? identityProvider = null)
    {
        var ownsDirectory = directory is null;
        directory ??= NewDirectory();
        System.IO.Directory.CreateDirectory(directory);
        var clock = new AheadClock();
        // A free port can be taken by another test between finding it and binding it: then again on another.
        for (var attempt = 1; ; attempt++)
        {
            var url = $"http://127.0.0.1:{FreePort()}";
            var gateway = await Gateway.OpenAsync(new GatewayOptions
            {
                // A policy file when the test names one (the gateway reads it); otherwise the example, as text.
                PolicyPath = policyFile ?? "policy.yaml",
                PolicyText = policyFile is null ? (editPolicy ?? (p => p))(ExamplePolicy) : null,
                DataDirectory = directory,
                Environment = environment,
                Url = url,
                Demo = true,
                DemoContacts = 2_000,
                MaxPendingPerAgent = maxPending,
                RequestsPerSecondPerAgent = perSecond,
                WebhookUrl = webhook,
                PublicUrl = publicUrl,
                IdentityProvider = identityProvider,
                SendBatchSize = sendBatch,
                SendPause = sendPause,
                Clock = clock,
            }, TestContext.Current.CancellationToken);
            if (environment != "sandbox" && gateway.WorkspaceStore.IsEmpty)
            {
                Warden.Workspace.Seeding.WorkspaceSeeder.Seed(gateway.WorkspaceStore, new Warden.Workspace.Seeding.SeedOptions { Contacts = 2_000, Seed = 1 });
            }

            var app = HttpHost.Build(gateway, directToolCalls: directToolCalls);
            try
            {
                await app.StartAsync(TestContext.Current.CancellationToken);
            }
            catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException && attempt < 5)
            {
                await app.DisposeAsync();
                await gateway.DisposeAsync();
                continue;
            }

            return new GatewayFixture(directory, ownsDirectory, gateway, app, url, clock);
        }
    }

    /// <summary>A new temporary data folder (not created).</summary>
    public static string NewDirectory() => Path.Combine(Path.GetTempPath(), "warden-gateway-tests", Guid.NewGuid().ToString("N"));

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public string Token(string identity) => Gateway.DemoTokens[identity];

    /// <summary>An MCP client signed in as the agent; <paramref name="options"/> say what else it declares (its capabilities, a protocol version).</summary>
    public async Task<McpClient> Agent(string agent, McpClientOptions? options = null)
    {
        var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(Url + "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + Token(agent) },
        }), options, cancellationToken: TestContext.Current.CancellationToken);
        _clients.Add(client);
        return client;
    }

    /// <summary>Calls a tool and reads Warden's answer (the JSON in the result's text).</summary>
    public static async Task<(bool IsError, JsonNode Answer)> Call(McpClient client, string tool, object arguments, Dictionary<string, string>? meta = null)
    {
        var result = await client.CallToolAsync(tool, JsonSerializer.Deserialize<Dictionary<string, object?>>(JsonSerializer.Serialize(arguments)),
            options: meta is null ? null : new ModelContextProtocol.RequestOptions { Meta = new JsonObject(meta.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)m.Value))) },
            cancellationToken: TestContext.Current.CancellationToken);
        var text = string.Concat(result.Content.OfType<TextContentBlock>().Select(c => c.Text));
        return (result.IsError == true, JsonNode.Parse(text)!);
    }

    /// <summary>A request to the API as a person (or any token); the status and the JSON body.</summary>
    public async Task<(HttpStatusCode Status, JsonNode? Body)> Api(HttpMethod method, string path, string? token, object? body = null)
    {
        using var request = new HttpRequestMessage(method, Url + path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        using var response = await _http.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>The trail's entries, oldest first.</summary>
    public IReadOnlyList<AuditRecord> Trail(AuditQuery? query = null) =>
        [.. AuditLog.Query(TrailPath, (query ?? new AuditQuery()) with { Limit = 1000 }).Entries.Reverse()];

    /// <summary>Runs SQL on the workspace, as someone working in the marketing system outside Warden would.</summary>
    public object? Workspace(string sql, params (string Name, object? Value)[] parameters)
    {
        using var connection = new SqliteConnection($"Data Source={WorkspacePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command.ExecuteScalar();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }

        _http.Dispose();
        await App.StopAsync(CancellationToken.None);
        await App.DisposeAsync();
        await Gateway.DisposeAsync();
        SqliteConnection.ClearAllPools();
        if (!_ownsDirectory)
        {
            return;
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // a file still open; the temporary folder is cleaned by the OS
        }
    }
}
