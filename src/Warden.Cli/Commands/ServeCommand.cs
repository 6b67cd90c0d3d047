using Microsoft.Extensions.Logging;
using System.CommandLine;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using Spectre.Console;
using Warden.Gateway;

namespace Warden.Cli.Commands;

/// <summary>
/// <c>warden serve</c>: the gateway on 127.0.0.1, MCP for agents and the API for people.
/// <c>warden mcp --agent NAME</c>: the same gateway over stdio, for one agent. Without a policy
/// (and no warden.yaml here) both run the built-in example as a demo: a seeded sandbox and made-up
/// tokens, printed.
/// </summary>
internal static class ServeCommand
{
    public const string DefaultPolicy = "warden.yaml";
    public const string ExampleName = "the built-in example policy (examples/marketing/policy.yaml)";

    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        var (policy, data, environment, demo, webhook) = CommonOptions();
        var port = new Option<string?>("--port") { Description = "The port to listen on, on 127.0.0.1 (default 8787).", HelpName = "N" };
        var host = new Option<string>("--host") { Description = "The address to listen on (default 127.0.0.1; anything else exposes the gateway to the network).", DefaultValueFactory = _ => "127.0.0.1" };
        var rate = new Option<string?>("--agent-rate") { Description = "Requests a second one agent may make on average, bursts of twice that (default 200).", HelpName = "N" };
        var publicUrl = new Option<string?>("--public-url")
        {
            Description = "Where people reach the gateway, e.g. behind a proxy (default: where it listens); notifications and held calls link to its console there.",
            HelpName = "URL",
        };
        var oidc = new IdentityProviderCommandOptions();
        var store = new Option<string?>("--store")
        {
            Description = $"Keep the gateway's state, audit trail and systems' journals in a PostgreSQL database that several replicas share: env:NAME or file:/path holding its connection string (default {DbCommand.StoreVariable}; without either, the data folder).",
            HelpName = "REF",
        };
        var auditKey = new Option<string?>("--audit-key")
        {
            Description = "With a shared store: the audit trail's signing key file, the same file on every replica (created when missing).",
            HelpName = "FILE",
        };
        var migrate = new Option<bool>("--migrate") { Description = "With a shared store: bring it up to this build's schema first (as warden db migrate)." };
        var takeOver = new Option<int?>("--take-over-after")
        {
            Description = "With a shared store: seconds a change begun on a replica is left to it before another replica settles it as interrupted (default 300; longer than any apply).",
            HelpName = "SECONDS",
        };
        var command = new Command("serve", "Run the gateway: agents call governed tools over MCP, people decide in the console (/console), over the API and the CLI.")
        {
            policy, data, environment, demo, port, host, webhook, rate, publicUrl, oidc.Authority, oidc.ClientId, oidc.ClientSecret, oidc.Name, store, auditKey, migrate, takeOver,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            (Warden.Storage.Engines.StoreLocation Store, string? AuditKey, bool Migrate, int? TakeOver)? shared = null;
            if (oidc.Read(parse, out var error) is var provider && error is not null)
            {
                console.MarkupLine($"[red]error:[/] {Markup.Escape(error)}");
                return Task.FromResult(ExitCodes.Usage);
            }

            if (parse.GetValue(store) is null && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(DbCommand.StoreVariable)))
            {
                if (parse.GetValue(auditKey) is not null || parse.GetValue(migrate) || parse.GetValue(takeOver) is not null)
                {
                    console.MarkupLine("[red]error:[/] --audit-key, --migrate and --take-over-after are for a shared store (--store), and none is given");
                    return Task.FromResult(ExitCodes.Usage);
                }
            }
            else if (DbCommand.Locate(parse.GetValue(store), parse.GetValue(data)!, console) is not { } location)
            {
                return Task.FromResult(ExitCodes.Usage);
            }
            else if (location.Engine != Warden.Storage.Engines.StoreEngine.Postgres)
            {
                console.MarkupLine("[red]error:[/] --store names the PostgreSQL database replicas share; a gateway on its own keeps its SQLite stores in the data folder (--data)");
                return Task.FromResult(ExitCodes.Usage);
            }
            else
            {
                shared = (location, parse.GetValue(auditKey), parse.GetValue(migrate), parse.GetValue(takeOver));
            }

