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

        // Bytes that are not UTF-8 are read as U+FFFD by the SDK: two names that differ only there
        // would become one name after the screen compared them as different.
        if (!System.Text.Unicode.Utf8.IsValid(message.Span))
        {
            return NotJson("the request is not UTF-8");
        }

        try
        {
            using var strict = JsonDocument.Parse(message, Strict);
            return new Screened(message, null, false, false);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Broken (a lone surrogate in a name throws InvalidOperationException), or a name given
            // twice: which, the lenient parse below tells.
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(message);
        }
        catch (JsonException e)
        {
            return NotJson(e.BytePositionInLine is { } position ? $"the request is not one JSON-RPC message at byte {position + 1}" : "the request is not one JSON-RPC message");
        }

        using (document)
        {
            var root = document.RootElement;
            string? duplicate;
            try
            {
                duplicate = StrictJson.DuplicateKey(root);
            }
            catch (InvalidOperationException)
            {
                return NotJson("the request has a name that is not text (a lone surrogate)");
            }

            if (duplicate is null)
            {
                // Refused by the strict parse for another reason than a name given twice.
                return NotJson("the request is not one JSON-RPC message");
            }

            var path = duplicate;
            var id = default(JsonElement);
            var hasId = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("id", out id);
            var text = $"the key at {path} appears twice in the request; give it once (nothing was run)";
            var answer = Error(hasId ? JsonNode.Parse(id.GetRawText()) : null, path.StartsWith("$.params", StringComparison.Ordinal) ? -32602 : -32600, text);
            var isNotification = root.ValueKind == JsonValueKind.Object && !hasId && root.TryGetProperty("method", out _);
            return new Screened(default, answer, hasId, isNotification);
        }
    }

    private static Screened NotJson(string why) => new(default, Error(null, -32700, $"{why}: nothing was run"), false, false);

    /// <summary>A JSON-RPC error response.</summary>
    public static string Error(JsonNode? id, int code, string message) => new JsonObject
    {
        ["jsonrpc"] = "2.0",
        ["id"] = id,
        ["error"] = new JsonObject { ["code"] = code, ["message"] = message },
    }.ToJsonString();
}
