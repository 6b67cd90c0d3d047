using System.Buffers;
using System.Collections;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Warden.Gateway.Mcp;

/// <summary>
/// Answers a plain <c>tools/call</c> POST to /mcp without the MCP SDK's per-request server and
/// session (stateless Streamable HTTP builds both for every POST: the largest share of a governed
/// call's CPU that is not governance). It takes only what SDK 2.4.0 answers in one known way, and
/// answers with the SDK's own types and serialiser, as an SSE event, as the SDK does: on the
/// handshake versions (or none named), and on 2026-07-28 with its per-request metadata and
/// Mcp-Method / Mcp-Name headers all as the SDK requires them. Everything else (other methods,
/// notifications, batches, session ids, other versions, MRTR retries, a body or metadata the SDK
/// would refuse or read in a way of its own) is left to the SDK, untouched. Pinned by the
/// differential tests in <c>DirectToolCallTests</c>, which send the same bytes with this on and off.
/// </summary>
internal sealed class DirectToolCall(McpSurface surface, Implementation serverInfo)
{
    private long _taken;

    /// <summary>How many calls were answered here (the tests' proof that the path is taken at all).</summary>
    public long Taken => Interlocked.Read(ref _taken);

    /// <summary>
    /// The versions of the initialize handshake: with one of them (or none) in the version header,
    /// SDK 2.4.0 checks no Mcp-Method or Mcp-Name header, and reads no per-request metadata unless
    /// the request carries some (which is left to it).
    /// </summary>
    private static readonly string[] HandshakeVersions = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

    /// <summary>The revision without a handshake, the only one SDK 2.4.0 knows: metadata in every request's <c>_meta</c>.</summary>
    private const string PerRequestVersion = "2026-07-28";

    private const string Reserved = "io.modelcontextprotocol/";
    private const string MetaVersion = Reserved + "protocolVersion";
    private const string MetaCapabilities = Reserved + "clientCapabilities";
    private const string MetaClient = Reserved + "clientInfo";

    // The SDK reads messages with ProtocolOptions (case-sensitive names) and writes them with a
    // Utf8JsonWriter of default options; these are the same contracts.
    private static readonly JsonSerializerOptions Protocol = McpJsonUtilities.ProtocolOptions;
    private static readonly JsonTypeInfo<JsonRpcMessage> MessageType = Protocol.GetTypeInfo<JsonRpcMessage>();
    private static readonly JsonTypeInfo<CallToolRequestParams> ParamsType = Protocol.GetTypeInfo<CallToolRequestParams>();
    private static readonly JsonTypeInfo<CallToolResult> ResultType = Protocol.GetTypeInfo<CallToolResult>();
    private static readonly JsonTypeInfo<RequestId> IdType = Protocol.GetTypeInfo<RequestId>();

    /// <summary>
    /// How the SDK writes a result into its node tree: escaped by the default encoder (as the node
    /// is written again in the end) and no deeper than its serialiser's limit (64 when unset).
    /// </summary>
    private static readonly JsonWriterOptions ResultWriting = new() { MaxDepth = Protocol.MaxDepth == 0 ? 64 : Protocol.MaxDepth };
    private static readonly JsonTypeInfo<UrlElicitationRequiredErrorData> ElicitationsType = Protocol.GetTypeInfo<UrlElicitationRequiredErrorData>();

