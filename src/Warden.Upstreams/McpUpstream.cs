using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Warden.Core;

namespace Warden.Upstreams;

/// <summary>
/// An upstream MCP server governed as a system: its tools re-offered as ID.TOOL under the policy,
/// each pinned when first seen (a changed name, description or input schema blocks the tool until
/// an owner accepts it), each call made with credentials only Warden holds, within a timeout,
/// with the server restarted (stdio) or reconnected after it went away, a bounded number of times,
/// and a breaker that stops trying a server that keeps failing. Warden cannot preview what a
/// server's tool does nor undo it: a plan is the call's facts, and a rollback says so.
/// </summary>
public sealed class McpUpstream : IGovernedSystem, IAsyncDisposable
{
    /// <summary>The kind a policy declares an upstream MCP server with.</summary>
    public const string Kind = "mcp";

    private readonly UpstreamOptions _options;
    private readonly TimeProvider _clock;
    private readonly PinnedTools _pins;
    private readonly ILogger _log;
    private readonly Dictionary<string, ToolDefinition> _annotated;
    private readonly SemaphoreSlim _connecting = new(1, 1);
    private readonly Queue<DateTimeOffset> _starts = new();
    private volatile Listing _listing;
    private McpClient? _client;
    private readonly SemaphoreSlim _relisting = new(1, 1);
    private long _listedAtTicks;
    private int _failures;
    private long _brokenUntilTicks;
    private int _disposed;
    private volatile string? _lastError;
    private volatile IReadOnlyList<string> _secrets = [];

    /// <summary>A tool as the server listed it: how it is governed, its name there, and the version listed.</summary>
    private sealed record Listed(ToolDefinition Definition, string UpstreamName, ToolVersion Version);

    private sealed record Listing(SystemCatalogue Catalogue, IReadOnlyDictionary<string, Listed> Tools);

    private McpUpstream(UpstreamOptions options, TimeProvider clock)
    {
        _options = options;
        _clock = clock;
        _pins = PinnedTools.Open(options.PinPath);
        _log = (options.Logging ?? NullLoggerFactory.Instance).CreateLogger<McpUpstream>();
        _annotated = options.Annotated.ToDictionary(t => t.Name, StringComparer.Ordinal);
        // Until the server is reached: the tools it offered when last seen, as pinned then.
        _listing = Build(_pins.All().Where(p => p.Tool.StartsWith(options.Id + ".", StringComparison.Ordinal))
            .Select(p => (p.Tool[(options.Id.Length + 1)..], p.Changed ?? p.Pinned)));
    }

    /// <summary>The system's id.</summary>
    public string Id => _options.Id;

    /// <summary>Its tools as last listed (ID.TOOL), each governed as the policy annotates it, or as destructive, irreversible and external.</summary>
    public SystemCatalogue Catalogue => _listing.Catalogue;

    /// <summary>True while Warden holds a live session with the server.</summary>
    public bool Connected => _client is { Completion.IsCompleted: false };

    /// <summary>
    /// Opens the pins and tries to reach the server and list its tools. A server that cannot be
    /// reached leaves the upstream open, offering what it offered when last seen: each call tries it
    /// again, and says so when it fails.
    /// </summary>
    public static async Task<McpUpstream> OpenAsync(UpstreamOptions options, TimeProvider? clock = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var upstream = new McpUpstream(options, clock ?? TimeProvider.System);
        var (_, error) = await upstream.ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (error is not null)
        {
            upstream._log.LogWarning("Upstream '{System}' cannot be reached ({Error}); its tools are refused until it can", options.Id, error.Message);
        }

        return upstream;
    }

    /// <summary>The server's tool (ID.TOOL) is blocked: what it lists now differs from what was approved.</summary>
    public bool Blocked(string tool) => _listing.Tools.TryGetValue(tool, out var listed) && _pins.PinnedHash(tool) is { } pinned && pinned != listed.Version.Hash;

    /// <summary>The pins of this server's tools.</summary>
    public PinnedTools Pins => _pins;

    // ---- plan ----