            return ServeAsync(parse.GetValue(policy), parse.GetValue(data)!, parse.GetValue(environment)!, parse.GetValue(demo),
                parse.GetValue(port), parse.GetValue(host)!, WebhookOf(parse, webhook), parse.GetValue(rate), parse.GetValue(publicUrl), provider, shared, console, clock, cancellationToken);
        });
        return command;
    }

    public static Command CreateStdio(TimeProvider clock)
    {
        var (policy, data, environment, demo, webhook) = CommonOptions();
        var agent = new Option<string>("--agent") { Description = "The agent this process serves: its identity for every call.", HelpName = "NAME", Required = true };
        var apiPort = new Option<string?>("--api-port")
        {
            Description = $"Where people's API listens beside it, on 127.0.0.1, to decide held calls (default: a free port, written to DATA/{GatewayServer.AddressFile}).",
            HelpName = "N",
        };
        var noApi = new Option<bool>("--no-api") { Description = "Serve no API: held calls then wait until a gateway with one runs on this data folder." };
        var command = new Command("mcp", "Run the gateway over stdio for one agent, for MCP clients that start servers as processes. Only JSON-RPC goes to stdout; people's API listens beside it.")
        {
            agent, policy, data, environment, demo, apiPort, noApi, webhook,
        };
        command.SetAction((parse, cancellationToken) => StdioAsync(parse.GetValue(agent)!, parse.GetValue(policy), parse.GetValue(data)!, parse.GetValue(environment)!,
            parse.GetValue(demo), parse.GetValue(apiPort), !parse.GetValue(noApi), WebhookOf(parse, webhook),
            clock, cancellationToken));
        return command;
    }

    private static (Option<string?> Policy, Option<string> Data, Option<string> Environment, Option<bool> Demo, Option<string?> Webhook) CommonOptions() =>
    (
        new Option<string?>("--policy") { Description = $"The policy file (default {DefaultPolicy}; without one, the built-in example runs as a demo).", HelpName = "FILE" },
        new Option<string>("--data") { Description = "Where the workspace, the audit trail and the gateway's state are kept.", HelpName = "DIR", DefaultValueFactory = _ => ".warden" },
        new Option<string>("--env") { Description = "The environment every call is decided in: sandbox or production.", DefaultValueFactory = _ => "sandbox" },
        new Option<bool>("--demo") { Description = "Make up tokens for identities whose token reference is not set, and seed an empty sandbox." },
        new Option<string?>("--webhook") { Description = "Post notifications (held calls, incidents) to this URL, Slack-compatible (default WARDEN_WEBHOOK_URL).", HelpName = "URL" }
    );

    private static string? WebhookOf(ParseResult parse, Option<string?> webhook) => parse.GetValue(webhook) ?? Environment.GetEnvironmentVariable("WARDEN_WEBHOOK_URL");

    private static async Task<int> ServeAsync(string? policyPath, string data, string environment, bool demo, string? portText, string host, string? webhook,
        string? rateText, string? publicUrl, IdentityProviderOptions? identityProvider, (Warden.Storage.Engines.StoreLocation Store, string? AuditKey, bool Migrate, int? TakeOver)? shared,
        IAnsiConsole console, TimeProvider clock, CancellationToken cancellationToken)
    {
        var rate = 200;
        if (rateText is not null && (!int.TryParse(rateText, NumberStyles.None, CultureInfo.InvariantCulture, out rate) || rate < 1))
        {
            console.MarkupLine($"[red]error:[/] --agent-rate takes a number of requests a second, at least 1, not '{Markup.Escape(rateText)}'.");
            return ExitCodes.Usage;
        }

        var port = 8787;
        if (portText is not null && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            console.MarkupLine($"[red]error:[/] --port takes a port number from 1 to 65535, not '{Markup.Escape(portText)}'.");
            return ExitCodes.Usage;
        }

        using var logging = StderrLogging();
        if (Options(policyPath, data, environment, demo, clock, $"http://{host}:{port}", console, logging) is not { } options)
        {
            return ExitCodes.Usage;
        }

        options = options.With(webhook, rate) with
        {
            PublicUrl = publicUrl, IdentityProvider = identityProvider, Store = shared?.Store, AuditKeyPath = shared?.AuditKey, Migrate = shared?.Migrate ?? false,
            TakeOverAfter = shared?.TakeOver is { } seconds ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromMinutes(5),
        };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        try
        {
            await GatewayServer.RunAsync(options, started => Announce(started, options, console), stop.Token).ConfigureAwait(false);
            console.MarkupLine("Stopped.");
            return ExitCodes.Ok;
        }
        catch (GatewayException e)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return ExitCodes.Usage;
        }
    }

    private static async Task<int> StdioAsync(string agent, string? policyPath, string data, string environment, bool demo, string? apiPortText, bool withApi,
        string? webhook, TimeProvider clock, CancellationToken cancellationToken)
    {
        // stdout carries JSON-RPC only: every message for a person goes to stderr.
        var errors = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        if (apiPortText is not null && !withApi)
        {
            errors.MarkupLine("[red]error:[/] --api-port and --no-api ask for opposite things; give one of them.");
            return ExitCodes.Usage;
        }

        var apiPort = 0;
        if (apiPortText is not null && (!int.TryParse(apiPortText, NumberStyles.None, CultureInfo.InvariantCulture, out apiPort) || apiPort > 65535))
        {
            errors.MarkupLine($"[red]error:[/] --api-port takes a port number from 0 (any free one) to 65535, not '{Markup.Escape(apiPortText)}'.");
            return ExitCodes.Usage;
        }

        using var logging = StderrLogging();
        if (Options(policyPath, data, environment, demo, clock, $"http://127.0.0.1:{apiPort.ToString(CultureInfo.InvariantCulture)}", errors, logging) is not { } options)
        {
            return ExitCodes.Usage;
        }

        try
        {
            await GatewayServer.RunStdioAsync(options.With(webhook, options.RequestsPerSecondPerAgent), agent, withApi, started =>
            {
                if (started.DemoTokens.Count > 0)
                {
                    var file = Path.Combine(started.DataDirectory, Warden.Gateway.GatewayServer.DemoTokensFile(started.Environment));
                    errors.MarkupLine($"Demo tokens, kept for this data folder: {Markup.Escape(file)}");
                }

                Warn(started, errors);
                errors.MarkupLine(started.Api.Length == 0
                    ? $"Serving {Markup.Escape(agent)} over stdio; no API (--no-api)."
                    : $"Serving {Markup.Escape(agent)} over stdio; API for people at {Markup.Escape(started.Api)} (warden approvals list finds it from this folder).");
            }, cancellationToken).ConfigureAwait(false);
            return ExitCodes.Ok;
        }
        catch (GatewayException e)
        {
            errors.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return ExitCodes.Usage;
        }
    }

    /// <summary>
    /// Where what the gateway survives (a webhook down, a checkpoint that failed, housekeeping) is
    /// logged: stderr, never stdout (under stdio, stdout carries only JSON-RPC). Disposed, and so
    /// flushed, when the command ends.
    /// </summary>
    private static ILoggerFactory StderrLogging() => LoggerFactory.Create(logging => logging
        .SetMinimumLevel(LogLevel.Warning)
        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));

    /// <summary>The gateway's options: the given policy, warden.yaml here, or the built-in example as a demo.</summary>
    private static GatewayOptions? Options(string? policyPath, string data, string environment, bool demo, TimeProvider clock, string url, IAnsiConsole console, ILoggerFactory logging)
    {
        string? text = null;
        if (policyPath is null && !File.Exists(DefaultPolicy))
        {
            using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Warden.Cli.ExamplePolicy.yaml")!;
            text = new StreamReader(stream).ReadToEnd();
            policyPath = ExampleName;
            demo = true;
        }
        else if (policyPath is not null && !File.Exists(policyPath))
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(policyPath)}: no such file.");
            return null;
        }

        if (environment is not ("sandbox" or "production"))
        {
            console.MarkupLine($"[red]error:[/] --env is sandbox or production, not '{Markup.Escape(environment)}'.");
            return null;
        }

        return new GatewayOptions
        {
            PolicyPath = policyPath ?? DefaultPolicy,
            PolicyText = text,
            DataDirectory = data,
            Environment = environment,
            Url = url,
            Demo = demo,
            Clock = clock,
            Logging = logging,
        };
    }

    private static void Announce(GatewayStarted started, GatewayOptions options, IAnsiConsole console)
    {
        console.MarkupLine($"[bold]Warden gateway[/] running in [bold]{started.Environment}[/] with {Markup.Escape(started.PolicyPath)}");
        var grid = new Grid().AddColumn().AddColumn();
        grid.AddRow("MCP for agents", Markup.Escape(started.McpEndpoint) + "  (Streamable HTTP, Authorization: Bearer <agent token>)");
        grid.AddRow("API for people", Markup.Escape(started.Api) + "  (e.g. GET /api/approvals, Authorization: Bearer <person token>)");
        grid.AddRow("Console for people", Markup.Escape(started.Url.TrimEnd('/') + "/console") + "  (a browser; warden people set-password, or a link below)");
        if (options.IdentityProvider is { } provider)
        {
            grid.AddRow("Sign-in", $"passwords, and {Markup.Escape(provider.ButtonName)} ({Markup.Escape(provider.Authority)}; callback {Markup.Escape((options.PublicUrl ?? started.Url).TrimEnd('/'))}/console/sign-in/provider/callback)");
        }

        grid.AddRow("Audit trail", Markup.Escape(started.TrailPath) + "  (warden audit verify --trail ...)");
        grid.AddRow("Data", Markup.Escape(started.DataDirectory));
        console.Write(grid);
        if (started.DemoTokens.Count > 0)
        {
            var file = Path.Combine(started.DataDirectory, Warden.Gateway.GatewayServer.DemoTokensFile(started.Environment));
            console.MarkupLine($"Demo tokens, made up once and kept for this data folder (set the variables the policy names, e.g. WARDEN_TOKEN_HYGIENE, to choose your own; also in {Markup.Escape(file)}):");
            var table = new Table().Border(TableBorder.Simple).AddColumn("identity").AddColumn("token");
            foreach (var (identity, token) in started.DemoTokens.OrderBy(t => t.Value.StartsWith("wd_person", StringComparison.Ordinal)).ThenBy(t => t.Key, StringComparer.Ordinal))
            {
                table.AddRow(Markup.Escape(identity), Markup.Escape(token));
            }

            console.Write(table);
        }

        if (started.SignInLinks.Count > 0)
        {
            console.MarkupLine("The console, for people: one-time sign-in links (24 hours; new ones at every start; then warden people set-password):");
            foreach (var (person, link) in started.SignInLinks.OrderBy(l => l.Key, StringComparer.Ordinal))
            {
                console.MarkupLine($"  {Markup.Escape(person),-8} {Markup.Escape(link)}");
            }
        }

        Warn(started, console);
        console.MarkupLine("Press Ctrl+C to stop.");
    }

    /// <summary>What keeps a new gateway from being useful, said at once: nothing to govern, or nobody who can sign in.</summary>
    private static void Warn(GatewayStarted started, IAnsiConsole console)
    {
        if (started.EmptyWorkspace)
        {
            console.MarkupLine($"[yellow]The {Markup.Escape(started.Environment)} workspace is empty: agents will find no contacts. Fill it with synthetic data (warden workspace seed --workspace {Markup.Escape(started.WorkspacePath)}, with the gateway stopped), or start with --demo.[/]");
        }

        if (started.WithoutToken.Count > 0)
        {
            console.MarkupLine($"[yellow]Without a token, these cannot sign in: {Markup.Escape(string.Join(", ", started.WithoutToken))}. Set the variables (or files) the policy names, or start with --demo to make tokens up.[/]");
        }
    }
}