    /// <summary>The characters RFC 9110 allows in a header value, as the SDK checks Mcp-Name.</summary>
    private static readonly SearchValues<char> HeaderValueChars = SearchValues.Create(
        "\t !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    /// <summary>
    /// Whether the SDK's server is set up as this path assumes: Warden's handler alone behind
    /// tools/call (no tool collection, no filter of anyone's but the SDK's own guard for a tool
    /// collection's authorization metadata, no message filter, every protocol version). A filter
    /// added later would be skipped for the calls answered here, so the host refuses to start then.
    /// </summary>
#pragma warning disable MCPEXP002 // experimental members of the options, read only to find them unused
    public static bool Fits(McpServerOptions options) =>
        options.ProtocolVersion is null
        && options.ToolCollection is null or { Count: 0 }
        && options.RequestHandlers is null or { Count: 0 }
        && options.Handlers.CallToolWithAlternateHandler is null
        && options.Filters.Message.IncomingFilters.Count == 0
        && options.Filters.Message.OutgoingFilters.Count == 0
        && options.Filters.Request.CallToolFilters.Count == 0
        && options.Filters.Request.CallToolWithAlternateFilters.Count <= 1;
#pragma warning restore MCPEXP002

    /// <summary>Answers the request and says true, or says false and leaves it, untouched, to the SDK.</summary>
    /// <param name="context">The request, authenticated as an agent, its body the screened message in memory.</param>
    public async Task<bool> TryAnswerAsync(HttpContext context)
    {
        if (await TakeAsync(context).ConfigureAwait(false) is not var (request, parameters, perRequest, urlElicitation))
        {
            return false;
        }

        Interlocked.Increment(ref _taken);

        Reply answer;
        try
        {
            answer = Answer(request, await surface.CallToolAsync(context.User, parameters, urlElicitation).ConfigureAwait(false), perRequest);
        }
        catch (UrlElicitationRequiredException e)
        {
            // A held call for a client that takes URL elicitations, as the SDK writes it: the elicitations in the error's data.
            answer = new JsonRpcError
            {
                Id = request.Id,
                JsonRpc = "2.0",
                Error = new JsonRpcErrorDetail
                {
                    Code = (int)e.ErrorCode, Message = e.Message,
                    Data = JsonSerializer.SerializeToNode(new UrlElicitationRequiredErrorData { Elicitations = [.. e.Elicitations] }, ElicitationsType),
                },
            };
        }
        catch (McpProtocolException e)
        {
            answer = new JsonRpcError
            {
                Id = request.Id,
                JsonRpc = "2.0",
                Error = new JsonRpcErrorDetail { Code = (int)e.ErrorCode, Message = e.Message, Data = ErrorData(e.Data) },
            };
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            // What the SDK makes of a tool handler's exception that is not a protocol error; logged,
            // as the SDK logs it, where the host's logging goes.
            context.RequestServices.GetService<ILoggerFactory>()?.CreateLogger<DirectToolCall>()
                .LogWarning(e, "tools/call of '{Tool}' failed; the agent is told an error occurred", parameters.Name);
            answer = Answer(request, new CallToolResult
            {
                IsError = true,
                Content = [new TextContentBlock
                {
                    Text = e is McpException ? $"An error occurred invoking '{parameters.Name}': {e.Message}" : $"An error occurred invoking '{parameters.Name}'.",
                }],
            }, perRequest);
        }

        await WriteEventAsync(context, answer, perRequest).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// The result as the SDK sends it: on the handshake versions as it is; on 2026-07-28 marked
    /// complete and signed with the server's identity in <c>_meta</c>.
    /// </summary>
    private Reply Answer(JsonRpcRequest request, CallToolResult result, bool perRequest)
    {
        if (!perRequest)
        {
            // Written from the result, not through a node tree as the SDK does, but with the same
            // depth limit (a result the SDK cannot serialise fails here, inside the caller's error
            // handling, as there), and before anything of the answer is sent.
            var written = new ArrayBufferWriter<byte>(2048);
            using (var json = new Utf8JsonWriter(written, ResultWriting))
            {
                JsonSerializer.Serialize(json, result, ResultType);
            }

            return new Reply(request.Id, written.WrittenMemory);
        }

        result.ResultType ??= "complete";
        var node = JsonSerializer.SerializeToNode(result, ResultType);
        if (node is JsonObject fields)
        {
            if (fields["_meta"] is not JsonObject meta)
            {
                fields["_meta"] = meta = new JsonObject();
            }

            meta[Reserved + "serverInfo"] = JsonSerializer.SerializeToNode(serverInfo, Protocol.GetTypeInfo<Implementation>());
        }

        return new JsonRpcResponse { Id = request.Id, Result = node };
    }

    /// <summary>
    /// What is sent back: a message as the SDK's types hold it, or a plain call's result with the
    /// id it answers, written as the SDK writes a <see cref="JsonRpcResponse"/> of it.
    /// </summary>
    private readonly struct Reply
    {
        private readonly JsonRpcMessage? _message;
        private readonly RequestId _id;
        private readonly ReadOnlyMemory<byte> _result;

        public Reply(RequestId id, ReadOnlyMemory<byte> result) => (_id, _result) = (id, result);

        private Reply(JsonRpcMessage message) => _message = message;

        public static implicit operator Reply(JsonRpcMessage message) => new(message);

        /// <summary>The JSON-RPC error code, if this is an error.</summary>
        public int? ErrorCode => _message is JsonRpcError { Error.Code: var code } ? code : null;

        public void WriteTo(Utf8JsonWriter json)
        {
            if (_message is not null)
            {
                JsonSerializer.Serialize(json, _message, MessageType);
                return;
            }

            // The order SDK 2.4.0's converter writes a response in; the differential tests hold it to that.
            json.WriteStartObject();
            json.WritePropertyName("result"u8);
            json.WriteRawValue(_result.Span, skipInputValidation: true);
            json.WritePropertyName("id"u8);
            JsonSerializer.Serialize(json, _id, IdType);
            json.WriteString("jsonrpc"u8, "2.0");
            json.WriteEndObject();
        }
    }

    /// <summary>
    /// Whether SDK 2.4.0, stateless, would take this POST past every check of its own and hand a
    /// <c>tools/call</c> with these parameters to Warden's handler, doing nothing else with it.
    /// </summary>
    /// <remarks>
    /// The fourth value says the request declared URL elicitation among its capabilities (only a
    /// 2026-07-28 request says them: on the handshake versions a stateless server never knows).
    /// </remarks>
    private static async Task<(JsonRpcRequest Request, CallToolRequestParams Parameters, bool PerRequest, bool UrlElicitation)?> TakeAsync(HttpContext context)
    {
        // Routing chose MapMcp's POST endpoint: the path, the method and the content type (a 415
        // for another) are settled as for the SDK.
        if (context.GetEndpoint() is not RouteEndpoint { DisplayName: { } name } endpoint
            || !name.StartsWith("MCP Streamable HTTP", StringComparison.Ordinal)
            || endpoint.Metadata.GetMetadata<IHttpMethodMetadata>() is not { } methods
            || !methods.HttpMethods.Contains(HttpMethods.Post))
        {
            return null;
        }

        var http = context.Request;
        var headers = http.Headers;

        // A session id is refused by the stateless SDK on the handshake versions (400) and ignored on
        // 2026-07-28; either is the SDK's. Any other version is refused by it, or unknown to it.
        if (headers.ContainsKey("Mcp-Session-Id"))
        {
            return null;
        }

        var version = headers["MCP-Protocol-Version"].ToString();
        var perRequest = version == PerRequestVersion;
        if (version.Length != 0 && !perRequest && Array.IndexOf(HandshakeVersions, version) < 0)
        {
            return null;
        }

        // The SDK's own test (else 406).
        var accept = http.GetTypedHeaders().Accept;
        if (!accept.Any(a => a.MatchesMediaType("application/json")) || !accept.Any(a => a.MatchesMediaType("text/event-stream")))
        {
            return null;
        }

        // The SDK reads the body with ReadFromJsonAsync, which refuses a content type that is not
        // JSON (an exception) and transcodes another charset.
        if (!http.HasJsonContentType() || !MediaTypeHeaderValue.TryParse(http.ContentType, out var type)
            || (type.Charset.HasValue && !type.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

        // Read as the SDK reads it, by the same call: its reader is not told that the buffer holds
        // the whole body, and so refuses, for one, any member it does not know (it cannot skip a
        // value without the final block). Left to the SDK, the body is laid anew for it: the pipe
        // this read went through has buffered and consumed part of it.
        if (http.Body is not MemoryStream body || !body.TryGetBuffer(out var bytes))
        {
            return null;
        }

        JsonRpcMessage? parsed;
        try
        {
            parsed = await http.ReadFromJsonAsync(MessageType, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception)
        {
            parsed = null; // the SDK says why, in its words
        }

        if (parsed is not JsonRpcRequest { Method: "tools/call", Params: JsonObject given } call
            || (perRequest ? !PerRequestEnvelope(headers, given) : HasReservedMeta(given))
            || Parameters(given) is not { } parameters)
        {
            http.Body = new MemoryStream(bytes.Array!, bytes.Offset, bytes.Count, writable: false, publiclyVisible: true);
            return null;
        }

        return (call, parameters, perRequest, perRequest && UrlElicitation(given));
    }

    /// <summary>The request's own capabilities (checked readable by <see cref="PerRequestEnvelope"/>) take URL elicitations.</summary>
    private static bool UrlElicitation(JsonObject given) =>
        given["_meta"]?[MetaCapabilities] is JsonObject capabilities
        && HeldCallElicitations.Supported(capabilities.Deserialize(Protocol.GetTypeInfo<ClientCapabilities>()));

    /// <summary>
    /// Without a 2026-07-28 version header the SDK still reads the reserved metadata if a request
    /// carries it (and may switch to that revision): the SDK's.
    /// </summary>
    private static bool HasReservedMeta(JsonObject given)
    {
        if (given["_meta"] is JsonObject meta)
        {
            foreach (var (key, _) in meta)
            {
                if (key.StartsWith(Reserved, StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// A 2026-07-28 request as SDK 2.4.0 accepts it: Mcp-Method naming tools/call, Mcp-Name naming
    /// the tool the body names (plain or <c>=?base64?...?=</c>), the body's protocol version the
    /// header's, client capabilities an object, client info (if any) one the SDK reads without
    /// complaint, and no other reserved metadata. Anything else (a mismatch, a missing piece, a value the SDK would
    /// refuse, a reserved key it does not know) is the SDK's to answer.
    /// </summary>
    private static bool PerRequestEnvelope(IHeaderDictionary headers, JsonObject given)
    {
        if (!headers.ContainsKey("Mcp-Method") || headers["Mcp-Method"].ToString().Trim() != "tools/call" || !headers.ContainsKey("Mcp-Name"))
        {
            return false;
        }

        var nameHeader = headers["Mcp-Name"].ToString().Trim();
        if (nameHeader.AsSpan().IndexOfAnyExcept(HeaderValueChars) >= 0
            || McpHeaderEncoder.DecodeValue(nameHeader) is not { } named
            || given["name"] is not JsonValue nameValue || nameValue.GetValueKind() != JsonValueKind.String
            || nameValue.GetValue<string>() != named)
        {
            return false;
        }

        if (given["_meta"] is not JsonObject meta
            || meta[MetaVersion] is not JsonValue versionValue || versionValue.GetValueKind() != JsonValueKind.String
            || versionValue.GetValue<string>() != PerRequestVersion
            || meta[MetaCapabilities] is not JsonObject capabilities)
        {
            return false;
        }

        foreach (var (key, _) in meta)
        {
            // The log level too: a deprecated feature, rare, and the SDK's to read.
            if (key.StartsWith(Reserved, StringComparison.Ordinal) && key is not (MetaVersion or MetaCapabilities or MetaClient))
            {
                return false;
            }
        }

        try
        {
            return capabilities.Deserialize(Protocol.GetTypeInfo<ClientCapabilities>()) is not null
                   && (meta[MetaClient] is not { } client || client.Deserialize(Protocol.GetTypeInfo<Implementation>()) is not null);
        }
        catch (Exception)
        {
            return false; // the SDK's invalid-params error
        }
    }

    /// <summary>The call's parameters as the SDK reads them, or null for any the SDK would treat in a way of its own.</summary>
    private static CallToolRequestParams? Parameters(JsonObject given)
    {
        // A retry of a multi-round-trip call is the SDK's to interpret.
        if (given.ContainsKey("requestState") || given.ContainsKey("inputResponses"))
        {
            return null;
        }

        try
        {
            return given.Deserialize(ParamsType);
        }
        catch (Exception)
        {
            return null; // a missing name, a name that is not text: the SDK's internal error
        }
    }

    /// <summary>
    /// The answer as the SDK writes it: one SSE event named message, its data the JSON-RPC message;
    /// on 2026-07-28 a method-not-found error is a 404 and a version or header error a 400.
    /// </summary>
    private static async Task WriteEventAsync(HttpContext context, Reply answer, bool perRequest)
    {
        var response = context.Response;
        response.StatusCode = perRequest && answer.ErrorCode is { } code
            ? code switch
            {
                (int)McpErrorCode.MethodNotFound => StatusCodes.Status404NotFound,
                >= -32022 and <= -32020 => StatusCodes.Status400BadRequest,
                _ => StatusCodes.Status200OK,
            }
            : StatusCodes.Status200OK;
        response.Headers.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache,no-store";
        response.Headers.ContentEncoding = "identity";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.GetRequiredFeature<IHttpResponseBodyFeature>().DisableBuffering();

        // Written straight into the response's pipe: no buffer of our own to fill and copy.
        var body = response.BodyWriter;
        body.Write("event: message\ndata: "u8);
        using (var json = new Utf8JsonWriter(body))
        {
            answer.WriteTo(json);
        }

        body.Write("\n\n"u8);
        await body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>An exception's data as the SDK puts it in an error (none for Warden's own).</summary>
    private static Dictionary<string, JsonElement>? ErrorData(IDictionary data)
    {
        if (data.Count == 0)
        {
            return null;
        }

        var typeInfo = McpJsonUtilities.DefaultOptions.GetTypeInfo<object?>();
        Dictionary<string, JsonElement>? values = null;
        foreach (DictionaryEntry entry in data)
        {
            if (entry.Key is not string key)
            {
                continue;
            }

            try
            {
                var value = entry.Value is JsonElement element ? element : JsonSerializer.SerializeToElement(entry.Value, typeInfo);
                (values ??= new Dictionary<string, JsonElement>(data.Count))[key] = value;
            }
            catch (Exception e) when (e is JsonException or NotSupportedException)
            {
            }
        }

        return values is { Count: > 0 } ? values : null;
    }
}
