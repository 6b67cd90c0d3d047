using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Warden.Core.Policies;

/// <summary>
/// The JSON paths a policy may write into a tool's result: <c>$</c> then steps <c>.name</c>,
/// <c>['name']</c>, <c>[n]</c>, <c>[*]</c> or <c>.*</c>. A small subset on purpose: every path is
/// followed exactly, with no filter expressions to get wrong.
/// </summary>
internal static partial class JsonPath
{
    /// <summary>Why the path is not one Warden follows, or null when it is.</summary>
    public static string? Problem(string path) =>
        !path.StartsWith('$') ? "it does not start with $"
        : !Whole().IsMatch(path) ? "only .name, ['name'], [n], [*] and .* steps are followed"
        : null;

    /// <summary>The steps of a path ("*" for any member or item), or null when it is not one Warden follows.</summary>
    public static List<string>? Steps(string path)
    {
        if (Problem(path) is not null)
        {
            return null;
        }

        var steps = new List<string>();
        foreach (Match match in Step().Matches(path[1..]))
        {
            steps.Add(match.Groups["name"].Success ? match.Groups["name"].Value
                : match.Groups["quoted"].Success ? match.Groups["quoted"].Value
                : match.Groups["index"].Success ? match.Groups["index"].Value
                : "*");
        }

        return steps;
    }

    /// <summary>
    /// What a path names in a value, in document order; an absent member or item names nothing, and
    /// so does a value of another shape than the path expects (the caller decides what that means).
    /// </summary>
    public static List<JsonNode?> Select(JsonNode? value, string path)
    {
        var found = new List<JsonNode?>();
        if (Steps(path) is { } steps)
        {
            Select(value, steps, 0, found);
        }

        return found;
    }

    private static void Select(JsonNode? node, List<string> steps, int at, List<JsonNode?> found)
    {
        if (at == steps.Count)
        {
            found.Add(node);
            return;
        }

        var step = steps[at];
        switch (node)
        {
            case JsonObject obj:
                foreach (var key in step == "*" ? obj.Select(p => p.Key).ToList() : obj.ContainsKey(step) ? [step] : [])
                {
                    Select(obj[key], steps, at + 1, found);
                }

                break;
            case JsonArray array when step == "*":
                foreach (var item in array)
                {
                    Select(item, steps, at + 1, found);
                }

                break;
            case JsonArray array when int.TryParse(step, out var n) && n < array.Count:
                Select(array[n], steps, at + 1, found);
                break;
        }
    }

    [GeneratedRegex(@"^\$(\.[A-Za-z0-9_\-]+|\.\*|\[[0-9]+\]|\[\*\]|\['[^']*'\])*$")]
    private static partial Regex Whole();

    [GeneratedRegex(@"\.(?<name>[A-Za-z0-9_\-]+)|\.\*|\[(?<index>[0-9]+)\]|\[\*\]|\['(?<quoted>[^']*)'\]")]
    private static partial Regex Step();
}
