using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Warden.Gateway.Tests.EndToEnd;
using Warden.Storage.Audit;

namespace Warden.Gateway.Tests.WebConsole;

/// <summary>
/// The console in a real browser (Debian's Chromium, driven by Playwright) against <c>warden
/// serve</c> as its own process; the agent is the official TypeScript SDK's client. A screenshot
/// of each page is kept in artifacts/console/.
/// </summary>
public sealed class BrowserTests : IAsyncLifetime
{
    private const string Password = "correct horse battery staple";
    private WardenProcess _warden = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;


    public async ValueTask InitializeAsync()
    {
        _warden = await WardenProcess.StartAsync("--demo");
        var (exit, output) = await WardenProcess.CliWithInputAsync(Password + "\n", _warden.Directory, "people", "set-password", "sam", "--password-stdin",
            "--policy", Path.Combine(WardenProcess.Repository, "examples", "marketing", "policy.yaml"), "--data", Path.Combine(_warden.Directory, "data"));
        Assert.True(exit == 0, output);
        _playwright = await Playwright.CreateAsync();
        _browser = await Chromium.LaunchAsync(_playwright);
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        await _warden.DisposeAsync();
    }

    private Task<JsonNode> Agent(params object[] steps) =>
        NodeClient.RunAsync("http", _warden.Url + "/mcp", WardenProcess.Tokens["hygiene-bot"], NodeClient.Steps(steps));

    private static Task Shot(IPage page, string name) => Chromium.Shot(page, name);

    private async Task<IPage> SignIn(string person, string password)
    {
        var page = await _browser.NewPageAsync();
        await page.GotoAsync(_warden.Url + "/console");
        await page.GetByLabel("Your id").FillAsync(person);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        return page;
    }

