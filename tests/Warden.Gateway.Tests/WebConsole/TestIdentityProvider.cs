using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Warden.Gateway.Tests.WebConsole;

/// <summary>
/// A small, real OpenID Connect provider on a free port of 127.0.0.1, for the console's sign-in:
/// a discovery document, its RSA key as a JWKS, an authorize endpoint that at once sends the browser
/// back with a one-time code for <see cref="User"/> (no login form: the person is taken as signed in
/// there), and a token endpoint that checks the client's secret and the PKCE verifier and returns an
/// RS256 id_token with the nonce, email and email_verified. A test changes what it vouches for, and
/// may have it sign with a key it does not publish.
/// </summary>
internal sealed class TestIdentityProvider : IAsyncDisposable
{
    public const string ClientId = "warden-console";
    public const string ClientSecret = "test-client-secret-8d1f";

    private readonly WebApplication _app;
    private readonly RSA _key = RSA.Create(2048);
    private readonly ConcurrentDictionary<string, Grant> _codes = new(StringComparer.Ordinal);

    private TestIdentityProvider(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>The issuer (and authority).</summary>
    public string Url { get; }

    /// <summary>Whom it vouches for at the next authorize: an email and whether it says it is verified.</summary>
    public (string Email, bool Verified) User { get; set; } = ("sam.okafor@northwind.example", true);

    /// <summary>When set, id_tokens are signed with this key, which the JWKS does not publish (an attacker's token).</summary>
    public RSA? SignWith { get; set; }

    /// <summary>When set, changes the id_token's claims before they are signed (with the provider's own key): a token for another client, issuer or nonce.</summary>
    public Action<Dictionary<string, object?>>? Tamper { get; set; }

    /// <summary>
    /// When true, the authorize endpoint answers with a page whose link goes back (as a provider's
    /// sign-in form does): the way back is then a navigation started on the provider's site, not a
    /// redirect in a chain the gateway's page started.
    /// </summary>
    public bool AsksToContinue { get; set; }

    /// <summary>What the authorize endpoint was last asked (its query), for the tests that check how the gateway asks.</summary>
    public IQueryCollection? LastAuthorize { get; private set; }

    /// <summary>How many codes were redeemed at the token endpoint.</summary>
    public int Redeemed => _redeemed;

    private int _redeemed;

    /// <param name="host">Its host name: localhost puts it on another site than a gateway at 127.0.0.1, as a real provider is.</param>
    public static async Task<TestIdentityProvider> StartAsync(string host = "127.0.0.1")
    {
        var url = $"http://{host}:{GatewayFixture.FreePort()}";
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var provider = new TestIdentityProvider(app, url);
        provider.Map(app);
        await app.StartAsync(TestContext.Current.CancellationToken);
        return provider;
    }

    /// <summary>A file holding the client secret, for --oidc-client-secret file:PATH.</summary>
    public static string SecretFile(string folder)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "oidc-client-secret");
        File.WriteAllText(path, ClientSecret + "\n");
        return path;
    }

    public IdentityProviderOptions Options(string secretFile, string? name = "Test IdP") => new(Url, ClientId, "file:" + secretFile, name);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        _key.Dispose();
    }

    private sealed record Grant(string RedirectUri, string Challenge, string? Nonce, string Email, bool Verified);

    private void Map(WebApplication app)
    {
        app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = Url,
            ["authorization_endpoint"] = Url + "/authorize",
            ["token_endpoint"] = Url + "/token",
            ["jwks_uri"] = Url + "/jwks",
            ["response_types_supported"] = new[] { "code" },
            ["subject_types_supported"] = new[] { "public" },
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
            ["code_challenge_methods_supported"] = new[] { "S256" },
            ["scopes_supported"] = new[] { "openid", "email", "profile" },
        }));
        app.MapGet("/jwks", () =>
        {
            var parameters = _key.ExportParameters(false);
            return Results.Json(new { keys = new[] { new { kty = "RSA", use = "sig", alg = "RS256", kid = "test-key", n = Base64Url(parameters.Modulus!), e = Base64Url(parameters.Exponent!) } } });
        });
        app.MapGet("/authorize", (HttpContext context) =>
        {
            var query = context.Request.Query;
            LastAuthorize = query;
            // A real provider refuses a client it does not know, a flow without PKCE, and asks nothing else.
            if (query["client_id"] != ClientId || query["response_type"] != "code" || query["code_challenge_method"] != "S256" || string.IsNullOrEmpty(query["code_challenge"])
                || string.IsNullOrEmpty(query["redirect_uri"]))
            {
                return Results.BadRequest("bad authorization request");
            }

            var code = Base64Url(RandomNumberGenerator.GetBytes(24));
            _codes[code] = new Grant(query["redirect_uri"]!, query["code_challenge"]!, query["nonce"], User.Email, User.Verified);
            var back = $"{query["redirect_uri"]}?code={code}&state={Uri.EscapeDataString(query["state"].ToString())}&iss={Uri.EscapeDataString(Url)}";
            return AsksToContinue
                ? Results.Content($"<!doctype html><title>Test IdP</title><p>Signed in at the provider as {System.Net.WebUtility.HtmlEncode(User.Email)}.</p><a id=\"continue\" href=\"{System.Net.WebUtility.HtmlEncode(back)}\">Continue to Warden</a>", "text/html")
                : Results.Redirect(back);
        });
        app.MapPost("/token", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            // Codes are used once: a replayed callback finds nothing here.
            if (form["grant_type"] != "authorization_code" || !_codes.TryRemove(form["code"].ToString(), out var grant) || form["redirect_uri"] != grant.RedirectUri
                || form["client_id"] != ClientId || form["client_secret"] != ClientSecret
                || Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(form["code_verifier"].ToString()))) != grant.Challenge)
            {
                return Results.Json(new { error = "invalid_grant" }, statusCode: 400);
            }

            Interlocked.Increment(ref _redeemed);
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var claims = new Dictionary<string, object?>
            {
                ["iss"] = Url, ["sub"] = "user-" + grant.Email, ["aud"] = ClientId, ["iat"] = now, ["nbf"] = now, ["exp"] = now + 300,
                ["nonce"] = grant.Nonce, ["email"] = grant.Email, ["email_verified"] = grant.Verified, ["name"] = grant.Email,
            };
            Tamper?.Invoke(claims);
            return Results.Json(new { access_token = Base64Url(RandomNumberGenerator.GetBytes(24)), token_type = "Bearer", expires_in = 300, id_token = Sign(claims) });
        });
    }

    private string Sign(Dictionary<string, object?> claims)
    {
        var header = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { alg = "RS256", typ = "JWT", kid = "test-key" }));
        var payload = Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims));
        var signature = (SignWith ?? _key).SignData(Encoding.ASCII.GetBytes(header + "." + payload), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return $"{header}.{payload}.{Base64Url(signature)}";
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
