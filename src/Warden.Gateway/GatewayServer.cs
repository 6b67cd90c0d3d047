using Microsoft.AspNetCore.Builder;
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
    IReadOnlyDictionary<string, string> DemoTokens);

/// <summary>Runs a gateway: over HTTP (MCP and the API on one port) or over stdio for one agent.</summary>
public static class GatewayServer
{
    /// <summary>Serves until <paramref name="cancellationToken"/> is cancelled; <paramref name="started"/> hears where, once it listens.</summary>
    /// <exception cref="GatewayException">The policy, a store or the port cannot be used; the message says which.</exception>
    public static async Task RunAsync(GatewayOptions options, Action<GatewayStarted>? started = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        await using var gateway = await Gateway.OpenAsync(options, cancellationToken).ConfigureAwait(false);
        await using var app = HttpHost.Build(gateway);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw new GatewayException($"cannot listen on {options.Url}: {e.Message} (is another gateway running there? choose another port with --port)", e);
        }

        var url = options.Url.TrimEnd('/');
        started?.Invoke(new GatewayStarted(url, url + "/mcp", url + "/api", gateway.Environment, options.PolicyPath, Path.GetFullPath(options.DataDirectory),
            gateway.Trail.Path, gateway.DemoTokens));
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // asked to stop
        }

        await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// Serves one agent over stdin and stdout, for MCP clients that start servers as processes. The
    /// identity is the configured agent; nothing but JSON-RPC is written to stdout.
    /// </summary>
    /// <exception cref="GatewayException">The policy or a store cannot be used, or the agent is not in the policy.</exception>
    public static async Task RunStdioAsync(GatewayOptions options, string agent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        await using var gateway = await Gateway.OpenAsync(options, cancellationToken).ConfigureAwait(false);
        if (gateway.Policy.FindAgent(agent) is null)
        {
            throw new GatewayException($"'{agent}' is not an agent of the policy {options.PolicyPath}"
                                       + (Core.Diagnostics.Suggest.Hint(agent, gateway.Policy.Agents.Select(a => a.Id)) is { } hint ? $"; {hint}" : ""));
        }

        var surface = new McpSurface(gateway, agent);
        var serverOptions = new McpServerOptions
        {
            ServerInfo = new Implementation { Name = "warden", Version = HttpHost.Version },
            Capabilities = new ServerCapabilities { Tools = new ToolsCapability() },
            Handlers = new McpServerHandlers { ListToolsHandler = surface.ListToolsAsync, CallToolHandler = surface.CallToolAsync },
        };
        // The SDK's own stdio transport, with each incoming line screened first (a name given twice).
        await using var stdio = new ScreenedStdio(Console.OpenStandardInput(), Console.OpenStandardOutput());
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
}
