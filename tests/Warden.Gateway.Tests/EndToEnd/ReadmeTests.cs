using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Warden.Gateway.Tests.EndToEnd;

/// <summary>
/// The README's walk-through, pasted as a new user pastes it: every ```sh block (but the two
/// commands CI runs itself) runs in order in one shell, in a fresh folder with `./warden` and a
/// gateway serving it, and must succeed.
/// </summary>
public sealed partial class ReadmeTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "warden-readme-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [GeneratedRegex(@"(?<skip><!-- ReadmeTests: not run[^>]*-->\s*)?```sh\n(?<body>.*?)```", RegexOptions.Singleline)]
    private static partial Regex ShellBlock();

    /// <summary>The shell blocks of the README that a reader runs, in order.</summary>
    private static List<string> Blocks()
    {
        var readme = File.ReadAllText(Path.Combine(WardenProcess.Repository, "README.md"));
        return [.. ShellBlock().Matches(readme).Where(m => !m.Groups["skip"].Success).Select(m => m.Groups["body"].Value)];
    }

    [GeneratedRegex(@"\]\(([^)\s]+)\)")]
    private static partial Regex Link();

    [Fact]
    public void Every_link_of_the_readme_and_the_docs_to_a_file_of_the_repository_finds_it()
    {
        var root = WardenProcess.Repository;
        var pages = new[] { Path.Combine(root, "README.md") }.Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md"));
        var broken = new List<string>();
        foreach (var page in pages)
        {
            foreach (Match link in Link().Matches(File.ReadAllText(page)))
            {
                var target = link.Groups[1].Value.Split('#')[0];
                if (target.Length > 0 && !target.Contains("://", StringComparison.Ordinal) && !File.Exists(Path.Combine(Path.GetDirectoryName(page)!, target))
                    && !Directory.Exists(Path.Combine(Path.GetDirectoryName(page)!, target)))
                {
                    broken.Add($"{Path.GetRelativePath(root, page)}: {link.Value}");
                }
            }
        }

        Assert.Empty(broken);
    }

    [Fact]
    public void No_document_or_source_holds_a_merge_s_conflict_markers()
    {
        var root = WardenProcess.Repository;
        var marked = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".md", StringComparison.Ordinal) || f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".sh", StringComparison.Ordinal)
                        || f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".sql", StringComparison.Ordinal))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}node_modules{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Where(f => File.ReadLines(f).Any(l => l.StartsWith("<<<<<<< ", StringComparison.Ordinal) || l.StartsWith(">>>>>>> ", StringComparison.Ordinal)))
            .Select(f => Path.GetRelativePath(root, f))
            .ToList();

        Assert.Empty(marked);
    }

    [Fact]
    public void The_readme_has_a_walk_through_to_run()
    {
        var blocks = Blocks();
        Assert.True(blocks.Count >= 3, $"{blocks.Count} runnable blocks");
        Assert.All(blocks, b => Assert.DoesNotContain("apr-...", b, StringComparison.Ordinal));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Every_command_of_the_walk_through_works_pasted_in_a_fresh_folder()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "the walk-through is a POSIX shell's");
        Directory.CreateDirectory(_folder);
        // `./warden` as the checkout's wrapper gives it: the built command line.
        var shim = Path.Combine(_folder, "warden");
        File.WriteAllText(shim, $"#!/bin/sh\nexec dotnet '{WardenProcess.WardenDll}' \"$@\"\n");
        File.SetUnixFileMode(shim, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        // The first terminal: the gateway, as ./run.sh starts it, on a free port.
        var serve = new ProcessStartInfo("dotnet") { WorkingDirectory = _folder, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { WardenProcess.WardenDll, "serve", "--demo", "--port", GatewayFixture.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            serve.ArgumentList.Add(argument);
        }

        WardenProcess.ClearTokens(serve.Environment);
        using var gateway = Process.Start(serve)!;
        var gatewayOutput = new StringBuilder();
        gateway.OutputDataReceived += (_, e) => gatewayOutput.AppendLine(e.Data);
        gateway.ErrorDataReceived += (_, e) => gatewayOutput.AppendLine(e.Data);
        gateway.BeginOutputReadLine();
        gateway.BeginErrorReadLine();
        try
        {
            var address = Path.Combine(_folder, ".warden", "gateway.url");
            for (var waited = 0; !File.Exists(address); waited++)
            {
                Assert.False(gateway.HasExited || waited > 600, $"the gateway did not start:\n{gatewayOutput}");
                await Task.Delay(100, TestContext.Current.CancellationToken);
            }

            // The second terminal: every block, in order, in one shell that stops at the first failure.
            var script = "set -euo pipefail\n" + string.Join("\n", Blocks());
            var shell = new ProcessStartInfo("bash") { WorkingDirectory = _folder, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            WardenProcess.ClearTokens(shell.Environment);
            using var run = Process.Start(shell)!;
            await run.StandardInput.WriteAsync(script);
            run.StandardInput.Close();
            var stdout = run.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var stderr = run.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            await run.WaitForExitAsync(TestContext.Current.CancellationToken);
            var output = await stdout + await stderr;

            Assert.True(run.ExitCode == 0, $"the walk-through failed (exit {run.ExitCode}):\n{output}\n--- gateway ---\n{gatewayOutput}");
            Assert.Matches(@"held for approval: apr-\d{14}-[0-9a-f]{8}", output);
            Assert.Contains("approved; the call ran", output, StringComparison.Ordinal);
            Assert.Contains("records restored", output, StringComparison.Ordinal);
        }
        finally
        {
            gateway.Kill(entireProcessTree: true);
            await gateway.WaitForExitAsync(TestContext.Current.CancellationToken);
        }
    }
}
