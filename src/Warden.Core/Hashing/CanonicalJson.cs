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

    private static void Write(JsonElement value, Utf8JsonWriter writer)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in value.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(property.Name);
                    Write(property.Value, writer);
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
            default:
                value.WriteTo(writer);
                break;
        }
    }
}
