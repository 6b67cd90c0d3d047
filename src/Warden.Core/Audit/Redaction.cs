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

    /// <summary>
    /// Writes a value canonically (object keys in ordinal order, as <see cref="CanonicalJson"/>)
    /// with secrets replaced, in one pass: this runs for every audited call.
    /// </summary>
    public static void WriteCanonical(JsonElement value, Utf8JsonWriter writer)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                var count = 0;
                foreach (var _ in value.EnumerateObject())
                {
                    count++;
                }

                var properties = System.Buffers.ArrayPool<JsonProperty>.Shared.Rent(count);
                try
                {
                    var n = 0;
                    var sorted = true;
                    foreach (var property in value.EnumerateObject())
                    {
                        if (n > 0 && string.CompareOrdinal(properties[n - 1].Name, property.Name) > 0)
                        {
                            sorted = false;
                        }

                        properties[n++] = property;
                    }

                    if (!sorted)
                    {
                        Array.Sort(properties, 0, n, ByName.Instance);
                    }

                    writer.WriteStartObject();
                    for (var i = 0; i < n; i++)
                    {
                        writer.WritePropertyName(properties[i].Name);
                        if (IsSecretKey(properties[i].Name))
                        {
                            writer.WriteStringValue(Mark);
                        }
                        else
                        {
                            WriteCanonical(properties[i].Value, writer);
                        }
                    }

                    writer.WriteEndObject();
                }
                finally
                {
                    System.Buffers.ArrayPool<JsonProperty>.Shared.Return(properties, clearArray: true);
                }

                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in value.EnumerateArray())
                {
                    WriteCanonical(item, writer);
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

    public static bool IsSecretKey(string key)
    {
        foreach (var word in SecretWords)
        {
            if (key.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private sealed class ByName : IComparer<JsonProperty>
    {
        public static readonly ByName Instance = new();

        public int Compare(JsonProperty x, JsonProperty y) => string.CompareOrdinal(x.Name, y.Name);
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
