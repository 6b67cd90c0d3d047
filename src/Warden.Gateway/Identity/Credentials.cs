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
/// compares hashes, not secrets, and a memory dump shows none of them. Tokens in files are read
/// again every two seconds (<see cref="Refresh"/>; they are a few bytes each, and reading them
/// sees a change however it was made: a rewrite within one clock tick, a swapped symlink as in a
/// Kubernetes secret volume): writing a new secret rotates a token and deleting it revokes one,
/// without a restart. An environment variable is fixed for the life of the process.
/// </summary>
internal sealed class Credentials : IDisposable
{
    private readonly IReadOnlyList<(Caller Caller, string Reference)> _identities;
    private readonly TokenReferences _references;
    private readonly Dictionary<string, string> _demo;
    private readonly HashSet<string> _resolvedOnce = new(StringComparer.Ordinal);
    private readonly Lock _refreshing = new();
    private volatile Dictionary<string, Caller> _byHash = new(StringComparer.Ordinal);
    private string? _clash;
    private ITimer? _watch;

    private Credentials(IReadOnlyList<(Caller, string)> identities, TokenReferences references, Dictionary<string, string> demo)
    {
        _identities = identities;
        _references = references;
        _demo = demo;
    }

    /// <summary>
    /// Resolves every token reference in the policy. A reference that cannot be resolved leaves
    /// that identity without a token (it cannot authenticate), unless <paramref name="demo"/> is
    /// given, which makes one up and lists it there (keeping the one it already holds for that
    /// identity, made up by an earlier run); the made-up token lasts until the reference first resolves.
    /// </summary>
    /// <exception cref="GatewayException">Two identities resolve to the same token.</exception>
    public static Credentials From(Policy policy, TokenReferences references, Dictionary<string, string>? demo, out List<string> unresolved)
    {
        var identities = policy.Agents.Select(a => (Caller: new Caller(CallerKind.Agent, a.Id), Reference: (string?)a.TokenReference))
            .Concat(policy.Owners.Select(o => (Caller: new Caller(CallerKind.Person, o.Id), Reference: o.TokenReference)))
            .Where(i => !string.IsNullOrEmpty(i.Reference))
            .Select(i => (i.Caller, Reference: i.Reference!))
            .ToList();
        var credentials = new Credentials(identities, references, demo ?? []);
        if (demo is not null)
        {
            // Tokens made up before for this data folder are kept (a client configured with one
            // keeps working after a restart); identities without one get a new one.
            var kept = new Dictionary<string, string>(demo, StringComparer.Ordinal);
            demo.Clear();
            foreach (var (caller, reference) in identities)
            {
                if (references.Resolve(reference) is null)
                {
                    var prefix = $"wd_{(caller.Kind == CallerKind.Agent ? "agent" : "person")}_{caller.Id}_";
                    // Kept only when it is what Warden makes: the prefix and 24 random hex digits, never a chosen word.
                    demo[caller.Id] = kept.TryGetValue(caller.Id, out var token) && token.StartsWith(prefix, StringComparison.Ordinal) && token.Length == prefix.Length + 24
                                      && token.AsSpan(prefix.Length).IndexOfAnyExcept("0123456789abcdef") < 0
                        ? token
                        : prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
                }
            }
        }

        var (byHash, _, clash) = credentials.Resolve();
        if (clash is not null)
        {
            // The policy checker refuses two identities with one reference; two references that
            // resolve to the same secret are caught here.
            throw new GatewayException(clash);
        }

        credentials._byHash = byHash;
        unresolved = [.. identities.Where(i => !byHash.Values.Contains(i.Caller)).Select(i => $"{i.Caller.Kind.ToString().ToLowerInvariant()} '{i.Caller.Id}' ({i.Reference})")];
        return credentials;
    }

