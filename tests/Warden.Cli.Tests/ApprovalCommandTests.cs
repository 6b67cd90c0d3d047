namespace Warden.Cli.Tests;

/// <summary>`warden approvals ...` as a person runs it against a running gateway, with a call held by a real agent.</summary>
public sealed class ApprovalCommandTests
{
    private static async Task<string> HoldAsync(RunningGateway gateway)
    {
        var held = await gateway.CallAsync("hygiene-bot", "contacts.update", new { filter = "country == 'DE'", set = new { job_title = "Buyer" } });
        Assert.Equal("pending_approval", held["status"]!.GetValue<string>());
        return held["approval_id"]!.GetValue<string>();
    }

    [Fact]
    public async Task Deny_with_a_comment_denies_the_request_and_records_the_comment()
    {
        await using var gateway = await RunningGateway.StartAsync();
        var id = await HoldAsync(gateway);

        var (exit, output) = Cli.Run("approvals", "deny", id, "--comment", "not during the migration", "--url", gateway.Url, "--token", gateway.Token("sam"));

        Assert.True(exit == 0, output);
        Assert.Contains("denied", output, StringComparison.Ordinal);
        var (_, shown) = Cli.Run("approvals", "show", id, "--url", gateway.Url, "--token", gateway.Token("sam"));
        Assert.Contains("not during the migration", shown, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deny_takes_one_request_and_says_so_when_given_two()
    {
        await using var gateway = await RunningGateway.StartAsync();

        var (exit, output) = Cli.Run("approvals", "deny", "apr-1", "apr-2", "--url", gateway.Url, "--token", gateway.Token("sam"));

        Assert.Equal(2, exit);
        Assert.Contains("one request at a time", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Approve_says_which_action_it_ran_so_it_can_be_rolled_back()
    {
        await using var gateway = await RunningGateway.StartAsync();
        var id = await HoldAsync(gateway);

        var (exit, output) = Cli.Run("approvals", "approve", id, "--comment", "ok", "--url", gateway.Url, "--token", gateway.Token("sam"));

        Assert.True(exit == 0, output);
        Assert.Matches(@"action act-[0-9a-z-]+", output);
    }

    [Fact]
    public async Task List_and_show_find_the_held_request()
    {
        await using var gateway = await RunningGateway.StartAsync();
        var id = await HoldAsync(gateway);

        var (listExit, list) = Cli.Run("approvals", "list", "--url", gateway.Url, "--token", gateway.Token("sam"));
        var (showExit, show) = Cli.Run("approvals", "show", id, "--url", gateway.Url, "--token", gateway.Token("sam"));

        Assert.True(listExit == 0 && showExit == 0, list + show);
        Assert.Contains(id, list, StringComparison.Ordinal);
        Assert.Contains("contacts.update", show, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_status_is_refused_with_a_suggestion()
    {
        await using var gateway = await RunningGateway.StartAsync();

        var (exit, output) = Cli.Run("approvals", "list", "--status", "pendng", "--url", gateway.Url, "--token", gateway.Token("sam"));

        Assert.NotEqual(0, exit);
        Assert.Contains("did you mean 'pending'", output, StringComparison.Ordinal);
    }
}
