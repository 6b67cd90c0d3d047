using System.Text.Json;
using System.Text.Json.Nodes;
using Warden.Core;

namespace Warden.Gateway.Mcp;

/// <summary>What the screen made of a message: pass it on (as <see cref="Message"/>), or answer it with <see cref="Answer"/>.</summary>
/// <param name="Message">The message to hand to the SDK, a leading byte order mark taken off; empty when refused.</param>
/// <param name="Answer">The JSON-RPC error to answer with, or null when the message goes on.</param>
/// <param name="HasId">Whether the answer names the request's id (else it is a bad request, or a notification's).</param>
/// <param name="IsNotification">The refused message was a notification: JSON-RPC answers none, so stdio stays silent.</param>
internal readonly record struct Screened(ReadOnlyMemory<byte> Message, string? Answer, bool HasId, bool IsNotification)
{
    public bool Passes => Answer is null;
}

/// <summary>
/// Looks at a JSON-RPC message before the MCP SDK reads it, and lets on only what it can read
/// unambiguously. The SDK keeps the last of a name given twice, so a message saying <c>"ids"</c>
/// twice would reach Warden as one value while a log, a proxy or a reviewer may read the other.
/// It fails closed: a message that is not plain JSON here (broken, or two messages with a lone
/// carriage return between them) is answered with a parse error rather than left to a reader that
/// may make something else of it.
/// </summary>
internal static class JsonRpcScreen
{
    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false };

    public static Screened Check(ReadOnlyMemory<byte> message)
    {
        // The SDK's readers skip a byte order mark; so does this, and hands on the message without it.
        if (message.Span.StartsWith("\uFEFF"u8))
        {
            message = message[3..];
        }

        try
        {
            using var strict = JsonDocument.Parse(message, Strict);
            return new Screened(message, null, false, false);
        }
        catch (JsonException)
        {
            // Broken, or a name given twice: which, the lenient parse below tells.
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(message);
        }
        catch (JsonException e)
        {
            var where = e.BytePositionInLine is { } position ? $" at byte {position + 1}" : "";
            return new Screened(default, Error(null, -32700, $"the request is not one JSON-RPC message{where}: nothing was run"), false, false);
        }

        using (document)
        {
            var root = document.RootElement;
            var path = StrictJson.DuplicateKey(root) ?? "$";
            var id = default(JsonElement);
            var hasId = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("id", out id);
            var text = $"the key at {path} appears twice in the request; give it once (nothing was run)";
            var answer = Error(hasId ? JsonNode.Parse(id.GetRawText()) : null, path.StartsWith("$.params", StringComparison.Ordinal) ? -32602 : -32600, text);
            var isNotification = root.ValueKind == JsonValueKind.Object && !hasId && root.TryGetProperty("method", out _);
            return new Screened(default, answer, hasId, isNotification);
        }
    }

    /// <summary>A JSON-RPC error response.</summary>
    public static string Error(JsonNode? id, int code, string message) => new JsonObject
    {
        ["jsonrpc"] = "2.0",
        ["id"] = id,
        ["error"] = new JsonObject { ["code"] = code, ["message"] = message },
    }.ToJsonString();
}