/// <summary>
/// <c>warden serve</c>'s options for signing in to the console with an identity provider: the
/// authority, the client id and the client secret's reference go together, or none of them.
/// </summary>
internal sealed class IdentityProviderCommandOptions
{
    public Option<string?> Authority { get; } = new("--oidc-authority")
    {
        Description = "Let people sign in to the console with this OpenID Connect provider (its issuer, https), beside passwords; needs --oidc-client-id and --oidc-client-secret.",
        HelpName = "URL",
    };

    public Option<string?> ClientId { get; } = new("--oidc-client-id") { Description = "The client id the identity provider gave the gateway.", HelpName = "ID" };

    public Option<string?> ClientSecret { get; } = new("--oidc-client-secret")
    {
        Description = "Where the client secret is kept: env:NAME, file:/path or secret:NAME (a file in DATA/secrets), as agents' tokens.",
        HelpName = "REF",
    };

    public Option<string?> Name { get; } = new("--oidc-name") { Description = "The provider's name on the sign-in button, e.g. Okta (default: its host).", HelpName = "TEXT" };

    /// <summary>The provider the options name; null with no error when none is given, null with the error when they are incomplete.</summary>
    public IdentityProviderOptions? Read(ParseResult parse, out string? error)
    {
        var (authority, clientId, secret, name) = (parse.GetValue(Authority), parse.GetValue(ClientId), parse.GetValue(ClientSecret), parse.GetValue(Name));
        var given = new[] { (Authority.Name, authority), (ClientId.Name, clientId), (ClientSecret.Name, secret) };
        var missing = given.Where(g => string.IsNullOrWhiteSpace(g.Item2)).Select(g => g.Item1).ToList();
        error = null;
        if (missing.Count == given.Length)
        {
            error = name is null ? null : "--oidc-name names the button of an identity provider; give --oidc-authority, --oidc-client-id and --oidc-client-secret with it.";
            return null;
        }

        if (missing.Count > 0)
        {
            error = $"signing in with an identity provider takes --oidc-authority, --oidc-client-id and --oidc-client-secret together; {string.Join(" and ", missing)} {(missing.Count == 1 ? "is" : "are")} missing.";
            return null;
        }

        return new IdentityProviderOptions(authority!.Trim(), clientId!.Trim(), secret!.Trim(), name);
    }
}
