using Microsoft.AspNetCore.Builder;
using Warden.Core.Audit;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Warden.Gateway.Http;
using Warden.Gateway.Mcp;

namespace Warden.Gateway;

/// <summary>Where a started gateway can be reached, and the tokens it made up in demo mode (by identity).</summary>
public sealed record GatewayStarted(
    string Url,
    string McpEndpoint,
    string Api,
    string Environment,
    string PolicyPath,
    string DataDirectory,
    string TrailPath,
    IReadOnlyDictionary<string, string> DemoTokens)
{
    /// <summary>The identities of the policy that have no token: they cannot sign in until their reference resolves (or with --demo).</summary>
    public IReadOnlyList<string> WithoutToken { get; init; } = [];

    /// <summary>For a demo gateway, a one-time console sign-in link for each person (24 hours; new ones at every start).</summary>
    public IReadOnlyDictionary<string, string> SignInLinks { get; init; } = new Dictionary<string, string>();

    /// <summary>True when the workspace it governs holds no contacts yet.</summary>
    public bool EmptyWorkspace { get; init; }

    /// <summary>The workspace's database file.</summary>
    public string WorkspacePath { get; init; } = "";
}

/// <summary>Runs a gateway: over HTTP (MCP and the API on one port) or over stdio for one agent.</summary>
public static class GatewayServer
{
    /// <summary>The file in the data folder that holds the address of the gateway serving it, while it runs.</summary>
    public const string AddressFile = "gateway.url";

    /// <summary>The file in the data folder that keeps the tokens a demo gateway made up for an environment (demo-tokens.json for the sandbox).</summary>
    public static string DemoTokensFile(string environment) => Identity.DemoTokens.FileName(environment);

