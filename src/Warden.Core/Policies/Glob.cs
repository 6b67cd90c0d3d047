namespace Warden.Core.Policies;

/// <summary>A name pattern where * stands for any run of characters. Matching allocates nothing.</summary>
internal sealed class Glob
{
    private readonly string _pattern;

    public Glob(string pattern)
    {
        _pattern = pattern;
        IsWildcard = pattern.Contains('*', StringComparison.Ordinal);
    }

    public bool IsWildcard { get; }

    public string Pattern => _pattern;

    public static bool AnyMatch(Glob[] globs, string name)
    {
        if (globs.Length == 0)
        {
            return true;
        }

        foreach (var glob in globs)
        {
            if (glob.Matches(name))
            {
                return true;
            }
        }

        return false;
    }

    public bool Matches(string name)
    {
        if (!IsWildcard)
        {
            return string.Equals(_pattern, name, StringComparison.Ordinal);
        }

        // Classic greedy wildcard match with one backtrack point: linear in practice, no recursion.
        int p = 0, n = 0, star = -1, mark = 0;
        while (n < name.Length)
        {
            if (p < _pattern.Length && _pattern[p] == '*')
            {
                star = p++;
                mark = n;
            }
            else if (p < _pattern.Length && _pattern[p] == name[n])
            {
                p++;
                n++;
            }
            else if (star >= 0)
            {
                p = star + 1;
                n = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < _pattern.Length && _pattern[p] == '*')
        {
            p++;
        }

        return p == _pattern.Length;
    }
}
