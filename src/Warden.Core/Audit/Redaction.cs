using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;

namespace Warden.Core.Audit;

/// <summary>
/// Takes secrets out of what is written to the trail, which is kept for years and exported: the
/// values under secret-sounding keys of a call's arguments, and, in every string of an entry at any
/// depth (arguments, instruction, reason, comment, detail ...), whatever looks like a credential:
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

    // Every match of Shapes begins with or contains one of these (case aside). Most strings hold
    // none, and one vectorised search rules them out before the regular expression runs. A shape
    // added below needs its trigger here, or it is never looked for.
    private static readonly SearchValues<string> Triggers = SearchValues.Create(
        ["-----begin", "authorization", "cookie", "bearer", "basic", "akia", "asia", "abia", "acca", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
         "github_pat_", "xox", "hooks.slack.com", "sk_", "rk_", "sk-", "aiza", "eyj", "://", "pass", "pwd", "secret", "token", "key", "session"],
        StringComparison.OrdinalIgnoreCase);

    // NonBacktracking: matching is linear in the text whatever it holds, so a hostile argument
    // cannot make an append slow (no catastrophic backtracking). It has no lookaround, so the
    // checks that need context (is this "Basic" word followed by base64 of user:password?) are
    // made on each match in Replace.
    private static readonly Regex Shapes = new(
        """
        (?<pem>-----BEGIN[\sA-Z0-9]*PRIVATE\s+KEY(?:\s+BLOCK)?-----[\s\S]*?(?:-----END[\sA-Z0-9]*PRIVATE\s+KEY(?:\s+BLOCK)?-----|\z))
        |(?<hkey>\b(?i:proxy-authorization|authorization))(?<hsep>(?:\\?["'])?[ \t]*[:=][ \t]*(?:\\?["'])?)(?<header>(?i:(?:bearer|basic|token|bot|digest|negotiate|apikey)[ \t]+)?[^\s"'\\,;]+)
        |(?<ckey>\b(?i:set-cookie|cookie))(?<csep>(?:\\?["'])?[ \t]*[:=][ \t]*(?:\\?["'])?)(?<cookie>[^\r\n"'\\]+)
        |(?<bearer>\b(?i:bearer)[ \t]+[A-Za-z0-9._~+/=-]+)
        |(?<basic>\b(?i:basic)[ \t]+[A-Za-z0-9+/=]+)
        |(?<aws>\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b)
        |(?<github>\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}))
        |(?<slack>\bxox[abeprs]-[A-Za-z0-9-]{10,}|hooks\.slack\.com/services/[A-Za-z0-9/_-]+)
        |(?<stripe>\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,})
        |(?<dash>\bsk-[A-Za-z0-9_-]{20,})
        |(?<google>\bAIza[0-9A-Za-z_-]{35})
        |(?<jwt>\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)
        |(?<url>[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:]*:)(?<urlpass>[^\s/?#@]+)@
        |(?<key>(?i:password|passwd|passphrase|pwd|client[_-]?secret|secret|api[_-]?key|access[_-]?key|private[_-]?key|auth[_-]?token|access[_-]?token|refresh[_-]?token|token|session[_-]?(?:id|token)))(?<ksep>(?:\\?["'])?[ \t]*[:=][ \t]*)(?<value>\\?"[^"\r\n\\]+\\?"|\\?'[^'\r\n\\]+\\?'|[^\s"'&;,<>\\]+)
        """,
        RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | RegexOptions.IgnorePatternWhitespace);

    public string Mark => "[redacted]";

    public bool IsSecretKey(string key) => key.AsSpan().ContainsAny(SecretWords);

    /// <summary>The text with every secret in it replaced by a mark naming its kind; the same instance when it holds none.</summary>
    public string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.AsSpan().ContainsAny(Triggers))
        {
            return text;
        }

        // A near miss ("the bearer of this voucher") is matched and given back unchanged.
        var redacted = Shapes.Replace(text, m => Replace(m, text.Length));
        return string.Equals(redacted, text, StringComparison.Ordinal) ? text : redacted;
    }

    private static string Replace(Match match, int textLength)
    {
        var g = match.Groups;
        if (g["pem"].Success)
        {
            return "[redacted: private key]";
        }

        if (g["hkey"].Success)
        {
            var value = g["header"].Value;
            var kind = value.StartsWith("bearer", StringComparison.OrdinalIgnoreCase) ? "bearer token"
                : value.StartsWith("basic", StringComparison.OrdinalIgnoreCase) ? "basic credentials"
                : "authorization header";
            return AlreadyRedacted(value) ? match.Value : string.Concat(g["hkey"].Value, g["hsep"].Value, $"[redacted: {kind}]");
        }

        if (g["ckey"].Success)
        {
            // A cookie header's value runs to the end of the line: name=value; name=value.
            return AlreadyRedacted(g["cookie"].Value) ? match.Value : string.Concat(g["ckey"].Value, g["csep"].Value, "[redacted: cookie]");
        }

        if (g["bearer"].Success || g["basic"].Success)
        {
            // "Bearer X" or "Basic X" as a whole value is a credential whatever X is. Inside a
            // sentence ("the bearer of this card", "basic information"), only a word that looks
            // generated is a bearer token, and only base64 of user:password is basic credentials;
            // any other word is still looked at for the other shapes.
            var space = match.Value.AsSpan().IndexOfAny(' ', '\t');
            var word = match.Value[..space];
            var token = match.Value[space..].TrimStart();
            var bearer = g["bearer"].Success;
            if ((match.Index == 0 && match.Length == textLength) || (bearer ? Generated(token) : UserAndPassword(token)))
            {
                return bearer ? "[redacted: bearer token]" : "[redacted: basic credentials]";
            }

            return string.Concat(word, match.Value.AsSpan(space, match.Value.Length - space - token.Length), Secrets.Redact(token));
        }

        if (g["aws"].Success)
        {
            return "[redacted: AWS access key]";
        }

        if (g["github"].Success)
        {
            return "[redacted: GitHub token]";
        }

        if (g["slack"].Success)
        {
            return match.Value.StartsWith("hooks.", StringComparison.Ordinal) ? "[redacted: Slack webhook]" : "[redacted: Slack token]";
        }

        if (g["stripe"].Success)
        {
            return "[redacted: Stripe key]";
        }

        if (g["dash"].Success)
        {
            // OpenAI and Anthropic keys are sk- and a long random run; a slug such as
            // sk-ii-summer-glow-campaign-2026 is words. A run of 20 letters and digits with both
            // in it tells them apart.
            return !LongRandomRun(match.Value.AsSpan(3)) ? match.Value
                : match.Value.StartsWith("sk-ant-", StringComparison.Ordinal) ? "[redacted: Anthropic API key]" : "[redacted: OpenAI API key]";
        }

        if (g["google"].Success)
        {
            return "[redacted: Google API key]";
        }

        if (g["jwt"].Success)
        {
            return "[redacted: JWT]";
        }

        if (g["url"].Success)
        {
            return AlreadyRedacted(g["urlpass"].Value) ? match.Value : string.Concat(g["url"].Value, "[redacted: password]@");
        }

        var secretValue = g["value"].Value;
        if (AlreadyRedacted(secretValue.TrimStart('\\', '"', '\'')))
        {
            return match.Value;
        }

        var key = g["key"].Value.ToLowerInvariant();
        var what = key.Contains("pass", StringComparison.Ordinal) || key == "pwd" ? "password"
            : key.Contains("session", StringComparison.Ordinal) ? "session id"
            : key.Contains("token", StringComparison.Ordinal) ? "token"
            : key.Contains("key", StringComparison.Ordinal) ? "key"
            : "secret";

        // A quoted value keeps its quotes, so that JSON or code around it still reads as such.
        var quote = secretValue.Length > 0 && secretValue[0] is '"' or '\'' or '\\' ? secretValue[..(secretValue.IndexOfAny(['"', '\'']) + 1)] : "";
        return string.Concat(g["key"].Value, g["ksep"].Value, quote, $"[redacted: {what}]", quote.Length > 0 ? quote : "");
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
