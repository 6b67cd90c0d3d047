using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Warden.Core;

/// <summary>
/// What an agent reads, with every data class it does not <see cref="Agent.Sees"/> masked: an
/// email keeps its first letter and its domain (<c>j***@example.com</c>), other text its first
/// letter, numbers and dates become <c>***</c>. A value is masked by its field's name wherever it
/// appears in a tool's output: when any field of that name in a governed system belongs to a class
/// the agent may not see. That can mask a harmless field that shares a name with a sensitive one,
/// never the other way round.
/// </summary>
public sealed class ReadMask
{
    private const string Hidden = "***";
    private readonly HashSet<string> _masked;
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _maskedByChars;
    private readonly Func<string, bool>? _hidden;

    private ReadMask(HashSet<string> masked, Func<string, bool>? hidden)
    {
        _masked = masked;
        _maskedByChars = masked.GetAlternateLookup<ReadOnlySpan<char>>();
        _hidden = hidden;
    }

    /// <summary>Masks nothing.</summary>
    public static ReadMask None { get; } = new([], null);

    /// <summary>The names of the fields masked for this agent.</summary>
    public IReadOnlyCollection<string> Fields => _masked;

    /// <summary>The mask of <paramref name="agent"/> under <paramref name="policy"/>.</summary>
    public static ReadMask For(Policy policy, Agent agent)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(agent);
        var masked = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in policy.Catalogues.SelectMany(c => c.FieldNames))
        {
            if (policy.ClassesOf(field).Any(c => !agent.Sees.Contains(c)))
            {
                masked.Add(field[(field.LastIndexOf('.') + 1)..]);
            }
        }

        var sees = agent.Sees.ToHashSet(StringComparer.Ordinal);
        return new ReadMask(masked, field => policy.ClassesOf(field).Any(c => !sees.Contains(c)));
    }

    /// <summary>
    /// As <see cref="Apply(JsonElement)"/>, also masking each name <paramref name="outputFields"/>
    /// traces to a field this agent may not see (a query's renamed or computed columns).
    /// </summary>
    public JsonElement Apply(JsonElement value, IReadOnlyDictionary<string, IReadOnlyList<string>>? outputFields)
    {
        if (outputFields is null || _hidden is null)
        {
            return Apply(value);
        }

        var extra = outputFields.Where(o => !_masked.Contains(o.Key) && o.Value.Any(_hidden)).Select(o => o.Key).ToList();
        return extra.Count == 0 ? Apply(value) : new ReadMask([.. _masked, .. extra], _hidden).Apply(value);
    }

    /// <summary>A copy of <paramref name="value"/> with the masked fields' values masked; the value itself when nothing needs it.</summary>
    public JsonElement Apply(JsonElement value)
    {
        if (_masked.Count == 0 || !Touches(value))
        {
            return value;
        }

        // Written once from the element and read back once: every read an agent makes with a
        // masked field passes here (it was text, a node tree, and the tree serialised again).
        return JsonScratch.Write(
            (mask: this, value),
            static (json, state) => state.mask.Write(json, state.value),
            static (written, _) =>
            {
                var reader = new Utf8JsonReader(written);
                return JsonElement.ParseValue(ref reader);
            },
            escapeHtml: true);
    }

    /// <summary>Whether a property's name is a masked field's, read without making a string of every name.</summary>
    private bool IsMasked(JsonProperty property)
    {
        var raw = JsonMarshal.GetRawUtf8PropertyName(property);
        if (raw.Length > 256 || raw.Contains((byte)'\\'))
        {
            return _masked.Contains(property.Name); // escaped or long: rare, read whole
        }

        Span<char> name = stackalloc char[raw.Length];
        return _maskedByChars.Contains(name[..Encoding.UTF8.GetChars(raw, name)]);
    }

    /// <summary>Writes a property's name as <see cref="Utf8JsonWriter.WritePropertyName(string)"/> would, from its bytes when they need no unescaping.</summary>
    private static void WriteName(Utf8JsonWriter json, JsonProperty property)
    {
        var raw = JsonMarshal.GetRawUtf8PropertyName(property);
        if (raw.Contains((byte)'\\'))
        {
            json.WritePropertyName(property.Name);
        }
        else
        {
            json.WritePropertyName(raw);
        }
    }

    /// <summary>How a value of a masked field reads.</summary>
    public static string Mask(string text)
    {
        // Only a lone address keeps its domain: in a longer text everything after the first '@'
        // would be shown (the other addresses, names, notes).
        var at = text.IndexOf('@', StringComparison.Ordinal);
        if (at > 0 && !text.AsSpan(0, at).ContainsAny(" \t\r\n,;<>\"'") && IsDomain(text.AsSpan(at + 1)))
        {
            return text[0] + Hidden + text[at..];
        }

        return text.Length > 1 ? text[0] + Hidden : Hidden;
    }

    private static bool IsDomain(ReadOnlySpan<char> text) =>
        text.Length > 0 && text.Contains('.') && !text.ContainsAnyExcept(DomainChars);

    private static readonly SearchValues<char> DomainChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");

    /// <summary>A masked field's value: every text in it masked, every other value (numbers, true, false) hidden; nulls stay null.</summary>
    private static void WriteMasked(Utf8JsonWriter json, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                json.WriteStartObject();
                foreach (var property in value.EnumerateObject())
                {
                    WriteName(json, property);
                    if (property.Value.ValueKind == JsonValueKind.Null)
                    {
                        json.WriteNullValue();
                    }
                    else
                    {
                        WriteMasked(json, property.Value);
                    }
                }

                json.WriteEndObject();
                break;
            case JsonValueKind.Array:
                json.WriteStartArray();
                foreach (var item in value.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.Null)
                    {
                        json.WriteNullValue();
                    }
                    else
                    {
                        WriteMasked(json, item);
                    }
                }

                json.WriteEndArray();
                break;
            case JsonValueKind.String:
                json.WriteStringValue(Mask(value.GetString()!));
                break;
            default:
                json.WriteStringValue(Hidden);
                break;
        }
    }

    private bool Touches(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in value.EnumerateObject())
                {
                    if ((property.Value.ValueKind is not JsonValueKind.Null && IsMasked(property)) || Touches(property.Value))
                    {
                        return true;
                    }
                }

                return false;
            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray())
                {
                    if (Touches(item))
                    {
                        return true;
                    }
                }

                return false;
            default:
                return false;
        }
    }

    /// <summary>The value as it is, but for the values of masked fields in it (a masked field's null stays null).</summary>
    private void Write(Utf8JsonWriter json, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                json.WriteStartObject();
                foreach (var property in value.EnumerateObject())
                {
                    WriteName(json, property);
                    if (property.Value.ValueKind != JsonValueKind.Null && IsMasked(property))
                    {
                        WriteMasked(json, property.Value);
                    }
                    else
                    {
                        Write(json, property.Value);
                    }
                }

                json.WriteEndObject();
                break;
            case JsonValueKind.Array:
                json.WriteStartArray();
                foreach (var item in value.EnumerateArray())
                {
                    Write(json, item);
                }

                json.WriteEndArray();
                break;
            default:
                value.WriteTo(json);
                break;
        }
    }
}
