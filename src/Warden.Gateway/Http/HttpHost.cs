using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Warden.Gateway.Identity;
using Warden.Gateway.Mcp;

namespace Warden.Gateway.Http;

/// <summary>
/// The gateway's HTTP surfaces on one port: MCP (Streamable HTTP, stateless) for agents at /mcp,
/// and the REST API for people at /api. A bearer token is checked before anything else runs: an
/// unknown one gets 401, an agent's token on the API or a person's on /mcp gets 403.
/// </summary>
internal static class HttpHost
{
    public const string PersonClaim = "warden:person";

    /// <param name="gateway">The gateway to serve.</param>
    /// <param name="logging">Where ASP.NET Core logs; nowhere by default.</param>
    /// <param name="agentsOverHttp">Whether agents reach MCP here too; a stdio gateway serves only people's API.</param>
    /// <param name="directToolCalls">Whether a plain tools/call is answered without the SDK's per-request server
    /// (<see cref="DirectToolCall"/>); off only in the tests that compare the two.</param>
    public static WebApplication Build(Gateway gateway, Action<ILoggingBuilder>? logging = null, bool agentsOverHttp = true, bool directToolCalls = true)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls(gateway.Options.Url);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = gateway.Options.MaxRequestBytes;
            // Nothing says which server answers: no version to look up for a known hole.
            kestrel.AddServerHeader = false;
        });
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        var surface = McpSurface.Of(gateway);
        var serverInfo = new Implementation { Name = "warden", Version = Version };
        builder.Services
            .AddMcpServer(options => options.ServerInfo = serverInfo)
            .WithHttpTransport(options => options.Stateless = true)
            .WithListToolsHandler(surface.ListToolsAsync)
            .WithCallToolHandler(surface.CallToolAsync);
        builder.Services.AddRazorComponents();
        builder.Services.AddOpenApi(options =>
        {
            // The API, not the console's pages (they are HTML for a browser, behind a session).
            options.ShouldInclude = description => description.RelativePath?.StartsWith("api/", StringComparison.Ordinal) == true;
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new()
                {
                    Title = "Warden API", Version = Version,
                    Description = "What people do to the gateway: approvals, the kill switch, rollback, incidents, the audit trail. Every call takes a person's bearer token.",
                };
                return Task.CompletedTask;
            });
        });
        WebConsole.IdentityProviderSignIn.AddServices(builder.Services, gateway);
        var direct = directToolCalls ? new DirectToolCall(surface, serverInfo) : null;
        if (direct is not null)
        {
            builder.Services.AddSingleton(direct);
        }

        var app = builder.Build();
        if (direct is not null && !DirectToolCall.Fits(app.Services.GetRequiredService<IOptions<McpServerOptions>>().Value))
        {
            throw new InvalidOperationException("the MCP server has a tool collection, a filter or a pinned protocol version that the direct tools/call path would skip");
        }
        var limits = new AgentLimits(gateway.Options.RequestsPerSecondPerAgent, gateway.Store.Rates, gateway.Options.Clock);
        app.Lifetime.ApplicationStopped.Register(limits.Dispose);
        app.Use((context, next) => Authenticate(gateway, limits, direct, context, next));
        if (agentsOverHttp)
        {
            app.MapMcp("/mcp");
        }

        Api.Map(app, gateway);
        // The API described, for a person's token like the rest of it.
        app.MapOpenApi("/api/openapi.json");
        WebConsole.ConsolePages.Map(app, gateway, gateway.Options.Logging?.CreateLogger("Warden.WebConsole") ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        WebConsole.IdentityProviderSignIn.Map(app, gateway);
        return app;
    }

    public static string Version => typeof(HttpHost).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    private static async Task Authenticate(Gateway gateway, AgentLimits limits, DirectToolCall? direct, HttpContext context, RequestDelegate next)
    {
        var path = context.Request.Path;
        var isMcp = path.StartsWithSegments("/mcp");
        var isApi = path.StartsWithSegments("/api") && !path.StartsWithSegments("/api/health");
        if (!isMcp && !isApi)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        string? header = context.Request.Headers.Authorization;
        var caller = header is not null && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? gateway.Credentials.Find(header[7..].Trim()) : null;
        var policy = gateway.Policy;
        if (caller is not null && (caller.Kind == CallerKind.Agent ? policy.FindAgent(caller.Id) is null : policy.FindOwner(caller.Id) is null))
        {
            caller = null; // a reload took the identity out, and its token is being taken away
        }

        if (caller is null)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await Refuse(context, isMcp, StatusCodes.Status401Unauthorized,
                header is null ? "no token: send Authorization: Bearer <token>" : "the token is not one this gateway knows (unknown or revoked)").ConfigureAwait(false);
            return;
        }

        if (isMcp && caller.Kind != CallerKind.Agent)
        {
            await Refuse(context, isMcp, StatusCodes.Status403Forbidden, $"{caller.Id} is a person: people use the API and the console, agents the MCP endpoint").ConfigureAwait(false);
            return;
        }

        if (isApi && caller.Kind != CallerKind.Person)
        {
            await Refuse(context, isMcp, StatusCodes.Status403Forbidden, $"'{caller.Id}' is an agent: an agent's token cannot approve, freeze or operate the gateway").ConfigureAwait(false);
            return;
        }

        if (caller.Kind == CallerKind.Agent && !limits.TryTake(caller.Id))
        {
            context.Response.Headers.RetryAfter = "1";
            await Refuse(context, isMcp, StatusCodes.Status429TooManyRequests,
                $"agent '{caller.Id}' is sending more than {gateway.Options.RequestsPerSecondPerAgent} requests a second; slow down and retry").ConfigureAwait(false);
            return;
        }

        if (context.Request.ContentLength > gateway.Options.MaxRequestBytes)
        {
            // Refused before the body is read, with a sentence rather than a connection reset.
            await Refuse(context, isMcp, StatusCodes.Status413PayloadTooLarge,
                $"the request is {context.Request.ContentLength:N0} bytes; the gateway takes at most {gateway.Options.MaxRequestBytes:N0}").ConfigureAwait(false);
            return;
        }

        context.User = new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim(caller.Kind == CallerKind.Agent ? McpSurface.AgentClaim : PersonClaim, caller.Id), new Claim(ClaimTypes.Name, caller.Id)], "Bearer"));
        if (isMcp && HttpMethods.IsPost(context.Request.Method))
        {
            if (!await ScreenAsync(gateway, context).ConfigureAwait(false))
            {
                return;
            }

            if (direct is not null && await direct.TryAnswerAsync(context).ConfigureAwait(false))
            {
                return;
            }
        }

        await next(context).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads an MCP request's body into memory and lets it on (false when it was answered here): a
    /// name given twice is refused before the SDK, which would keep the last, sees it.
    /// </summary>
    private static async Task<bool> ScreenAsync(Gateway gateway, HttpContext context)
    {
        var buffer = new MemoryStream(context.Request.ContentLength is { } length and > 0 ? (int)length : 1024);
        try
        {
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await Refuse(context, mcp: true, StatusCodes.Status413PayloadTooLarge, $"the request is larger than the {gateway.Options.MaxRequestBytes:N0} bytes the gateway takes").ConfigureAwait(false);
            return false;
        }

        // The bytes read are screened and handed on where they lie, not copied again.
        var body = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        var screened = JsonRpcScreen.Check(body);
        if (!screened.Passes)
        {
            // A JSON-RPC answer to the request's id, as the SDK gives its own errors, so that clients
            // show the message; without an id, a bad request.
            context.Response.StatusCode = screened.HasId ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(screened.Answer!).ConfigureAwait(false);
            return false;
        }

        context.Request.Body = new MemoryStream(buffer.GetBuffer(), body.Length - screened.Message.Length, screened.Message.Length, writable: false, publiclyVisible: true);
        return true;
    }

    /// <summary>A JSON-RPC error on /mcp, a problem document on /api.</summary>
    private static Task Refuse(HttpContext context, bool mcp, int status, string message)
    {
        context.Response.StatusCode = status;
        if (mcp)
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync(JsonRpcScreen.Error(null, -32600, message));
        }

        return Api.Problem(context, status, message);
    }
}
