using System.Net;
using Warden.Gateway.Tests.EndToEnd;
using Warden.Gateway.WebConsole;

namespace Warden.Gateway.Tests.WebConsole;

/// <summary>
/// Signing in to the console through an OpenID Connect provider (a real one on loopback, see
/// <see cref="TestIdentityProvider"/>) against a real gateway: the provider's verified email signs
/// in the one person of the policy who has it, with the console's own session, and nothing else
/// does: another email, an unverified one, a token signed with another key, a forged or replayed
/// state, a callback in a browser that did not start the sign-in, a locked account, a person the
/// policy no longer names.
/// </summary>
public sealed class IdentityProviderSignInTests : IAsyncLifetime
{
    private TestIdentityProvider _provider = null!;
    private string _secrets = null!;
    private GatewayFixture? _gateway;

    public async ValueTask InitializeAsync()
    {
        _provider = await TestIdentityProvider.StartAsync();
        _secrets = Path.Combine(Path.GetTempPath(), "warden-oidc-tests", Guid.NewGuid().ToString("N"));
    }

    public async ValueTask DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        await _provider.DisposeAsync();
        if (Directory.Exists(_secrets))
        {
            Directory.Delete(_secrets, recursive: true);
        }
    }

    private async Task<GatewayFixture> Gateway(Func<string, string>? editPolicy = null, string? directory = null)
    {
        _gateway = await GatewayFixture.StartAsync(editPolicy, directory: directory, identityProvider: _provider.Options(TestIdentityProvider.SecretFile(_secrets)));
        return _gateway;
    }

    /// <summary>The browser's round trip: the sign-in button's post, the provider's authorize endpoint, and back to the callback; the callback's answer.</summary>
    private static async Task<HttpResponseMessage> ThroughProvider(ConsoleSession session)
    {
        var callback = await ToCallback(session);
        return await session.Open(callback);
    }

    /// <summary>The callback address the provider sends the browser back to (not yet opened).</summary>
    private static async Task<string> ToCallback(ConsoleSession session)
    {
        using var start = await session.Post(IdentityProviderSignIn.StartPath);
        Assert.True(start.StatusCode == HttpStatusCode.Found, $"{start.StatusCode}: {await start.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}");
        using var authorize = await session.Open(start.Headers.Location!.ToString());
        Assert.Equal(HttpStatusCode.Found, authorize.StatusCode);
        return authorize.Headers.Location!.ToString();
    }

    private static bool SetsSession(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith(ConsolePages.CookieName + "=", StringComparison.Ordinal) && !c.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase));

    /// <summary>A page of the gateway's own that goes on to the queue (a redirect would not carry the SameSite=Strict session cookie, coming from the provider's site).</summary>
    private static async Task AssertOnToTheQueue(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(SetsSession(response));
        Assert.Contains("<meta http-equiv=\"refresh\" content=\"0; url=/console/approvals\"", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    private static async Task AssertRefused(HttpResponseMessage response, string says, ConsoleSession session)
    {
        var html = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{response.StatusCode}: {html}");
        Assert.Contains(says, WebUtility.HtmlDecode(html), StringComparison.Ordinal);
        Assert.False(SetsSession(response));
        var (status, _) = await session.Get("/console/approvals");
        Assert.Equal(HttpStatusCode.Found, status);
    }

    [Fact]
    public async Task A_person_signs_in_through_the_provider_and_reaches_their_approval_queue()
    {
        var gateway = await Gateway();
        var (_, answer) = await GatewayFixture.Call(await gateway.Agent("hygiene-bot"), "contacts.update",
            new { filter = "country == 'DE'", set = new { job_title = "Through the provider" } });
        var id = answer["approval_id"]!.GetValue<string>();
        using var sam = new ConsoleSession(gateway.Url);

        using var signedIn = await ThroughProvider(sam);

        await AssertOnToTheQueue(signedIn);
        var (status, html) = await sam.Get("/console/approvals");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("Sam Okafor (sam)", html, StringComparison.Ordinal);
        Assert.Contains($"href=\"/console/approvals/{id}\"", html, StringComparison.Ordinal);
        // The console's own session, one mechanism: its form token decides, and signing out ends it.
        await sam.Get($"/console/approvals/{id}");
        using var decided = await sam.Decide(id, "approve", "signed in through the provider");
        Assert.Equal(Warden.Storage.Gateway.ApprovalStatus.Executed, gateway.Gateway.Store.Approvals.Find(id)!.Status);
        using var _ = await sam.Post("/console/sign-out", ("csrf", sam.Csrf!));
        Assert.Equal(HttpStatusCode.Found, (await sam.Get("/console/approvals")).Status);
        // The provider's handler leaves the bearer tokens of the API alone.
        Assert.Equal(HttpStatusCode.OK, (await gateway.Api(HttpMethod.Get, "/api/approvals", gateway.Token("sam"))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Api(HttpMethod.Get, "/api/approvals", null)).Status);
    }

    [Fact]
    public async Task The_round_trip_leaves_no_cookie_but_the_consoles_own_session()
    {
        var gateway = await Gateway();
        using var sam = new ConsoleSession(gateway.Url);

        using var signedIn = await ThroughProvider(sam);

        Assert.True(SetsSession(signedIn));
        var cookies = sam.Cookies.GetCookies(new Uri(gateway.Url + IdentityProviderSignIn.CallbackPath)).Concat(sam.Cookies.GetCookies(new Uri(gateway.Url + "/console")))
            .Where(c => !c.Expired).Select(c => c.Name).Distinct().ToList();
        Assert.Equal([ConsolePages.CookieName], cookies);
    }

    [Fact]
    public async Task The_round_trips_cookies_are_lax_http_only_and_sent_only_to_the_callback()
    {
        var gateway = await Gateway();
        using var sam = new ConsoleSession(gateway.Url);

        using var start = await sam.Post(IdentityProviderSignIn.StartPath);

        var cookies = start.Headers.GetValues("Set-Cookie").ToList();
        Assert.Equal(2, cookies.Count);
        Assert.All(cookies, c =>
        {
            Assert.Contains("samesite=lax", c, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("httponly", c, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("path=" + IdentityProviderSignIn.CallbackPath, c, StringComparison.OrdinalIgnoreCase);
        });
    }

    [Fact]
    public async Task The_gateway_asks_for_a_code_with_pkce_and_the_openid_email_profile_scopes()
    {
        var gateway = await Gateway();
        using var sam = new ConsoleSession(gateway.Url);

        await ToCallback(sam);

        var asked = _provider.LastAuthorize!;
        Assert.Equal("code", asked["response_type"]);
        Assert.Equal("S256", asked["code_challenge_method"]);
        Assert.Equal(["openid", "email", "profile"], asked["scope"].ToString().Split(' '));
        Assert.Equal(gateway.Url + IdentityProviderSignIn.CallbackPath, asked["redirect_uri"]);
        Assert.False(string.IsNullOrEmpty(asked["nonce"]));
        // Back by a plain redirect: query is the code flow's own mode, so none is named.
        Assert.True(string.IsNullOrEmpty(asked["response_mode"]) || asked["response_mode"] == "query");
    }

    [Fact]
    public async Task The_email_is_matched_whatever_its_case()
    {
        var gateway = await Gateway();
        _provider.User = ("Sam.OKAFOR@Northwind.example", true);
        using var sam = new ConsoleSession(gateway.Url);

        using var signedIn = await ThroughProvider(sam);

        await AssertOnToTheQueue(signedIn);
        Assert.Contains("Sam Okafor (sam)", (await sam.Get("/console/approvals")).Html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_email_of_nobody_in_the_policy_signs_nobody_in()
    {
        var gateway = await Gateway();
        _provider.User = ("mallory@northwind.example", true);
        using var mallory = new ConsoleSession(gateway.Url);

        using var refused = await ThroughProvider(mallory);

        await AssertRefused(refused, "mallory@northwind.example is not the email of anyone in the policy", mallory);
    }

    [Fact]
    public async Task An_email_the_provider_does_not_say_is_verified_signs_nobody_in()
    {
        var gateway = await Gateway();
        // Anyone can type sam's address into an account at many providers; only a verified one is theirs.
        _provider.User = ("sam.okafor@northwind.example", false);
        using var mallory = new ConsoleSession(gateway.Url);

        using var refused = await ThroughProvider(mallory);

        await AssertRefused(refused, "does not say that sam.okafor@northwind.example is verified", mallory);
    }

    [Fact]
    public async Task An_email_two_people_of_the_policy_share_signs_neither_in()
    {
        var gateway = await Gateway(p => p.Replace("rita.nguyen@northwind.example", "sam.okafor@northwind.example", StringComparison.Ordinal));
        using var session = new ConsoleSession(gateway.Url);

        using var refused = await ThroughProvider(session);

        await AssertRefused(refused, "is the email of 2 people in the policy (sam, rita)", session);
    }

    [Fact]
    public async Task An_id_token_signed_with_a_key_the_provider_does_not_publish_signs_nobody_in()
    {
        var gateway = await Gateway();
        using var forger = System.Security.Cryptography.RSA.Create(2048);
        _provider.SignWith = forger;
        using var session = new ConsoleSession(gateway.Url);

        using var refused = await ThroughProvider(session);

        await AssertRefused(refused, "answer did not check out", session);
    }

    [Theory]
    [InlineData("aud", "another-client", "did not check out")]
    [InlineData("iss", "https://another-provider.example", "did not check out")]
    [InlineData("nonce", "a-nonce-of-another-sign-in", "did not check out")]
    [InlineData("nonce", null, "did not check out")]
    [InlineData("exp", 1_000_000_000L, "did not check out")]
    [InlineData("email_verified", "false", "does not say that sam.okafor@northwind.example is verified")]
    [InlineData("email_verified", "yes", "does not say that sam.okafor@northwind.example is verified")]
    public async Task An_id_token_the_provider_signed_but_not_for_this_sign_in_signs_nobody_in(string claim, object? value, string says)
    {
        // Signed with the provider's own key, so only the checks of what it says stand between it and a session.
        var gateway = await Gateway();
        _provider.Tamper = claims =>
        {
            if (value is null)
            {
                claims.Remove(claim);
            }
            else
            {
                claims[claim] = value;
            }
        };
        using var session = new ConsoleSession(gateway.Url);

        using var refused = await ThroughProvider(session);

        await AssertRefused(refused, says, session);
    }

    [Theory]
    [InlineData("GET", "")]
    [InlineData("GET", "?iss=https%3A%2F%2Fidp.example&sid=abc")]
    [InlineData("POST", "")]
    public async Task A_remote_sign_out_sent_by_anyone_gets_a_clear_answer_and_ends_no_session(string method, string query)
    {
        // The handler answers this path itself (front-channel logout); unauthenticated input must not end in a server error.
        var gateway = await Gateway();
        using var sam = new ConsoleSession(gateway.Url);
        using (var signedIn = await ThroughProvider(sam))
        {
            Assert.True(SetsSession(signedIn));
        }

        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var request = new HttpRequestMessage(new HttpMethod(method), gateway.Url + IdentityProviderSignIn.StartPath + "/remote-sign-out" + query)
        {
            Content = method == "POST" ? new FormUrlEncodedContent([]) : null,
        };
        using var answer = await http.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.Contains("sign out of the console with its own button", await answer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await sam.Get("/console/approvals")).Status);
    }

    [Fact]
    public async Task A_forged_state_signs_nobody_in()
    {
        var gateway = await Gateway();
        using var session = new ConsoleSession(gateway.Url);
        var callback = await ToCallback(session);
        var state = System.Web.HttpUtility.ParseQueryString(new Uri(callback).Query)["state"]!;
        // One character changed: the state is protected, and no longer reads.
        var forged = callback.Replace(Uri.EscapeDataString(state), Uri.EscapeDataString(state[..^2] + (state[^2] == 'A' ? 'B' : 'A') + state[^1]), StringComparison.Ordinal);
        Assert.NotEqual(callback, forged);

        using var refused = await session.Open(forged);

        await AssertRefused(refused, "did not check out", session);
        Assert.Equal(0, _provider.Redeemed);
    }

    [Fact]
    public async Task A_callback_opened_in_a_browser_that_did_not_start_the_sign_in_signs_nobody_in()
    {
        var gateway = await Gateway();
        // The attacker starts a sign-in as themselves and sends the victim the callback: the victim's browser would be signed in as the attacker.
        using var attacker = new ConsoleSession(gateway.Url);
        var callback = await ToCallback(attacker);
        using var victim = new ConsoleSession(gateway.Url);

        using var refused = await victim.Open(callback);

        await AssertRefused(refused, "not started in this browser", victim);
        Assert.Equal(0, _provider.Redeemed);
    }

    [Fact]
    public async Task A_callback_replayed_after_its_sign_in_starts_no_second_session()
    {
        var gateway = await Gateway();
        using var sam = new ConsoleSession(gateway.Url);
        var callback = await ToCallback(sam);
        using var first = await sam.Open(callback);
        Assert.True(SetsSession(first));

        using var replayed = await sam.Open(callback);

        Assert.Equal(HttpStatusCode.Forbidden, replayed.StatusCode);
        Assert.False(SetsSession(replayed));
        Assert.Equal(1, _provider.Redeemed);
    }

    [Fact]
    public async Task A_person_locked_out_by_wrong_passwords_cannot_sign_in_through_the_provider()
    {
        var gateway = await Gateway();
        Assert.Null(ConsoleAccounts.SetPassword(gateway.Directory, "sam", ConsolePeople.Password, TimeProvider.System));
        using (var guesser = new ConsoleSession(gateway.Url))
        {
            for (var i = 0; i < ConsolePages.LockAfter; i++)
            {
                using var _ = await guesser.SignIn("sam", "not the password " + i);
            }
        }

        using var sam = new ConsoleSession(gateway.Url);
        using var refused = await ThroughProvider(sam);

        await AssertRefused(refused, "This account is locked", sam);
        Assert.NotNull(gateway.Gateway.Store.People.Password("sam")!.LockedUntil);
    }

    [Fact]
    public async Task A_person_removed_from_the_policy_cannot_sign_in_through_the_provider_nor_keep_a_session_from_it()
    {
        var before = await Gateway();
        using var sam = new ConsoleSession(before.Url);
        using (var signedIn = await ThroughProvider(sam))
        {
            Assert.True(SetsSession(signedIn));
        }

        var session = sam.Cookies.GetCookies(new Uri(before.Url + "/console"))[ConsolePages.CookieName]!.Value;
        var directory = before.Directory;
        await before.DisposeAsync();
        _gateway = null;

        var after = await Gateway(WithoutSam, directory);
        using var again = new ConsoleSession(after.Url);
        again.Cookies.Add(new Cookie(ConsolePages.CookieName, session, "/console", new Uri(after.Url).Host));
        Assert.Equal(HttpStatusCode.Found, (await again.Get("/console/approvals")).Status);
        using var refused = await ThroughProvider(again);
        await AssertRefused(refused, "sam.okafor@northwind.example is not the email of anyone in the policy", again);
    }

    /// <summary>The example policy after sam left: dev takes sam's place as data owner and escalation contact.</summary>
    private static string WithoutSam(string policy)
    {
        var start = policy.IndexOf("  - id: sam\n", StringComparison.Ordinal);
        var end = policy.IndexOf("  - id: rita\n", StringComparison.Ordinal);
        return policy.Remove(start, end - start)
            .Replace("roles: [approver, technical_owner]", "roles: [approver, technical_owner, data_owner]", StringComparison.Ordinal)
            .Replace("data: sam", "data: dev", StringComparison.Ordinal)
            .Replace("escalation: sam", "escalation: dev", StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_provider_that_cannot_be_reached_is_said_so_and_the_password_form_still_works()
    {
        var gateway = await Gateway();
        await _provider.DisposeAsync();
        _provider = await TestIdentityProvider.StartAsync();
        Assert.Null(ConsoleAccounts.SetPassword(gateway.Directory, "sam", ConsolePeople.Password, TimeProvider.System));
        using var sam = new ConsoleSession(gateway.Url);

        using var start = await sam.Post(IdentityProviderSignIn.StartPath);

        Assert.Equal(HttpStatusCode.BadGateway, start.StatusCode);
        Assert.Contains("cannot be reached", await start.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        using var signedIn = await sam.SignIn("sam", ConsolePeople.Password);
        Assert.Equal(HttpStatusCode.Found, signedIn.StatusCode);
    }

    [Fact]
    public async Task The_sign_in_button_posted_from_another_site_is_refused()
    {
        var gateway = await Gateway();
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.Url + IdentityProviderSignIn.StartPath) { Content = new FormUrlEncodedContent([]) };
        request.Headers.Add("Sec-Fetch-Site", "cross-site");

        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Null(_provider.LastAuthorize);
    }

    [Fact]
    public async Task The_sign_in_page_offers_the_provider_beside_the_password_form()
    {
        var gateway = await Gateway();
        using var session = new ConsoleSession(gateway.Url);

        var (_, html) = await session.Get("/console/sign-in");

        Assert.Contains("Sign in with Test IdP", html, StringComparison.Ordinal);
        Assert.Contains($"action=\"{IdentityProviderSignIn.StartPath}\"", html, StringComparison.Ordinal);
        Assert.Contains("name=\"password\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_the_sign_in_pages_may_send_a_form_on_to_the_provider()
    {
        var gateway = await Gateway();
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });

        using var signIn = await http.GetAsync(gateway.Url + "/console/sign-in", TestContext.Current.CancellationToken);
        using var other = await http.GetAsync(gateway.Url + "/console/approvals", TestContext.Current.CancellationToken);

        Assert.Contains($"form-action 'self' {_provider.Url};", signIn.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Contains("form-action 'self';", other.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gateway_without_a_provider_offers_no_button_and_has_no_callback()
    {
        _gateway = await GatewayFixture.StartAsync();
        using var session = new ConsoleSession(_gateway.Url);

        var (_, html) = await session.Get("/console/sign-in");
        using var start = await session.Post(IdentityProviderSignIn.StartPath);

        Assert.DoesNotContain("sign-in-provider", html, StringComparison.Ordinal);
        Assert.NotEqual(HttpStatusCode.Found, start.StatusCode);
    }

    [Theory]
    [InlineData("--oidc-client-id|warden", "--oidc-authority and --oidc-client-secret are missing")]
    [InlineData("--oidc-client-secret|env:OIDC_SECRET", "--oidc-authority and --oidc-client-id are missing")]
    [InlineData("--oidc-client-id|warden|--oidc-client-secret|env:PATH", "--oidc-authority is missing")]
    [InlineData("--oidc-authority|http://idp.example.com|--oidc-client-id|warden|--oidc-client-secret|env:PATH", "(--oidc-authority) 'http://idp.example.com' must be reached over https")]
    [InlineData("--oidc-authority|https://idp.example.com|--oidc-client-id|warden|--oidc-client-secret|hunter2", "(--oidc-client-secret) is a reference")]
    [InlineData("--oidc-authority|https://idp.example.com|--oidc-client-id|warden|--oidc-client-secret|env:WARDEN_NO_SUCH_SECRET_VARIABLE", "env:WARDEN_NO_SUCH_SECRET_VARIABLE resolves to nothing")]
    [InlineData("--oidc-name|Okta", "--oidc-name names the button")]
    public async Task Serve_with_incomplete_or_unsafe_provider_options_does_not_start_and_says_which(string options, string says)
    {
        var folder = Path.Combine(_secrets, "serve");
        Directory.CreateDirectory(folder);
        var arguments = new[] { "serve", "--policy", Path.Combine(WardenProcess.Repository, "examples", "marketing", "policy.yaml"), "--data", Path.Combine(folder, "data"),
                "--port", GatewayFixture.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture) }
            .Concat(options.Split('|')).ToArray();

        var (exit, output) = await WardenProcess.CliAsync(null, null, folder, arguments);

        Assert.True(exit == 2, output);
        Assert.Contains(says, System.Text.RegularExpressions.Regex.Replace(output, @"\s+", " "), StringComparison.Ordinal);
        Assert.DoesNotContain("Warden gateway", output, StringComparison.Ordinal);
    }
}
