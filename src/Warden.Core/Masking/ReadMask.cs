using System.Text.Json;
using System.Text.Json.Nodes;

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

    private ReadMask(HashSet<string> masked) => _masked = masked;

    /// <summary>Masks nothing.</summary>
    public static ReadMask None { get; } = new([]);

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

        return new ReadMask(masked);
    }

    /// <summary>A copy of <paramref name="value"/> with the masked fields' values masked; the value itself when nothing needs it.</summary>
    public JsonElement Apply(JsonElement value)
    {
        if (_masked.Count == 0 || !Touches(value))
        {
            return value;
        }

        var node = JsonNode.Parse(value.GetRawText());
        Walk(node);
        return JsonSerializer.SerializeToElement(node);
    }

    /// <summary>How a value of a masked field reads.</summary>
    public static string Mask(string text)
    {
        var at = text.IndexOf('@', StringComparison.Ordinal);
        if (at > 0)
        {
            return text[0] + Hidden + text[at..];
        }

        return text.Length > 1 ? text[0] + Hidden : Hidden;
    }

    private static JsonNode MaskAll(JsonNode node) => node switch
    {
        JsonValue leaf => leaf.TryGetValue<string>(out var text) ? Mask(text) : Hidden,
        JsonArray array => new JsonArray([.. array.Select(item => item is null ? null : MaskAll(item))]),
        JsonObject obj => new JsonObject(obj.Select(p => KeyValuePair.Create(p.Key, p.Value is null ? null : MaskAll(p.Value)))),
        _ => Hidden,
    };

    private bool Touches(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => value.EnumerateObject().Any(p => (_masked.Contains(p.Name) && p.Value.ValueKind is not JsonValueKind.Null) || Touches(p.Value)),
        JsonValueKind.Array => value.EnumerateArray().Any(Touches),
        _ => false,
    };

    private void Walk(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (name, child) in obj.ToList())
                {
                    if (child is null)
                    {
                        continue;
                    }

                    if (_masked.Contains(name))
                    {
                        obj[name] = MaskAll(child);
                    }
                    else
                    {
                        Walk(child);
                    }
                }

                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    Walk(item);
                }

                break;
        }
    }
}
