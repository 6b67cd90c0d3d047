namespace Warden.Core.Diagnostics;

/// <summary>"Did you mean" hints: the closest known name by edit distance, when it is close enough.</summary>
public static class Suggest
{
    /// <summary>The known name closest to the typed one, if it is within a third of its length in edits.</summary>
    public static string? Closest(string typed, IEnumerable<string> known)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var distance = Distance(typed.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        // A third of the length keeps "aproovers" → "approvers" but not "foo" → "kind".
        var allowed = Math.Max(1, typed.Length / 3);
        return bestDistance <= allowed ? best : null;
    }

    /// <summary>"did you mean 'x'?", or null when nothing is close.</summary>
    public static string? Hint(string typed, IEnumerable<string> known) =>
        Closest(typed, known) is { } match ? $"did you mean '{match}'?" : null;

    /// <summary>Hint naming the closest match, or listing the choices when they are few.</summary>
    /// <summary>A "did you mean" hint, or the list of choices when they are few.</summary>
    public static string HintOrChoices(string typed, IReadOnlyCollection<string> known)
    {
        if (Hint(typed, known) is { } hint)
        {
            return hint;
        }

        return known.Count == 0 ? "none are declared"
            : known.Count <= 12 ? "expected one of: " + string.Join(", ", known)
            : $"{known.Count} are declared";
    }

    /// <summary>Optimal string alignment distance: edits plus adjacent swaps, so "recrods" is one step from "records".</summary>
    private static int Distance(string a, string b)
    {
        if (a.Length > 64 || b.Length > 64)
        {
            return int.MaxValue;
        }

        Span<int> beforePrevious = stackalloc int[b.Length + 1];
        Span<int> previous = stackalloc int[b.Length + 1];
        Span<int> current = stackalloc int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                var best = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    best = Math.Min(best, beforePrevious[j - 2] + 1);
                }

                current[j] = best;
            }

            previous.CopyTo(beforePrevious);
            current.CopyTo(previous);
        }

        return previous[b.Length];
    }
}
