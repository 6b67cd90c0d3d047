using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;

namespace Warden.Core.Audit;

/// <summary>
/// Takes secrets out of what is written to the trail, which is kept for years and exported: the
/// values under secret-sounding keys of a call's arguments, and, in every text of an entry that a
/// person or an agent typed (every string and name of the arguments at any depth, the instruction,
/// the tool's name as called, the reason, summary, comment and detail), whatever looks like a credential:
/// bearer and basic credentials, Authorization and Cookie headers, well-known key formats (AWS,
/// GitHub, Slack, Stripe, OpenAI, Anthropic, Google), JWTs, PEM private keys, <c>password=</c>
/// and its kin, and the password in <c>https://user:pass@host</c>. Only the secret is replaced,
/// by a mark that says what it was (<c>[redacted: bearer token]</c>), so the rest stays readable.
/// <see cref="AuditText"/> applies it before anything is hashed.
/// </summary>
internal sealed class Redaction : IRedaction
{
    public static readonly Redaction Secrets = new();

    // One multi-string search instead of a Contains per word: this runs for every key of every
    // call's arguments, and the loop was the largest single cost of an append (bench/README.md).
    private static readonly SearchValues<string> SecretWords = SearchValues.Create(
        ["password", "passwd", "secret", "token", "apikey", "api_key", "authorization", "credential", "private_key", "privatekey", "cookie", "session"],
        StringComparison.OrdinalIgnoreCase);

    // Every match of Patterns begins with or contains one of these (case aside). Most strings hold
    // none, and one vectorised search rules them out before the regular expression runs. A shape
    // added below needs its trigger here, or it is never looked for.
    private static readonly SearchValues<string> Triggers = SearchValues.Create(
        ["-----begin", "authorization", "cookie", "bearer", "basic", "akia", "asia", "abia", "acca", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
         "github_pat_", "xox", "hooks.slack.com", "sk_", "rk_", "sk-", "aiza", "eyj", "://", "pass", "pwd", "secret", "token", "key", "session"],
        StringComparison.OrdinalIgnoreCase);

