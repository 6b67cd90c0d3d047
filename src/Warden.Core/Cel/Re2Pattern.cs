using System.Text;

namespace Warden.Core.Cel;

/// <summary>
/// CEL's matches() uses RE2 syntax and meaning; .NET's regular expressions differ in ways that
/// matter for a policy: '$' also matches before a final newline, and \d, \w, \s match non-ASCII
/// digits, letters and spaces. This rewrites an RE2 pattern into a .NET one with RE2's meaning,
/// and refuses what RE2 does not have (backreferences, lookaround, class subtraction, ...).
/// The result runs on the NonBacktracking engine: linear time, like RE2.
/// </summary>
internal static class Re2Pattern
{
    private static readonly Dictionary<string, string> PosixClasses = new()
    {
        ["alnum"] = "0-9A-Za-z", ["alpha"] = "A-Za-z", ["digit"] = "0-9", ["lower"] = "a-z", ["upper"] = "A-Z",
        ["space"] = "\\t\\n\\v\\f\\r ", ["xdigit"] = "0-9A-Fa-f", ["word"] = "0-9A-Za-z_",
    };

    public static string? Translate(string pattern, out string? error)
    {
        error = null;
        var result = new StringBuilder(pattern.Length + 16);
        var multiline = false;
        var inClass = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\')
            {
                if (i + 1 >= pattern.Length)
                {
                    error = "the pattern ends with a lone backslash";
                    return null;
                }

                var e = pattern[++i];
                switch (e)
                {
                    case 'd': result.Append(inClass ? "0-9" : "[0-9]"); break;
                    case 'w': result.Append(inClass ? "0-9A-Za-z_" : "[0-9A-Za-z_]"); break;
                    case 's': result.Append(inClass ? "\\t\\n\\f\\r " : "[\\t\\n\\f\\r ]"); break;
                    case 'D' or 'W' or 'S' when inClass:
                        error = $"\\{e} inside a character class is not supported; write the class out";
                        return null;
                    case 'D': result.Append("[^0-9]"); break;
                    case 'W': result.Append("[^0-9A-Za-z_]"); break;
                    case 'S': result.Append("[^\\t\\n\\f\\r ]"); break;
                    case >= '1' and <= '9' or 'k':
                        error = "backreferences are not part of RE2";
                        return null;
                    case 'Q':
                        error = "\\Q...\\E is not supported; escape each special character instead";
                        return null;
                    case 'Z' or 'G':
                        error = $"\\{e} is not part of RE2";
                        return null;
                    default:
                        result.Append('\\').Append(e);
                        break;
                }

                continue;
            }

            if (inClass)
            {
                if (c == ']')
                {
                    inClass = false;
                }
                else if (c == '-' && i + 1 < pattern.Length && pattern[i + 1] == '[')
                {
                    error = "character class subtraction is not part of RE2";
                    return null;
                }
                else if (c == '[' && i + 1 < pattern.Length && pattern[i + 1] == ':')
                {
                    var close = pattern.IndexOf(":]", i + 2, StringComparison.Ordinal);
                    var name = close < 0 ? "" : pattern[(i + 2)..close];
                    if (!PosixClasses.TryGetValue(name, out var members))
                    {
                        error = $"the class [:{name}:] is not supported";
                        return null;
                    }

                    result.Append(members);
                    i = close + 1;
                    continue;
                }

                result.Append(c);
                continue;
            }

            switch (c)
            {
                case '[':
                    inClass = true;
                    result.Append(c);
                    // A ']' right after '[' or '[^' is a literal member, in RE2 as in .NET.
                    if (i + 1 < pattern.Length && pattern[i + 1] == '^')
                    {
                        result.Append(pattern[++i]);
                    }

                    if (i + 1 < pattern.Length && pattern[i + 1] == ']')
                    {
                        result.Append("\\]");
                        i++;
                    }

                    break;
                case '$':
                    // Without the m flag, RE2's '$' is the end of the text; .NET's also matches before a final '\n'.
                    result.Append(multiline ? "$" : "\\z");
                    break;
                case '(' when i + 1 < pattern.Length && pattern[i + 1] == '?':
                    var rest = pattern.AsSpan(i + 2);
                    if (rest.StartsWith("P<"))
                    {
                        result.Append("(?<");
                        i += 3;
                    }
                    else if (rest.StartsWith(":") || rest.StartsWith("<") && rest.Length > 1 && rest[1] is not ('=' or '!'))
                    {
                        result.Append(c);
                    }
                    else if (rest.Length > 0 && (char.IsAsciiLetter(rest[0]) || rest[0] == '-'))
                    {
                        var end = rest.IndexOfAny(')', ':');
                        var flags = end < 0 ? rest : rest[..end];
                        if (flags.ContainsAnyExcept("ims-"))
                        {
                            error = "only the flags i, m and s are supported";
                            return null;
                        }

                        multiline |= flags.Contains('m') && !flags.StartsWith("-") && (flags.IndexOf('-') < 0 || flags.IndexOf('m') < flags.IndexOf('-'));
                        result.Append(c);
                    }
                    else
                    {
                        error = rest.StartsWith("=") || rest.StartsWith("!") || rest.StartsWith("<=") || rest.StartsWith("<!")
                            ? "lookahead and lookbehind are not part of RE2"
                            : "this group syntax is not part of RE2";
                        return null;
                    }

                    break;
                default:
                    result.Append(c);
                    break;
            }
        }

        return result.ToString();
    }
}
