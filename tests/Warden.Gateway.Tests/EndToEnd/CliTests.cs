namespace Warden.Gateway.Tests.EndToEnd;

/// <summary>The people's commands of the <c>warden</c> CLI, run as a process against a running gateway.</summary>
public sealed class CliTests : IAsyncLifetime
{
    private GatewayFixture _gateway = null!;

    public async ValueTask InitializeAsync() => _gateway = await GatewayFixture.StartAsync();

    public async ValueTask DisposeAsync() => await _gateway.DisposeAsync();

    private static Task<(int Exit, string Output)> Warden(string? token, string? url, params string[] arguments) =>
        WardenProcess.CliAsync(token, url, folder: null, arguments);

    [Fact]
    public async Task A_person_lists_shows_and_approves_a_held_call_from_the_command_line()
    {
        var (_, held) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.update",
            new { filter = "country == 'AT'", set = new { job_title = "Buyer (CLI)" }, instruction = "Austrian titles." });
        var id = held["approval_id"]!.GetValue<string>();
        var sam = _gateway.Token("sam");

        var (listed, list) = await Warden(sam, _gateway.Url, "approvals", "list");
        Assert.Equal(0, listed);
        Assert.Contains(id, list, StringComparison.Ordinal);
        var (shown, show) = await Warden(sam, _gateway.Url, "approvals", "show", id);
        Assert.Equal(0, shown);
        Assert.Contains("The agent says: \"Austrian titles.\"", show, StringComparison.Ordinal);
        Assert.Contains("country == 'AT'", show, StringComparison.Ordinal);
        Assert.Contains("depends on contacts.job_title", show, StringComparison.Ordinal);
        var (approved, approve) = await Warden(sam, _gateway.Url, "approvals", "approve", id, "--comment", "fine");
        Assert.Equal(0, approved);
        Assert.Contains("approved; the call ran", approve, StringComparison.Ordinal);
        Assert.True((long)_gateway.Workspace("SELECT count(*) FROM contacts WHERE job_title = 'Buyer (CLI)'")! > 200);
    }

    [Fact]
    public async Task An_agents_token_is_refused_with_the_reason_and_exit_code_1()
    {
        var (exit, output) = await Warden(_gateway.Token("reporting-bot"), _gateway.Url, "freeze", "--all");
        Assert.Equal(1, exit);
        Assert.Contains("refused (403): 'reporting-bot' is an agent", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_token_nothing_is_sent()
    {
        var (exit, output) = await Warden(null, _gateway.Url, "approvals", "list");
        Assert.Equal(2, exit);
        Assert.Contains("no token: pass --token or set WARDEN_TOKEN", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gateway_that_is_not_running_is_named_in_the_error()
    {
        var url = $"http://127.0.0.1:{GatewayFixture.FreePort()}";
        var (exit, output) = await Warden("anything", url, "approvals", "list");
        Assert.Equal(2, exit);
        Assert.Contains($"cannot reach the gateway at {url}", output, StringComparison.Ordinal);
        Assert.Contains("is `warden serve` or `warden mcp` running?", output.ReplaceLineEndings(" "), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Freeze_needs_to_be_told_whom()
    {
        var (exit, output) = await Warden(_gateway.Token("sam"), _gateway.Url, "freeze");
        Assert.Equal(2, exit);
        Assert.Contains("say which: --agent NAME, or --all", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Several_ids_are_approved_together_and_a_risky_one_is_named_and_left()
    {
        var agent = await _gateway.Agent("hygiene-bot");
        var (_, retitle) = await GatewayFixture.Call(agent, "contacts.update", new { filter = "country == 'AT'", set = new { job_title = "Buyer (bulk CLI)" } });
        var (_, consent) = await GatewayFixture.Call(agent, "consent.update", new { ids = new[] { "c-0000001" }, status = "unsubscribed", source = "request" });
        var (exit, output) = await Warden(_gateway.Token("sam"), _gateway.Url, "approvals", "approve", retitle["approval_id"]!.GetValue<string>(),
            consent["approval_id"]!.GetValue<string>(), "--comment", "batch");
        Assert.Equal(1, exit);
        Assert.Contains("approved; the call ran", output, StringComparison.Ordinal);
        Assert.Contains("cannot be approved in bulk: it touches consent data", output, StringComparison.Ordinal);
    }
}
