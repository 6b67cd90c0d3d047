using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Warden.Core;
using Warden.Core.Audit;
using Warden.Gateway.Approvals;
using Warden.Gateway.Calls;
using Warden.Storage.Gateway;
using RequestStatus = Warden.Storage.Gateway.ApprovalStatus;

namespace Warden.Gateway.Mcp;

/// <summary>
/// What an agent sees over the Model Context Protocol: only the tools its policy can ever grant it
/// in this environment (saying which need approval), each call governed, and two tools of
/// Warden's own: the status of a held call and what the agent may do and why. The SDK routes any
/// call here whatever the list said, so every call is decided again. A client that takes URL
/// elicitations is answered a held call with one (<see cref="HeldCallElicitations"/>), every other
/// client with the pending result.
/// </summary>
internal sealed class McpSurface(
    PolicyInForce policies, GatewayOptions options, CallPipeline calls, ApprovalDesk approvals, GatewayStore store, Guards.Guards guards, AgentAccess access, Recorder recorder,
    HeldCallElicitations elicitations, string? fixedAgent = null) : IDisposable
{
    /// <summary>The surface of a gateway: its pieces, and the agent a stdio process serves (any signed-in agent over HTTP when null).</summary>
    public static McpSurface Of(Gateway gateway, string? fixedAgent = null) =>
        new(gateway.Policies, gateway.Options, gateway.Calls, gateway.Approvals, gateway.Store, gateway.Guards, gateway.Access, gateway.Recorder,
            new HeldCallElicitations(gateway.Store, gateway.Options.Clock, gateway.Options.Logging.CreateLogger<HeldCallElicitations>()), fixedAgent);

    public void Dispose() => elicitations.Dispose();

    /// <summary>The claim the HTTP authentication puts the agent's id in.</summary>
    public const string AgentClaim = "warden:agent";

    public const string ApprovalStatusTool = "warden.approval_status";
    public const string PermissionsTool = "warden.my_permissions";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public ValueTask<ListToolsResult> ListToolsAsync(RequestContext<ListToolsRequestParams> context, CancellationToken cancellationToken)
    {
        var agent = AgentOf(context.User);
        var policy = policies.Current;
        var tools = new List<Tool>();
        var here = policy.FindAgent(agent) is { } known ? access.GrantedTools(known) : new HashSet<string>();
        foreach (var grant in policy.FindAgent(agent) is { } granted ? access.Grants(granted) : [])
        {
            if (!here.Contains(grant.Tool.Name))
            {
                continue; // a system not governed here (an upstream comes with the proxy; a database not connected)
            }

            tools.Add(new Tool
            {
                Name = grant.Tool.Name,
                Description = grant.Tool.Description + (grant.BestCase == Effect.Approve
                    ? " Needs a person's approval before it runs: the call returns an approval id to check with warden.approval_status."
                    : " Some calls may need a person's approval, depending on what they touch."),
                InputSchema = Schema(grant.Tool),
                OutputSchema = OutcomeSchema.For(grant.Tool),
            });
        }

        tools.Add(new Tool
        {
            Name = ApprovalStatusTool,
            Description = "Where one of your calls held for approval stands: who approved or denied it, and its result once it ran.",
            InputSchema = JsonSerializer.SerializeToElement(new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject { ["approval_id"] = new JsonObject { ["type"] = "string", ["description"] = "The approval id a held call returned (apr-...)." } },
                ["required"] = new JsonArray("approval_id"),
                ["additionalProperties"] = false,
            }),
            OutputSchema = OutcomeSchema.ApprovalStatus,
        });
        tools.Add(new Tool
        {
            Name = PermissionsTool,
            Description = "What you may do here and why: your tools, whether they need approval and the rules behind them, your budgets, and the data you see masked.",
            InputSchema = JsonSerializer.SerializeToElement(new JsonObject { ["type"] = "object", ["properties"] = new JsonObject(), ["additionalProperties"] = false }),
            OutputSchema = OutcomeSchema.Permissions,
        });
        return ValueTask.FromResult(new ListToolsResult { Tools = tools });
    }

    public ValueTask<CallToolResult> CallToolAsync(RequestContext<CallToolRequestParams> context, CancellationToken cancellationToken)
    {
        // The SDK gives a session's capabilities only where the server can send to the client (stdio):
        // that session is told when a request it waits on is decided. Stateless HTTP has none; there
        // a 2026-07-28 request says its capabilities itself.
        var session = context.Server.ClientCapabilities is not null ? context.Server : null;
        var capabilities = context.Server.ClientCapabilities ?? context.JsonRpcRequest.Context?.ClientCapabilities;
        return CallToolAsync(context.User, context.Params, HeldCallElicitations.Supported(capabilities), session);
    }

    /// <summary>A <c>tools/call</c>, by whoever the HTTP authentication signed in: the SDK's handler and <see cref="DirectToolCall"/> both end here.</summary>
    /// <param name="user">Who the HTTP authentication signed in (none over stdio).</param>
    /// <param name="parameters">The call.</param>
    /// <param name="urlElicitation">The client takes URL elicitations: a held call is answered with one (error -32042), and its retry is answered from the request.</param>
    /// <param name="session">The session to tell when a request it waits on is decided, where the transport can carry that.</param>
    public async ValueTask<CallToolResult> CallToolAsync(ClaimsPrincipal? user, CallToolRequestParams? parameters, bool urlElicitation = false, McpServer? session = null)
    {
        var agent = AgentOf(user);
        var request = parameters ?? throw new McpProtocolException("tools/call needs params: the tool's name and its arguments", McpErrorCode.InvalidParams);
        if (string.IsNullOrWhiteSpace(request.Name))
        {
            throw new McpProtocolException("tools/call needs the name of a tool", McpErrorCode.InvalidParams);
        }

        var (arguments, instruction) = Arguments(request.Arguments);
        instruction ??= Meta(request.Meta, "instruction");
        var onBehalfOf = Meta(request.Meta, "on_behalf_of");
        if (request.Name is ApprovalStatusTool or PermissionsTool)
        {
            var policy = policies.Current;
            if (policy.FindAgent(agent) is null)
            {
                throw new McpProtocolException($"agent '{agent}' is no longer in the policy", McpErrorCode.InvalidRequest);
            }

            if (onBehalfOf is not null && policy.FindOwner(onBehalfOf) is null)
            {
                throw new McpProtocolException($"the call says it is on behalf of '{onBehalfOf}', who is not a person of the policy", McpErrorCode.InvalidParams);
            }

            var answer = request.Name == ApprovalStatusTool ? ApprovalStatus(agent, arguments) : Permissions(policy, agent, onBehalfOf);
            await RecordOwnAsync(policy, agent, request.Name, arguments, instruction, onBehalfOf).ConfigureAwait(false);
            return Result(answer, isError: false);
        }

        // A person a reload took out is acted for by no call, a retry included: the pipeline refuses it below.
        if (urlElicitation && (onBehalfOf is null || policies.Current.FindOwner(onBehalfOf) is not null)
            && elicitations.Claim(agent, request.Name, arguments, onBehalfOf) is { } decided)
        {
            return await RetriedAsync(decided, agent, arguments, instruction, onBehalfOf, session).ConfigureAwait(false);
        }

        var outcome = await calls.CallAsync(agent, request.Name, arguments, instruction, onBehalfOf).ConfigureAwait(false);
        if (outcome is { Status: CallStatus.Invalid, Code: "unknown_tool" })
        {
            // A protocol error, as for any MCP server asked for a tool it does not have (recorded first).
            throw new McpProtocolException(outcome.Message, McpErrorCode.InvalidParams);
        }

        if (urlElicitation && outcome is { Status: CallStatus.PendingApproval, ApprovalId: { } approvalId, ApprovalUrl: { } page }
            && approvals.For(agent, approvalId) is { } held)
        {
            elicitations.Remember(approvalId, agent, request.Name, arguments, onBehalfOf, held.ExpiresAt, session);
            throw HeldCallElicitations.Answer(approvalId, page, WhyHeld(outcome));
        }

        return Result(outcome, isError: outcome.Status is CallStatus.Refused or CallStatus.Invalid or CallStatus.Stopped);
    }

    /// <summary>What the user is told beside the page: what the call would do, who must agree, and by when. Only what the pending answer already tells the agent.</summary>
    private string WhyHeld(CallOutcome held) =>
        $"{held.Summary?.TrimEnd('.') ?? held.Tool}. It waits for approval by {ApprovalDesk.Describe(held.WaitingFor ?? [])}"
        + $" (rule {string.Join(", ", (held.WaitingFor ?? []).Select(w => w.Rule).Distinct())}), before {held.ExpiresAt}."
        + (options.Environment == "production" ? "" : $" Environment: {options.Environment}.");

    /// <summary>
    /// The retry of a call the client was told to wait on, its request no longer pending: the
    /// call's result as it ran when approved (never run again), the refusal with its reason and
    /// comment, or, while it runs or when a changed plan went back to the approvers, the page to
    /// wait on again. Recorded as every answer is.
    /// </summary>
    private async Task<CallToolResult> RetriedAsync(ApprovalRecord record, string agentId, JsonElement arguments, string? instruction, string? onBehalfOf, McpServer? session)
    {
        var agent = policies.Current.FindAgent(agentId) ?? throw new McpProtocolException($"agent '{agentId}' is no longer in the policy", McpErrorCode.InvalidRequest);
        var entry = new AuditEntry
        {
            Kind = AuditKinds.Call,
            Environment = options.Environment,
            Agent = agent.Id,
            UseCase = agent.UseCase,
            Tool = record.Tool,
            Arguments = arguments,
            Instruction = instruction,
            ApprovalId = record.Id,
            PlanHash = record.PlanHash,
            Effect = "approve",
        };
        var waitOn = record.Status switch
        {
            RequestStatus.Executing => record,
            RequestStatus.Void when store.Approvals.ReplacedBy(record.Id) is { } next && store.Approvals.Find(next) is { Status: RequestStatus.Pending } replacement => replacement,
            _ => null,
        };
        if (waitOn is not null && options.RequestPage(waitOn.Id) is { } page)
        {
            var note = ReferenceEquals(waitOn, record) ? "approved and running now" : $"its plan changed after approval; request {waitOn.Id} asks the approvers again";
            await recorder.RecordAsync(entry with
            {
                ApprovalId = waitOn.Id, Outcome = "pending", Detail = Join(onBehalfOf, $"the retry of held call {record.Id}: {note}; told to wait on it again"),
            }).ConfigureAwait(false);
            elicitations.Remember(waitOn.Id, agent.Id, record.Tool, arguments, onBehalfOf, waitOn.ExpiresAt, session);
            throw HeldCallElicitations.Answer(waitOn.Id, page, $"{record.Tool}: {note}. Before {GatewayStore.Time(waitOn.ExpiresAt)}.");
        }

        if (record.Status is RequestStatus.Executed or RequestStatus.Stopped && record.Outcome is { } ran && ran.StartsWith("{\"status\"", StringComparison.Ordinal))
        {
            // The outcome as it was when the call ran, masked for this agent then: the same that warden.approval_status shows.
            await recorder.RecordAsync(entry with
            {
                Outcome = "ok", Detail = Join(onBehalfOf, $"the retry of held call {record.Id}, which ran when approved: answered with its result, not run again"),
            }).ConfigureAwait(false);
            return Result(ran, isError: record.Status == RequestStatus.Stopped);
        }

        var (reason, comment) = Ended(record);
        var message = $"request {record.Id} is {record.Status.Word()}: {reason}" + (comment is null ? "" : $" ({comment})") + "; the call did not run on this retry";
        var seq = await recorder.RecordAsync(entry with
        {
            Outcome = "refused", Reason = message, Detail = Join(onBehalfOf, $"the retry of held call {record.Id}"),
        }).ConfigureAwait(false);
        var refused = CallOutcome.Refused(record.Tool, record.Status.Word(), message, null, seq) with { ApprovalId = record.Id };
        return Result(refused, isError: true);
    }

    /// <summary>Why a request ended as it did, and the comment of whoever denied it, from its stored outcome.</summary>
    private static (string Reason, string? Comment) Ended(ApprovalRecord record)
    {
        if (record.Outcome is not { } text)
        {
            return (record.Status.Word(), null);
        }

        using var outcome = JsonDocument.Parse(text);
        var root = outcome.RootElement;
        string? Text(string name) => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        return (Text("reason") ?? Text("message") ?? record.Status.Word(), Text("comment"));
    }

    private static string? Join(string? onBehalfOf, string detail) => onBehalfOf is null ? detail : $"on behalf of {onBehalfOf}; {detail}";

    /// <summary>
    /// The tool's arguments as one object, the instruction (a string argument of that name) taken
    /// out. Each value is written as it came (the SDK's element, re-escaped as the writer escapes),
    /// in one pass into one document, rather than copied through a node tree and serialised back.
    /// </summary>
    private static (JsonElement Arguments, string? Instruction) Arguments(IDictionary<string, JsonElement>? given)
    {
        string? instruction = null;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (name, value) in given ?? EmptyArguments)
            {
                if (name == "instruction" && value.ValueKind == JsonValueKind.String)
                {
                    instruction = value.GetString();
                }
                else
                {
                    json.WritePropertyName(name);
                    value.WriteTo(json);
                }
            }

            json.WriteEndObject();
        }

        return (JsonElement.Parse(buffer.WrittenSpan), instruction);
    }

    private static readonly Dictionary<string, JsonElement> EmptyArguments = [];

    /// <summary>Warden's own tools read no records, but what an agent asked and learnt belongs in the trail too.</summary>
    private async Task RecordOwnAsync(Policy policy, string agentId, string tool, JsonElement arguments, string? instruction, string? onBehalfOf)
    {
        var agent = policy.FindAgent(agentId)!;
        await recorder.RecordAsync(new AuditEntry
        {
            Kind = AuditKinds.Call,
            Environment = options.Environment,
            Agent = agent.Id,
            UseCase = agent.UseCase,
            Tool = tool,
            Arguments = arguments,
            Instruction = instruction,
            Detail = onBehalfOf is null ? null : $"on behalf of {onBehalfOf}",
            Effect = "allow",
            Reason = "Warden's own tool: every agent may ask it",
            Outcome = "ok",
        }).ConfigureAwait(false);
    }

    private string AgentOf(ClaimsPrincipal? user) =>
        user?.FindFirst(AgentClaim)?.Value ?? fixedAgent ?? throw new McpProtocolException("not signed in as an agent", McpErrorCode.InvalidRequest);

    /// <summary>A tool's schema as the agent sees it: its own arguments, and the instruction behind the call.</summary>
    private static JsonElement Schema(ToolDefinition tool)
    {
        var schema = JsonNode.Parse(tool.InputSchema() ?? """{"type":"object","properties":{}}""")!.AsObject();
        schema["properties"]!.AsObject()["instruction"] = new JsonObject
        {
            ["type"] = "string",
            ["description"] = "Why you are making this call: the instruction or request behind it. Recorded in the audit trail and shown to approvers.",
        };
        return JsonSerializer.SerializeToElement(schema);
    }

    /// <summary>A value from the request's _meta, under its plain name or Warden's prefix.</summary>
    private static string? Meta(JsonObject? meta, string key) =>
        meta is null ? null : (meta[key] ?? meta["warden/" + key]) is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private string ApprovalStatus(string agent, JsonElement arguments)
    {
        if (!arguments.TryGetProperty("approval_id", out var idValue) || idValue.ValueKind != JsonValueKind.String || idValue.GetString() is not { } id)
        {
            throw new McpProtocolException("warden.approval_status needs approval_id, the id a held call returned", McpErrorCode.InvalidParams);
        }

        var record = approvals.For(agent, id)
                     ?? throw new McpProtocolException($"you have no approval request {id}", McpErrorCode.InvalidParams);
        var votes = store.Approvals.Votes(record.Id);
        var plan = PlanView.Read(record.Plan);
        return new JsonObject
        {
            ["approval_id"] = record.Id,
            ["status"] = record.Status.Word(),
            ["tool"] = record.Tool,
            ["summary"] = plan.Summary,
            ["records"] = plan.Records,
            ["waiting_for"] = JsonSerializer.SerializeToNode(approvals.Waiting(record, votes), Json),
            ["decisions"] = new JsonArray([.. votes.Select(v => (JsonNode)new JsonObject
            {
                ["person"] = approvals.Who(v.Person), ["vote"] = v.Vote, ["comment"] = v.Comment, ["at"] = GatewayStore.Time(v.At),
            })]),
            ["expires_at"] = GatewayStore.Time(record.ExpiresAt),
            ["replaced_by"] = store.Approvals.ReplacedBy(record.Id),
            // An executed call's outcome holds its result, masked for this agent when it ran.
            ["outcome"] = record.Outcome is { } outcome ? JsonNode.Parse(outcome) : null,
        }.ToJsonString();
    }

    private string Permissions(Policy policy, string agentId, string? onBehalfOf)
    {
        var agent = policy.FindAgent(agentId)!;
        var useCase = policy.FindUseCase(agent.UseCase)!;
        var now = options.Clock.GetUtcNow();
        var usage = guards.Snapshot(policy, agent, onBehalfOf, now);
        return new JsonObject
        {
            ["agent"] = agent.Id,
            ["use_case"] = useCase.Id,
            ["tier"] = useCase.Tier.ToString().ToLowerInvariant(),
            ["environment"] = options.Environment,
            ["frozen"] = usage.IsFrozen(agent.Id),
            ["activated"] = options.Environment != "production" || store.Activations.Activation(agent.Id, options.Environment) is not null,
            ["sees"] = new JsonArray([.. agent.Sees.Select(c => (JsonNode)c)]),
            ["masked_fields"] = new JsonArray([.. access.MaskFor(agent).Fields.Order(StringComparer.Ordinal).Select(f => (JsonNode)f)]),
            ["tools"] = new JsonArray([.. policy.Grants(agent.Id, options.Environment).Select(g => (JsonNode)new JsonObject
            {
                ["tool"] = g.Tool.Name,
                ["system"] = g.Tool.System,
                ["kind"] = PolicyWords.Of(g.Tool.Kind),
                ["without_approval"] = g.BestCase == Effect.Allow ? "sometimes, as the rules below say" : "never: a person approves every call",
                ["rules"] = new JsonArray([.. g.Rules.Select(r => (JsonNode)new JsonObject
                {
                    ["rule"] = r.Id, ["effect"] = PolicyWords.Of(r.Effect), ["when"] = r.Condition, ["why"] = r.Description, ["message"] = r.Message,
                })]),
            })]),
            ["budgets"] = new JsonArray([.. policy.Budgets.Where(b => b.Covers(agent)).Select(b => (JsonNode)new JsonObject
            {
                ["budget"] = b.Id,
                ["metric"] = PolicyWords.Of(b.Metric),
                ["limit"] = b.Limit,
                // A budget per person is used by whom the call is for (_meta on_behalf_of); unknown without one.
                ["used"] = b.PerPerson && onBehalfOf is null ? null : usage.Used(b, agent.Id),
                ["window_hours"] = b.Window.TotalHours,
                ["shared_by"] = b.Agent is not null ? null : b.UseCase is not null ? $"every agent of use case {b.UseCase}" : "every agent",
                ["per_person"] = b.PerPerson ? onBehalfOf is null ? "each person agents act for has this limit" : $"what agents did on behalf of {onBehalfOf}" : null,
            })]),
        }.ToJsonString();
    }

    /// <summary>The answer twice: as text for clients that read only that, and as structured content that its tool's output schema describes.</summary>
    private static CallToolResult Result(string json, bool isError) => new()
    {
        Content = [new TextContentBlock { Text = json }],
        // Parsed into a document of its own (not pooled, so nothing to clone or dispose).
        StructuredContent = JsonElement.Parse(json),
        IsError = isError,
    };

    /// <summary>As <see cref="Result(string, bool)"/>, from the outcome's JSON as written, not read back from its text.</summary>
    private static CallToolResult Result(CallOutcome outcome, bool isError) => JsonScratch.Write(
        (outcome, isError),
        static (json, answer) => answer.outcome.WriteTo(json),
        static (json, answer) => new CallToolResult
        {
            Content = [new TextContentBlock { Text = System.Text.Encoding.UTF8.GetString(json) }],
            StructuredContent = JsonElement.Parse(json),
            IsError = answer.isError,
        });
}
