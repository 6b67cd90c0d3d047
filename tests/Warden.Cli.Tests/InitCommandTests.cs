using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Warden.Cli.Tests;

public sealed class InitCommandTests
{
    [Fact]
    public void The_starter_policy_checks_without_an_error_or_a_warning()
    {
        var folder = NewFolder();
        Assert.Equal(0, Cli.Run("init", folder).ExitCode);

        var (exit, output) = Cli.Run("policy", "check", Path.Combine(folder, "warden.yaml"));
        Assert.Equal(0, exit);
        Assert.Contains("is valid: 0 errors, 0 warnings", output);
        Assert.Contains("1 agent, 6 rules, 0 exceptions, 2 budgets, 1 breaker", output);
    }

    [Fact]
    public void The_starter_tests_pass_on_the_starter_policy_and_cover_allow_approve_and_deny()
    {
        var folder = NewFolder();
        Cli.Run("init", folder);

        var (exit, output) = Cli.Run("policy", "test", Path.Combine(folder, "warden.yaml"), Path.Combine(folder, "warden.tests.yaml"));
        Assert.Equal(0, exit);
        Assert.Matches(@"\n\d+ passed, 0 failed", output);
        var tests = File.ReadAllText(Path.Combine(folder, "warden.tests.yaml"));
        foreach (var effect in (string[])["allow", "approve", "deny"])
        {
            Assert.Contains($"effect: {effect}", tests);
        }

        Assert.Contains("budget: hygiene-hourly-changes", tests);
    }

    [Fact]
    public void The_starter_tests_fail_when_the_policy_is_loosened_so_they_guard_it()
    {
        // A deny turned into an allow must not go unnoticed by the tests init wrote.
        var folder = NewFolder();
        Cli.Run("init", folder);
        var policy = Path.Combine(folder, "warden.yaml");
        var text = File.ReadAllText(policy);
        File.WriteAllText(policy, text.Replace("tool: suppression.remove\n    effect: deny", "tool: suppression.remove\n    effect: allow", StringComparison.Ordinal));
        Assert.NotEqual(text, File.ReadAllText(policy));

        var (exit, output) = Cli.Run("policy", "test", policy, Path.Combine(folder, "warden.tests.yaml"));
        Assert.Equal(1, exit);
        Assert.Contains("suppression lists never shrink", output);
    }

    [Fact]
    public void The_policy_is_commented_and_dated_the_day_it_was_written()
    {
        var folder = NewFolder();
        var (exit, output) = Cli.Run("init", folder);
        Assert.Equal(0, exit);
        var policy = File.ReadAllText(Path.Combine(folder, "warden.yaml"));
        Assert.DoesNotContain("{{", policy);
        Assert.Contains("last: 2026-11-25", policy);
        Assert.True(policy.Split('\n').Count(l => l.TrimStart().StartsWith('#')) >= 20, "the starter policy explains itself in comments");
        Assert.DoesNotContain("{{", File.ReadAllText(Path.Combine(folder, "warden.tests.yaml")));
        Assert.Contains($"warden policy check {Path.Combine(folder, "warden.yaml")}", output);
        Assert.Contains($"warden serve --policy {Path.Combine(folder, "warden.yaml")} --data {Path.Combine(folder, ".warden")}", output);
    }

    [Theory]
    [InlineData("warden.yaml")]
    [InlineData("warden.tests.yaml")]
    public void An_existing_file_is_never_overwritten_and_nothing_else_is_written(string existing)
    {
        var folder = NewFolder();
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, existing);
        File.WriteAllText(path, "mine\n");

