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
        : !Steps().IsMatch(path) ? "only .name, ['name'], [n], [*] and .* steps are followed"
        : null;

    [GeneratedRegex(@"^\$(\.[A-Za-z0-9_\-]+|\.\*|\[[0-9]+\]|\[\*\]|\['[^']*'\])*$")]
    private static partial Regex Steps();
}