    /// <summary>Serves until <paramref name="cancellationToken"/> is cancelled; <paramref name="started"/> hears where, once it listens.</summary>
    /// <exception cref="GatewayException">The policy, a store or the port cannot be used; the message says which.</exception>
    public static async Task RunAsync(GatewayOptions options, Action<GatewayStarted>? started = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        await using var gateway = await Gateway.OpenAsync(options, cancellationToken).ConfigureAwait(false);
        await using var app = HttpHost.Build(gateway);
        var url = await ListenAsync(gateway, app, options, "--port", cancellationToken).ConfigureAwait(false);
        try
        {
            started?.Invoke(new GatewayStarted(url, url + "/mcp", url + "/api", gateway.Environment, options.PolicyPath, Path.GetFullPath(options.DataDirectory),
                gateway.Trail.Path, gateway.DemoTokens)
            {
                WithoutToken = gateway.WithoutToken, EmptyWorkspace = gateway.WorkspaceStore.IsEmpty, WorkspacePath = gateway.WorkspaceStore.Path,
                // A demo's people have no password yet: each gets a link that signs them in to the console once.
                SignInLinks = options.Demo ? WebConsole.ConsolePages.IssueSignInLinks(gateway, options.PublicUrl ?? url) : new Dictionary<string, string>(),
            });
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // asked to stop
        }
        finally
        {
            await StopAsync(app, options, url).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Serves one agent over stdin and stdout, for MCP clients that start servers as processes. The
    /// identity is the configured agent; nothing but JSON-RPC is written to stdout. People's API
    /// listens beside it at <see cref="GatewayOptions.Url"/> (port 0: a free one) unless
    /// <paramref name="withApi"/> is false, so that held calls can be decided while it runs.
    /// </summary>
    /// <exception cref="GatewayException">The policy or a store cannot be used, or the agent is not in the policy.</exception>
    public static async Task RunStdioAsync(GatewayOptions options, string agent, bool withApi = true, Action<GatewayStarted>? started = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        await using var gateway = await Gateway.OpenAsync(options, cancellationToken).ConfigureAwait(false);
        if (gateway.Policy.FindAgent(agent) is null)
        {
            throw new GatewayException($"'{agent}' is not an agent of the policy {options.PolicyPath}"
                                       + (Core.Diagnostics.Suggest.Hint(agent, gateway.Policy.Agents.Select(a => a.Id)) is { } hint ? $"; {hint}" : ""));
        }

        await using var api = withApi ? HttpHost.Build(gateway, agentsOverHttp: false) : null;
        var url = api is null ? null : await ListenAsync(gateway, api, options, "--api-port", cancellationToken).ConfigureAwait(false);
        try
        {
            started?.Invoke(new GatewayStarted(url ?? "", "stdio", url is null ? "" : url + "/api", gateway.Environment, options.PolicyPath,
                Path.GetFullPath(options.DataDirectory), gateway.Trail.Path, gateway.DemoTokens) { WithoutToken = gateway.WithoutToken, EmptyWorkspace = gateway.WorkspaceStore.IsEmpty, WorkspacePath = gateway.WorkspaceStore.Path });
            await ServeStdioAsync(gateway, agent, options, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (api is not null)
            {
                await StopAsync(api, options, url!).ConfigureAwait(false);
            }
        }
    }

    private static async Task ServeStdioAsync(Gateway gateway, string agent, GatewayOptions options, CancellationToken cancellationToken)
    {
        using var surface = McpSurface.Of(gateway, agent);
        var serverOptions = new McpServerOptions
        {
            ServerInfo = new Implementation { Name = "warden", Version = HttpHost.Version },
            Capabilities = new ServerCapabilities { Tools = new ToolsCapability() },
            Handlers = new McpServerHandlers { ListToolsHandler = surface.ListToolsAsync, CallToolHandler = surface.CallToolAsync },
        };

        // The SDK's own stdio transport, with each incoming line screened first (a name given twice).
        await using var stdio = new ScreenedStdio(Console.OpenStandardInput(), Console.OpenStandardOutput(), options.MaxRequestBytes);
        await using var transport = new StreamServerTransport(stdio.Input, stdio.Output, "warden");
        await using var server = McpServer.Create(transport, serverOptions);
        try
        {
            await server.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // asked to stop
        }
    }

    /// <summary>Starts listening and writes the address it got (a port of 0 becomes a real one) to the data folder.</summary>
    private static async Task<string> ListenAsync(Gateway gateway, WebApplication app, GatewayOptions options, string portOption, CancellationToken cancellationToken)
    {
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            // The trail already says the policy was loaded; it also says it was never served.
            await gateway.AuditAsync(new AuditEntry
            {
                Kind = AuditKinds.PolicyLoad, Environment = gateway.Environment, Outcome = "error",
                Detail = $"not served: cannot listen on {options.Url} ({e.Message})",
            }).ConfigureAwait(false);
            throw new GatewayException($"cannot listen on {options.Url}: {e.Message} (is another gateway running there? choose another port with {portOption})", e);
        }

        var url = (app.Urls.FirstOrDefault() ?? options.Url).TrimEnd('/');
        var file = Path.Combine(options.DataDirectory, AddressFile);
        await using (var stream = new FileStream(file, Storage.OwnerOnly.Create(FileMode.Create, FileAccess.Write)))
        {
            await stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(url + "\n"), CancellationToken.None).ConfigureAwait(false);
        }

        Storage.OwnerOnly.Tighten(file);
        return url;
    }

    /// <summary>Stops listening, and takes the address away unless another gateway has written its own since.</summary>
    private static async Task StopAsync(WebApplication app, GatewayOptions options, string url)
    {
        var file = Path.Combine(options.DataDirectory, AddressFile);
        try
        {
            if (File.Exists(file) && (await File.ReadAllTextAsync(file, CancellationToken.None).ConfigureAwait(false)).Trim() == url)
            {
                File.Delete(file);
            }
        }
        catch (IOException)
        {
            // a stale address only misleads the CLI, which says where it got it
        }

        await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }
}