        var (exit, output) = Cli.Run("init", folder);
        Assert.Equal(2, exit);
        Assert.Contains(Words($"error: {path} already exists; warden init never overwrites."), Words(output));
        Assert.Equal("mine\n", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFileSystemEntries(folder));
    }

    [Fact]
    public void An_existing_data_folder_is_never_written_into()
    {
        // A data folder may hold a trail and tokens: init must not add its own tokens beside them.
        var folder = NewFolder();
        var secrets = Path.Combine(folder, ".warden", "secrets");
        Directory.CreateDirectory(secrets);

        var (exit, output) = Cli.Run("init", folder);
        Assert.Equal(2, exit);
        Assert.Contains(Words($"error: {Path.Combine(folder, ".warden")} already exists"), Words(output));
        Assert.Empty(Directory.GetFileSystemEntries(secrets));
        Assert.False(File.Exists(Path.Combine(folder, "warden.yaml")));
    }

    [Fact]
    public void Running_init_twice_names_every_file_in_the_way()
    {
        var folder = NewFolder();
        Assert.Equal(0, Cli.Run("init", folder).ExitCode);
        var policy = File.ReadAllText(Path.Combine(folder, "warden.yaml"));
        var token = File.ReadAllText(Path.Combine(folder, ".warden", "secrets", "hygiene-bot"));

        var (exit, output) = Cli.Run("init", folder);
        Assert.Equal(2, exit);
        // The console wraps long lines: compare the words.
        Assert.Contains(Words($"error: {Path.Combine(folder, "warden.yaml")}, {Path.Combine(folder, "warden.tests.yaml")}, {Path.Combine(folder, ".warden")} already exist;"), Words(output));
        Assert.Equal(policy, File.ReadAllText(Path.Combine(folder, "warden.yaml")));
        Assert.Equal(token, File.ReadAllText(Path.Combine(folder, ".warden", "secrets", "hygiene-bot")));
    }

    [Fact]
    public void A_file_in_place_of_the_folder_is_an_error()
    {
        var file = Cli.Temp("not-a-folder", "x");
        var (exit, output) = Cli.Run("init", file);
        Assert.Equal(2, exit);
        Assert.Contains(Words($"error: {file} is a file; warden init writes into a folder."), Words(output));
    }

    [Fact]
    public void Every_identity_gets_its_own_token_and_no_two_inits_share_one()
    {
        var first = NewFolder();
        var second = NewFolder();
        Cli.Run("init", first);
        Cli.Run("init", second);

        var tokens = new[] { first, second }
            .SelectMany(f => Directory.GetFiles(Path.Combine(f, ".warden", "secrets")))
            .Select(File.ReadAllText)
            .ToList();
        Assert.Equal(6, tokens.Count);
        Assert.Equal(tokens.Count, tokens.Distinct().Count());
        Assert.All(tokens, t => Assert.True(t.Trim().Length >= 48, $"a token of {t.Trim().Length} characters is too short"));
    }

    [Fact]
    public void The_data_folder_and_its_tokens_are_the_owners_only_whatever_the_umask()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var folder = NewFolder();
        var (exit, output) = Cli.Umask000("init", folder);
        Assert.True(exit == 0, output);

        var data = Path.Combine(folder, ".warden");
        const UnixFileMode folderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        Assert.Equal(folderMode, File.GetUnixFileMode(data));
        Assert.Equal(folderMode, File.GetUnixFileMode(Path.Combine(data, "secrets")));
        foreach (var token in Directory.GetFiles(Path.Combine(data, "secrets")))
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(token));
        }

        Assert.Equal("*", File.ReadAllLines(Path.Combine(data, ".gitignore")).Last());
    }

    [Fact]
    public async Task The_gateway_serves_the_starter_policy_and_its_agent_and_people_sign_in_with_the_tokens_init_wrote()
    {
        var folder = NewFolder();
        Cli.Run("init", folder);
        var data = Path.Combine(folder, ".warden");
        Assert.Equal(0, Cli.Run("workspace", "seed", "--contacts", "300", "--seed", "1", "--workspace", Path.Combine(data, "workspace.db")).ExitCode);
        var port = BackgroundProcess.FreePort();

        using var gateway = BackgroundProcess.Warden("serve", "--policy", Path.Combine(folder, "warden.yaml"), "--data", data, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        gateway.WaitFor("Press Ctrl+C to stop.", TimeSpan.FromSeconds(60));
        Assert.DoesNotContain("Demo tokens", gateway.Output);

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var token = File.ReadAllText(Path.Combine(data, "secrets", "hygiene-bot")).Trim();
        var small = await CallTool(http, token, "contacts.update", """{"ids":["c-0000001"],"set":{"job_title":"Buyer"}}""");
        Assert.Equal("done", (string?)small["status"]);
        var bulk = await CallTool(http, token, "contacts.update", """{"filter":"country == 'DE'","set":{"job_title":"Buyer"}}""");
        Assert.Equal("pending_approval", (string?)bulk["status"]);
        var refused = await CallTool(http, token, "suppression.remove", """{"list":"global","emails":["a@example.com"],"reason":"resubscribed"}""");
        Assert.Equal("refused", (string?)refused["status"]);

        var (exit, output) = Cli.Process("approvals", "list", "--url", $"http://127.0.0.1:{port}", "--token", File.ReadAllText(Path.Combine(data, "secrets", "robin")).Trim());
        Assert.True(exit == 0, output);
        Assert.Contains((string)bulk["approval_id"]!, output);
        Assert.Contains("Robin Example (robin)", output);
    }

    private static async Task<JsonObject> CallTool(HttpClient http, string token, string tool, string arguments)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/mcp");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Accept.ParseAdd("text/event-stream");
        request.Content = new StringContent($$$"""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"{{{tool}}}","arguments":{{{arguments}}}}}""", Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, body);
        var data = body.Split('\n').Select(l => l.TrimEnd('\r')).FirstOrDefault(l => l.StartsWith("data: ", StringComparison.Ordinal)) ?? body;
        var message = JsonNode.Parse(data.StartsWith("data: ", StringComparison.Ordinal) ? data["data: ".Length..] : data)!;
        return JsonNode.Parse((string)message["result"]!["content"]![0]!["text"]!)!.AsObject();
    }

    private static string Words(string text) => string.Join(' ', text.Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries));

    private static string NewFolder() => Path.Combine(Path.GetTempPath(), "warden-cli-tests", Guid.NewGuid().ToString("N"), "my-team");
}
