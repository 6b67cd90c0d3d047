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
        File.Delete(Path.Combine(_folder, ".warden", "secrets", "hygiene-bot")); // as if its token were never handed out
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "warden.dll"), "serve", "--policy", Path.Combine(_folder, "warden.yaml"), "--data", Path.Combine(_folder, ".warden"), "--port", Port() })
        {
            start.ArgumentList.Add(argument);
        }

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
        Assert.Contains("Without a token, these cannot sign in: agent 'hygiene-bot' (secret:hygiene-bot)", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task What_the_gateway_survives_is_logged_on_stderr_a_webhook_that_cannot_be_reached()
    {
        Directory.CreateDirectory(_folder);
        var port = Port();
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = _folder, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "warden.dll"), "serve", "--demo", "--port", port, "--webhook", "http://127.0.0.1:9/hook" })
        {
            start.ArgumentList.Add(argument);
        }

        using var serve = Process.Start(start)!;
        var stderr = new StringBuilder();
        serve.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        serve.BeginErrorReadLine();
        try
        {
            while (await serve.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken) is { } line && !line.Contains("Press Ctrl+C", StringComparison.Ordinal))
            {
            }

            // A held call is a notification for the webhook, which is not there.
            var tokens = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(_folder, ".warden", "demo-tokens.json")))!;
            using var http = new HttpClient();
            using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/mcp")
            {
                Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"contacts.update","arguments":{"filter":"country == 'DE'","set":{"job_title":"Logged"}}}}""",
                    Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", tokens["hygiene-bot"]!.GetValue<string>());
            request.Headers.Accept.ParseAdd("application/json");
            request.Headers.Accept.ParseAdd("text/event-stream");
            using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
            Assert.Contains("pending_approval", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);

            for (var waited = 0; waited < 300 && !Logged(); waited++)
            {
                await Task.Delay(100, TestContext.Current.CancellationToken);
            }

            Assert.True(Logged(), $"stderr:\n{stderr}");
        }
        finally
        {
            serve.Kill(entireProcessTree: true);
            await serve.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        bool Logged()
        {
            lock (stderr)
            {
                return stderr.ToString().Contains("was not delivered", StringComparison.Ordinal);
            }
        }
    }

    private static string Port() => BackgroundProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
}
