namespace Warden.Cli.Tests;

/// <summary>`warden rollback`: the preview first, nothing changed without a yes, conflicts shown, and the undo itself.</summary>
public sealed class RollbackCommandTests
{
    private static async Task<string> RetitleAsync(RunningGateway gateway, string title)
    {
        var done = await gateway.CallAsync("hygiene-bot", "contacts.update", new { ids = new[] { "c-0000003" }, set = new { job_title = title } });
        Assert.Equal("done", done["status"]!.GetValue<string>());
        return done["action_id"]!.GetValue<string>();
    }

    private static async Task<string?> TitleAsync(RunningGateway gateway) =>
        (string?)(await gateway.CallAsync("hygiene-bot", "contacts.get", new { id = "c-0000003", fields = new[] { "job_title" } }))["result"]!["job_title"];

    [Fact]
    public async Task Without_a_yes_it_shows_the_preview_and_changes_nothing()
    {
        await using var gateway = await RunningGateway.StartAsync();
        var action = await RetitleAsync(gateway, "Rolled title");

        var (exit, output) = Cli.Run("rollback", action, "--url", gateway.Url, "--token", gateway.Token("sam"));

        Assert.Equal(1, exit);
        Assert.Contains("Nothing was rolled back", output, StringComparison.Ordinal);
        Assert.Contains("1 record", output, StringComparison.Ordinal);
        Assert.Equal("Rolled title", await TitleAsync(gateway));
    }

    [Fact]
    public async Task With_yes_it_restores_the_record_and_names_its_own_action()
    {
        await using var gateway = await RunningGateway.StartAsync();
        var before = await TitleAsync(gateway);
        var action = await RetitleAsync(gateway, "Rolled title");

        var (exit, output) = Cli.Run("rollback", action, "--yes", "--url", gateway.Url, "--token", gateway.Token("sam"));

        Assert.True(exit == 0, output);
        Assert.Contains("1 records restored", output, StringComparison.Ordinal);
        Assert.Matches(@"It is action act-[0-9a-f-]+", output);
        Assert.Equal(before, await TitleAsync(gateway));
    }

    [Fact]
    public async Task A_record_changed_since_is_shown_as_a_conflict_and_left_as_it_is()
    {
        await using var gateway = await RunningGateway.StartAsync();
        var first = await RetitleAsync(gateway, "First title");
        await RetitleAsync(gateway, "Later title");

        var (exit, output) = Cli.Run("rollback", first, "--yes", "--url", gateway.Url, "--token", gateway.Token("sam"));

        Assert.True(exit == 0, output);
        Assert.Contains("conflict", output, StringComparison.Ordinal);
        Assert.Contains("c-0000003", output, StringComparison.Ordinal);
        Assert.Equal("Later title", await TitleAsync(gateway));
    }

    [Fact]
    public async Task An_agent_s_window_is_rolled_back_whole()
    {
        await using var gateway = await RunningGateway.StartAsync();
        var before = await TitleAsync(gateway);
        await RetitleAsync(gateway, "Window title");

        var (exit, output) = Cli.Run("rollback", "--agent", "hygiene-bot", "--since", "1h", "--yes", "--url", gateway.Url, "--token", gateway.Token("sam"));

        Assert.True(exit == 0, output);
        Assert.Equal(before, await TitleAsync(gateway));
    }

    [Fact]
    public async Task Someone_who_does_not_own_the_agent_s_use_case_is_refused_before_any_preview()
    {
        await using var gateway = await RunningGateway.StartAsync();
        var action = await RetitleAsync(gateway, "Rolled title");

        var (exit, output) = Cli.Run("rollback", action, "--yes", "--url", gateway.Url, "--token", gateway.Token("lee"));

        Assert.NotEqual(0, exit);
        Assert.Contains("takes an owner of use case", output, StringComparison.Ordinal);
        Assert.Equal("Rolled title", await TitleAsync(gateway));
    }

    [Theory]
    [InlineData("--since", "2 hours")]
    [InlineData("--since", "0h")]
    public void A_window_that_is_not_a_duration_is_refused(string option, string value)
    {
        var (exit, output) = Cli.Run("rollback", "--agent", "hygiene-bot", option, value, "--url", "http://127.0.0.1:9", "--token", "t");

        Assert.Equal(2, exit);
        Assert.Contains("takes a duration like 30m, 2h or 1d", output, StringComparison.Ordinal);
    }
}