    /// <inheritdoc />
    public SystemResult<Plan> Plan(ToolCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        if (!_listing.Tools.TryGetValue(call.Tool, out var listed))
        {
            if (_annotated.ContainsKey(call.Tool) && !Connected)
            {
                // Planning does not wait for the server: it is tried again in the background for the next call.
                var last = _lastError;
                _ = ConnectInBackground();
                return Unavailable($"Warden has not reached upstream '{Id}', so {call.Tool} is not known yet"
                                   + (last is null ? "" : $" ({last})") + "; it tries again now, for your next call");
            }

            return SystemError.UnknownTool(call.Tool, $"upstream '{Id}'", _annotated.ContainsKey(call.Tool) ? "the server does not offer it now" : null);
        }

        if (call.Arguments.ValueKind != JsonValueKind.Object)
        {
            return SystemError.InvalidArguments($"the arguments of {call.Tool} must be an object");
        }

        if (_pins.PinnedHash(call.Tool) is { } pinned && pinned != listed.Version.Hash)
        {
            return Changed(call.Tool);
        }

        var tool = listed.Definition;
        // Arguments the policy declares are checked here, as each system checks its own (the server checks the rest, if it does).
        if (tool.CheckArguments(call.Arguments) is { Count: > 0 } problems)
        {
            return SystemError.InvalidArguments(string.Join("; ", problems.Select(p => p.Message)));
        }

        // How many records the call touches, where the policy says how to count them; otherwise one.
        var records = 1L;
        if (!tool.TryCountRecords(call.Arguments, out var counted, out var countProblem) && countProblem is not null)
        {
            return SystemError.InvalidArguments($"how many records {call.Tool} touches cannot be worked out from its arguments ({tool.Records}): {countProblem}");
        }
        else if (countProblem is null && tool.Records is not null)
        {
            records = counted;
        }

        var hash = CanonicalJson.Hash(JsonSerializer.SerializeToElement(new
        {
            system = Id,
            environment = call.Environment,
            agent = call.Agent,
            tool = call.Tool,
            arguments = call.Arguments,
            pin = listed.Version.Hash,
        }));
        var affected = CanonicalJson.Hash(JsonSerializer.SerializeToElement(new { tool = call.Tool, arguments = call.Arguments }));
        // A read's result holds the classes the policy gives its paths; what a write touches is not known.
        IReadOnlyList<string> classes = tool.Kind == ActionKind.Read ? [.. tool.ResultClasses.Values.SelectMany(c => c).Distinct()] : [];
        var hints = listed.Version.Hints == "{}" ? "" : $" The server describes it as {listed.Version.Hints} (its own claim, not trusted).";
        var summary = $"{call.Tool} on upstream '{Id}': Warden cannot preview what it does; governed as {Word(tool.Kind)}"
                      + (tool.Reversibility == Reversibility.Irreversible ? ", irreversible" : "") + (tool.External ? ", external" : "")
                      + (tool.Annotated ? "" : " (not annotated in the policy)") + "." + hints;
        return new UpstreamPlan(call, tool, hash, affected, records, classes, summary, listed.UpstreamName, listed.Version.Hash);
    }

    private static string Word(ActionKind kind) => kind.ToString().ToLowerInvariant();

    private SystemError Changed(string tool) => new("tool_changed",
        $"upstream '{Id}' changed {tool} (its description or arguments) since it was approved, so it is refused until an owner reviews the change: warden upstreams accept {Id} {tool[(Id.Length + 1)..]}");

    private static SystemError Unavailable(string message) => new("upstream_unavailable", message);

    // ---- apply ----

