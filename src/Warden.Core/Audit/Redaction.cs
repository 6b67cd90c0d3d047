using System.Text.Json;

namespace Warden.Core.Audit;

/// <summary>
/// Takes secrets out of arguments before they are written to the trail, which is kept for years
/// and exported: values under secret-sounding keys, and strings that carry a credential scheme.
/// </summary>
internal static class Redaction
{
    public const string Mark = "[redacted]";

    private static readonly string[] SecretWords = ["password", "passwd", "secret", "token", "apikey", "api_key", "authorization", "credential", "private_key", "privatekey", "cookie", "session"];

    public static JsonElement Redact(JsonElement value)
    {
        if (!NeedsRedaction(value))
        {
            return value;
        }

        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(value, writer);
        }

        return JsonDocument.Parse(buffer.ToArray()).RootElement.Clone();
    }

    public static bool IsSecretKey(string key)
    {
        var lower = key.ToLowerInvariant();
        return SecretWords.Any(lower.Contains);
    }

    private static bool IsSecretValue(string text) =>
        text.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || text.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase);

    private static bool NeedsRedaction(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => value.EnumerateObject().Any(p => IsSecretKey(p.Name) || NeedsRedaction(p.Value)),
        JsonValueKind.Array => value.EnumerateArray().Any(NeedsRedaction),
        JsonValueKind.String => IsSecretValue(value.GetString()!),
        _ => false,
    };

    private static void Write(JsonElement value, Utf8JsonWriter writer)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in value.EnumerateObject())
                {
                    writer.WritePropertyName(property.Name);
                    if (IsSecretKey(property.Name))
                    {
                        writer.WriteStringValue(Mark);
                    }
                    else
                    {
                        Write(property.Value, writer);
                    }
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in value.EnumerateArray())
                {
                    Write(item, writer);
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.String when IsSecretValue(value.GetString()!):
                writer.WriteStringValue(Mark);
                break;
            default:
                value.WriteTo(writer);
                break;
        }
    }
}
