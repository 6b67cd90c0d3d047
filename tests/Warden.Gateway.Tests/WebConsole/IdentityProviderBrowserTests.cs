using Microsoft.Playwright;
using Warden.Gateway.Tests.EndToEnd;

namespace Warden.Gateway.Tests.WebConsole;

/// <summary>
/// Signing in through the identity provider in a real browser (Debian's Chromium, driven by
/// Playwright) against <c>warden serve</c> as its own process, started with the --oidc options.
/// The provider is at localhost and the gateway at 127.0.0.1: two sites, as in life, so the way
/// back from the provider is a cross-site navigation that only SameSite=Lax cookies survive.
/// </summary>
public sealed class IdentityProviderBrowserTests : IAsyncLifetime
{
    private TestIdentityProvider _provider = null!;
    private string _secrets = null!;
    private WardenProcess _warden = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;


    public async ValueTask InitializeAsync()
    {
        _provider = await TestIdentityProvider.StartAsync("localhost");
        _secrets = Path.Combine(Path.GetTempPath(), "warden-oidc-tests", Guid.NewGuid().ToString("N"));
        var secret = TestIdentityProvider.SecretFile(_secrets);
        _warden = await WardenProcess.StartAsync("--demo", "--oidc-authority", _provider.Url, "--oidc-client-id", TestIdentityProvider.ClientId,
            "--oidc-client-secret", "file:" + secret, "--oidc-name", "Northwind SSO");
        _playwright = await Playwright.CreateAsync();
        _browser = await Chromium.LaunchAsync(_playwright);
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        await _warden.DisposeAsync();
        await _provider.DisposeAsync();
        Directory.Delete(_secrets, recursive: true);
    }

    [Fact]
    public async Task A_person_clicks_sign_in_with_the_provider_and_lands_on_their_queue()
    {
        Assert.Contains("Northwind SSO", _warden.Output, StringComparison.Ordinal);
        var page = await _browser.NewPageAsync();
        await page.GotoAsync(_warden.Url + "/console");
        await Shot(page, "sign-in-provider");

        _provider.AsksToContinue = true;
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in with Northwind SSO" }).ClickAsync();
        // At the provider's site, as a person is after typing their company password there; back from there to the gateway.
        await page.GetByRole(AriaRole.Link, new() { Name = "Continue to Warden" }).ClickAsync();

        await Assertions.Expect(page.GetByText("Sam Okafor (sam)")).ToBeVisibleAsync();
        Assert.Equal(_warden.Url + "/console/approvals", page.Url);
        var cookies = await page.Context.CookiesAsync([_warden.Url + "/console/sign-in/provider/callback"]);
        Assert.Equal(["warden_console"], cookies.Select(c => c.Name));
        await Shot(page, "provider-signed-in");
    }

    [Fact]
    public async Task A_person_the_policy_does_not_know_sees_why_and_is_not_signed_in()
    {
        _provider.User = ("mallory@northwind.example", true);
        var page = await _browser.NewPageAsync();
        await page.GotoAsync(_warden.Url + "/console/sign-in");

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in with Northwind SSO" }).ClickAsync();

        await Assertions.Expect(page.Locator("#sign-in-error")).ToContainTextAsync("mallory@northwind.example is not the email of anyone in the policy");
        await Shot(page, "provider-refused");
        await page.GotoAsync(_warden.Url + "/console/approvals");
        Assert.EndsWith("/console/sign-in", page.Url, StringComparison.Ordinal);
    }

    private static Task Shot(IPage page, string name) => Chromium.Shot(page, name);
}
