using Spectre.Console;
using Warden.Cli.Output;
using Warden.Core;

namespace Warden.Cli.Commands;

/// <summary>Reads a policy file from disk and loads it, printing what went wrong when it does not load.</summary>
internal static class PolicyFile
{
    public static bool TryRead(string path, IAnsiConsole console, out string text)
    {
        text = "";
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                console.MarkupLine($"[red]error:[/] {Markup.Escape(path)}: no such file");
                return false;
            }

            // Refuse before reading a huge file into memory; the loader states the limit precisely.
            if (info.Length > 64L * 1024 * 1024)
            {
                console.MarkupLine($"[red]error:[/] {Markup.Escape(path)}: the file is {info.Length / (1024.0 * 1024.0):0.0} MB, far too large for a policy");
                return false;
            }

            text = File.ReadAllText(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(path)}: cannot read it: {Markup.Escape(e.Message)}");
            return false;
        }
    }

    /// <summary>Loads the policy; on errors prints them all and returns null.</summary>
    public static Policy? Load(string path, IAnsiConsole console, TimeProvider clock, out PolicyLoadResult? result, bool quiet = false)
    {
        result = null;
        return TryRead(path, console, out var text) ? Load(text, path, console, clock, out result, quiet) : null;
    }

    /// <summary>The policy a gateway would serve: the file given, or warden.yaml, or the built-in example when neither is given nor there. Problems are printed; null when it does not load.</summary>
    public static Policy? LoadServed(string? path, IAnsiConsole console, TimeProvider clock)
    {
        if (path is null && !File.Exists(ServeCommand.DefaultPolicy))
        {
            using var stream = System.Reflection.Assembly.GetExecutingAssembly().GetManifestResourceStream("Warden.Cli.ExamplePolicy.yaml")!;
            return Load(new StreamReader(stream).ReadToEnd(), ServeCommand.ExampleName, console, clock, out _, quiet: true);
        }

        return Load(path ?? ServeCommand.DefaultPolicy, console, clock, out _, quiet: true);
    }

    private static Policy? Load(string text, string path, IAnsiConsole console, TimeProvider clock, out PolicyLoadResult? result, bool quiet)
    {
        result = PolicyLoader.Load(text, path, new PolicyLoadOptions { Clock = clock, Systems = [Warden.Workspace.WorkspaceCatalogue.Catalogue], Kinds = Warden.Gateway.PolicyKinds.All });
        if (!result.Succeeded || !quiet)
        {
            DiagnosticsView.Render(console, result.Diagnostics, text, showWarnings: !quiet || !result.Succeeded);
        }

        if (!result.Succeeded)
        {
            DiagnosticsView.Summary(console, path, result.Diagnostics);
        }

        return result.Policy;
    }
}