    /// <summary>Reads the token files again every two seconds.</summary>
    /// <param name="clock">The gateway's clock.</param>
    /// <param name="changed">Hears what changed: the identities whose token is new or gone, in a sentence.</param>
    public void Watch(TimeProvider clock, Action<string> changed) =>
        _watch = clock.CreateTimer(_ => Refresh(changed), null, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2));

    /// <summary>
    /// Reads the token references again; when any identity's token changed, the new set takes
    /// over at once and <paramref name="changed"/> hears which. Two identities that now share a
    /// token both lose it until that is put right: no token is ever taken for someone else's.
    /// </summary>
    public void Refresh(Action<string>? changed = null)
    {
        lock (_refreshing)
        {
            var before = _byHash;
            var (byHash, clashing, clash) = Resolve();
            foreach (var hash in clashing)
            {
                byHash.Remove(hash);
            }

            var rotated = _identities.Select(i => i.Caller).Where(c => HashOf(before, c) != HashOf(byHash, c)).ToList();
            if (rotated.Count == 0 && clash == _clash)
            {
                return;
            }

            _byHash = byHash;
            _clash = clash;
            var parts = rotated.Count == 0 ? [] : new List<string> { string.Join(", ", rotated.Select(c => HashOf(byHash, c) is null ? $"{c.Id} (no token now)" : $"{c.Id} (new token)")) };
            if (clash is not null)
            {
                parts.Add($"{clash}, so neither signs in");
            }

            changed?.Invoke($"token files changed: {string.Join("; ", parts)}");
        }
    }

    /// <summary>The caller a bearer token belongs to, or null.</summary>
    public Caller? Find(string token) => token.Length is > 0 and <= 4096 ? _byHash.GetValueOrDefault(Hash(token)) : null;

    public void Dispose() => _watch?.Dispose();

    /// <summary>Every identity's token as it reads now: by hash, the hashes two identities share, and a sentence when any do.</summary>
    private (Dictionary<string, Caller> ByHash, List<string> Clashing, string? Clash) Resolve()
    {
        var byHash = new Dictionary<string, Caller>(StringComparer.Ordinal);
        var clashing = new List<string>();
        string? clash = null;
        foreach (var (caller, reference) in _identities)
        {
            var token = _references.Resolve(reference);
            if (token is not null)
            {
                _resolvedOnce.Add(caller.Id);
            }
            else if (!_resolvedOnce.Contains(caller.Id))
            {
                token = _demo.GetValueOrDefault(caller.Id);
            }

            if (token is null)
            {
                continue;
            }

            var hash = Hash(token);
            if (!byHash.TryAdd(hash, caller))
            {
                clash ??= $"{caller.Kind.ToString().ToLowerInvariant()} '{caller.Id}' has the same token as {byHash[hash].Id}; every identity needs its own";
                clashing.Add(hash);
            }
        }

        return (byHash, clashing, clash);
    }

    /// <summary>The hash of an identity's token in a set of tokens (each identity has at most one), or null.</summary>
    private static string? HashOf(Dictionary<string, Caller> byHash, Caller caller) => byHash.FirstOrDefault(b => b.Value == caller).Key;

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}

/// <summary>Where tokens are kept: env:NAME is an environment variable, file:/path a file, secret:NAME a file in the secrets folder.</summary>
internal sealed class TokenReferences(string secretsDirectory, Func<string, string?>? environment = null)
{
    private readonly Func<string, string?> _environment = environment ?? Environment.GetEnvironmentVariable;

    /// <summary>The token, or null when the reference points at nothing (an unset variable, a missing file).</summary>
    public string? Resolve(string reference)
    {
        var token = reference.StartsWith("env:", StringComparison.Ordinal) ? _environment(reference[4..]) : FileOf(reference) is { } path ? Read(path) : null;
        return string.IsNullOrWhiteSpace(token) ? null : token.Trim();
    }

    /// <summary>The file a file: or secret: reference names; null for any other.</summary>
    private string? FileOf(string reference)
    {
        var colon = reference.IndexOf(':', StringComparison.Ordinal);
        var (scheme, name) = colon < 0 ? ("", reference) : (reference[..colon], reference[(colon + 1)..]);
        return scheme switch
        {
            "file" => name,
            "secret" when name.IndexOfAny(['/', '\\']) < 0 && name is not ("." or "..") => Path.Combine(secretsDirectory, name),
            _ => null,
        };
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
