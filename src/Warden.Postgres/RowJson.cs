using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Npgsql;

namespace Warden.Postgres;

/// <summary>Query results as JSON: numbers as numbers, true and false, times in ISO 8601, bytes as PostgreSQL's hex text, the rest as text.</summary>
internal static class RowJson
{
    /// <summary>For reading rows as PostgreSQL wrote them: a jsonb column may nest far deeper than the 64 levels System.Text.Json allows by default.</summary>
    public static readonly JsonDocumentOptions Images = new() { MaxDepth = int.MaxValue };

    public static void WriteValue(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null or DBNull:
                json.WriteNullValue();
                break;
            case bool b:
                json.WriteBooleanValue(b);
                break;
            case short or int or long or byte:
                json.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            case decimal d:
                json.WriteNumberValue(d);
                break;
            case double d when double.IsFinite(d):
                json.WriteNumberValue(d);
                break;
            case float f when float.IsFinite(f):
                json.WriteNumberValue(f);
                break;
            case DateTime t:
                json.WriteStringValue(t.ToString(t.Kind == DateTimeKind.Utc ? "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'" : "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture));
                break;
            case DateTimeOffset t:
                json.WriteStringValue(t.ToString("O", CultureInfo.InvariantCulture));
                break;
            case byte[] bytes:
                json.WriteStringValue("\\x" + Convert.ToHexStringLower(bytes));
                break;
            case string s:
                json.WriteStringValue(s);
                break;
            case Array array:
                json.WriteStartArray();
                foreach (var item in array)
                {
                    WriteValue(json, item);
                }

                json.WriteEndArray();
                break;
            default:
                json.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    /// <summary>The most bytes of rows a query returns; the row that passes it is the last.</summary>
    public const int MaxBytes = 4 * 1024 * 1024;

    /// <summary>Reads up to <paramref name="cap"/> rows (and about <see cref="MaxBytes"/>) into an object: columns, rows (objects by column label), row_count, truncated.</summary>
    public static async Task<(JsonElement Output, IReadOnlyList<string> Labels, IReadOnlyList<(uint TableOid, short Column)> Sources, long Rows)> ReadAsync(
        NpgsqlDataReader reader, int cap, CancellationToken cancellationToken)
    {
        var schema = await reader.GetColumnSchemaAsync(cancellationToken).ConfigureAwait(false);
        var labels = Unique(schema.Select(c => c.ColumnName).ToList());
        var sources = schema.Select(c => c is Npgsql.Schema.NpgsqlDbColumn n ? (n.TableOID, (short)(n.ColumnAttributeNumber ?? 0)) : (0u, (short)0)).ToList();
        var buffer = new ArrayBufferWriter<byte>(4096);
        long rows = 0;
        var truncated = false;
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("columns");
            foreach (var label in labels)
            {
                json.WriteStringValue(label);
            }

            json.WriteEndArray();
            json.WriteStartArray("rows");
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                // Rows are capped, and so are bytes: a hundred rows of a 100 MB value each would
                // otherwise be held in the gateway's memory and sent to the agent.
                json.Flush();
                if (rows == cap || buffer.WrittenCount > MaxBytes)
                {
                    truncated = true;
                    break;
                }

                rows++;
                json.WriteStartObject();
                for (var i = 0; i < labels.Count; i++)
                {
                    json.WritePropertyName(labels[i]);
                    WriteValue(json, reader.IsDBNull(i) ? null : reader.GetValue(i));
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteNumber("row_count", rows);
            json.WriteBoolean("truncated", truncated);
            json.WriteEndObject();
        }

        var jsonReader = new Utf8JsonReader(buffer.WrittenSpan);
        return (JsonElement.ParseValue(ref jsonReader), labels, sources, rows);
    }

    /// <summary>Column labels made unique (a query may return two columns of one name): the second becomes name_2.</summary>
    private static List<string> Unique(List<string> labels)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < labels.Count; i++)
        {
            var label = labels[i];
            for (var n = 2; !seen.Add(label); n++)
            {
                label = $"{labels[i]}_{n}";
            }

            labels[i] = label;
        }

        return labels;
    }
}
