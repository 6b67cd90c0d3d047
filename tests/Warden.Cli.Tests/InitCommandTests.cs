namespace Warden.Cli.Tests;

/// <summary>`warden init`: a starter policy that checks, passes its own tests and serves, written without overwriting anything.</summary>
public sealed class InitCommandTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "warden-cli-tests", "init-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public void The_starter_policy_checks_clean_and_passes_its_tests()
    {
        var (exit, output) = Cli.Run("init", _folder);
        Assert.True(exit == 0, output);

        var check = Cli.Run("policy", "check", Path.Combine(_folder, "warden.yaml"));
        var test = Cli.Run("policy", "test", Path.Combine(_folder, "warden.yaml"), Path.Combine(_folder, "warden.tests.yaml"));

        Assert.True(check.ExitCode == 0, check.Output);
        Assert.Contains("0 errors, 0 warnings", check.Output, StringComparison.Ordinal);
        Assert.True(test.ExitCode == 0, test.Output);
        Assert.Contains("4 passed, 0 failed", test.Output, StringComparison.Ordinal);
        Assert.True(Directory.Exists(Path.Combine(_folder, ".warden")));
    }

    [Fact]
    public void It_never_overwrites_a_policy_that_is_there()
    {
        Directory.CreateDirectory(_folder);
        File.WriteAllText(Path.Combine(_folder, "warden.yaml"), "mine");

        var (exit, output) = Cli.Run("init", _folder);

        Assert.Equal(2, exit);
        Assert.Contains("already exists; nothing was written", output, StringComparison.Ordinal);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(_folder, "warden.yaml")));
        Assert.False(File.Exists(Path.Combine(_folder, "warden.tests.yaml")));
    }

    [Fact]
    public async Task A_gateway_serves_the_starter_policy_to_its_agent()
    {
        Assert.Equal(0, Cli.Run("init", _folder).ExitCode);
        await using var gateway = await RunningGateway.StartAsync(Path.Combine(_folder, "warden.yaml"));

        var read = await gateway.CallAsync("hygiene-bot", "contacts.get", new { id = "c-0000001" });
        var large = await gateway.CallAsync("hygiene-bot", "contacts.update", new { filter = "country == 'DE'", set = new { job_title = "Buyer" } });
        var purge = await gateway.CallAsync("hygiene-bot", "contacts.purge", new { ids = new[] { "c-0000001" }, reason = "test" });

        Assert.Equal("done", read["status"]!.GetValue<string>());
        Assert.Equal("pending_approval", large["status"]!.GetValue<string>());
        Assert.Equal(("refused", "no-purge"), (purge["status"]!.GetValue<string>(), purge["rule"]!.GetValue<string>()));
    }
}
