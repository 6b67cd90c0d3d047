using System.Text;
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
    private readonly UpstreamJournal _journal;
    private readonly ILogger _log;
    private readonly Dictionary<string, ToolDefinition> _annotated;
    private readonly SemaphoreSlim _connecting = new(1, 1);
    private readonly Queue<DateTimeOffset> _starts = new();
    private volatile Listing _listing;
    private McpClient? _client;
    private readonly SemaphoreSlim _relisting = new(1, 1);
    // One rollback at a time: two at once would both find an action's calls pending and both send them.
    private readonly SemaphoreSlim _rollingBack = new(1, 1);
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
        _pins = options.SharedStore is { } shared ? PinnedTools.Open(shared, options.Environment, options.Id) : PinnedTools.Open(options.PinPath);
        _journal = new UpstreamJournal(_pins.Store);
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

    /// <summary>The version of a tool (ID.TOOL) that may be called: the policy's pin where it gives one, else the one pinned when first seen or accepted since; null when never seen.</summary>
    private string? ApprovedHash(string tool) => _annotated.TryGetValue(tool, out var annotated) && annotated.Pin is { } pin ? pin : _pins.PinnedHash(tool);

    /// <summary>A tool (ID.TOOL) as listed, when the server offers it at the approved version: otherwise <paramref name="notOffered"/>, or tool_changed.</summary>
    private SystemResult<Listed> Offered(string tool, Func<SystemError> notOffered) =>
        !_listing.Tools.TryGetValue(tool, out var listed) ? notOffered()
        : ApprovedHash(tool) != listed.Version.Hash ? Changed(tool)
        : listed;

    /// <summary>The server's tool (ID.TOOL) is blocked: what it lists now differs from what was approved.</summary>
    public bool Blocked(string tool) => _listing.Tools.TryGetValue(tool, out var listed) && ApprovedHash(tool) is { } pinned && pinned != listed.Version.Hash;

    /// <summary>The pins of this server's tools.</summary>
    public PinnedTools Pins => _pins;

    // ---- plan ----

    /// <inheritdoc />
    public async ValueTask<SystemResult<Plan>> PlanAsync(ToolCall call, CancellationToken cancellationToken = default)
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

        if (ApprovedHash(call.Tool) is { } pinned && pinned != listed.Version.Hash)
        {
            return Changed(call.Tool);
        }

        // Credentials reach the server from Warden; one an agent carries would go where no policy sees it used.
        var raw = call.Arguments.GetRawText();
        var credentials = CredentialArguments.Find(call.Arguments).Concat(_secrets.Any(s => s.Length >= 8 && raw.Contains(s, StringComparison.Ordinal))
            ? ["the arguments hold a credential Warden holds for this server"] : []).ToList();
        if (credentials.Count > 0)
        {
            return new SystemError("credential_in_arguments",
                $"{call.Tool} is refused, and nothing was sent: {string.Join("; ", credentials.Take(5))}. Warden adds the credentials of upstream '{Id}' itself; an agent's own are not passed on");
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

        if (tool.Sql is not null)
        {
            return await SqlPlanAsync(call, listed, cancellationToken).ConfigureAwait(false);
        }

        if (tool.Preview is not null)
        {
            return await PreviewedPlanAsync(call, listed, records, cancellationToken).ConfigureAwait(false);
        }

        // A read's result holds the classes the policy gives its paths; a call touches those its arguments hold.
        IReadOnlyList<string> classes = [.. (tool.Kind == ActionKind.Read ? tool.ResultClasses.Values.SelectMany(c => c) : []).Concat(tool.ClassesIn(call.Arguments)).Distinct()];
        var summary = $"{call.Tool} on upstream '{Id}': Warden cannot preview what it does; governed as {Word(tool.Kind)}"
                      + (tool.Reversibility == Reversibility.Irreversible ? ", irreversible" : "") + (tool.External ? ", external" : "")
                      + (tool.Annotated ? "" : " (not annotated in the policy)") + "." + Hints(listed);
        return new UpstreamPlan(call, tool, Hash(call, listed, null), Affected(call, null), records, classes, [], [], summary, listed.UpstreamName, listed.Version.Hash);
    }

    private string Hash(ToolCall call, Listed listed, string? before) => CanonicalJson.Hash(JsonSerializer.SerializeToElement(new
    {
        system = Id,
        environment = call.Environment,
        agent = call.Agent,
        tool = call.Tool,
        arguments = call.Arguments,
        pin = listed.Version.Hash,
        before,
    }));

    private static string Affected(ToolCall call, string? before) =>
        before ?? CanonicalJson.Hash(JsonSerializer.SerializeToElement(new { tool = call.Tool, arguments = call.Arguments }));

    private static string Hints(Listed listed) => listed.Version.Hints == "{}" ? "" : $" The server describes it as {listed.Version.Hints} (its own claim, not trusted).";

    /// <summary>
    /// The plan of a call the policy gives a preview: the read's answer is the before-image, its
    /// records the affected set (and their count), its hash part of the plan's; the undo calls are
    /// built from it now, so that the plan says whether and how the call can be undone.
    /// </summary>
    private async Task<SystemResult<Plan>> PreviewedPlanAsync(ToolCall call, Listed listed, long records, CancellationToken cancellationToken)
    {
        var tool = listed.Definition;
        var preview = tool.Preview!;
        if (preview.Arguments(call.Arguments, out var problem) is not JsonObject arguments)
        {
            return SystemError.InvalidArguments($"{call.Tool} is previewed by {preview.Tool}, whose arguments cannot be built from these: {problem ?? "they are not an object"}");
        }

        var read = await ReadAsync(preview.Tool, arguments, call, cancellationToken).ConfigureAwait(false);
        if (!read.Succeeded)
        {
            return read.Error!;
        }

        // An error answer is a state too ("no such file" before a write creates it): shown, hashed, and read again before the call.
        // But not where the records are picked out of the answer: a failed search selects none, and the call would pass for touching none.
        if (read.Value!.Error is { } failed && preview.Records is not null)
        {
            return new SystemError("preview_failed",
                $"{call.Tool} is previewed by {preview.Tool}, which answered with an error ({failed}), so the records it would touch are not known; nothing was sent");
        }

        var before = read.Value!.Answer ?? ErrorState(read.Value.Error);
        var beforeHash = HashOf(before);
        var affected = preview.Affected(before);
        // The records the preview found; never fewer than the policy's own count says, which only errs towards care.
        records = tool.Records is null ? affected.Count : preview.Records is null ? records : Math.Max(records, affected.Count);

        var reader = _listing.Tools[preview.Tool].Definition;
        var (undo, undoProblem) = UndoCalls(tool, call, before, affected);
        if (undoProblem is not null)
        {
            tool = tool with { Reversibility = Reversibility.Irreversible, Undo = null };
        }

        // What approvers are shown of the records is what this agent could read of them.
        var shown = preview.Affected(ResultMask.Apply(before?.DeepClone(), HiddenPaths(reader, call.Agent)));
        var sample = shown.Take(20).Select((r, i) => new RecordChange(KeyOf(affected[i], i), Flat(r), new Dictionary<string, string?>())).ToList();
        var summary = $"{call.Tool} on upstream '{Id}' affects {records:N0} record(s), as {preview.Tool} reads them now"
                      + (affected.Count > 0 ? $" ({string.Join(", ", affected.Take(5).Select(KeyOf))}{(affected.Count > 5 ? ", ..." : "")})" : "")
                      + $"; governed as {Word(tool.Kind)}" + (tool.External ? ", external" : "")
                      + (undo is not null ? $"; Warden can undo it with {tool.Undo!.Tool} ({undo.Count} call(s) restoring what it reads now)."
                          : $"; not reversible{(undoProblem is null ? "" : $" ({undoProblem})")}.")
                      + Hints(listed);
        IReadOnlyList<string> classes = [.. reader.ResultClasses.Values.SelectMany(c => c).Concat(tool.ResultClasses.Values.SelectMany(c => c)).Concat(tool.ClassesIn(call.Arguments)).Distinct()];
        return new UpstreamPlan(call, tool, Hash(call, listed, beforeHash), Affected(call, beforeHash), records, classes, [.. sample.Select(s => s.Key)], sample, summary,
            listed.UpstreamName, listed.Version.Hash)
        {
            Preview = new Previewed(preview.Tool, arguments, before, beforeHash), Undo = undo,
        };
    }

    /// <summary>
    /// The plan of a database server's SQL tool: the statement classified by PostgreSQL (kind,
    /// tables, WHERE), its estimated rows as the call's records, and the call governed as what the
    /// statement does: a read stays a read, a change is a write or a delete, a schema or permission
    /// change a configuration change, and more than one statement or one that fits no kind the most
    /// dangerous. Warden cannot preview nor undo it through the server: any change is irreversible.
    /// </summary>
    private async Task<SystemResult<Plan>> SqlPlanAsync(ToolCall call, Listed listed, CancellationToken cancellationToken)
    {
        var tool = listed.Definition;
        if (tool.Sql!.Statement(call.Arguments, out var problem) is not { } sql)
        {
            return SystemError.InvalidArguments($"{call.Tool} takes its statement from {tool.Sql.Text}: {problem}");
        }

        if (_options.Sql is not { } classifier)
        {
            return SystemError.Refused($"{call.Tool} takes SQL, and Warden has no connection to classify it with here; nothing was sent");
        }

        var classified = await classifier.ClassifyAsync(sql, cancellationToken).ConfigureAwait(false);
        if (!classified.Succeeded)
        {
            return classified.Error!;
        }

        var (statement, rows) = classified.Value!;
        var kind = statement.Kind switch
        {
            "read" => ActionKind.Read,
            "insert" or "update" or "merge" => ActionKind.Write,
            "schema" or "permission" => ActionKind.Configure,
            _ => ActionKind.Delete, // delete, several statements, anything else: the most dangerous reading
        };
        var records = Math.Max(1, rows);
        var facts = new PlanFacts
        {
            Records = records,
            Statement = statement,
            Kind = kind,
            Reversible = kind == ActionKind.Read ? null : false,
            Deleted = statement.Kind == "delete" ? records : statement.Kind is "multiple" or "other" ? records : null,
            Changed = kind is ActionKind.Write ? records : null,
        };
        var what = statement.Kind switch
        {
            "multiple" => "more than one statement",
            "other" => "a statement of no kind Warden can tell (treated as the most dangerous)",
            _ => $"{(statement.Kind is "read" ? "a read" : $"a{(statement.Kind is "insert" or "update" ? "n" : "")} {statement.Kind.ToUpperInvariant()}")}"
                 + (statement.Tables.Count > 0 ? $" of {string.Join(", ", statement.Tables)}" : "")
                 + (statement.Kind is "update" or "delete" ? statement.Where ? " with a WHERE" : " without a WHERE (every row)" : ""),
        };
        var summary = $"{call.Tool} on upstream '{Id}': {what}, about {rows:N0} row(s) as PostgreSQL's planner estimates"
                      + (kind == ActionKind.Read ? "." : "; Warden cannot preview or undo it through the server: governed as irreversible.") + Hints(listed);
        // The columns it reads are this server's fields (ID.TABLE.COLUMN), with the classes the policy gives them;
        // each label of its answer is masked as the columns it may come from, whatever the statement calls it.
        IReadOnlyList<string> read = [.. classified.Value.Columns.Select(c => $"{Id}.{c}")];
        var outputs = classified.Value.Outputs.ToDictionary(o => o.Key, IReadOnlyList<string> (o) => [.. o.Value.Select(c => $"{Id}.{c}")], StringComparer.Ordinal);
        IReadOnlyList<string> classes = [.. (kind == ActionKind.Read ? tool.ResultClasses.Values.SelectMany(c => c) : []).Concat(tool.ClassesIn(call.Arguments))
            .Concat(read.SelectMany(_options.ClassesOf)).Distinct()];
        return new UpstreamPlan(call, tool, Hash(call, listed, null), Affected(call, null), records, classes, [], [], summary, listed.UpstreamName, listed.Version.Hash, facts, read)
        {
            OutputFields = outputs,
        };
    }

    /// <summary>The calls that would undo the call, built from the before-image; none (with why) when it has no undo or one cannot be built.</summary>
    private (IReadOnlyList<UndoCall>? Calls, string? Problem) UndoCalls(ToolDefinition tool, ToolCall call, JsonNode? before, IReadOnlyList<JsonNode?> affected)
    {
        if (tool.Undo is not { } undo)
        {
            return (null, tool.Kind == ActionKind.Read ? null : "the policy gives it no undo");
        }

        if (!_listing.Tools.ContainsKey(undo.Tool))
        {
            return (null, $"the server does not offer its undo, {undo.Tool}, now");
        }

        var calls = new List<UndoCall>();
        var units = undo.PerRecord ? affected : [before];
        for (var i = 0; i < units.Count; i++)
        {
            if (undo.Arguments(call.Arguments, before, undo.PerRecord ? units[i] : null, out var problem) is not JsonObject arguments)
            {
                return (null, $"its undo cannot be built from what {tool.Preview!.Tool} reads: {problem ?? "the arguments are not an object"}");
            }

            calls.Add(new UndoCall(undo.PerRecord ? KeyOf(units[i], i) : "all", undo.Tool, arguments, null));
        }

        return (calls, null);
    }

    /// <summary>A record's key: its id member, or its place in the preview's answer.</summary>
    private static string KeyOf(JsonNode? record, int index) =>
        record is JsonObject o && o["id"] is JsonValue id && id.GetValueKind() is JsonValueKind.String or JsonValueKind.Number ? id.ToString() : $"#{index + 1}";

    private static Dictionary<string, string?> Flat(JsonNode? record) => record is JsonObject o
        ? o.ToDictionary(p => p.Key, p => p.Value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : p.Value?.ToJsonString(), StringComparer.Ordinal)
        : new Dictionary<string, string?> { ["value"] = record?.ToJsonString() };

    private static string HashOf(JsonNode? node) => CanonicalJson.Hash(JsonSerializer.SerializeToElement(node));

    private static string Word(ActionKind kind) => kind.ToString().ToLowerInvariant();

    private SystemError Changed(string tool) => new("tool_changed",
        $"upstream '{Id}' changed {tool} (its description or arguments) since it was approved, so it is refused until an owner reviews the change: warden upstreams accept {Id} {tool[(Id.Length + 1)..]}");

    private static SystemError Unavailable(string message) => new("upstream_unavailable", message);

    /// <summary>What a read Warden makes for itself answered: the answer as JSON, or the server's error text (a state too: "no record c-1").</summary>
    private sealed record Read(JsonNode? Answer, string? Error);

    /// <summary>
    /// Calls a read tool of this server for Warden itself (a preview, the state before an undo):
    /// the tool must be offered and not blocked. An error answer is returned as such, not as a
    /// failure: after a delete, "no record" is what the record is.
    /// </summary>
    private async Task<SystemResult<Read>> ReadAsync(string tool, JsonObject arguments, ToolCall call, CancellationToken cancellationToken)
    {
        var (client, error) = await ReadyAsync(cancellationToken).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        var offered = Offered(tool, () => new SystemError("preview_failed", $"{call.Tool} is previewed by {tool}, which upstream '{Id}' does not offer now; nothing was sent"));
        if (!offered.Succeeded)
        {
            return offered.Error!;
        }

        var listed = offered.Value!;
        var sent = await SendAsync(client!, listed, arguments, call.Agent, cancellationToken).ConfigureAwait(false);
        if (!sent.Succeeded)
        {
            return sent.Error!;
        }

        var result = sent.Value!;
        return result.IsError == true
            ? new Read(null, HidesClasses(listed.Definition, call.Agent) ? ReadMask.Mask(Text(Raw(result).Node)) : Redacted(Text(Raw(result).Node)))
            : new Read(Raw(result).Node, null);
    }

    // ---- apply ----

    /// <summary>The server, ready for a call: not behind an open breaker, connected, its tools listed recently enough.</summary>
    private async Task<(McpClient? Client, SystemError? Error)> ReadyAsync(CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow();
        var brokenUntil = new DateTimeOffset(Interlocked.Read(ref _brokenUntilTicks), TimeSpan.Zero);
        if (now < brokenUntil)
        {
            return (null, Unavailable($"upstream '{Id}' failed {_options.BreakAfter} times in a row, so Warden does not try it again before {brokenUntil:HH:mm:ss} UTC; nothing was sent"));
        }

        var (client, error) = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (error is not null)
        {
            return (null, error);
        }

        if (Stale(now) && await RelistIfStaleAsync(client!, now, cancellationToken).ConfigureAwait(false) is { } relistError)
        {
            return (null, relistError);
        }

        return (client, null);
    }

    /// <summary>
    /// Sends one call within the timeout. A timeout, a server gone away and a protocol error are
    /// errors (counted towards the breaker, but for the protocol error: the server answered);
    /// the server's own error answer is a result, for the caller to read.
    /// </summary>
    private async Task<SystemResult<CallToolResult>> SendAsync(McpClient client, Listed listed, JsonObject arguments, string agent, CancellationToken cancellationToken)
    {
        var tool = listed.Definition.Name;
        var values = arguments.ToDictionary(a => a.Key, a => JsonSerializer.SerializeToElement(a.Value), StringComparer.Ordinal);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            var result = await client.CallToolAsync(new CallToolRequestParams { Name = listed.UpstreamName, Arguments = values }, timeout.Token).ConfigureAwait(false);
            Interlocked.Exchange(ref _failures, 0);
            return result;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await FailedAsync(tool, $"did not answer {tool} within {_options.Timeout.TotalSeconds:0.#} s", "timeout").ConfigureAwait(false);
            return new SystemError("upstream_timeout",
                $"upstream '{Id}' did not answer {tool} within {_options.Timeout.TotalSeconds:0.#} s; the call was abandoned, and may or may not have run there");
        }
        catch (McpProtocolException e)
        {
            // The server answered, with a protocol error (unknown tool, bad arguments): it is up.
            Interlocked.Exchange(ref _failures, 0);
            // Its message is the server's text like a result's: masked whole where the result would hold a class the agent may not see.
            return new SystemError("upstream_error", $"upstream '{Id}' refused {tool}: {(HidesClasses(listed.Definition, agent) ? ReadMask.Mask(e.Message) : Redacted(e.Message))}");
        }
        catch (Exception e) when (e is McpException or IOException or HttpRequestException or ObjectDisposedException or InvalidOperationException)
        {
            await DropAsync(client).ConfigureAwait(false);
            await FailedAsync(tool, $"went away during {tool}: {Redacted(e.Message)}", "error").ConfigureAwait(false);
            return Unavailable($"upstream '{Id}' went away during {tool} ({Redacted(e.Message)}); the call may or may not have run there. Warden starts it again on the next call");
        }
    }

    /// <inheritdoc />
    public async Task<SystemResult<AppliedAction>> ApplyAsync(Plan plan, ApplyControl? control = null, CancellationToken cancellationToken = default)
    {
        if (plan is not UpstreamPlan p || p.Tool.System != Id)
        {
            return SystemError.Refused($"that plan was not made by upstream '{Id}'");
        }

        var (client, error) = await ReadyAsync(cancellationToken).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        // The tool must still be the version planned (and approved), and still the one pinned.
        var offered = Offered(p.Call.Tool, () => SystemError.StalePlan($"upstream '{Id}' no longer offers {p.Call.Tool}"));
        if (!offered.Succeeded)
        {
            return offered.Error!;
        }

        var listed = offered.Value!;

        if (listed.Version.Hash != p.Pin)
        {
            return SystemError.StalePlan($"upstream '{Id}' offers another version of {p.Call.Tool} than the one planned; call again");
        }

        // The records are read again just before the call: what people approved must be what it changes.
        if (p.Preview is { } planned)
        {
            var again = await ReadAsync(planned.Tool, planned.Arguments, p.Call, cancellationToken).ConfigureAwait(false);
            if (!again.Succeeded)
            {
                return again.Error!;
            }

            if (HashOf(again.Value!.Answer ?? ErrorState(again.Value.Error)) != planned.Hash)
            {
                return SystemError.StalePlan($"{planned.Tool} reads the records of {p.Call.Tool} differently than when it was planned: they changed since, so nothing was sent; call again");
            }
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
            var undo = p.Undo is { } calls && p.Preview is { } previewed
                ? new Undo(actionId, p.Call.Agent, p.Call.Tool, _clock.GetUtcNow(), previewed.Tool, previewed.Arguments, p.Tool.Preview?.Records, previewed.Before, null, false, calls, null, null)
                : null;
            _journal.Journal(actionId, p.Call.Agent, p.Call.Tool, p.Hash, _clock.GetUtcNow(), undo);
        }

        var arguments = JsonNode.Parse(p.Call.Arguments.GetRawText())!.AsObject();
        var sent = await SendAsync(client!, listed, arguments, p.Call.Agent, cancellationToken).ConfigureAwait(false);
        if (!sent.Succeeded)
        {
            return sent.Error!;
        }

        var result = sent.Value!;
        var output = Output(result, p.Tool, p.Call.Agent);
        if (Encoding.UTF8.GetByteCount(output.ToJsonString()) is var size && size > _options.MaxResultBytes)
        {
            // Too large for an agent to read, or a trail to hold: a read is refused; a write ran, and says so without its answer.
            var tooLarge = $"upstream '{Id}' answered {p.Call.Tool} with {size:N0} bytes; the most Warden passes on is {_options.MaxResultBytes:N0}";
            if (p.Tool.Kind == ActionKind.Read)
            {
                return new SystemError("upstream_result_too_large", tooLarge + ": narrow the call (a filter, fewer records)");
            }

            output = new JsonObject { ["withheld"] = tooLarge + "; the call ran" };
        }

        var (screened, notes) = Screen(output, p.Call.Tool);
        if (result.IsError == true)
        {
            // A database's error quotes the values it failed on: for a statement reading classed
            // columns, only an agent that sees those classes reads its text.
            IReadOnlyList<string> quotes = p.OutputFields is null ? [] : [.. p.FieldsRead.SelectMany(_options.ClassesOf).Distinct()];
            return new SystemError("upstream_error", $"upstream '{Id}' answered {p.Call.Tool} with an error: {Text(screened)}"
                                                     + (notes.Count > 0 ? $" ({notes[0]})" : ""))
            {
                Quotes = quotes,
                Withheld = $"upstream '{Id}' answered {p.Call.Tool} with an error; its text is withheld, as the statement reads columns of classes this agent may not see ({string.Join(", ", quotes)})",
            };
        }

        // What the call left, read at once: an undo later refuses to overwrite a record changed since.
        if (p.Undo is not null && p.Preview is { } read)
        {
            var after = await ReadAsync(read.Tool, read.Arguments, p.Call, cancellationToken).ConfigureAwait(false);
            _journal.After(actionId, after.Value is { } state ? state.Answer ?? ErrorState(state.Error) : null, after.Succeeded);
        }

        return new AppliedAction(actionId, p.Call.Tool, p.Records, false, JsonSerializer.SerializeToElement(screened))
        {
            Done = p.Records, Notes = notes, OutputFields = p.OutputFields,
        };
    }

    /// <summary>
    /// The result as the agent may read it: text in it that tries to instruct the agent (a CRM note
    /// saying "ignore your instructions", a hidden line naming a tool) is noted for the trail, and
    /// withheld where the policy says.
    /// </summary>
    private (JsonNode Output, IReadOnlyList<string> Notes) Screen(JsonNode output, string tool)
    {
        var found = InjectedInstructions.Find(output, _toolNames);
        if (found.Count == 0)
        {
            return (output, []);
        }

        var where = string.Join("; ", found.Take(5).Select(f => $"{f.Path}: {f.Reason} (\"{f.Excerpt}\")")) + (found.Count > 5 ? $"; and {found.Count - 5} more" : "");
        var note = $"the result of {tool} has text that tries to instruct the agent, {(_options.WithholdInstructions ? "withheld from it" : "passed on and flagged")}: {where}";
        _log.LogWarning("Upstream '{System}': {Note}", Id, note);
        return (_options.WithholdInstructions ? InjectedInstructions.Withhold(output, found) ?? new JsonObject() : output, [note]);
    }

    /// <summary>The names an instruction hidden in a result would use for this server's tools: ID.TOOL and TOOL.</summary>
    private IReadOnlyCollection<string> _toolNames => [.. _listing.Tools.Keys, .. _listing.Tools.Values.Select(t => t.UpstreamName)];

    /// <summary>A read's error answer as a state of the records ("no record c-1" after a delete).</summary>
    private static JsonObject? ErrorState(string? error) => error is null ? null : new JsonObject { ["error"] = error };

    /// <summary>
    /// The result as the agent reads it: the server's structured content, or its text parsed as
    /// JSON, or {"text": ...}; with the values at the paths of classes the agent may not see masked.
    /// A result that cannot be read as JSON while the tool's result has hidden classes is masked whole.
    /// </summary>
    private JsonNode Output(CallToolResult result, ToolDefinition tool, string agent)
    {
        var (output, json) = Raw(result);
        var hidden = HiddenPaths(tool, agent);
        if (hidden.Count == 0)
        {
            return output;
        }

        return (json ? ResultMask.Apply(output, hidden) : ResultMask.Apply(output, ["$.text"])) ?? new JsonObject();
    }

    /// <summary>The result as JSON, unmasked: its structured content, its one text read as JSON, or {"text": ...} (Json false).</summary>
    private static (JsonNode Node, bool Json) Raw(CallToolResult result)
    {
        if (result.StructuredContent is { } structured)
        {
            return (JsonSerializer.SerializeToNode(structured) ?? new JsonObject(), true);
        }

        var texts = result.Content.OfType<TextContentBlock>().Select(t => t.Text).ToList();
        if (texts.Count == 1 && result.Content.Count == 1)
        {
            try
            {
                if (JsonNode.Parse(texts[0]) is { } parsed && parsed is JsonObject or JsonArray)
                {
                    return (parsed, true);
                }
            }
            catch (JsonException)
            {
                // text, not JSON
            }
        }

        var output = new JsonObject { ["text"] = string.Join("\n", texts) };
        var other = result.Content.Where(c => c is not TextContentBlock).Select(c => c.Type).ToList();
        if (other.Count > 0)
        {
            output["other_content"] = new JsonArray([.. other.Select(t => JsonValue.Create(t))]);
        }

        return (output, false);
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
                Handlers = new McpClientHandlers
                {
                    // A server that says its tools changed is listed again at once: a changed tool is blocked (and reported) before any call to it.
                    NotificationHandlers = [new(NotificationMethods.ToolListChangedNotification, (_, _) =>
                    {
                        Interlocked.Exchange(ref _listedAtTicks, 0);
                        _ = RelistInBackground();
                        return ValueTask.CompletedTask;
                    })],
                },
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

    private async Task RelistInBackground()
    {
        try
        {
            if (_client is { Completion.IsCompleted: false } client)
            {
                await RelistIfStaleAsync(client, _clock.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // closing
        }
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
            var seenSame = _pins.See(name, version, now);
            if (_annotated.TryGetValue(name, out var annotated) && annotated.Pin is { } policyPin)
            {
                // The policy pins it: no owner's accept can approve another version, only a change to the policy.
                if (policyPin != version.Hash && !(was is not null && was.Version.Hash == version.Hash))
                {
                    await ReportAsync(name, $"offers {name} at {version.Hash}, not the version the policy pins ({policyPin}): blocked until the policy's pin is changed", "blocked")
                        .ConfigureAwait(false);
                }
            }
            else if (!seenSame && !blockedBefore)
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
            if (_annotated.TryGetValue(name, out var pinned) && pinned.Pin is { } policyPin && version.Hash != policyPin)
            {
                if (pin?.Pinned.Hash != policyPin)
                {
                    continue; // the version the policy approved was never seen here: nothing approved to show
                }

                shown = pin.Pinned;
            }

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

    // ---- undo: the policy's undo calls, where it gives them ----

    /// <inheritdoc />
    public async ValueTask<SystemResult<RollbackPlan>> PlanRollbackAsync(RollbackRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var found = await CheckAsync(request, cancellationToken).ConfigureAwait(false);
        if (!found.Succeeded)
        {
            return found.Error!;
        }

        var (undos, conflicts, irreversible) = found.Value!;
        var pending = undos.Sum(u => u.Calls.Count(c => c.DoneAt is null));
        var restorable = pending - conflicts.Count;
        var summary = $"{restorable:N0} undo call(s) to upstream '{Id}' ({string.Join(", ", undos.Select(u => u.ActionId))})"
                      + (conflicts.Count > 0 ? $"; {conflicts.Count:N0} record(s) changed there since, left as they are unless forced" : "")
                      + (irreversible.Count > 0 ? $"; {irreversible.Count:N0} call(s) cannot be undone ({string.Join(", ", irreversible)})" : "");
        return new RollbackPlan(request, [.. undos.Select(u => u.ActionId)], restorable, conflicts, irreversible, summary);
    }

    /// <summary>The undos a request names, each action's records read again now and compared with what the call left.</summary>
    private sealed record Checked(IReadOnlyList<Undo> Undos, IReadOnlyList<RollbackConflict> Conflicts, IReadOnlyList<string> Irreversible);

    private async Task<SystemResult<Checked>> CheckAsync(RollbackRequest request, CancellationToken cancellationToken)
    {
        List<Undo> undos;
        var irreversible = new List<string>();
        if (request.ActionId is { } id)
        {
            if (_journal.Action("id = @id", ("@id", id)) is null)
            {
                return SystemError.NotFound($"there is no action '{id}'");
            }

            if (_journal.UndoOf(id) is not { } undo)
            {
                return SystemError.Refused($"{id} was a call to upstream '{Id}' that the policy gives no undo, so Warden cannot undo it: it is not reversible");
            }

            if (undo.UndoneAt is { } at)
            {
                return SystemError.Refused($"{id} was rolled back already, on {at:yyyy-MM-dd HH:mm} UTC by {undo.UndoneBy}");
            }

            undos = [undo];
        }
        else
        {
            var writes = request.Agent is { } agent ? _journal.Writes(agent, request.From, request.To) : [];
            undos = [.. writes.Where(w => w.Undo is { UndoneAt: null }).Select(w => w.Undo!)];
            irreversible.AddRange(writes.Where(w => w.Undo is null).Select(w => w.Id));
            if (undos.Count == 0)
            {
                // Nothing to undo here (not_found), so that the other systems' changes in the window can be.
                return SystemError.NotFound(irreversible.Count == 0
                    ? $"upstream '{Id}' has no actions of that agent in that window"
                    : $"the agent's {irreversible.Count} call(s) to upstream '{Id}' in that window are not reversible, and are left as they are");
            }
        }

        var conflicts = new List<RollbackConflict>();
        foreach (var undo in undos)
        {
            var now = await ConflictsNowAsync(undo, cancellationToken).ConfigureAwait(false);
            if (!now.Succeeded)
            {
                return new SystemError(now.Error!.Code, $"the records of {undo.ActionId} cannot be read now, so nothing was undone: {now.Error.Message}");
            }

            conflicts.AddRange(now.Value!);
        }

        return new Checked(undos, conflicts, irreversible);
    }

    /// <summary>An action's records read now, and those an undo would overwrite although they changed since the call.</summary>
    private async Task<SystemResult<IReadOnlyList<RollbackConflict>>> ConflictsNowAsync(Undo undo, CancellationToken cancellationToken)
    {
        var now = await ReadAsync(undo.PreviewTool, undo.PreviewArguments, new ToolCall(undo.Tool, default, undo.Agent, _options.Environment), cancellationToken)
            .ConfigureAwait(false);
        return now.Succeeded ? new SystemResult<IReadOnlyList<RollbackConflict>>([.. Conflicts(undo, now.Value!.Answer ?? ErrorState(now.Value.Error))], null) : now.Error!;
    }

    /// <summary>
    /// The records an undo would overwrite although they changed since the call: each compared, by
    /// its key, between what the preview read just after the call and what it reads now. A call
    /// whose after-image could not be read conflicts whole: a later change could not be told apart.
    /// </summary>
    private IEnumerable<RollbackConflict> Conflicts(Undo undo, JsonNode? now)
    {
        var pending = undo.Calls.Where(c => c.DoneAt is null).ToList();
        if (!undo.AfterRead)
        {
            return pending.Select(c => new RollbackConflict(undo.ActionId, Id, c.Key, "what the call left could not be read after it ran, so a later change cannot be told apart"));
        }

        if (pending.All(c => c.Key == "all"))
        {
            return HashOf(now) == HashOf(undo.After) ? [] : pending.Select(c => new RollbackConflict(undo.ActionId, Id, c.Key, $"changed in upstream '{Id}' since the call"));
        }

        Dictionary<string, string> Keyed(JsonNode? answer)
        {
            var records = ToolPreview.Affected(answer, undo.RecordsPath);
            // Records that share a key (a contact and a company both "c-1") are compared together: a change to any is a change to the key.
            return records.Select((r, i) => (Key: KeyOf(r, i), Record: r)).GroupBy(r => r.Key)
                .ToDictionary(g => g.Key, g => HashOf(new JsonArray([.. g.Select(r => r.Record?.DeepClone())])), StringComparer.Ordinal);
        }

        var then = Keyed(undo.After);
        var current = Keyed(now);
        return pending.Where(c => then.GetValueOrDefault(c.Key) != current.GetValueOrDefault(c.Key))
            .Select(c => new RollbackConflict(undo.ActionId, Id, c.Key, current.ContainsKey(c.Key) ? $"changed in upstream '{Id}' since the call" : $"no longer in upstream '{Id}'"));
    }

    /// <inheritdoc />
    public async Task<SystemResult<RollbackResult>> RollBackAsync(RollbackRequest request, ConflictResolution resolution, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await _rollingBack.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await RollBackOnceAsync(request, resolution, actor, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _rollingBack.Release();
        }
    }

    private async Task<SystemResult<RollbackResult>> RollBackOnceAsync(RollbackRequest request, ConflictResolution resolution, string actor, CancellationToken cancellationToken)
    {
        var found = await CheckAsync(request, cancellationToken).ConfigureAwait(false);
        if (!found.Succeeded)
        {
            return found.Error!;
        }

        var (undos, conflicts, _) = found.Value!;
        var (client, error) = await ReadyAsync(cancellationToken).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        var undone = new List<string>();
        var skipped = new List<RollbackConflict>();
        var overwritten = new List<RollbackConflict>();
        var restored = 0L;
        // Newest first, as the calls were made in reverse: a record the agent changed twice ends as it was before the first.
        // Each action after the first is read again just before its undo: the later ones' undos changed what it is compared with.
        for (var u = undos.Count - 1; u >= 0; u--)
        {
            var undo = undos[u];
            if (u < undos.Count - 1)
            {
                var now = await ConflictsNowAsync(undo, cancellationToken).ConfigureAwait(false);
                if (!now.Succeeded)
                {
                    return new SystemError(now.Error!.Code, $"{string.Join(", ", undone.DefaultIfEmpty("nothing"))} undone; the records of {undo.ActionId} cannot be read now, "
                                                           + $"so it was not: {now.Error.Message}. Run the rollback again to finish");
                }

                conflicts = [.. conflicts.Where(c => c.ActionId != undo.ActionId), .. now.Value!];
            }

            var calls = undo.Calls.ToList();
            for (var i = 0; i < calls.Count; i++)
            {
                if (calls[i].DoneAt is not null)
                {
                    continue;
                }

                if (conflicts.FirstOrDefault(c => c.ActionId == undo.ActionId && c.Key == calls[i].Key) is { } conflict)
                {
                    if (resolution == ConflictResolution.Skip)
                    {
                        skipped.Add(conflict);
                        continue;
                    }

                    overwritten.Add(conflict);
                }

                var failure = await UndoCallAsync(client!, undo, calls[i], cancellationToken).ConfigureAwait(false);
                if (failure is not null)
                {
                    _journal.Progress(undo.ActionId, calls, actor, _clock.GetUtcNow());
                    var done = calls.Count(c => c.DoneAt is not null);
                    return new SystemError(failure.Code, $"{done} of {calls.Count} undo call(s) of {undo.ActionId} ran; {calls[i].Tool} for {calls[i].Key} failed: {failure.Message}. "
                                                         + "Run the rollback again to finish: what ran is not repeated");
                }

                calls[i] = calls[i] with { DoneAt = _clock.GetUtcNow() };
                restored++;
                _journal.Progress(undo.ActionId, calls, actor, _clock.GetUtcNow());
            }

            if (calls.All(c => c.DoneAt is not null))
            {
                undone.Add(undo.ActionId);
            }
        }

        // The rollback's own id names it in the trail; a rollback of a proxied write is not itself undone.
        var rollbackId = "act-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
        return new RollbackResult(rollbackId, undone, restored, skipped, overwritten);
    }

    /// <summary>Sends one undo call: the tool must be offered and as pinned, and its answer not an error.</summary>
    private async Task<SystemError?> UndoCallAsync(McpClient client, Undo undo, UndoCall call, CancellationToken cancellationToken)
    {
        var offered = Offered(call.Tool, () => SystemError.Refused($"upstream '{Id}' does not offer {call.Tool} now"));
        if (!offered.Succeeded)
        {
            return offered.Error;
        }

        var sent = await SendAsync(client, offered.Value!, call.Arguments, undo.Agent, cancellationToken).ConfigureAwait(false);
        if (!sent.Succeeded)
        {
            return sent.Error;
        }

        return sent.Value!.IsError == true ? new SystemError("upstream_error", $"upstream '{Id}' answered with an error: {Redacted(Text(Raw(sent.Value).Node))}") : null;
    }

    /// <inheritdoc />
    public string? AgentOf(string actionId) => _journal.Action("id = @id", ("@id", actionId))?.Agent;

    /// <inheritdoc />
    public string? ActionWithPlan(string agent, string planHash) => _journal.Action("agent = @agent AND plan_hash = @plan", ("@agent", agent), ("@plan", planHash))?.Id;

    /// <inheritdoc />
    public string? ActionSince(string agent, string tool, string planHash, DateTimeOffset since) =>
        _journal.Action("agent = $agent AND tool = $tool AND plan_hash = $plan AND at >= $since", ("$agent", agent), ("$tool", tool), ("$plan", planHash),
            ("$since", since.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture)))?.Id;

    /// <inheritdoc />
    public Task<IReadOnlyList<InterruptedSend>> StopInterruptedAsync(DateTimeOffset? begunBefore = null, CancellationToken cancellationToken = default) => Task.FromResult<IReadOnlyList<InterruptedSend>>([]);

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

            if (_options.Sql is { } sql)
            {
                await sql.DisposeAsync().ConfigureAwait(false);
            }

            _pins.Dispose();
        }
        finally
        {
            _connecting.Release();
        }
    }
}

