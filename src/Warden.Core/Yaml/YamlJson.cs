using System.Globalization;

using System.Text.Json;
using System.Text.RegularExpressions;

namespace Warden.Core.Yaml;

/// <summary>
/// Converts a YAML value to JSON as YAML's core schema reads it: unquoted true/false, null, and
/// numbers keep their types; quoted values are always strings. Used for arguments and facts in
/// policy test files.
/// </summary>
internal static partial class YamlJson
{
    public static JsonElement Convert(YamlNode node)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(node, writer);
        }

        using var document = JsonDocument.Parse(buffer.ToArray());
        return document.RootElement.Clone();
    }

    private static void Write(YamlNode node, Utf8JsonWriter writer)
    {
        switch (node)
        {
            case YamlMapping map:
                writer.WriteStartObject();
                foreach (var (key, value) in map.Entries)
                {
                    writer.WritePropertyName(key.Value);
                    Write(value, writer);
                }

                writer.WriteEndObject();
                break;
            case YamlSequence sequence:
                writer.WriteStartArray();
                foreach (var item in sequence.Items)
                {
                    Write(item, writer);
                }

                writer.WriteEndArray();
                break;
            case YamlScalar scalar:
                WriteScalar(scalar, writer);
                break;
        }
    }

    private static void WriteScalar(YamlScalar scalar, Utf8JsonWriter writer)
    {
        var text = scalar.Value;
        if (!scalar.IsPlain)
        {
            writer.WriteStringValue(text);
        }
        else if (scalar.IsNull)
        {
            writer.WriteNullValue();
        }
        else if (text is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
        {
            writer.WriteBooleanValue(text[0] is 't' or 'T');
        }
        else if (IntPattern().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i))
        {
            writer.WriteNumberValue(i);
        }
        else if (FloatPattern().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
        {
            writer.WriteNumberValue(d);
        }
        else
        {
            writer.WriteStringValue(text);
        }
    }

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex IntPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();

}
