using System.Net;
using Warden.Gateway.Identity;

namespace Warden.Gateway;

/// <summary>
/// An OpenID Connect provider (Okta, Entra ID, Google Workspace, Keycloak, ...) that people of the
/// policy may sign in to the console with: the provider vouches for an email address, and the one
/// person of the policy with that address is signed in (<c>warden serve --oidc-authority ...</c>).
/// </summary>
/// <param name="Authority">The issuer, an https address (http only on a loopback address, for tests); its discovery document is at /.well-known/openid-configuration under it.</param>
/// <param name="ClientId">The client id the provider gave the gateway.</param>
/// <param name="ClientSecret">Where the client secret is kept, as agents' tokens are: env:NAME, file:/path or secret:NAME (a file in DATA/secrets); read again at each sign-in.</param>
/// <param name="Name">The provider's name on the sign-in button ("Sign in with Okta"); its host when null.</param>
public sealed record IdentityProviderOptions(string Authority, string ClientId, string ClientSecret, string? Name = null)
{
    /// <summary>The name on the sign-in button.</summary>
    public string ButtonName => !string.IsNullOrWhiteSpace(Name) ? Name.Trim() : Uri.TryCreate(Authority, UriKind.Absolute, out var uri) ? uri.Host : Authority;

    /// <summary>What is wrong with these options, each naming the <c>warden serve</c> option it comes from; none when they can be used.</summary>
    internal IEnumerable<string> Errors(string dataDirectory)
    {
        if (!Uri.TryCreate(Authority, UriKind.Absolute, out var authority) || authority.Scheme is not ("https" or "http"))
        {
            yield return $"the identity provider (--oidc-authority) '{Authority}' is not an https address";
        }
        else if (authority.Scheme == "http" && !IsLoopback(authority))
        {
            // The provider's keys come from its discovery document: over plain HTTP anyone on the way could swap them and sign in as anybody.
            yield return $"the identity provider (--oidc-authority) '{Authority}' must be reached over https (http is taken only on a loopback address, for tests)";
        }
        else if (authority.Query.Length > 0 || authority.Fragment.Length > 0)
        {
            yield return $"the identity provider (--oidc-authority) '{Authority}' is an issuer, without a query or a fragment";
        }

        if (string.IsNullOrWhiteSpace(ClientId) || ClientId.Length > 500)
        {
            yield return $"the client id (--oidc-client-id) is empty or longer than 500 characters";
        }

        if (!ClientSecret.StartsWith("env:", StringComparison.Ordinal) && !ClientSecret.StartsWith("file:", StringComparison.Ordinal)
            && !ClientSecret.StartsWith("secret:", StringComparison.Ordinal))
        {
            // Never the secret itself on a command line: every user of the machine can read it there.
            yield return "the client secret (--oidc-client-secret) is a reference, env:NAME, file:/path or secret:NAME, not the secret itself";
        }
        else if (new TokenReferences(Path.Combine(Path.GetFullPath(dataDirectory), "secrets")).Resolve(ClientSecret) is null)
        {
            yield return $"the client secret (--oidc-client-secret) {ClientSecret} resolves to nothing (an unset variable, a missing or empty file)";
        }

        if (Name is { Length: > 100 })
        {
            yield return $"the provider's name (--oidc-name) has at most 100 characters (this one has {Name.Length})";
        }
    }

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
}