    /// <inheritdoc />
    public async Task<SystemResult<AppliedAction>> ApplyAsync(Plan plan, ApplyControl? control = null, CancellationToken cancellationToken = default)
    {
        if (plan is not UpstreamPlan p || p.Tool.System != Id)
        {
            return SystemError.Refused($"that plan was not made by upstream '{Id}'");
        }

        var now = _clock.GetUtcNow();
        var brokenUntil = new DateTimeOffset(Interlocked.Read(ref _brokenUntilTicks), TimeSpan.Zero);
        if (now < brokenUntil)
        {
            return Unavailable($"upstream '{Id}' failed {_options.BreakAfter} times in a row, so Warden does not try it again before {brokenUntil:HH:mm:ss} UTC; nothing was sent");
        }

        var (client, error) = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        if (Stale(now) && await RelistIfStaleAsync(client!, now, cancellationToken).ConfigureAwait(false) is { } relistError)
        {
            return relistError;
        }

        // The tool must still be the version planned (and approved), and still the one pinned.
        if (!_listing.Tools.TryGetValue(p.Call.Tool, out var listed) || _pins.PinnedHash(p.Call.Tool) != listed.Version.Hash)
        {
            return listed is null ? SystemError.StalePlan($"upstream '{Id}' no longer offers {p.Call.Tool}") : Changed(p.Call.Tool);
        }

        if (listed.Version.Hash != p.Pin)
        {
            return SystemError.StalePlan($"upstream '{Id}' offers another version of {p.Call.Tool} than the one planned; call again");
        }

        if (control?.Stop?.Invoke() is { } why)
        {
            return SystemError.Stopped($"not sent to upstream '{Id}': {why}");
        }

        // Journaled before it is sent: if Warden stops while the server works, the call may have run.
        var actionId = "";
        if (p.Tool.Kind != ActionKind.Read)
        {
            actionId = "act-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
            _pins.Journal(actionId, p.Call.Agent, p.Call.Tool, p.Hash, now);
        }

        var arguments = p.Call.Arguments.EnumerateObject().ToDictionary(a => a.Name, a => a.Value.Clone(), StringComparer.Ordinal);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        CallToolResult result;
        try
        {
            result = await client!.CallToolAsync(new CallToolRequestParams { Name = p.UpstreamName, Arguments = arguments }, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await FailedAsync(p.Call.Tool, $"did not answer {p.Call.Tool} within {_options.Timeout.TotalSeconds:0.#} s", "timeout").ConfigureAwait(false);
            return new SystemError("upstream_timeout",
                $"upstream '{Id}' did not answer {p.Call.Tool} within {_options.Timeout.TotalSeconds:0.#} s; the call was abandoned, and may or may not have run there");
        }
        catch (McpProtocolException e)
        {
            // The server answered, with a protocol error (unknown tool, bad arguments): it is up.
            Interlocked.Exchange(ref _failures, 0);
            // Its message is the server's text like a result's: masked whole where the result would hold a class the agent may not see.
            return new SystemError("upstream_error", $"upstream '{Id}' refused {p.Call.Tool}: {(HidesClasses(p.Tool, p.Call.Agent) ? ReadMask.Mask(e.Message) : Redacted(e.Message))}");
        }
        catch (Exception e) when (e is McpException or IOException or HttpRequestException or ObjectDisposedException or InvalidOperationException)
        {
            await DropAsync(client!).ConfigureAwait(false);
            await FailedAsync(p.Call.Tool, $"went away during {p.Call.Tool}: {Redacted(e.Message)}", "error").ConfigureAwait(false);
            return Unavailable($"upstream '{Id}' went away during {p.Call.Tool} ({Redacted(e.Message)}); the call may or may not have run there. Warden starts it again on the next call");
        }

        Interlocked.Exchange(ref _failures, 0);
        var output = Output(result, p.Tool, p.Call.Agent);
        if (result.IsError == true)
        {
            return new SystemError("upstream_error", $"upstream '{Id}' answered {p.Call.Tool} with an error: {Text(output)}");
        }

        return new AppliedAction(actionId, p.Call.Tool, p.Records, false, JsonSerializer.SerializeToElement(output)) { Done = p.Records };
    }

    /// <summary>
    /// The result as the agent reads it: the server's structured content, or its text parsed as
    /// JSON, or {"text": ...}; with the values at the paths of classes the agent may not see masked.
    /// A result that cannot be read as JSON while the tool's result has hidden classes is masked whole.
    /// </summary>
    private JsonNode Output(CallToolResult result, ToolDefinition tool, string agent)
    {
        JsonNode? output = null;
        var json = true;
        if (result.StructuredContent is { } structured)
        {
            output = JsonSerializer.SerializeToNode(structured);
        }
        else
        {
            var texts = result.Content.OfType<TextContentBlock>().Select(t => t.Text).ToList();
            if (texts.Count == 1 && result.Content.Count == 1)
            {
                try
                {
                    output = JsonNode.Parse(texts[0]);
                }
                catch (JsonException)
                {
                    output = null;
                }
            }

            if (output is not (JsonObject or JsonArray))
            {
                json = false;
                output = new JsonObject { ["text"] = string.Join("\n", texts) };
                var other = result.Content.Where(c => c is not TextContentBlock).Select(c => c.Type).ToList();
                if (other.Count > 0)
                {
                    output["other_content"] = new JsonArray([.. other.Select(t => JsonValue.Create(t))]);
                }
            }
        }

        var hidden = HiddenPaths(tool, agent);
        if (hidden.Count == 0)
        {
            return output ?? new JsonObject();
        }

        return (json ? ResultMask.Apply(output, hidden) : ResultMask.Apply(output, ["$.text"])) ?? new JsonObject();
    }

    private List<string> HiddenPaths(ToolDefinition tool, string agent) => [.. tool.ResultClasses.Where(r => _options.Hidden(agent, r.Value)).Select(r => r.Key)];

    private bool HidesClasses(ToolDefinition tool, string agent) => HiddenPaths(tool, agent).Count > 0;

    private static string Text(JsonNode output) => output is JsonObject { } o && o["text"] is JsonValue v ? v.ToString() : output.ToJsonString();

    // ---- reaching the server ----

    /// <summary>
    /// A live session with the server: the one held, or a new one (the stdio server started again),
    /// within the restart bound. Its tools are listed, and compared with their pins, on each new one.
    /// </summary>
    private async Task<(McpClient? Client, SystemError? Error)> ConnectAsync(CancellationToken cancellationToken)
    {
        if (_client is { Completion.IsCompleted: false } live)
        {
            return (live, null);
        }

        await _connecting.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_client is { Completion.IsCompleted: false } again)
            {
                return (again, null);
            }

            var (client, error) = await StartAsync(cancellationToken).ConfigureAwait(false);
            _lastError = error?.Message;
            return (client, error);
        }
        finally
        {
            _connecting.Release();
        }
    }

    private async Task<(McpClient? Client, SystemError? Error)> StartAsync(CancellationToken cancellationToken)
    {
        if (_client is { } dead)
        {
            _client = null;
            await dead.DisposeAsync().ConfigureAwait(false);
        }

        var now = _clock.GetUtcNow();
        while (_starts.Count > 0 && now - _starts.Peek() >= _options.RestartWindow)
        {
            _starts.Dequeue();
        }

        if (_starts.Count >= _options.MaxRestarts)
        {
            return (null, Unavailable($"upstream '{Id}' was started {_starts.Count} times in the last {_options.RestartWindow.TotalSeconds:0} s; Warden does not start it again before {_starts.Peek() + _options.RestartWindow:HH:mm:ss} UTC"));
        }

        _starts.Enqueue(now);
        var transport = Transport(out var missing);
        if (transport is null)
        {
            await ReportAsync(null, $"not started: {missing} is not set", "error").ConfigureAwait(false);
            return (null, Unavailable($"upstream '{Id}' is not governed here: {missing} is not set"));
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.ConnectTimeout);
        McpClient client;
        try
        {
            client = await McpClient.CreateAsync(transport, new McpClientOptions
            {
                ClientInfo = new Implementation { Name = "warden", Version = "1.0" },
                InitializationTimeout = _options.ConnectTimeout,
            }, _options.Logging, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var why = e is OperationCanceledException ? $"no answer within {_options.ConnectTimeout.TotalSeconds:0.#} s" : Redacted(e.Message);
            await FailedAsync(null, $"cannot be reached at {_options.Endpoint}: {why}", "error").ConfigureAwait(false);
            return (null, Unavailable($"upstream '{Id}' cannot be reached ({why}); nothing was sent"));
        }

        await ReportAsync(null, $"connected to {_options.Endpoint}" + (_starts.Count > 1 ? $" (start {_starts.Count} in {_options.RestartWindow.TotalSeconds:0} s)" : ""), "ok").ConfigureAwait(false);
        if (await RelistAsync(client, cancellationToken).ConfigureAwait(false) is { } error)
        {
            await client.DisposeAsync().ConfigureAwait(false);
            return (null, error);
        }

        _client = client;
        return (client, null);
    }

    private async Task ConnectInBackground()
    {
        try
        {
            await ConnectAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // closing
        }
    }

    private IClientTransport? Transport(out string? missing)
    {
        missing = null;
        var endpoint = _options.Endpoint;
        var resolved = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (name, reference) in endpoint.Url is null ? endpoint.Environment : endpoint.Headers)
        {
            if (_options.Resolve(reference) is not { } value)
            {
                missing = reference;
                return null;
            }

            resolved[name] = value;
            Remember(value);
        }

        if (endpoint.Url is { } url)
        {
            return new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = new Uri(url),
                TransportMode = HttpTransportMode.StreamableHttp,
                AdditionalHeaders = resolved.ToDictionary(h => h.Key, h => h.Value!, StringComparer.Ordinal),
                Name = Id,
                ConnectionTimeout = _options.ConnectTimeout,
            }, _options.Logging);
        }

        // Only the variables a program needs to start (PATH, HOME, ...) and the declared ones: the
        // gateway's own environment holds agents' tokens and database connections.
        var variables = StdioClientTransportOptions.GetDefaultEnvironmentVariables();
        foreach (var (name, value) in resolved)
        {
            variables[name] = value;
        }

        return new StdioClientTransport(new StdioClientTransportOptions
        {
            Command = endpoint.Command[0],
            Arguments = [.. endpoint.Command.Skip(1)],
            InheritEnvironmentVariables = false,
            EnvironmentVariables = variables,
            Name = Id,
        }, _options.Logging);
    }

    /// <summary>Keeps a credential's value, and each long enough word of it (the token of "Bearer TOKEN"), to take out of what the server says.</summary>
    private void Remember(string value)
    {
        var secrets = _secrets;
        var words = value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Where(w => w.Length >= 8);
        var more = new[] { value }.Concat(words).Where(v => v.Length > 0 && !secrets.Contains(v)).ToList();
        if (more.Count > 0)
        {
            // Longest first, so that a whole value is replaced before a word of it.
            _secrets = [.. secrets.Concat(more).OrderByDescending(v => v.Length)];
        }
    }

    /// <summary>
    /// The server's text without the credentials Warden gave it: the SDK puts a stdio server's
    /// stderr in its errors, and a server may print what it was started with.
    /// </summary>
    private string Redacted(string text)
    {
        foreach (var secret in _secrets)
        {
            text = text.Replace(secret, "[credential]", StringComparison.Ordinal);
        }

        return text;
    }

    private bool Stale(DateTimeOffset now) => now.UtcTicks - Interlocked.Read(ref _listedAtTicks) >= _options.RelistAfter.Ticks;

    /// <summary>Lists the tools again unless a call running at the same time just did: one listing at a time, so a change is reported once.</summary>
    private async Task<SystemError?> RelistIfStaleAsync(McpClient client, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await _relisting.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return Interlocked.Read(ref _listedAtTicks) > now.UtcTicks ? null : await RelistAsync(client, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _relisting.Release();
        }
    }

    /// <summary>Lists the server's tools and compares each with its pin; a tool that changed is blocked, and reported once.</summary>
    private async Task<SystemError?> RelistAsync(McpClient client, CancellationToken cancellationToken)
    {
        IList<McpClientTool> tools;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(_options.Timeout);
            try
            {
                tools = await client.ListToolsAsync(cancellationToken: timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is McpException or IOException or HttpRequestException or OperationCanceledException or InvalidOperationException)
            {
                await DropAsync(client).ConfigureAwait(false);
                await FailedAsync(null, $"did not list its tools: {Redacted(e.Message)}", "error").ConfigureAwait(false);
                return Unavailable($"upstream '{Id}' did not list its tools ({Redacted(e.Message)}); nothing was sent");
            }
        }

        var now = _clock.GetUtcNow();
        var seen = new List<(string Name, ToolVersion Version)>();
        var before = _listing;
        foreach (var tool in tools.Select(t => t.ProtocolTool))
        {
            if (!IsToolName(tool.Name))
            {
                // A name outside MCP's characters can pass for another tool in front of a person (an invisible
                // character) or forge a line where it is shown: not offered, and said at each listing.
                await ReportAsync(null, $"offers a tool whose name is not a tool name ({JsonSerializer.Serialize(tool.Name)}): not offered", "blocked").ConfigureAwait(false);
                continue;
            }

            var version = Version(tool);
            var name = $"{Id}.{tool.Name}";
            var blockedBefore = before.Tools.TryGetValue(name, out var was) && was.Version.Hash == version.Hash && _pins.Find(name)?.Changed is not null;
            if (!_pins.See(name, version, now) && !blockedBefore)
            {
                var pin = _pins.Find(name)!;
                await ReportAsync(name, $"changed {name} since it was pinned on {pin.PinnedAt:yyyy-MM-dd}: blocked until an owner accepts it (warden upstreams accept {Id} {tool.Name})", "blocked")
                    .ConfigureAwait(false);
                _log.LogWarning("Upstream '{System}' changed its tool {Tool}: blocked until accepted", Id, name);
            }

            seen.Add((tool.Name, version));
        }

        _listing = Build(seen);
        Interlocked.Exchange(ref _listedAtTicks, now.UtcTicks);
        return null;
    }

    /// <summary>A name as MCP lets tools be named: 1 to 128 of A-Z, a-z, 0-9, '_', '-' and '.'.</summary>
    private static bool IsToolName(string name) =>
        name.Length is > 0 and <= 128 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.');

    /// <summary>What is hashed and pinned of a tool: its name, description, input schema and the server's hints.</summary>
    private static ToolVersion Version(Tool tool)
    {
        var schema = tool.InputSchema.ValueKind == JsonValueKind.Undefined ? "{}" : CanonicalJson.Text(tool.InputSchema);
        var hints = new JsonObject();
        if (tool.Annotations is { } a)
        {
            void Add(string key, bool? value)
            {
                if (value is { } v)
                {
                    hints[key] = v;
                }
            }

            Add("readOnlyHint", a.ReadOnlyHint);
            Add("destructiveHint", a.DestructiveHint);
            Add("idempotentHint", a.IdempotentHint);
            Add("openWorldHint", a.OpenWorldHint);
        }

        // The hints are hashed too: approvers are shown them, so a changed claim is reviewed as a changed description is.
        var hash = CanonicalJson.Hash(JsonSerializer.SerializeToElement(new
        {
            name = tool.Name, description = tool.Description ?? "", inputSchema = JsonDocument.Parse(schema).RootElement, hints = JsonDocument.Parse(hints.ToJsonString()).RootElement,
        }));
        return new ToolVersion(hash, tool.Description ?? "", schema, hints.ToJsonString());
    }

    /// <summary>
    /// The catalogue from a listing: each tool named ID.TOOL, governed as the policy annotates it or
    /// as destructive, irreversible and external; shown with the description that was approved.
    /// </summary>
    private Listing Build(IEnumerable<(string Name, ToolVersion Version)> listed)
    {
        var tools = new Dictionary<string, Listed>(StringComparer.Ordinal);
        foreach (var (upstreamName, version) in listed)
        {
            var name = $"{Id}.{upstreamName}";
            if (tools.ContainsKey(name))
            {
                continue; // a server listing a name twice is answered by the first
            }

            // A blocked tool is shown as approved: a changed schema's own descriptions are read by agents as much as the tool's.
            var pin = _pins.Find(name);
            var shown = pin is { Changed: not null } ? pin.Pinned : version;
            var description = shown.Description;
            var definition = _annotated.TryGetValue(name, out var annotated)
                ? annotated with { Description = annotated.Description.Length > 0 ? annotated.Description : description, Schema = annotated.Arguments is null ? shown.Schema : null }
                : ToolDefinition.Unannotated(Id, name) with
                {
                    Description = description + " (Not annotated in Warden's policy: governed as destructive, irreversible and external.)",
                    Schema = shown.Schema,
                };
            tools[name] = new Listed(definition, upstreamName, version);
        }

        return new Listing(new SystemCatalogue(Id, [.. tools.Values.Select(t => t.Definition)], []), tools);
    }

    private async Task DropAsync(McpClient client)
    {
        if (Interlocked.CompareExchange(ref _client, null, client) == client)
        {
            try
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException)
            {
                // already gone
            }
        }
    }

    /// <summary>A failure to reach the server or get its answer: reported, and counted towards the breaker.</summary>
    private async Task FailedAsync(string? tool, string what, string outcome)
    {
        if (Interlocked.Increment(ref _failures) >= _options.BreakAfter)
        {
            var until = _clock.GetUtcNow() + _options.BreakFor;
            Interlocked.Exchange(ref _brokenUntilTicks, until.UtcTicks);
            Interlocked.Exchange(ref _failures, 0);
            what += $"; {_options.BreakAfter} failures in a row, so calls are refused until {until:HH:mm:ss} UTC";
        }

        await ReportAsync(tool, what, outcome).ConfigureAwait(false);
    }

    private async Task ReportAsync(string? tool, string what, string outcome)
    {
        if (_options.Report is { } report)
        {
            try
            {
                await report(new UpstreamEvent(Id, tool, $"upstream '{Id}' {Redacted(what)}", outcome)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
            {
                _log.LogWarning(e, "An event of upstream '{System}' was not recorded: {What}", Id, what);
            }
        }
    }

    // ---- undo: there is none ----

    /// <inheritdoc />
    public SystemResult<RollbackPlan> PlanRollback(RollbackRequest request) => NotReversible(request);

    /// <inheritdoc />
    public Task<SystemResult<RollbackResult>> RollBackAsync(RollbackRequest request, ConflictResolution resolution, string actor, CancellationToken cancellationToken = default) =>
        Task.FromResult<SystemResult<RollbackResult>>(NotReversible(request));

    /// <summary>
    /// An action of this server cannot be undone: a refusal that says so. An agent's window is
    /// nothing to undo here (not_found), so that the other systems' changes in it can be.
    /// </summary>
    private SystemError NotReversible(RollbackRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ActionId is { } id)
        {
            return _pins.Action("id = $id", ("$id", id)) is null
                ? SystemError.NotFound($"there is no action '{id}'")
                : SystemError.Refused($"{id} was a call to upstream '{Id}', which Warden cannot undo: it is not reversible");
        }

        var calls = request.Agent is { } agent ? _pins.Actions(agent, request.From, request.To) : 0;
        return SystemError.NotFound(calls == 0
            ? $"upstream '{Id}' has no actions of that agent in that window"
            : $"the agent's {calls} call(s) to upstream '{Id}' in that window are not reversible, and are left as they are");
    }

    /// <inheritdoc />
    public string? AgentOf(string actionId) => _pins.Action("id = $id", ("$id", actionId))?.Agent;

    /// <inheritdoc />
    public string? ActionWithPlan(string agent, string planHash) => _pins.Action("agent = $agent AND plan_hash = $plan", ("$agent", agent), ("$plan", planHash))?.Id;

    /// <inheritdoc />
    public string? ActionSince(string agent, string tool, string planHash, DateTimeOffset since) =>
        _pins.Action("agent = $agent AND tool = $tool AND plan_hash = $plan AND at >= $since", ("$agent", agent), ("$tool", tool), ("$plan", planHash),
            ("$since", since.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture)))?.Id;

    /// <inheritdoc />
    public Task<IReadOnlyList<InterruptedSend>> StopInterruptedAsync(CancellationToken cancellationToken = default) => Task.FromResult<IReadOnlyList<InterruptedSend>>([]);

    /// <summary>Ends the session (a stdio server is stopped).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _connecting.WaitAsync().ConfigureAwait(false);
        try
        {
            if (Interlocked.Exchange(ref _client, null) is { } client)
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _connecting.Release();
        }
    }
}

/// <summary>A call to an upstream tool as planned: its facts, the tool's name on the server, and the pinned version it was planned against.</summary>
internal sealed class UpstreamPlan(ToolCall call, ToolDefinition tool, string hash, string affectedHash, long records, IReadOnlyList<string> classes, string summary,
    string upstreamName, string pin)
    : Plan(call, tool, hash, affectedHash, records, [], [], [], classes, [], [], [], 0, [], summary, null, null, null)
{
    public string UpstreamName { get; } = upstreamName;

    public string Pin { get; } = pin;
}
