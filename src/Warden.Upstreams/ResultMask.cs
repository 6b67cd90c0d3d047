using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Warden.Core;

namespace Warden.Upstreams;

/// <summary>
/// Masks the values at the JSON paths a tool's result classes name ($.records[*].email), as
/// <see cref="ReadMask"/> masks a field: text keeps its first letter (and an email its domain),
/// anything else becomes ***. The paths are the policy checker's subset: .name, ['name'], [n],
/// [*] and .*, followed exactly.
/// </summary>
internal static partial class ResultMask
{
    /// <summary>The value with every path in <paramref name="paths"/> masked; the value itself when none is.</summary>
    public static JsonNode? Apply(JsonNode? value, IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            var steps = Steps(path);
            if (steps is null)
            {
                continue; // the checker refuses these; nothing reaches here unchecked
            }

            value = Walk(value, steps, 0);
        }

        return value;
    }

    /// <summary>
    /// The node with what the steps from <paramref name="at"/> name masked. A node of another shape
    /// than the path expects (text or a number where it goes on into an object, an array where it
    /// names a member) is masked whole: a server cannot move a value past its path by wrapping it
    /// in an array, or writing it as JSON text. A member or item that is absent is nothing to mask.
    /// </summary>
    private static JsonNode? Walk(JsonNode? node, List<string> steps, int at)
    {
        if (at == steps.Count)
        {
            return Masked(node);
        }

        var step = steps[at];
        switch (node)
        {
            case null:
                return null;
            case JsonObject obj:
                foreach (var key in step == "*" ? obj.Select(p => p.Key).ToList() : obj.ContainsKey(step) ? [step] : [])
                {
                    Replace(obj[key], Walk(obj[key], steps, at + 1), masked => obj[key] = masked);
                }

                return obj;
            case JsonArray array when step == "*" || int.TryParse(step, out _):
                var indexes = step == "*" ? Enumerable.Range(0, array.Count).ToList()
                    : int.TryParse(step, out var n) && n < array.Count ? [n] : [];
                foreach (var i in indexes)
                {
                    Replace(array[i], Walk(array[i], steps, at + 1), masked => array[i] = masked);
                }

                return array;
            default:
                return Masked(node);
        }
    }

    /// <summary>Puts the masked node in place of the original, unless it is the original (masked within).</summary>
    private static void Replace(JsonNode? original, JsonNode? masked, Action<JsonNode?> put)
    {
        if (!ReferenceEquals(original, masked))
        {
            put(masked);
        }
    }

    /// <summary>A masked copy: every text masked, every other value hidden, nulls left null.</summary>
    private static JsonNode? Masked(JsonNode? node) => node switch
    {
        null => null,
        JsonObject obj => new JsonObject(obj.Select(p => KeyValuePair.Create(p.Key, Masked(p.Value)))),
        JsonArray array => new JsonArray([.. array.Select(Masked)]),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => JsonValue.Create(ReadMask.Mask(v.GetValue<string>())),
        _ => JsonValue.Create("***"),
    };

    /// <summary>The steps of a path ("*" for any member or item), or null when it is not one Warden follows.</summary>
    internal static List<string>? Steps(string path)
    {
        if (!path.StartsWith('$'))
        {
            return null;
        }

        var steps = new List<string>();
        var rest = path[1..];
        while (rest.Length > 0)
        {
            var match = Step().Match(rest);
            if (!match.Success)
            {
                return null;
            }

            steps.Add(match.Groups["name"].Success ? match.Groups["name"].Value
                : match.Groups["quoted"].Success ? match.Groups["quoted"].Value
                : match.Groups["index"].Success ? match.Groups["index"].Value
                : "*");
            rest = rest[match.Length..];
        }

        return steps;
    }

    [GeneratedRegex(@"^(\.(?<name>[A-Za-z0-9_\-]+)|\.\*|\[(?<index>[0-9]+)\]|\[\*\]|\['(?<quoted>[^']*)'\])")]
    private static partial Regex Step();
}
