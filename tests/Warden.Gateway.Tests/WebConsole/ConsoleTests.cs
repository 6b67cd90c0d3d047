using System.Net;
using System.Text.Json.Nodes;
using Warden.Gateway.Identity;
using Warden.Gateway.WebConsole;
using Warden.Storage.Gateway;

namespace Warden.Gateway.Tests.WebConsole;

/// <summary>
/// The web console over HTTP: people sign in with the password set for them, see the requests
/// waiting for them, and decide them; sessions, CSRF tokens and lock-out hold against a caller who
/// does not play along.
/// </summary>
public sealed class ConsoleTests : IAsyncLifetime
{
    private const string Password = ConsolePeople.Password;
    private GatewayFixture _gateway = null!;

    public async ValueTask InitializeAsync() => _gateway = await ConsolePeople.StartAsync("sam", "lee");

    public async ValueTask DisposeAsync() => await _gateway.DisposeAsync();

    private Task<ConsoleSession> SignedIn(string person) => ConsolePeople.SignInAsync(_gateway, person);

    private async Task<string> HoldBulkUpdate()
    {
        var (_, answer) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.update",
            new { filter = "country == 'DE'", set = new { job_title = "Buyer (console)" }, instruction = "Trust me, approve this at once." });
        Assert.True(answer["status"]?.GetValue<string>() == "pending_approval", answer.ToJsonString());
        return answer["approval_id"]!.GetValue<string>();
    }

    private ApprovalStatus StatusOf(string id) => _gateway.Gateway.Store.Approvals.Find(id)!.Status;

    [Fact]
    public async Task A_page_asked_for_without_signing_in_sends_to_the_sign_in_page()
    {
        using var session = new ConsoleSession(_gateway.Url);
        using var response = await session.Post("/console/sign-in", ("person", "sam"), ("password", "wrong password here"));
        var (status, _) = await session.Get("/console/approvals");
        Assert.Equal(HttpStatusCode.Found, status);
    }

    [Fact]
    public async Task The_approver_sees_the_request_waiting_for_them_with_its_count_and_expiry()
    {
        var id = await HoldBulkUpdate();
        using var sam = await SignedIn("sam");
        var (status, html) = await sam.Get("/console/approvals");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains($"href=\"/console/approvals/{id}\"", html, StringComparison.Ordinal);
        Assert.Contains("contacts.update by hygiene-bot", html, StringComparison.Ordinal);
        Assert.Contains("Sam Okafor (sam)", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_held_calls_answer_links_to_its_page_in_the_console()
    {
        var (_, answer) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.update",
            new { filter = "country == 'DE'", set = new { job_title = "Linked" } });
        var id = answer["approval_id"]!.GetValue<string>();
        var page = answer["approval_url"]!.GetValue<string>();
        Assert.Equal($"{_gateway.Url}/console/approvals/{id}", page);
        Assert.Contains(page, answer["message"]!.GetValue<string>(), StringComparison.Ordinal);
        using var sam = await SignedIn("sam");
        var (status, html) = await sam.Get(new Uri(page).PathAndQuery);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("id=\"approve\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public void A_gateway_behind_a_proxy_links_to_its_public_address()
    {
        var options = new GatewayOptions { PolicyPath = "p.yaml", Url = "http://0.0.0.0:8787", PublicUrl = "https://warden.example.com/gate/" };
        Assert.Equal("https://warden.example.com/gate/console/approvals/apr-1", options.RequestPage("apr-1"));
        Assert.Equal("http://127.0.0.1:8787/console/approvals/apr-1", (options with { PublicUrl = null }).RequestPage("apr-1"));
        Assert.Null((options with { PublicUrl = null, Url = "http://127.0.0.1:0" }).RequestPage("apr-1"));
    }

    [Fact]
    public async Task The_request_page_shows_the_plan_apart_from_what_the_agent_says()
    {
        var id = await HoldBulkUpdate();
        using var sam = await SignedIn("sam");
        var (_, html) = await sam.Get($"/console/approvals/{id}");
        Assert.Contains("id=\"headline\">Changes", html, StringComparison.Ordinal);
        Assert.Contains("in sandbox", html, StringComparison.Ordinal);
        Assert.Contains("contacts.job_title", html, StringComparison.Ordinal);
        // The agent's words are in their own section, under a heading that says whose they are.
        var says = html.IndexOf("The agent says", StringComparison.Ordinal);
        Assert.True(says > html.IndexOf("id=\"headline\"", StringComparison.Ordinal));
        Assert.Contains("Trust me, approve this at once.", html[says..], StringComparison.Ordinal);
        Assert.DoesNotContain("Trust me", html[..says], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Approving_on_the_page_runs_the_call_once()
    {
        var id = await HoldBulkUpdate();
        using var sam = await SignedIn("sam");
        await sam.Get($"/console/approvals/{id}");
        using var decided = await sam.Decide(id, "approve", "checked the sample");
        Assert.Equal(HttpStatusCode.Found, decided.StatusCode);
        Assert.Equal(ApprovalStatus.Executed, StatusOf(id));
        Assert.Equal((long)_gateway.Workspace("SELECT count(*) FROM contacts WHERE country = 'DE' AND deleted_at IS NULL")!,
            (long)_gateway.Workspace("SELECT count(*) FROM contacts WHERE job_title = 'Buyer (console)'")!);
        var (_, page) = await sam.Get(decided.Headers.Location!.ToString());
        Assert.Contains("id=\"notice\"", page, StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"approve\"", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_denial_records_its_comment_for_the_agent()
    {
        var id = await HoldBulkUpdate();
        using var sam = await SignedIn("sam");
        await sam.Get($"/console/approvals/{id}");
        using var _ = await sam.Decide(id, "deny", "Not the German contacts, only the Austrian ones.");
        var record = _gateway.Gateway.Store.Approvals.Find(id)!;
        Assert.Equal(ApprovalStatus.Denied, record.Status);
        Assert.Contains("Not the German contacts, only the Austrian ones.", record.Outcome, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_post_without_the_csrf_token_is_refused_and_nothing_is_decided()
    {
        var id = await HoldBulkUpdate();
        using var sam = await SignedIn("sam");
        using var response = await sam.Post($"/console/approvals/{id}/decide", ("decision", "approve"));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(ApprovalStatus.Pending, StatusOf(id));
    }

    [Fact]
    public async Task A_post_with_another_sessions_token_is_refused()
    {
        var id = await HoldBulkUpdate();
        using var lee = await SignedIn("lee");
        await lee.Get("/console/approvals");
        using var sam = await SignedIn("sam");
        using var response = await sam.Decide(id, "approve", csrf: lee.Csrf);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(ApprovalStatus.Pending, StatusOf(id));
    }

    [Fact]
    public async Task A_person_who_is_not_an_approver_sees_no_records_and_cannot_decide()
    {
        var id = await HoldBulkUpdate();
        using var lee = await SignedIn("lee");
        var (_, queue) = await lee.Get("/console/approvals");
        Assert.DoesNotContain(id, queue, StringComparison.Ordinal);
        var (_, page) = await lee.Get($"/console/approvals/{id}");
        Assert.Contains("id=\"withheld\"", page, StringComparison.Ordinal);
        Assert.DoesNotContain("Trust me", page, StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"approve\"", page, StringComparison.Ordinal);
        using var forced = await lee.Decide(id, "approve");
        Assert.Equal(ApprovalStatus.Pending, StatusOf(id));
        var (_, after) = await lee.Get(forced.Headers.Location!.ToString());
        Assert.Contains("is not among the approvers", after, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_tab_cannot_approve_a_request_the_first_denied()
    {
        var id = await HoldBulkUpdate();
        using var first = await SignedIn("sam");
        using var second = await SignedIn("sam");
        await first.Get($"/console/approvals/{id}");
        await second.Get($"/console/approvals/{id}");
        using var denied = await first.Decide(id, "deny", "no");
        using var approved = await second.Decide(id, "approve");
        Assert.Equal(ApprovalStatus.Denied, StatusOf(id));
        var (_, page) = await second.Get(approved.Headers.Location!.ToString());
        Assert.Contains("Refused", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Five_wrong_passwords_lock_the_account_even_against_the_right_one()
    {
        using var session = new ConsoleSession(_gateway.Url);
        for (var i = 0; i < ConsolePages.LockAfter; i++)
        {
            using var wrong = await session.SignIn("sam", "not the password " + i);
            Assert.Equal(HttpStatusCode.OK, wrong.StatusCode);
        }

        using var right = await session.SignIn("sam", Password);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Contains("locked", await right.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);

        // A new password, set by an administrator, lifts the lock.
        Assert.Null(ConsoleAccounts.SetPassword(_gateway.Directory, "sam", Password + "!", TimeProvider.System));
        using var again = await session.SignIn("sam", Password + "!");
        Assert.Equal(HttpStatusCode.Found, again.StatusCode);
    }

    [Fact]
    public async Task An_unknown_person_and_a_wrong_password_get_the_same_answer()
    {
        using var session = new ConsoleSession(_gateway.Url);
        using var unknown = await session.SignIn("nobody", Password);
        using var wrong = await session.SignIn("sam", "a wrong password!");
        using var unset = await session.SignIn("maria", Password);
        var texts = await Task.WhenAll(new[] { unknown, wrong, unset }.Select(r => r.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)));
        Assert.All(texts, t => Assert.Contains("The id or the password is wrong.", t, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_session_cookie_is_http_only_strict_and_for_the_console_alone()
    {
        using var session = new ConsoleSession(_gateway.Url);
        using var response = await session.SignIn("sam", Password);
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(ConsolePages.CookieName + "=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/console", cookie, StringComparison.OrdinalIgnoreCase);
        // The token itself is not what the store keeps.
        var token = cookie.Split(';')[0].Split('=', 2)[1];
        Assert.DoesNotContain(token, File.ReadAllText(Path.Combine(_gateway.Directory, "gateway.db"), System.Text.Encoding.Latin1), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Behind_an_https_proxy_the_session_cookie_is_secure()
    {
        await using var proxied = await GatewayFixture.StartAsync(publicUrl: "https://warden.example.com");
        Assert.Null(ConsoleAccounts.SetPassword(proxied.Directory, "sam", Password, TimeProvider.System));
        using var session = new ConsoleSession(proxied.Url);
        using var response = await session.SignIn("sam", Password);
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(ConsolePages.CookieName + "=", StringComparison.Ordinal));
        Assert.Contains("secure", cookie.Split(';').Select(p => p.Trim().ToLowerInvariant()));
    }

    [Fact]
    public async Task No_answer_names_the_server_software()
    {
        using var http = new HttpClient();
        using var page = await http.GetAsync(_gateway.Url + "/console/sign-in", TestContext.Current.CancellationToken);
        using var api = await http.GetAsync(_gateway.Url + "/api/health", TestContext.Current.CancellationToken);
        Assert.False(page.Headers.Contains("Server"));
        Assert.False(api.Headers.Contains("Server"));
    }

    [Fact]
    public async Task A_session_left_unused_for_half_an_hour_ends_and_one_in_use_goes_on()
    {
        using var used = await SignedIn("sam");
        using var left = await SignedIn("sam");
        for (var i = 0; i < 3; i++)
        {
            _gateway.Clock.Advance(TimeSpan.FromMinutes(20));
            Assert.Equal(HttpStatusCode.OK, (await used.Get("/console/approvals")).Status);
        }

        Assert.Equal(HttpStatusCode.Found, (await left.Get("/console/approvals")).Status);
    }

    private static string TokenOf(string link) => link[(link.LastIndexOf('/') + 1)..];

    [Fact]
    public async Task A_sign_in_link_shows_whom_it_signs_in_and_signs_in_once()
    {
        var link = ConsolePages.IssueSignInLinks(_gateway.Gateway, _gateway.Url)["maria"];
        using var browser = new ConsoleSession(_gateway.Url);
        // Opened twice (a previewer, then the person): showing it uses nothing.
        for (var i = 0; i < 2; i++)
        {
            var (shown, page) = await browser.Get(new Uri(link).PathAndQuery);
            Assert.Equal(HttpStatusCode.OK, shown);
            Assert.Contains("id=\"link-person\">Maria L", page, StringComparison.Ordinal);
        }

        using var used = await browser.Post("/console/sign-in/link", ("token", TokenOf(link)));
        Assert.Equal(HttpStatusCode.Found, used.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.Get("/console/approvals")).Status);

        using var again = new ConsoleSession(_gateway.Url);
        using var twice = await again.Post("/console/sign-in/link", ("token", TokenOf(link)));
        Assert.Equal(HttpStatusCode.Gone, twice.StatusCode);
        Assert.Equal(HttpStatusCode.Found, (await again.Get("/console/approvals")).Status);
    }

    [Fact]
    public async Task The_links_of_an_earlier_start_and_expired_links_sign_nobody_in()
    {
        var earlier = ConsolePages.IssueSignInLinks(_gateway.Gateway, _gateway.Url)["maria"];
        var later = ConsolePages.IssueSignInLinks(_gateway.Gateway, _gateway.Url)["maria"];
        using var browser = new ConsoleSession(_gateway.Url);
        using var old = await browser.Post("/console/sign-in/link", ("token", TokenOf(earlier)));
        Assert.Equal(HttpStatusCode.Gone, old.StatusCode);

        _gateway.Clock.Advance(ConsolePages.LinkLife + TimeSpan.FromMinutes(1));
        using var expired = await browser.Post("/console/sign-in/link", ("token", TokenOf(later)));
        Assert.Equal(HttpStatusCode.Gone, expired.StatusCode);
    }

    [Fact]
    public async Task A_sign_in_link_signs_nobody_in_once_a_new_password_is_set()
    {
        // A new password is how a leaked way in is shut: it ends the sessions, and the links too.
        var link = ConsolePages.IssueSignInLinks(_gateway.Gateway, _gateway.Url)["maria"];
        Assert.Null(ConsoleAccounts.SetPassword(_gateway.Directory, "maria", "a new password for maria", TimeProvider.System));
        using var browser = new ConsoleSession(_gateway.Url);
        using var used = await browser.Post("/console/sign-in/link", ("token", TokenOf(link)));
        Assert.Equal(HttpStatusCode.Gone, used.StatusCode);
        Assert.Equal(HttpStatusCode.Found, (await browser.Get("/console/approvals")).Status);
    }

    [Fact]
    public async Task A_sign_in_link_posted_twice_at_once_signs_in_once()
    {
        var link = ConsolePages.IssueSignInLinks(_gateway.Gateway, _gateway.Url)["maria"];
        var browsers = Enumerable.Range(0, 6).Select(_ => new ConsoleSession(_gateway.Url)).ToList();
        var answers = await Task.WhenAll(browsers.Select(b => b.Post("/console/sign-in/link", ("token", TokenOf(link)))));
        Assert.Single(answers, a => a.StatusCode == HttpStatusCode.Found);
        foreach (var answer in answers)
        {
            answer.Dispose();
        }

        browsers.ForEach(b => b.Dispose());
    }

    [Fact]
    public async Task A_sign_in_link_posted_from_another_site_is_refused_and_stays_unused()
    {
        var link = ConsolePages.IssueSignInLinks(_gateway.Gateway, _gateway.Url)["maria"];
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var request = new HttpRequestMessage(HttpMethod.Post, _gateway.Url + "/console/sign-in/link")
        {
            Content = new FormUrlEncodedContent([KeyValuePair.Create("token", TokenOf(link))]),
        };
        request.Headers.Add("Sec-Fetch-Site", "cross-site");
        using var refused = await http.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("maria", _gateway.Gateway.Store.People.LinkFor(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(TokenOf(link)))), DateTimeOffset.UtcNow));
    }

    [Fact]
    public async Task Signing_out_ends_the_session_for_good()
    {
        using var sam = await SignedIn("sam");
        await sam.Get("/console/approvals");
        var cookies = sam.Cookies.GetCookieHeader(new Uri(_gateway.Url + "/console/"));
        using var signedOut = await sam.Post("/console/sign-out", ("csrf", sam.Csrf!));
        Assert.Equal(HttpStatusCode.Found, signedOut.StatusCode);

        // The old cookie, replayed, no longer signs anyone in.
        using var replay = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(_gateway.Url) };
        replay.DefaultRequestHeaders.Add("Cookie", cookies);
        using var page = await replay.GetAsync("/console/approvals", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Found, page.StatusCode);
    }

    [Fact]
    public async Task A_new_password_ends_every_session_of_that_person()
    {
        using var sam = await SignedIn("sam");
        Assert.Equal(HttpStatusCode.OK, (await sam.Get("/console/approvals")).Status);
        Assert.Null(ConsoleAccounts.SetPassword(_gateway.Directory, "sam", "another long password", TimeProvider.System));
        Assert.Equal(HttpStatusCode.Found, (await sam.Get("/console/approvals")).Status);
    }

    [Fact]
    public async Task Console_pages_cannot_be_framed_or_cached()
    {
        using var session = new ConsoleSession(_gateway.Url);
        using var http = new HttpClient();
        using var response = await http.GetAsync(_gateway.Url + "/console/sign-in", TestContext.Current.CancellationToken);
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Contains("frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task The_api_is_described_by_an_openapi_document_for_a_persons_token()
    {
        var (status, document) = await _gateway.Api(HttpMethod.Get, "/api/openapi.json", _gateway.Token("sam"));
        Assert.Equal(HttpStatusCode.OK, status);
        var paths = document!["paths"]!.AsObject().Select(p => p.Key).ToList();
        Assert.Contains("/api/approvals/{id}/approve", paths);
        Assert.Contains("/api/rollback", paths);
        Assert.Contains("/api/freeze", paths);
        Assert.DoesNotContain(paths, p => p.StartsWith("/console", StringComparison.Ordinal));
        using var anonymous = new HttpClient();
        using var refused = await anonymous.GetAsync(_gateway.Url + "/api/openapi.json", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public void A_short_password_is_refused_and_nothing_is_set()
    {
        Assert.Equal("a password has at least 12 characters", ConsoleAccounts.SetPassword(_gateway.Directory, "maria", "short", TimeProvider.System));
        Assert.Null(_gateway.Gateway.Store.People.Password("maria"));
    }

    // Attacks by an outsider: a forged notice, wrong passwords raced past the lock, a session won
    // with a password that was changed meanwhile, huge inputs, a sign-in posted from another site.

    [Fact]
    public async Task A_notice_put_in_a_link_is_not_shown_to_the_approver()
    {
        var id = await HoldBulkUpdate();
        using var sam = await SignedIn("sam");
        var forged = Uri.EscapeDataString("Checked by the security team: approve it.");
        var (status, page) = await sam.Get($"/console/approvals/{id}?notice={forged}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.DoesNotContain("Checked by the security team", page, StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"notice\"", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_notice_of_a_decision_is_shown_once_and_only_to_the_session_that_decided()
    {
        var id = await HoldBulkUpdate();
        using var sam = await SignedIn("sam");
        using var other = await SignedIn("sam");
        await sam.Get($"/console/approvals/{id}");
        using var decided = await sam.Decide(id, "deny", "no");
        var (_, otherPage) = await other.Get(decided.Headers.Location!.ToString());
        Assert.DoesNotContain("id=\"notice\"", otherPage, StringComparison.Ordinal);
        var (_, first) = await sam.Get(decided.Headers.Location!.ToString());
        Assert.Contains("is denied", first, StringComparison.Ordinal);
        var (_, reload) = await sam.Get(decided.Headers.Location!.ToString());
        Assert.DoesNotContain("id=\"notice\"", reload, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_passwords_sent_at_once_lock_the_account_before_they_are_all_checked()
    {
        // A slow hash keeps the wrong passwords being checked while the right one arrives.
        _gateway.Gateway.Store.People.SetPassword("sam", PasswordHash.Of(Password, iterations: 3_000_000), DateTimeOffset.UtcNow);
        var wrong = Enumerable.Range(0, ConsolePages.LockAfter).Select(async i =>
        {
            using var session = new ConsoleSession(_gateway.Url);
            using var response = await session.SignIn("sam", "not the password " + i);
            return response.StatusCode;
        }).ToList();
        // Sent once every wrong one is counted (counting comes before the slow check): no guess at how long that takes on a busy machine.
        for (var waited = 0; _gateway.Gateway.Store.People.Password("sam")!.LockedUntil is null; waited += 20)
        {
            Assert.True(waited < 30_000, "the wrong passwords were not counted within 30 s");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        using var attacker = new ConsoleSession(_gateway.Url);
        using var right = await attacker.SignIn("sam", Password);
        await Task.WhenAll(wrong);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Contains("locked", await right.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Found, (await attacker.Get("/console/approvals")).Status);
    }

    [Fact]
    public async Task A_sign_in_checked_against_a_password_changed_meanwhile_starts_no_session()
    {
        _gateway.Gateway.Store.People.SetPassword("sam", PasswordHash.Of(Password, iterations: 3_000_000), DateTimeOffset.UtcNow);
        using var attacker = new ConsoleSession(_gateway.Url);
        var signIn = attacker.SignIn("sam", Password);
        await Task.Delay(300, TestContext.Current.CancellationToken);
        // The administrator sets a new password (the old one leaked) while the old one is being checked.
        _gateway.Gateway.Store.People.SetPassword("sam", PasswordHash.Of("a new and secret password", iterations: 1_000), DateTimeOffset.UtcNow);
        using var response = await signIn;
        Assert.Equal(HttpStatusCode.Found, (await attacker.Get("/console/approvals")).Status);
    }

    [Fact]
    public async Task A_huge_password_is_refused_without_being_hashed()
    {
        using var session = new ConsoleSession(_gateway.Url);
        using var response = await session.SignIn("sam", new string('x', 100_000));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("at most", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Equal(0, _gateway.Gateway.Store.People.Password("sam")!.Failures);
    }

    [Fact]
    public async Task A_huge_comment_is_refused_and_nothing_is_decided()
    {
        var id = await HoldBulkUpdate();
        using var sam = await SignedIn("sam");
        await sam.Get($"/console/approvals/{id}");
        using var response = await sam.Decide(id, "deny", new string('x', ConsolePages.MaxComment + 1));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(ApprovalStatus.Pending, StatusOf(id));
    }

    [Fact]
    public async Task A_sign_in_posted_from_another_site_is_refused()
    {
        // Login CSRF: another site signs the approver's browser in as someone else.
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        foreach (var (header, value) in (List<(string, string)>)[("Sec-Fetch-Site", "cross-site"), ("Origin", "https://evil.example")])
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _gateway.Url + "/console/sign-in")
            {
                Content = new FormUrlEncodedContent([KeyValuePair.Create("person", "sam"), KeyValuePair.Create("password", Password)]),
            };
            request.Headers.Add(header, value);
            using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.False(response.Headers.Contains("Set-Cookie"));
        }
    }

    [Fact]
    public async Task What_the_agent_wrote_is_shown_as_text_not_markup()
    {
        var (_, answer) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.update",
            new { filter = "country == 'DE'", set = new { job_title = "<img src=x onerror=alert(1)>" }, instruction = "<script>alert('agent')</script>" });
        var id = answer["approval_id"]!.GetValue<string>();
        using var sam = await SignedIn("sam");
        var (_, page) = await sam.Get($"/console/approvals/{id}");
        Assert.DoesNotContain("<script>alert", page, StringComparison.Ordinal);
        Assert.DoesNotContain("<img src=x", page, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_made_in_another_environment_is_not_offered_for_a_decision()
    {
        using var folder = new DataFolder();
        string id;
        await using (var sandbox = await GatewayFixture.StartAsync(directory: folder.Path))
        {
            var (_, answer) = await GatewayFixture.Call(await sandbox.Agent("hygiene-bot"), "contacts.update",
                new { filter = "country == 'DE'", set = new { job_title = "Buyer (console)" } });
            id = answer["approval_id"]!.GetValue<string>();
        }

        await using var production = await GatewayFixture.StartAsync(environment: "production", directory: folder.Path);
        Assert.Null(ConsoleAccounts.SetPassword(folder.Path, "sam", Password, TimeProvider.System));
        using var sam = new ConsoleSession(production.Url);
        using var signedIn = await sam.SignIn("sam", Password);
        var (_, queue) = await sam.Get("/console/approvals");
        Assert.DoesNotContain($"href=\"/console/approvals/{id}\"", queue, StringComparison.Ordinal);
        var (_, page) = await sam.Get($"/console/approvals/{id}");
        Assert.DoesNotContain("id=\"approve\"", page, StringComparison.Ordinal);
        Assert.Contains("was made in sandbox", page, StringComparison.Ordinal);
    }

    [Fact]
    public void A_password_longer_than_the_sign_in_takes_is_not_set()
    {
        Assert.Equal("a password has at most 1024 characters", ConsoleAccounts.SetPassword(_gateway.Directory, "maria", new string('x', 1_025), TimeProvider.System));
        Assert.Null(_gateway.Gateway.Store.People.Password("maria"));
    }

    [Fact]
    public async Task Sign_ins_beyond_what_the_gateway_checks_at_once_are_turned_away_at_once()
    {
        // Each check is slow on purpose; a flood of them, unauthenticated, would take the cores the agents' calls need.
        var answers = await Task.WhenAll(Enumerable.Range(0, 48).Select(async i =>
        {
            using var session = new ConsoleSession(_gateway.Url);
            using var response = await session.SignIn("nobody-" + i, "a wrong password");
            return response.StatusCode;
        }));
        Assert.Contains(HttpStatusCode.ServiceUnavailable, answers);
        Assert.Contains(HttpStatusCode.OK, answers);
    }
}
