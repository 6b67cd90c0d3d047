using System.Net;
using Warden.Gateway.WebConsole;
using Warden.Storage.Gateway;

namespace Warden.Gateway.Tests.WebConsole;

/// <summary>The console's Overview and Incidents pages: what waits and what was refused, and incidents acknowledged and resolved by the people they are routed to.</summary>
public sealed class OversightPagesTests : IAsyncLifetime
{
    private const string Password = ConsolePeople.Password;
    private GatewayFixture _gateway = null!;

    public async ValueTask InitializeAsync() => _gateway = await ConsolePeople.StartAsync("sam", "lee");

    public async ValueTask DisposeAsync() => await _gateway.DisposeAsync();

    private Task<ConsoleSession> SignedIn(string person) => ConsolePeople.SignInAsync(_gateway, person, "/console/overview");

    private async Task<string> FrozenIncident(ConsoleSession sam)
    {
        using var _ = await sam.Post("/console/agents/freeze", ("csrf", sam.Csrf!), ("agent", "hygiene-bot"), ("reason", "odd writes"));
        return _gateway.Gateway.Store.Incidents.List().Single(i => i.Agent == "hygiene-bot").Id;
    }

    [Fact]
    public async Task The_overview_counts_what_waits_for_the_person_and_lists_the_latest_refusals()
    {
        var (_, held) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.update", new { filter = "country == 'DE'", set = new { job_title = "Overview" } });
        Assert.Equal("pending_approval", held["status"]!.GetValue<string>());
        var (refused, _) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.purge", new { ids = new[] { "c-0000001" } });
        Assert.True(refused);

        using var sam = await SignedIn("sam");
        var (_, page) = await sam.Get("/console/overview");
        Assert.Contains("id=\"waiting-for-you\">1<", page, StringComparison.Ordinal);
        Assert.Contains("contacts.purge", page, StringComparison.Ordinal);
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Matches($"{today}: [1-9][0-9]* calls, [1-9][0-9]* refused", page);

        using var lee = await SignedIn("lee");
        var (_, others) = await lee.Get("/console/overview");
        Assert.Contains("id=\"waiting-for-you\">0<", others, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_incident_is_listed_for_its_people_who_acknowledge_and_resolve_it()
    {
        using var sam = await SignedIn("sam");
        var id = await FrozenIncident(sam);
        var (_, page) = await sam.Get("/console/incidents");
        Assert.Contains($"id=\"incident-{id}\"", page, StringComparison.Ordinal);
        Assert.Contains("The trail around it", page, StringComparison.Ordinal);

        using var acknowledged = await sam.Post($"/console/incidents/{id}/acknowledge", ("csrf", sam.Csrf!));
        Assert.Equal(IncidentStatus.Acknowledged, _gateway.Gateway.Store.Incidents.List().Single(i => i.Id == id).Status);
        using var resolved = await sam.Post($"/console/incidents/{id}/resolve", ("csrf", sam.Csrf!));
        Assert.Equal(IncidentStatus.Resolved, _gateway.Gateway.Store.Incidents.List().Single(i => i.Id == id).Status);
        Assert.Contains(_gateway.Trail(), e => e.Entry.Kind == "incident" && e.Entry.Person == "sam" && e.Entry.Effect == "resolved");
    }

    [Fact]
    public async Task A_person_an_incident_is_not_routed_to_cannot_close_it()
    {
        using var sam = await SignedIn("sam");
        var id = await FrozenIncident(sam);
        using var lee = await SignedIn("lee");
        var (_, page) = await lee.Get("/console/incidents");
        Assert.DoesNotContain($"Resolve {id}", page, StringComparison.Ordinal);
        using var forced = await lee.Post($"/console/incidents/{id}/resolve", ("csrf", lee.Csrf!));
        Assert.Contains("Refused", await forced.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Equal(IncidentStatus.Open, _gateway.Gateway.Store.Incidents.List().Single(i => i.Id == id).Status);
    }

    [Fact]
    public async Task The_policy_page_shows_the_loaded_policy_its_hash_and_what_the_checker_says()
    {
        using var sam = await SignedIn("sam");
        var (_, page) = await sam.Get("/console/policy");
        Assert.Contains($"id=\"policy-hash\">{_gateway.Gateway.Policy.Hash}<", page, StringComparison.Ordinal);
        Assert.Contains("hygiene-bulk-changes", page, StringComparison.Ordinal); // the policy as code
        Assert.Contains(_gateway.Gateway.Policy.Rules.Count + " rules", page, StringComparison.Ordinal);
    }

    /// <summary>The example policy in a file of its own, for a gateway that reads (and reloads) a file: its path and text.</summary>
    private static async Task<(string File, string Text)> PolicyFile()
    {
        var file = Path.Combine(GatewayFixture.NewDirectory() + "-policy", "warden.yaml");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var text = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "policy.yaml"), TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(file, text, TestContext.Current.CancellationToken);
        return (file, text);
    }

    [Fact]
    public async Task Checking_the_policy_file_says_whether_it_loads_and_changes_nothing()
    {
        var (file, text) = await PolicyFile();
        await using var gateway = await GatewayFixture.StartAsync(policyFile: file);
        Assert.Null(ConsoleAccounts.SetPassword(gateway.Directory, "sam", Password, TimeProvider.System));
        using var sam = await ConsolePeople.SignInAsync(gateway, "sam", "/console/policy");
        var loaded = gateway.Gateway.Policy.Hash;

        async Task<string> Check()
        {
            using var response = await sam.Post("/console/policy/check", ("csrf", sam.Csrf!));
            return await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        }

        Assert.Contains("it is the policy in force", await Check(), StringComparison.Ordinal);
        await File.WriteAllTextAsync(file, text.Replace("effect: deny", "effect: denny", StringComparison.Ordinal), TestContext.Current.CancellationToken);
        var broken = await Check();
        Assert.Contains("does not load", broken, StringComparison.Ordinal);
        Assert.Contains("denny", broken, StringComparison.Ordinal);
        await File.WriteAllTextAsync(file, text.Replace("Every agent may read the workspace.", "Every agent reads the workspace.", StringComparison.Ordinal), TestContext.Current.CancellationToken);
        var changed = await Check();
        Assert.Contains("as another policy", changed, StringComparison.Ordinal);
        Assert.DoesNotContain("reload-policy", changed, StringComparison.Ordinal); // sam is a data owner: no reload offered
        Assert.Equal(loaded, gateway.Gateway.Policy.Hash);
    }

    [Fact]
    public async Task A_technical_owner_reloads_the_file_as_checked_and_the_page_says_by_whom()
    {
        var (file, text) = await PolicyFile();
        await using var gateway = await GatewayFixture.StartAsync(policyFile: file);
        Assert.Null(ConsoleAccounts.SetPassword(gateway.Directory, "dev", Password, TimeProvider.System));
        using var dev = await ConsolePeople.SignInAsync(gateway, "dev", "/console/policy");
        await File.WriteAllTextAsync(file, text.Replace("Every agent may read the workspace.", "Every agent reads the workspace.", StringComparison.Ordinal), TestContext.Current.CancellationToken);

        using var checkedPage = await dev.Post("/console/policy/check", ("csrf", dev.Csrf!));
        var check = await checkedPage.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var hash = System.Text.RegularExpressions.Regex.Match(check, "name=\"checked\" value=\"([^\"]+)\"").Groups[1].Value;
        using var reloaded = await dev.Post("/console/policy/reload", ("csrf", dev.Csrf!), ("checked", hash));
        var page = await reloaded.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Contains("id=\"reload-policy\"", check, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, reloaded.StatusCode);
        Assert.Equal(hash, gateway.Gateway.Policy.Hash);
        Assert.Contains("reloaded by Dev Patel (dev)", page, StringComparison.Ordinal);
        Assert.Contains("Every agent reads the workspace.", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reload_posted_by_an_approver_without_the_owner_roles_is_refused()
    {
        var (file, text) = await PolicyFile();
        await File.WriteAllTextAsync(file, text.Replace("Every agent may read the workspace.", "Every agent reads the workspace.", StringComparison.Ordinal), TestContext.Current.CancellationToken);
        await using var gateway = await GatewayFixture.StartAsync(policyFile: file);
        var loaded = gateway.Gateway.Policy.Hash;
        await File.WriteAllTextAsync(file, text, TestContext.Current.CancellationToken);
        var hash = Warden.Core.PolicyLoader.Load(text, file, new Warden.Core.PolicyLoadOptions { Systems = [Warden.Workspace.WorkspaceCatalogue.Catalogue], Kinds = PolicyKinds.All }).Policy!.Hash;
        Assert.Null(ConsoleAccounts.SetPassword(gateway.Directory, "lee", Password, TimeProvider.System));
        using var lee = await ConsolePeople.SignInAsync(gateway, "lee", "/console/policy");

        using var refused = await lee.Post("/console/policy/reload", ("csrf", lee.Csrf!), ("checked", hash));

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(loaded, gateway.Gateway.Policy.Hash);
    }

    [Fact]
    public async Task Resolving_without_the_token_changes_nothing()
    {
        using var sam = await SignedIn("sam");
        var id = await FrozenIncident(sam);
        using var response = await sam.Post($"/console/incidents/{id}/resolve");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(IncidentStatus.Open, _gateway.Gateway.Store.Incidents.List().Single(i => i.Id == id).Status);
    }
}
