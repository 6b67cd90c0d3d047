using System.Net;
using System.Text.RegularExpressions;

namespace Warden.Gateway.Tests.WebConsole;

/// <summary>A gateway whose people have console passwords, and their sign-in.</summary>
internal static class ConsolePeople
{
    public const string Password = "correct horse battery staple";

    /// <summary>Starts a gateway and gives each of <paramref name="people"/> the console password <see cref="Password"/>.</summary>
    public static async Task<GatewayFixture> StartAsync(params string[] people)
    {
        var gateway = await GatewayFixture.StartAsync();
        foreach (var person in people)
        {
            Assert.Null(Warden.Gateway.WebConsole.ConsoleAccounts.SetPassword(gateway.Directory, person, Password, TimeProvider.System));
        }

        return gateway;
    }

    /// <summary>Signs <paramref name="person"/> in (to the approval queue, as every sign-in leads) and reads <paramref name="page"/>, so that its form token is at hand.</summary>
    public static async Task<ConsoleSession> SignInAsync(GatewayFixture gateway, string person, string page = "/console/approvals")
    {
        var session = new ConsoleSession(gateway.Url);
        using var response = await session.SignIn(person, Password);
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal("/console/approvals", response.Headers.Location?.ToString());
        await session.Get(page);
        return session;
    }
}

/// <summary>A person at the console over plain HTTP, as a browser would be: cookies kept, redirects not followed (so each answer can be read).</summary>
internal sealed partial class ConsoleSession : IDisposable
{
    private readonly HttpClient _http;

    public ConsoleSession(string url)
    {
        Cookies = new CookieContainer();
        _http = new HttpClient(new HttpClientHandler { CookieContainer = Cookies, AllowAutoRedirect = false }) { BaseAddress = new Uri(url) };
    }

    public CookieContainer Cookies { get; }

    /// <summary>The CSRF token of the last page read.</summary>
    public string? Csrf { get; private set; }

    public Task<HttpResponseMessage> SignIn(string person, string password) => Post("/console/sign-in", ("person", person), ("password", password));

    public async Task<(HttpStatusCode Status, string Html)> Get(string path)
    {
        using var response = await _http.GetAsync(path, TestContext.Current.CancellationToken);
        var html = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        if (CsrfField().Match(html) is { Success: true } match)
        {
            Csrf = match.Groups[1].Value;
        }

        return (response.StatusCode, html);
    }

    /// <summary>The answer to a GET of <paramref name="url"/> (a path here, or an address anywhere), unread.</summary>
    public Task<HttpResponseMessage> Open(string url) => _http.GetAsync(url, TestContext.Current.CancellationToken);

    public Task<HttpResponseMessage> Post(string path, params (string Name, string Value)[] fields) =>
        _http.PostAsync(path, new FormUrlEncodedContent(fields.Select(f => KeyValuePair.Create(f.Name, f.Value))), TestContext.Current.CancellationToken);

    /// <summary>Posts a decision from the request's page, with the page's token unless another is given.</summary>
    public Task<HttpResponseMessage> Decide(string approvalId, string decision, string comment = "", string? csrf = null) =>
        Post($"/console/approvals/{approvalId}/decide", ("csrf", csrf ?? Csrf ?? ""), ("decision", decision), ("comment", comment));

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("name=\"csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();
}
