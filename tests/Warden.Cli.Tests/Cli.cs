using System.Diagnostics;
using Spectre.Console;

namespace Warden.Cli.Tests;

/// <summary>Runs the warden command line in-process and captures exactly what a user would read.</summary>
internal static class Cli
{
    public static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    public static (int ExitCode, string Output) Run(params string[] args)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 200;
        var exit = WardenCli.Run(args, console, new FixedClock(Now));
        return (exit, writer.ToString());
    }

    public static string Example(string file) => Path.Combine(Repository, "examples", "marketing", file);

    public static string Repository { get; } = FindRepository();

    public static string Temp(string name, string content)
    {
        var directory = Path.Combine(Path.GetTempPath(), "warden-cli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, content);
        return path;
    }

    private static string FindRepository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Warden.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Warden.slnx not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Runs the built warden program as its own process, as a user does.</summary>
    public static (int ExitCode, string Output) Process(params string[] args) => RunProcess(new ProcessStartInfo("dotnet"), args);

    /// <summary>Runs the built warden program as its own process under a umask of 000, which takes no permission away from what it creates; its input is empty.</summary>
    public static (int ExitCode, string Output) Umask000(params string[] args)
    {
        var start = new ProcessStartInfo("/bin/sh");
        foreach (var argument in (string[])["-c", "umask 000; exec dotnet \"$@\" </dev/null", "sh"])
        {
            start.ArgumentList.Add(argument);
        }

        return RunProcess(start, args);
    }

    private static (int ExitCode, string Output) RunProcess(ProcessStartInfo start, string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "warden.dll");
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("warden did not finish within a minute");
        }

        return (process.ExitCode, output.Result + error.Result);
    }
}

internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