    [Fact]
    public async Task An_approver_signs_in_opens_a_held_bulk_update_approves_it_and_the_agents_call_completes()
    {
        var held = NodeClient.Answer((await Agent(new
        {
            op = "call", name = "contacts.update", arguments = new { filter = "country == 'AT'", set = new { job_title = "Austria desk" } },
            meta = new { instruction = "Retitle the Austria desk." },
        }))["steps"]![0]!);
        Assert.Equal("pending_approval", held["status"]!.GetValue<string>());
        var id = held["approval_id"]!.GetValue<string>();

        var page = await _browser.NewPageAsync();
        await page.GotoAsync(_warden.Url + "/console/approvals");
        Assert.EndsWith("/console/sign-in", page.Url, StringComparison.Ordinal);
        await Shot(page, "sign-in");
        await page.GetByLabel("Your id").FillAsync("sam");
        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();

        var request = page.GetByRole(AriaRole.Link, new() { Name = "contacts.update by hygiene-bot" });
        await Assertions.Expect(request).ToBeVisibleAsync();
        await Shot(page, "approvals");
        await request.ClickAsync();
        await Assertions.Expect(page.Locator("#headline")).ToContainTextAsync("Changes");
        await Assertions.Expect(page.Locator("#agent-says")).ToHaveTextAsync("Retitle the Austria desk.");
        await Assertions.Expect(page.Locator("#changes")).ToContainTextAsync("contacts.job_title");
        await Shot(page, "request");

        await page.GetByLabel("Comment").FillAsync("Checked the sample.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
        await Assertions.Expect(page.Locator("#notice")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("executed");
        await Shot(page, "approved");

        var seen = NodeClient.Answer((await Agent(new { op = "call", name = "warden.approval_status", arguments = new { approval_id = id } }))["steps"]![0]!);
        Assert.Equal(("executed", "done"), (seen["status"]!.GetValue<string>(), seen["outcome"]!["status"]!.GetValue<string>()));
        var trail = AuditLog.Query(Path.Combine(_warden.Directory, "data", "audit.db"), new AuditQuery { Limit = 50 }).Entries;
        Assert.Contains(trail, e => e.Entry.Kind == "approval" && e.Entry.ApprovalId == id && e.Entry.Person == "sam" && e.Entry.Comment == "Checked the sample.");

        // Rolled back from the Rollback page: the preview first, then the confirmation.
        var action = seen["outcome"]!["action_id"]!.GetValue<string>();
        await page.GetByRole(AriaRole.Link, new() { Name = "Rollback" }).ClickAsync();
        await page.GetByLabel("Action").FillAsync(action);
        await page.GetByRole(AriaRole.Button, new() { Name = "Preview" }).ClickAsync();
        await Assertions.Expect(page.Locator("#restorable")).ToHaveTextAsync(held["records"]!.GetValue<long>().ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        await Shot(page, "rollback-preview");
        await page.GetByRole(AriaRole.Button, new() { Name = "Roll back" }).ClickAsync();
        await Assertions.Expect(page.Locator("#rollback-done")).ToContainTextAsync("record(s) restored");
        await Shot(page, "rollback-done");

        // The call, its approval and its rollback, found in Activity and linked to each other.
        await page.GetByRole(AriaRole.Link, new() { Name = "Activity" }).ClickAsync();
        await page.GetByLabel("Agent").FillAsync("hygiene-bot");
        await page.GetByRole(AriaRole.Button, new() { Name = "Show" }).ClickAsync();
        var rows = page.Locator("#activity tbody tr");
        await Assertions.Expect(rows.Filter(new() { HasText = "rollback" })).ToHaveCountAsync(1);
        await Assertions.Expect(rows.Filter(new() { HasText = "approval contacts.update" })).ToHaveCountAsync(1);
        await Assertions.Expect(rows.Filter(new() { HasText = "undone by" })).ToHaveCountAsync(1);
        await Shot(page, "activity");

        // Frozen from the Agents page: the agent's next call is refused.
        await page.GetByRole(AriaRole.Link, new() { Name = "Agents" }).ClickAsync();
        await Shot(page, "agents");
        await page.GetByRole(AriaRole.Button, new() { Name = "Freeze hygiene-bot" }).ClickAsync();
        await Assertions.Expect(page.Locator("#notice")).ToContainTextAsync("hygiene-bot is frozen");
        var refused = NodeClient.Answer((await Agent(new { op = "call", name = "contacts.get", arguments = new { id = "c-0000003" } }))["steps"]![0]!);
        Assert.Contains("frozen", refused.ToJsonString(), StringComparison.Ordinal);

        // The freeze opened an incident; the overview counts it; the policy page checks the file.
        await page.GetByRole(AriaRole.Link, new() { Name = "Incidents" }).ClickAsync();
        await Assertions.Expect(page.Locator("main")).ToContainTextAsync("kill_switch");
        await Shot(page, "incidents");
        await page.GetByRole(AriaRole.Link, new() { Name = "Overview" }).ClickAsync();
        await Assertions.Expect(page.Locator("#refusal-list")).ToContainTextAsync("hygiene-bot");
        await Shot(page, "overview");
        await page.GetByRole(AriaRole.Link, new() { Name = "Policy" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Check the file as it is now" }).ClickAsync();
        await Assertions.Expect(page.Locator("#checked")).ToBeVisibleAsync();
        await Shot(page, "policy");
    }

    [Fact]
    public async Task Every_page_fits_a_phone_screen_without_sideways_scrolling()
    {
        var held = NodeClient.Answer((await Agent(new
        {
            op = "call", name = "contacts.update", arguments = new { filter = "country == 'DE'", set = new { job_title = "Germany desk" } },
        }))["steps"]![0]!);
        var phone = await _browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 390, Height = 844 }, IsMobile = true });
        await phone.GotoAsync(_warden.Url + "/console/sign-in");
        await phone.GetByLabel("Your id").FillAsync("sam");
        await phone.GetByLabel("Password").FillAsync(Password);
        await phone.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(phone.GetByRole(AriaRole.Heading, new() { Name = "Approvals" })).ToBeVisibleAsync();

        var wide = new List<string>();
        foreach (var path in new[]
                 {
                     "/console/approvals", $"/console/approvals/{held["approval_id"]!.GetValue<string>()}", "/console/overview", "/console/activity",
                     "/console/rollback", "/console/agents", "/console/agents/hygiene-bot", "/console/incidents", "/console/policy",
                 })
        {
            await phone.GotoAsync(_warden.Url + path);
            var widths = await phone.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, window.innerWidth]");
            if (widths[0] > widths[1])
            {
                wide.Add($"{path}: {widths[0]}px on a {widths[1]}px screen");
            }
        }

        await phone.GotoAsync(_warden.Url + $"/console/approvals/{held["approval_id"]!.GetValue<string>()}");
        await Shot(phone, "phone-request");
        Assert.Empty(wide);
    }

    [Fact]
    public async Task A_demo_gateway_prints_a_link_that_signs_a_person_in_once()
    {
        var link = System.Text.RegularExpressions.Regex.Match(_warden.Output, @"maria\s+(http\S+/console/sign-in/link/\S+)").Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(link), _warden.Output);
        var page = await _browser.NewPageAsync();
        await page.GotoAsync(link);
        await Assertions.Expect(page.Locator("#link-person")).ToContainTextAsync("(maria)");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in as Maria" }).ClickAsync();
        await Assertions.Expect(page.GetByText("Maria López (maria)")).ToBeVisibleAsync();

        var again = await (await _browser.NewContextAsync()).NewPageAsync();
        var response = await again.GotoAsync(link);
        Assert.Equal(410, response!.Status);
    }

    [Fact]
    public async Task The_sign_in_form_is_usable_from_the_keyboard_alone()
    {
        var page = await _browser.NewPageAsync();
        await page.GotoAsync(_warden.Url + "/console/sign-in");
        await page.Keyboard.PressAsync("Tab"); // the skip link
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.TypeAsync("sam");
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.TypeAsync(Password);
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Approvals" })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task A_wrong_password_is_said_plainly_on_the_page()
    {
        var page = await SignIn("sam", "not the password at all");
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("The id or the password is wrong.");
    }
}
