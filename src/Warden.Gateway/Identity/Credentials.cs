using System.Security.Cryptography;
using System.Text;
using Warden.Core;

namespace Warden.Gateway.Identity;

/// <summary>Who is calling: an agent (through MCP) or a person (through the API).</summary>
internal enum CallerKind
{
    Agent,
    Person,
}

/// <summary>An authenticated caller.</summary>
internal sealed record Caller(CallerKind Kind, string Id);

/// <summary>
/// The gateway's bearer tokens: each agent's and person's token, resolved from the references in
/// the policy (env:NAME, file:/path, secret:NAME), kept only as their SHA-256 so that a lookup
/// compares hashes, not secrets, and a memory dump shows none of them.
/// </summary>
internal sealed class Credentials
{
    private readonly Dictionary<string, Caller> _byHash;

    private Credentials(Dictionary<string, Caller> byHash) => _byHash = byHash;

    /// <summary>
    /// Resolves every token reference in the policy. A reference that cannot be resolved leaves
    /// that identity without a token (it cannot authenticate), unless <paramref name="demo"/> is
    /// given, which makes one up and lists it there.
    /// </summary>
    public static Credentials From(Policy policy, TokenReferences references, Dictionary<string, string>? demo, out List<string> unresolved)
    {
        unresolved = [];
        var byHash = new Dictionary<string, Caller>(StringComparer.Ordinal);
        var identities = policy.Agents.Select(a => (Caller: new Caller(CallerKind.Agent, a.Id), Reference: (string?)a.TokenReference))
            .Concat(policy.Owners.Select(o => (Caller: new Caller(CallerKind.Person, o.Id), Reference: o.TokenReference)));
        foreach (var (caller, reference) in identities)
        {
            if (string.IsNullOrEmpty(reference))
            {
                continue;
            }

            var token = references.Resolve(reference);
            if (token is null && demo is not null)
            {
                token = $"wd_{(caller.Kind == CallerKind.Agent ? "agent" : "person")}_{caller.Id}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12))}";
                demo[caller.Id] = token;
            }

            if (token is null)
            {
                unresolved.Add($"{caller.Kind.ToString().ToLowerInvariant()} '{caller.Id}' ({reference})");
                continue;
            }

            if (!byHash.TryAdd(Hash(token), caller))
            {
                // The policy checker refuses two identities with one reference; two references
                // that resolve to the same secret are caught here.
                throw new GatewayException($"{caller.Kind.ToString().ToLowerInvariant()} '{caller.Id}' has the same token as {byHash[Hash(token)].Id}; every identity needs its own");
            }
        }

        return new Credentials(byHash);
    }

    /// <summary>The caller a bearer token belongs to, or null.</summary>
    public Caller? Find(string token) => token.Length is > 0 and <= 4096 ? _byHash.GetValueOrDefault(Hash(token)) : null;

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}

/// <summary>Where tokens are kept: env:NAME is an environment variable, file:/path a file, secret:NAME a file in the secrets folder.</summary>
internal sealed class TokenReferences(string secretsDirectory, Func<string, string?>? environment = null)
{
    private readonly Func<string, string?> _environment = environment ?? Environment.GetEnvironmentVariable;

    /// <summary>The token, or null when the reference points at nothing (an unset variable, a missing file).</summary>
    public string? Resolve(string reference)
    {
        var colon = reference.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return null;
        }

        var (scheme, name) = (reference[..colon], reference[(colon + 1)..]);
        var token = scheme switch
        {
            "env" => _environment(name),
            "file" => Read(name),
            "secret" => name.IndexOfAny(['/', '\\']) < 0 && name is not ("." or "..") ? Read(Path.Combine(secretsDirectory, name)) : null,
            _ => null,
        };
        return string.IsNullOrWhiteSpace(token) ? null : token.Trim();
    }

    private static string? Read(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
