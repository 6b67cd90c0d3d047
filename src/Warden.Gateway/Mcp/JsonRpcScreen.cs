using System.Text.Json;
using System.Text.Json.Nodes;
using Warden.Core;

namespace Warden.Gateway.Mcp;

/// <summary>
/// Looks at a JSON-RPC message before the MCP SDK reads it. The SDK keeps the last of a name given
/// twice, so a message saying <c>"ids"</c> twice would reach Warden as one value while a log, a
/// proxy or a reviewer may read the other; such a message is answered here with an error and never
/// runs. Anything else, broken JSON included, goes on to the SDK, which answers it as the protocol says.
/// </summary>
internal static class JsonRpcScreen
{
    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false };

    /// <summary>The JSON-RPC error to answer <paramref name="message"/> with (and whether it names the request's id), or null when it may go on.</summary>
    public static (string Answer, bool HasId)? Refusal(ReadOnlyMemory<byte> message)
    {
        try
        {
            using var strict = JsonDocument.Parse(message, Strict);
            return null;
        }
        catch (JsonException)
        {
            // Broken, or a name given twice: only the second is ours to answer.
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(message);
        }
        catch (JsonException)
        {
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            var path = StrictJson.DuplicateKey(root) ?? "$";
            var id = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("id", out var value) ? JsonNode.Parse(value.GetRawText()) : null;
            var inParams = path.StartsWith("$.params", StringComparison.Ordinal);
            var answer = new JsonObject
            {
                ["jsonrpc"] = "2.0",
                ["id"] = id,
                ["error"] = new JsonObject
                {
                    ["code"] = inParams ? -32602 : -32600,
                    ["message"] = $"the key at {path} appears twice in the request; give it once (nothing was run)",
                },
            }.ToJsonString();
            return (answer, id is not null);
        }
    }
}
