namespace Warden.Workspace.Seeding;

/// <summary>
/// The contact fields a filter reads, for field_dependencies: every bare identifier outside a
/// string literal, except a method name after a dot and the words CEL reserves. Deriving them from
/// the stored rule, instead of listing them by hand, keeps the two from drifting apart.
/// </summary>
internal static class RuleFields
{
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal) { "in", "true", "false", "null" };

    public static IReadOnlyList<string> Read(string rule)
    {
        var fields = new SortedSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < rule.Length;)
        {
            var ch = rule[i];
            if (ch is '\'' or '"')
            {
                var end = rule.IndexOf(ch, i + 1);
                i = end < 0 ? rule.Length : end + 1;
                continue;
            }

            if (char.IsAsciiLetter(ch) || ch == '_')
            {
                var start = i;
                while (i < rule.Length && (char.IsAsciiLetterOrDigit(rule[i]) || rule[i] == '_'))
                {
                    i++;
                }

                var word = rule[start..i];
                var isMethod = start > 0 && rule[start - 1] == '.';
                if (!isMethod && !Reserved.Contains(word))
                {
                    fields.Add(word);
                }

                continue;
            }

            i++;
        }

        return [.. fields];
    }
}
