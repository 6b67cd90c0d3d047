using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Warden.Core;

/// <summary>
/// One byte sequence per JSON value, so that hashes bind to meaning and not to formatting: object
/// keys sorted by their UTF-16 code units (as RFC 8785 does), no whitespace, strings escaped
/// minimally, numbers as written. Used for plan hashes (an approval binds to the exact plan) and
/// the audit trail.
/// </summary>
public static class CanonicalJson
{
    private static readonly JsonWriterOptions Options = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    /// <summary>The canonical UTF-8 bytes of a value.</summary>
    public static byte[] Bytes(JsonElement value)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            Write(value, writer);
        }

        return buffer.ToArray();
    }

    /// <summary>The canonical text of a value.</summary>
    public static string Text(JsonElement value) => Encoding.UTF8.GetString(Bytes(value));

    /// <summary>sha256 of the canonical bytes, as "sha256:hex".</summary>
    public static string Hash(JsonElement value) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Bytes(value)));

    private static void Write(JsonElement value, Utf8JsonWriter writer) => Write(value, writer, null);

    /// <summary>
    /// Writes a value canonically; when <paramref name="redaction"/> is given, values under keys it
    /// names are written as its mark instead, and every string and name as it redacts it (the
    /// audit trail hashes arguments this way, in one pass, for every call).
    /// </summary>
    internal static void Write(JsonElement value, Utf8JsonWriter writer, IRedaction? redaction)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                var count = 0;
                foreach (var _ in value.EnumerateObject())
                {
                    count++;
                }

                // Sorted in a pooled array, and only when the keys are not in order already.
                var properties = ArrayPool<JsonProperty>.Shared.Rent(count);
                try
                {
                    var n = 0;
                    var sorted = true;
                    foreach (var property in value.EnumerateObject())
                    {
                        sorted &= n == 0 || string.CompareOrdinal(properties[n - 1].Name, property.Name) <= 0;
                        properties[n++] = property;
                    }

                    if (!sorted)
                    {
                        Array.Sort(properties, 0, n, ByName.Instance);
                    }

                    writer.WriteStartObject();
                    for (var i = 0; i < n; i++)
                    {
                        // A name is text an agent typed too: a key can carry a secret as well as a value.
                        var name = properties[i].Name;
                        writer.WritePropertyName(redaction is null ? name : redaction.Redact(name));
                        if (redaction is not null && redaction.IsSecretKey(name))
                        {
                            writer.WriteStringValue(redaction.Mark);
                        }
                        else
                        {
                            Write(properties[i].Value, writer, redaction);
                        }
                    }

                    writer.WriteEndObject();
                }
                finally
                {
                    ArrayPool<JsonProperty>.Shared.Return(properties, clearArray: true);
                }

                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in value.EnumerateArray())
                {
                    Write(item, writer, redaction);
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.String when redaction is not null:
                var text = value.GetString()!;
                var redacted = redaction.Redact(text);
                if (ReferenceEquals(redacted, text))
                {
                    value.WriteTo(writer);
                }
                else
                {
                    writer.WriteStringValue(redacted);
                }

                break;
            default:
                value.WriteTo(writer);
                break;
        }
    }

    private sealed class ByName : IComparer<JsonProperty>
    {
        public static readonly ByName Instance = new();

        public int Compare(JsonProperty x, JsonProperty y) => string.CompareOrdinal(x.Name, y.Name);
    }
}

/// <summary>What <see cref="CanonicalJson"/> leaves out of a value it writes, and what it writes instead.</summary>
internal interface IRedaction
{
    string Mark { get; }

    bool IsSecretKey(string key);

    /// <summary>The text with the secrets in it replaced; the same instance when there are none.</summary>
    string Redact(string text);
}
