namespace Warden.Cli.Tests;

public sealed class PolicyToolsCommandTests
{
    [Fact]
    public void Tools_lists_the_catalogue_with_kinds_and_reach()
    {
        var (exit, output) = Cli.Run("policy", "tools", Cli.Example("policy.yaml"));
        Assert.Equal(0, exit);
        Assert.Matches(@"workspace\s+│\s+campaigns\.send\s+│\s+send\s+│\s+irreversible\s+│\s+external", output);
        Assert.Matches(@"crm\s+│\s+crm\.update_record\s+│\s+write\s+│\s+compensable\s+│\s+internal", output);
    }

    [Fact]
    public void Tools_for_an_agent_lists_only_what_it_can_ever_be_granted()
    {
        var (exit, output) = Cli.Run("policy", "tools", Cli.Example("policy.yaml"), "--agent", "reporting-bot", "--env", "production");
        Assert.Equal(0, exit);
        Assert.Contains("What reporting-bot can ever be granted in production (9 tools); everything else is denied:", output);
        Assert.Matches(@"campaigns\.stats.*allowed", output);
        Assert.Matches(@"warehouse\.query.*allowed", output);
        Assert.DoesNotContain("warehouse.execute", output);
        Assert.DoesNotContain("contacts.update", output);
    }
}