/// <summary>What a preview read answered when the call was planned: the read, its arguments, its answer, and the answer's hash.</summary>
internal sealed record Previewed(string Tool, JsonObject Arguments, JsonNode? Before, string Hash);

/// <summary>A call to an upstream tool as planned: its facts, the tool's name on the server, the pinned version it was planned against, and its preview and undo when the policy gives them.</summary>
internal sealed class UpstreamPlan : Plan
{
    public UpstreamPlan(ToolCall call, ToolDefinition tool, string hash, string affectedHash, long records, IReadOnlyList<string> classes,
        IReadOnlyList<string> sampleKeys, IReadOnlyList<RecordChange> sample, string summary, string upstreamName, string pin, PlanFacts? found = null,
        IReadOnlyList<string>? fieldsRead = null)
        : base(call, tool, hash, affectedHash, records, sampleKeys, fieldsRead ?? [], [], classes, [], sample, [], 0, [], summary, null, null, null)
    {
        UpstreamName = upstreamName;
        Pin = pin;
        if (found is not null)
        {
            // What the plan found (a SQL statement's kind and reach) joins the call's own facts, only ever towards danger.
            Facts = Facts with
            {
                Statement = found.Statement, Kind = found.Kind, Deleted = found.Deleted, Changed = found.Changed,
                Reversible = found.Reversible == false ? false : Facts.Reversible,
            };
        }
    }

    public string UpstreamName { get; }

    public string Pin { get; }

    /// <summary>The preview read, as answered at planning; null when the policy gives none.</summary>
    public Previewed? Preview { get; init; }

    /// <summary>The calls that undo it, built from the before-image; null when it cannot be undone.</summary>
    public IReadOnlyList<UndoCall>? Undo { get; init; }

    /// <summary>A SQL tool's: each label of the answer with the fields (ID.TABLE.COLUMN) its values may come from; null for other tools.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? OutputFields { get; init; }
}
