using System.Text.Json;
using System.Text.RegularExpressions;

namespace Warden.Core;

/// <summary>
/// Finds credentials an agent put in a call's arguments: an argument named as one (password,
/// api_key, access_token, ...) with a value, or a value shaped as one wherever it is (a bearer
/// header, a JSON Web Token, a private key, a cloud or code-host key, a URL with a password in it).
/// Credentials reach a governed system from Warden, which holds them; one an agent carries is one
/// it should not have, and would go where the policy cannot see it used.
/// </summary>
public static partial class CredentialArguments
{
    private static readonly HashSet<string> Names = new(StringComparer.Ordinal)
    {
        "password", "passwd", "passphrase", "secret", "clientsecret", "apikey", "apitoken", "accesstoken", "refreshtoken", "authtoken", "idtoken",
        "sessiontoken", "bearertoken", "authorization", "privatekey", "secretkey", "accesskey", "secretaccesskey", "token", "credentials", "credential",
    };

    /// <summary>Where in the arguments a credential is, and what it looks like (never the value itself); empty when there is none.</summary>
    public static IReadOnlyList<string> Find(JsonElement arguments)
    {
        var found = new List<string>();
        Walk(arguments, "args", found);
        return found;
    }

    private static void Walk(JsonElement value, string path, List<string> found)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var member in value.EnumerateObject())
                {
                    var at = member.Name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') ? $"{path}.{member.Name}" : $"{path}['{member.Name}']";
                    if (NamedAsCredential(Normal(member.Name)) && member.Value.ValueKind is JsonValueKind.String && member.Value.GetString()!.Trim().Length > 0)
                    {
                        found.Add($"{at} is named as a credential");
                        continue;
                    }

                    Walk(member.Value, at, found);
                }

                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in value.EnumerateArray())
                {
                    Walk(item, $"{path}[{i++}]", found);
                }

                break;
            case JsonValueKind.String when Shape(value.GetString()!) is { } shape:
                found.Add($"{path} holds {shape}");
                break;
        }
    }

    /// <summary>A credential's name, or one that ends as one (X-Api-Key, db_password); "token" alone only as the whole name (page_token is not one).</summary>
    private static bool NamedAsCredential(string name) =>
        Names.Contains(name) || Suffixes.Any(s => name.EndsWith(s, StringComparison.Ordinal));

    private static readonly string[] Suffixes = ["apikey", "apitoken", "accesstoken", "authtoken", "refreshtoken", "secretkey", "clientsecret", "password", "passwd", "privatekey"];

    /// <summary>The name without case, '_', '-' or '.': api_key, apiKey and API-KEY are one name.</summary>
    private static string Normal(string name) => new([.. name.Where(char.IsLetterOrDigit).Select(char.ToLowerInvariant)]);

    private static string? Shape(string text)
    {
        if (text.Length < 16)
        {
            return null;
        }

        foreach (var (pattern, what) in Shapes)
        {
            if (pattern.IsMatch(text))
            {
                return what;
            }
        }

        return null;
    }

    private static readonly (Regex Pattern, string What)[] Shapes =
    [
        (Bearer(), "an Authorization header's credential"),
        (Jwt(), "a JSON Web Token"),
        (PrivateKey(), "a private key"),
        (ProviderKey(), "an API key of a known provider"),
        (UrlPassword(), "a URL with a password in it"),
    ];

    [GeneratedRegex(@"^\s*(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{16,}\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Bearer();

    [GeneratedRegex(@"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", RegexOptions.CultureInvariant)]
    private static partial Regex Jwt();

    [GeneratedRegex(@"-----BEGIN [A-Z ]*PRIVATE KEY-----", RegexOptions.CultureInvariant)]
    private static partial Regex PrivateKey();

    [GeneratedRegex(@"\b(sk-[A-Za-z0-9_-]{20,}|(sk|rk|pk)_(live|test)_[A-Za-z0-9]{16,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}|xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20,})",
        RegexOptions.CultureInvariant)]
    private static partial Regex ProviderKey();

    [GeneratedRegex(@"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UrlPassword();
}
