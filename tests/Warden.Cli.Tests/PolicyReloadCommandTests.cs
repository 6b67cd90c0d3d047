namespace Warden.Cli.Tests;

/// <summary>`warden policy reload` against a running gateway: the file as it reads now, put in force, or refused with the checker's findings.</summary>
public sealed class PolicyReloadCommandTests
{
    [Fact]
    public async Task A_technical_owner_reloads_the_file_and_a_broken_one_is_refused_at_its_place()
    {
        var folder = Path.Combine(Path.GetTempPath(), "warden-cli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, "warden.yaml");
        var text = await File.ReadAllTextAsync(Cli.Example("policy.yaml"), TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(file, text, TestContext.Current.CancellationToken);
        await using var gateway = await RunningGateway.StartAsync(file);

        await File.WriteAllTextAsync(file, text.Replace("effect: deny", "effect: denny", StringComparison.Ordinal), TestContext.Current.CancellationToken);
        var (brokenExit, broken) = Cli.Run("policy", "reload", "--url", gateway.Url, "--token", gateway.Token("dev"));
        await File.WriteAllTextAsync(file, text.Replace("Every agent may read the workspace.", "Every agent reads the workspace.", StringComparison.Ordinal), TestContext.Current.CancellationToken);
        var (notOwnerExit, notOwner) = Cli.Run("policy", "reload", "--url", gateway.Url, "--token", gateway.Token("lee"));
        var (exit, output) = Cli.Run("policy", "reload", "--url", gateway.Url, "--token", gateway.Token("dev"));
        var (againExit, again) = Cli.Run("policy", "reload", "--url", gateway.Url, "--token", gateway.Token("dev"));

        Assert.NotEqual(0, brokenExit);
        Assert.Matches(@"warden\.yaml:\d+:\d+: error: .*denny", broken);
        Assert.NotEqual(0, notOwnerExit);
        Assert.Contains("technical owner or a risk owner", notOwner, StringComparison.Ordinal);
        Assert.True(exit == 0, output);
        Assert.Contains("Reloaded:", output, StringComparison.Ordinal);
        Assert.True(againExit == 0, again);
        Assert.Contains("Unchanged", again, StringComparison.Ordinal);
    }
}
