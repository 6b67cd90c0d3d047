using System.Buffers;
using System.Collections;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Warden.Gateway.Mcp;

/// <summary>
/// Answers a plain <c>tools/call</c> POST to /mcp without the MCP SDK's per-request server and
/// session (stateless Streamable HTTP builds both for every POST: the largest share of a governed
/// call's CPU that is not governance). It takes only what SDK 2.4.0 answers in one known way, and
/// answers with the SDK's own types and serialiser, as an SSE event, as the SDK does; everything
/// else (other methods, notifications, batches, sessions, protocol 2026-07-28 and later with its
/// per-request metadata and headers, MRTR retries, a body the SDK would refuse) is left to the SDK.
/// Pinned by the differential tests in <c>DirectToolCallTests</c>, which send the same bytes with
/// this on and off.
/// </summary>
internal sealed class DirectToolCall(McpSurface surface)
{
    private long _taken;

    /// <summary>How many calls were answered here (the tests' proof that the path is taken at all).</summary>
    public long Taken => Interlocked.Read(ref _taken);

    /// <summary>
    /// The versions of the initialize handshake: with one of them (or none) in the version header,
    /// SDK 2.4.0 reads no per-request metadata and checks no Mcp-Method or Mcp-Name header.
    /// </summary>
    private static readonly string[] HandshakeVersions = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

    // The SDK reads messages with ProtocolOptions (case-sensitive names) and writes them with a
    // Utf8JsonWriter of default options; these are the same contracts.
    private static readonly JsonTypeInfo<JsonRpcMessage> MessageType = McpJsonUtilities.ProtocolOptions.GetTypeInfo<JsonRpcMessage>();
    private static readonly JsonTypeInfo<CallToolRequestParams> ParamsType = McpJsonUtilities.ProtocolOptions.GetTypeInfo<CallToolRequestParams>();
    private static readonly JsonTypeInfo<CallToolResult> ResultType = McpJsonUtilities.ProtocolOptions.GetTypeInfo<CallToolResult>();

    /// <summary>Answers the request and says true, or says false and leaves it, untouched, to the SDK.</summary>
    /// <param name="context">The request, authenticated as an agent, its body the screened message in memory.</param>
    public async Task<bool> TryAnswerAsync(HttpContext context)
    {
        if (await TakeAsync(context).ConfigureAwait(false) is not var (request, parameters))
        {
            return false;
        }

        Interlocked.Increment(ref _taken);

        JsonRpcMessage answer;
        try
        {
            var result = await surface.CallToolAsync(context.User, parameters).ConfigureAwait(false);
            answer = new JsonRpcResponse { Id = request.Id, Result = JsonSerializer.SerializeToNode(result, ResultType) };
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
            // What the SDK makes of a tool handler's exception that is not a protocol error.
            var result = new CallToolResult
            {
                IsError = true,
                Content = [new TextContentBlock
                {
                    Text = e is McpException ? $"An error occurred invoking '{parameters.Name}': {e.Message}" : $"An error occurred invoking '{parameters.Name}'.",
                }],
            };
            answer = new JsonRpcResponse { Id = request.Id, Result = JsonSerializer.SerializeToNode(result, ResultType) };
        }

        await WriteEventAsync(context, answer).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Whether SDK 2.4.0, stateless, would take this POST past every check of its own and hand a
    /// <c>tools/call</c> with these parameters to Warden's handler, doing nothing else with it.
    /// </summary>
    private static async Task<(JsonRpcRequest Request, CallToolRequestParams Parameters)?> TakeAsync(HttpContext context)
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

        // A session id is refused by the stateless SDK (400); a newer version brings per-request
        // metadata, header checks and other status codes: the SDK's.
        if (headers.ContainsKey("Mcp-Session-Id"))
        {
            return null;
        }

        var version = headers["MCP-Protocol-Version"].ToString();
        if (version.Length != 0 && Array.IndexOf(HandshakeVersions, version) < 0)
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
            || Parameters(given) is not { } parameters)
        {
            http.Body = new MemoryStream(bytes.Array!, bytes.Offset, bytes.Count, writable: false, publiclyVisible: true);
            return null;
        }

        return (call, parameters);
    }

    /// <summary>The call's parameters as the SDK reads them, or null for any the SDK would treat in a way of its own.</summary>
    private static CallToolRequestParams? Parameters(JsonObject given)
    {

        // A retry of a multi-round-trip call, and the reserved per-request metadata (which the SDK
        // reads when no version header is sent), are the SDK's to interpret.
        if (given.ContainsKey("requestState") || given.ContainsKey("inputResponses"))
        {
            return null;
        }

        if (given["_meta"] is JsonObject meta)
        {
            foreach (var (key, _) in meta)
            {
                if (key.StartsWith("io.modelcontextprotocol/", StringComparison.Ordinal))
                {
                    return null;
                }
            }
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

    /// <summary>The answer as the SDK writes it: one SSE event named message, its data the JSON-RPC message.</summary>
    private static async Task WriteEventAsync(HttpContext context, JsonRpcMessage answer)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.Headers.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache,no-store";
        response.Headers.ContentEncoding = "identity";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.GetRequiredFeature<IHttpResponseBodyFeature>().DisableBuffering();

        var buffer = new ArrayBufferWriter<byte>(4096);
        buffer.Write("event: message\ndata: "u8);
        using (var json = new Utf8JsonWriter(buffer))
        {
            JsonSerializer.Serialize(json, answer, MessageType);
        }

        buffer.Write("\n\n"u8);
        await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
        await response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
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
