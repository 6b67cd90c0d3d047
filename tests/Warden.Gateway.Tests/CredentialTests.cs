using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Warden.Gateway.Tests;

/// <summary>Tokens kept in files are rotated and revoked by changing the file, without a restart, and the trail says so.</summary>
public sealed class CredentialTests
{
    private static Task<GatewayFixture> Start() =>
        GatewayFixture.StartAsync(policy => policy.Replace("auth: { token: env:WARDEN_TOKEN_HYGIENE }", "auth: { token: secret:hygiene }", StringComparison.Ordinal));

    /// <summary>The status a tools/list as hygiene-bot with <paramref name="token"/> gets.</summary>
    private static async Task<HttpStatusCode> ListAs(GatewayFixture gateway, string token)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.Url + "/mcp")
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        return response.StatusCode;
    }

    private static void WriteSecret(GatewayFixture gateway, string? token)
    {
        var file = Path.Combine(gateway.Directory, "secrets", "hygiene");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        if (token is null)
        {
            File.Delete(file);
        }
        else
        {
            File.WriteAllText(file, token + "\n");
        }
    }

    [Fact]
    public async Task Writing_a_token_file_rotates_the_token_and_deleting_it_revokes_it()
    {
        await using var gateway = await Start();
        var demo = gateway.Token("hygiene-bot");
        Assert.Equal(HttpStatusCode.OK, await ListAs(gateway, demo));

        WriteSecret(gateway, "wd_rotated_first_5b1c");
        gateway.Gateway.Credentials.Refresh();
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.Unauthorized), (await ListAs(gateway, "wd_rotated_first_5b1c"), await ListAs(gateway, demo)));

        WriteSecret(gateway, "wd_rotated_second_77aa");
        gateway.Gateway.Credentials.Refresh();
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.Unauthorized), (await ListAs(gateway, "wd_rotated_second_77aa"), await ListAs(gateway, "wd_rotated_first_5b1c")));

        WriteSecret(gateway, null);
        gateway.Gateway.Credentials.Refresh();
        Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized), (await ListAs(gateway, "wd_rotated_second_77aa"), await ListAs(gateway, demo)));
    }

    [Fact]
    public async Task A_changed_token_file_is_noticed_by_itself_and_recorded()
    {
        await using var gateway = await Start();
        WriteSecret(gateway, "wd_noticed_by_the_watch_31f0");

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (await ListAs(gateway, "wd_noticed_by_the_watch_31f0") != HttpStatusCode.OK && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        Assert.Equal(HttpStatusCode.OK, await ListAs(gateway, "wd_noticed_by_the_watch_31f0"));

        // The new token works as soon as the watch reads it; its entry is appended just after.
        while (!gateway.Trail().Any(e => e.Entry.Kind == "credentials") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        var entry = gateway.Trail().Select(e => e.Entry).Last(e => e.Kind == "credentials");
        Assert.Equal("token files changed: hygiene-bot (new token)", entry.Detail);
    }

    [Fact]
    public async Task Two_identities_whose_files_now_hold_one_token_both_lose_it()
    {
        await using var gateway = await GatewayFixture.StartAsync(policy => policy
            .Replace("auth: { token: env:WARDEN_TOKEN_HYGIENE }", "auth: { token: secret:hygiene }", StringComparison.Ordinal)
            .Replace("auth: { token: env:WARDEN_TOKEN_NURTURE }", "auth: { token: secret:nurture }", StringComparison.Ordinal));
        WriteSecret(gateway, "wd_shared_by_mistake_9d2e");
        File.WriteAllText(Path.Combine(gateway.Directory, "secrets", "nurture"), "wd_shared_by_mistake_9d2e\n");

        var changes = new List<string>();
        gateway.Gateway.Credentials.Refresh(changes.Add);

        Assert.Equal(HttpStatusCode.Unauthorized, await ListAs(gateway, "wd_shared_by_mistake_9d2e"));
        Assert.Equal("token files changed: hygiene-bot (no token now), nurture-bot (no token now); agent 'nurture-bot' has the same token as hygiene-bot; every identity needs its own, so neither signs in", Assert.Single(changes));
    }

    [Fact]
    public async Task A_token_behind_a_swapped_symlink_is_rotated_as_a_kubernetes_secret_volume_does()
    {
        await using var gateway = await Start();
        var secrets = Path.Combine(gateway.Directory, "secrets");
        Directory.CreateDirectory(Path.Combine(secrets, "v1"));
        Directory.CreateDirectory(Path.Combine(secrets, "v2"));
        File.WriteAllText(Path.Combine(secrets, "v1", "hygiene"), "wd_version_one_aaaa\n");
        File.WriteAllText(Path.Combine(secrets, "v2", "hygiene"), "wd_version_two_bbbb\n"); // the same length, as rotated secrets often are
        File.CreateSymbolicLink(Path.Combine(secrets, "hygiene"), Path.Combine(secrets, "v1", "hygiene"));
        gateway.Gateway.Credentials.Refresh();
        Assert.Equal(HttpStatusCode.OK, await ListAs(gateway, "wd_version_one_aaaa"));

        File.Delete(Path.Combine(secrets, "hygiene"));
        File.CreateSymbolicLink(Path.Combine(secrets, "hygiene"), Path.Combine(secrets, "v2", "hygiene"));
        gateway.Gateway.Credentials.Refresh();

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.Unauthorized), (await ListAs(gateway, "wd_version_two_bbbb"), await ListAs(gateway, "wd_version_one_aaaa")));
    }

    [Fact]
    public async Task Demo_tokens_are_kept_for_the_life_of_the_data_folder()
    {
        using var folder = new DataFolder();
        string person, agent;
        await using (var first = await GatewayFixture.StartAsync(directory: folder.Path))
        {
            (person, agent) = (first.Token("sam"), first.Token("hygiene-bot"));
        }

        await using var again = await GatewayFixture.StartAsync(directory: folder.Path);

        Assert.Equal((person, agent), (again.Token("sam"), again.Token("hygiene-bot")));
        var (status, me) = await again.Api(HttpMethod.Get, "/api/me", person);
        Assert.Equal((HttpStatusCode.OK, "sam"), (status, me!["id"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Demo_tokens_of_the_sandbox_do_not_open_production_on_the_same_data_folder()
    {
        using var folder = new DataFolder();
        string sandboxToken;
        await using (var sandbox = await GatewayFixture.StartAsync(directory: folder.Path))
        {
            sandboxToken = sandbox.Token("sam");
        }

        await using var production = await GatewayFixture.StartAsync(environment: "production", directory: folder.Path);

        Assert.NotEqual(sandboxToken, production.Token("sam"));
        var (status, _) = await production.Api(HttpMethod.Get, "/api/me", sandboxToken);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.True(File.Exists(Path.Combine(folder.Path, "demo-tokens-production.json")));
    }

    [Fact]
    public async Task A_demo_token_file_someone_edited_into_nonsense_gives_new_tokens_not_a_failed_start()
    {
        using var folder = new DataFolder();
        Directory.CreateDirectory(folder.Path);
        File.WriteAllText(Path.Combine(folder.Path, "demo-tokens.json"), """{"sam": "guessable", "hygiene-bot": 42""");

        await using var gateway = await GatewayFixture.StartAsync(directory: folder.Path);

        Assert.StartsWith("wd_person_sam_", gateway.Token("sam"), StringComparison.Ordinal);
        Assert.Contains(gateway.Token("sam"), File.ReadAllText(Path.Combine(folder.Path, "demo-tokens.json")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_demo_token_planted_in_the_file_that_does_not_look_made_up_is_not_taken()
    {
        using var folder = new DataFolder();
        Directory.CreateDirectory(folder.Path);
        File.WriteAllText(Path.Combine(folder.Path, "demo-tokens.json"), """{"sam": "password"}""");

        await using var gateway = await GatewayFixture.StartAsync(directory: folder.Path);

        Assert.NotEqual("password", gateway.Token("sam"));
        var (status, _) = await gateway.Api(HttpMethod.Get, "/api/me", "password");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }
}
