using System.Diagnostics;
using System.Text;

namespace Warden.Cli.Tests;

/// <summary>`warden serve` on your own policy says at once what keeps it from being useful.</summary>
public sealed class ServeCommandTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "warden-cli-tests", "serve-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public async Task Without_demo_it_says_the_workspace_is_empty_and_who_cannot_sign_in()
    {
        Assert.Equal(0, Cli.Run("init", _folder).ExitCode);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "warden.dll"), "serve", "--policy", Path.Combine(_folder, "warden.yaml"), "--data", Path.Combine(_folder, ".warden"), "--port", FreePort() })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("WARDEN_TOKEN_YOU");
        start.Environment.Remove("WARDEN_TOKEN_HYGIENE");
        using var serve = Process.Start(start)!;
        var output = new StringBuilder();
        try
        {
            while (await serve.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken) is { } line)
            {
                output.AppendLine(line);
                if (line.Contains("Press Ctrl+C", StringComparison.Ordinal))
                {
                    break;
                }
            }
        }
        finally
        {
            serve.Kill(entireProcessTree: true);
            await serve.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        var text = System.Text.RegularExpressions.Regex.Replace(output.ToString(), @"\s+", " ");
        Assert.Contains("workspace is empty", text, StringComparison.Ordinal);
        Assert.Contains("warden workspace seed --workspace", text, StringComparison.Ordinal);
        Assert.Contains("Without a token, these cannot sign in: agent 'hygiene-bot' (env:WARDEN_TOKEN_HYGIENE)", text, StringComparison.Ordinal);
    }

    private static string FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
