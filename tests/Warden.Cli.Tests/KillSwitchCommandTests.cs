namespace Warden.Cli.Tests;

/// <summary>`warden freeze`, `warden unfreeze` and `warden agents activate` against a running gateway, as the docs show them.</summary>
public sealed class KillSwitchCommandTests
{
    [Fact]
    public async Task Freeze_stops_the_agent_and_only_an_owner_lifts_it()
    {
        await using var gateway = await RunningGateway.StartAsync();

        var (frozeExit, froze) = Cli.Run("freeze", "--agent", "hygiene-bot", "--reason", "odd behaviour", "--url", gateway.Url, "--token", gateway.Token("lee"));
        var refused = await gateway.CallAsync("hygiene-bot", "contacts.get", new { id = "c-0000001" });
        var (notOwnerExit, notOwner) = Cli.Run("unfreeze", "--agent", "hygiene-bot", "--url", gateway.Url, "--token", gateway.Token("lee"));
        var (ownerExit, owner) = Cli.Run("unfreeze", "--agent", "hygiene-bot", "--reason", "checked", "--url", gateway.Url, "--token", gateway.Token("sam"));
        var again = await gateway.CallAsync("hygiene-bot", "contacts.get", new { id = "c-0000001" });

        Assert.True(frozeExit == 0, froze);
        Assert.Contains("Frozen: hygiene-bot", froze, StringComparison.Ordinal);
        Assert.Equal(("refused", "frozen"), (refused["status"]!.GetValue<string>(), refused["code"]!.GetValue<string>()));
        Assert.NotEqual(0, notOwnerExit);
        Assert.Contains("takes an owner of use case", notOwner, StringComparison.Ordinal);
        Assert.True(ownerExit == 0, owner);
        Assert.Equal("done", again["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Freezing_an_agent_the_policy_does_not_have_is_refused_with_a_suggestion()
    {
        await using var gateway = await RunningGateway.StartAsync();

        var (exit, output) = Cli.Run("freeze", "--agent", "hygeine-bot", "--url", gateway.Url, "--token", gateway.Token("lee"));

        Assert.NotEqual(0, exit);
        Assert.Contains("did you mean 'hygiene-bot'", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_owner_activates_an_agent_for_production()
    {
        await using var gateway = await RunningGateway.StartAsync();

        var (exit, output) = Cli.Run("agents", "activate", "hygiene-bot", "--url", gateway.Url, "--token", gateway.Token("sam"));

        Assert.True(exit == 0, output);
        Assert.Contains("Activated hygiene-bot for production", output, StringComparison.Ordinal);
    }
}