    // The shapes, in the order they are tried at one place of a text: the first that matches
    // there wins, as in one alternation. Named groups mark what Replacement keeps (key, sep) and
    // replaces (value). First: the characters a match can begin with (null: any letter), so that
    // telling a place apart tries only the shapes that can be there.
    private static readonly (string Name, string? First, string Pattern)[] Patterns =
    [
        ("pem", "-", @"-----BEGIN[\sA-Z0-9]*PRIVATE\s+KEY(?:\s+BLOCK)?-----[\s\S]*?(?:-----END[\sA-Z0-9]*PRIVATE\s+KEY(?:\s+BLOCK)?-----|\z)"),
        ("header", "aApP", @"(?<key>\b(?i:proxy-authorization|authorization))(?<sep>(?:\\?[""'])?[ \t]*[:=][ \t]*(?:\\?[""'])?)(?<value>(?i:(?:bearer|basic|token|bot|digest|negotiate|apikey)[ \t]+)?[^\s""'\\,;]+)"),
        ("cookie", "cCsS", @"(?<key>\b(?i:set-cookie|cookie))(?<sep>(?:\\?[""'])?[ \t]*[:=][ \t]*(?:\\?[""'])?)(?<value>[^\r\n""'\\]+)"),
        ("bearer", "bB", @"(?<key>\b(?i:bearer)[ \t]+)(?<value>[A-Za-z0-9._~+/=-]+)"),
        ("basic", "bB", @"(?<key>\b(?i:basic)[ \t]+)(?<value>[A-Za-z0-9+/=]+)"),
        ("AWS access key", "A", @"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"),
        ("GitHub token", "g", @"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
        ("Slack token", "x", @"\bxox[abeprs]-[A-Za-z0-9-]{10,}"),
        ("Slack webhook", "h", @"hooks\.slack\.com/services/[A-Za-z0-9/_-]+"),
        ("Stripe key", "sr", @"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}"),
        ("dash", "s", @"\bsk-[A-Za-z0-9_-]{20,}"),
        ("Google API key", "A", @"\bAIza[0-9A-Za-z_-]{35}"),
        ("JWT", "e", @"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
        ("url", null, @"(?<key>[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:]*:)(?<value>[^\s/?#@]+)@"),
        ("field", "pPcCsSaAtTrR", @"(?<key>(?i:password|passwd|passphrase|pwd|client[_-]?secret|secret|api[_-]?key|access[_-]?key|private[_-]?key|auth[_-]?token|access[_-]?token|refresh[_-]?token|token|session[_-]?(?:id|token)))(?<sep>(?:\\?[""'])?[ \t]*[:=][ \t]*)(?<value>\\?""[^""\r\n\\]+\\?""|\\?'[^'\r\n\\]+\\?'|[^\s""'&;,<>\\]+)"),
    ];

    // NonBacktracking: matching is linear in the text whatever it holds, so a hostile argument
    // cannot make an append slow (no catastrophic backtracking). Finding is one pass of one
    // alternation without captures (captures cost a second pass and allocations per match); each
    // place found is then told apart by the shape that matches it exactly, with its groups.
    private const RegexOptions Linear = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;

    private static readonly Regex Anywhere = new(
        string.Join('|', Patterns.Select(p => "(?:" + Regex.Replace(p.Pattern, @"\(\?<[A-Za-z]+>", "(?:") + ")")), Linear);

    private static readonly Regex[] Exactly = [.. Patterns.Select(p => new Regex(@"\A(?:" + p.Pattern + @")\z", Linear))];

    public string Mark => "[redacted]";

    public bool IsSecretKey(string key) => key.AsSpan().ContainsAny(SecretWords);

    /// <summary>The text with every secret in it replaced by a mark naming its kind; the same instance when it holds none.</summary>
    public string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.AsSpan().ContainsAny(Triggers) ? Scan(text) : text;
    }

    // Matches (secrets and near misses alike) looked at in one text before the rest of it is
    // redacted whole: a hostile argument full of "password=x" cannot make an append do much work
    // (each match costs about a microsecond; no real text holds a hundred secrets).
    private const int MaxMatches = 100;

    private static string Scan(string text)
    {
        StringBuilder? output = null;
        var copied = 0;
        var matches = 0;
        foreach (var found in Anywhere.EnumerateMatches(text))
        {
            if (++matches > MaxMatches)
            {
                output ??= new StringBuilder(text.Length);
                output.Append(text, copied, found.Index - copied).Append("[redacted: the rest of a text with more than 100 secrets]");
                return output.ToString();
            }

            // A near miss ("the bearer of this voucher") is found and left as it is.
            if (Replacement(text, found.Index, found.Length) is not { } replacement)
            {
                continue;
            }

            output ??= new StringBuilder(text.Length);
            output.Append(text, copied, found.Index - copied).Append(replacement);
            copied = found.Index + found.Length;
        }

        return output is null ? text : output.Append(text, copied, text.Length - copied).ToString();
    }

    /// <summary>What replaces the secret found at this place, or null when it is none after all.</summary>
    private static string? Replacement(string text, int index, int length)
    {
        for (var i = 0; i < Patterns.Length; i++)
        {
            if (Patterns[i].First is { } first && !first.Contains(text[index], StringComparison.Ordinal))
            {
                continue;
            }

            var match = Exactly[i].Match(text, index, length);
            if (match.Success)
            {
                var whole = index == 0 && length == text.Length;
                var replacement = Replacement(Patterns[i].Name, match, whole);
                return replacement is null || string.Equals(replacement, match.Value, StringComparison.Ordinal) ? null : replacement;
            }
        }

        // Found by the alternation, so one of the shapes matches it; should none, it goes whole.
        return "[redacted: secret]";
    }

    private static string? Replacement(string shape, Match match, bool whole)
    {
        var key = match.Groups["key"].Value;
        var separator = match.Groups["sep"].Value;
        var value = match.Groups["value"].Value;
        switch (shape)
        {
            case "pem":
                return "[redacted: private key]";
            case "header":
                var kind = value.StartsWith("bearer", StringComparison.OrdinalIgnoreCase) ? "bearer token"
                    : value.StartsWith("basic", StringComparison.OrdinalIgnoreCase) ? "basic credentials"
                    : "authorization header";
                return AlreadyRedacted(value) ? null : string.Concat(key, separator, $"[redacted: {kind}]");
            case "cookie":
                // A cookie header's value runs to the end of the line: name=value; name=value.
                return AlreadyRedacted(value) ? null : string.Concat(key, separator, "[redacted: cookie]");
            case "bearer" or "basic":
                // "Bearer X" or "Basic X" as a whole value is a credential whatever X is. Inside a
                // sentence ("the bearer of this card", "basic information"), only a word that looks
                // generated is a bearer token, and only base64 of user:password is basic credentials;
                // any other word is still looked at for the other shapes.
                var bearer = shape == "bearer";
                if (whole || (bearer ? Generated(value) : UserAndPassword(value)))
                {
                    return bearer ? "[redacted: bearer token]" : "[redacted: basic credentials]";
                }

                return string.Concat(key, Secrets.Redact(value));
            case "dash":
                // OpenAI and Anthropic keys are sk- and a long random run; a slug such as
                // sk-ii-summer-glow-campaign-2026 is words. A run of 20 letters and digits with both
                // in it tells them apart.
                return !LongRandomRun(match.ValueSpan[3..]) ? null
                    : match.ValueSpan.StartsWith("sk-ant-", StringComparison.Ordinal) ? "[redacted: Anthropic API key]" : "[redacted: OpenAI API key]";
            case "url":
                return AlreadyRedacted(value) ? null : string.Concat(key, "[redacted: password]@");
            case "field":
                if (AlreadyRedacted(value.TrimStart('\\', '"', '\'')))
                {
                    return null;
                }

                var lower = key.ToLowerInvariant();
                var what = lower.Contains("pass", StringComparison.Ordinal) || lower == "pwd" ? "password"
                    : lower.Contains("session", StringComparison.Ordinal) ? "session id"
                    : lower.Contains("token", StringComparison.Ordinal) ? "token"
                    : lower.Contains("key", StringComparison.Ordinal) ? "key"
                    : "secret";

                // A quoted value keeps its quotes, so that JSON or code around it still reads as such.
                var quote = value.Length > 0 && value[0] is '"' or '\'' or '\\' ? value[..(value.IndexOfAny(['"', '\'']) + 1)] : "";
                return string.Concat(key, separator, quote, $"[redacted: {what}]", quote);
            default:
                // A key of a known format: the shape's name says which.
                return $"[redacted: {shape}]";
        }
    }

    // Marks are never redacted again: reading an entry back and writing it gives the same text.
    private static bool AlreadyRedacted(string value) => value.StartsWith("[redacted", StringComparison.Ordinal);

    /// <summary>A word a program made rather than a person wrote: long, or with digits among its letters.</summary>
    private static bool Generated(string token) =>
        token.Length >= 16 || (token.Length >= 8 && token.AsSpan().IndexOfAnyInRange('0', '9') >= 0 && token.AsSpan().IndexOfAnyExceptInRange('0', '9') >= 0);

    /// <summary>True when the text is base64 of "user:password", as HTTP basic credentials are.</summary>
    private static bool UserAndPassword(string token)
    {
        if (token.Length < 4 || token.Length % 4 != 0)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[token.Length];
        return Convert.TryFromBase64String(token, bytes, out var written) && bytes[..written].IndexOf((byte)':') > 0
               && Encoding.UTF8.GetCharCount(bytes[..written]) > 0;
    }

    private static bool LongRandomRun(ReadOnlySpan<char> text)
    {
        var run = 0;
        bool digit = false, letter = false;
        foreach (var c in text)
        {
            if (char.IsAsciiLetterOrDigit(c))
            {
                run++;
                digit |= char.IsAsciiDigit(c);
                letter |= char.IsAsciiLetter(c);
                if (run >= 20 && digit && letter)
                {
                    return true;
                }
            }
            else
            {
                run = 0;
                digit = letter = false;
            }
        }

        return false;
    }
}
