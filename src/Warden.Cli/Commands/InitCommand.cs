using System.CommandLine;
using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using Spectre.Console;
using Warden.Core;

namespace Warden.Cli.Commands;

/// <summary>
/// <c>warden init [FOLDER]</c>: a place to start one's own policy. Writes a commented starter
/// policy (<c>warden.yaml</c>, the name <c>warden serve</c> looks for), its unit tests and a data
/// folder holding a fresh token for every identity the policy names, so that the gateway serves it
/// at once. Never overwrites anything: a file already there is an error naming it, and nothing is
/// written.
/// </summary>
internal static class InitCommand
{
    public const string PolicyFile = "warden.yaml";
    public const string TestsFile = "warden.tests.yaml";
    public const string DataFolder = ".warden";

    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        var folder = new Argument<string>("folder") { Description = "Where to write (default: here). Created if it does not exist.", DefaultValueFactory = _ => "." };
        var command = new Command("init", $"Start your own policy: write a commented starter policy ({PolicyFile}), its tests ({TestsFile}) and a data folder ({DataFolder}) with a token for each identity.")
        {
            folder,
        };
        command.SetAction(parse => Execute(parse.GetValue(folder)!, console, clock));
        return command;
    }

    public static int Execute(string folder, IAnsiConsole console, TimeProvider clock)
    {
        if (string.IsNullOrWhiteSpace(folder))
        {
            console.MarkupLine("[red]error:[/] give a folder to write the starter policy in, e.g. warden init my-team (or nothing, for here).");
            return ExitCodes.Usage;
        }

        if (File.Exists(folder))
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(folder)} is a file; warden init writes into a folder.");
            return ExitCodes.Usage;
        }

        var policyPath = Path.Combine(folder, PolicyFile);
        var testsPath = Path.Combine(folder, TestsFile);
        var dataPath = Path.Combine(folder, DataFolder);
        // Checked all together first, so that the error names every one and nothing is half-written.
        var there = new[] { policyPath, testsPath, dataPath }.Where(p => File.Exists(p) || Directory.Exists(p)).ToList();
        if (there.Count > 0)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(string.Join(", ", there))} already {(there.Count == 1 ? "exists" : "exist")}; " +
                               "warden init never overwrites. Move them away, or give another folder: warden init my-team.");
            return ExitCodes.Usage;
        }

        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var policyText = Template(PolicyFile, today);
        var testsText = Template(TestsFile, today);
        var policy = PolicyLoader.Load(policyText, policyPath, new PolicyLoadOptions { Clock = clock, Systems = [Warden.Workspace.WorkspaceCatalogue.Catalogue], Kinds = Warden.Gateway.PolicyKinds.All }).Policy
                     ?? throw new InvalidOperationException("the built-in starter policy does not load");
        var secrets = policy.Agents.Select(a => a.TokenReference).Concat(policy.Owners.Select(o => o.TokenReference))
            .OfType<string>()
            .Where(r => r.StartsWith("secret:", StringComparison.Ordinal))
            .Select(r => r["secret:".Length..])
            .ToList();
        try
        {
            Directory.CreateDirectory(folder);
            Write(policyPath, policyText, ownerOnly: false);
            Write(testsPath, testsText, ownerOnly: false);
            // The data folder holds the tokens, later the trail and the workspace: its owner's only.
            CreateOwnerOnlyFolder(dataPath);
            CreateOwnerOnlyFolder(Path.Combine(dataPath, "secrets"));
            // The policy belongs in version control, the data folder never: it holds tokens and personal data.
            Write(Path.Combine(dataPath, ".gitignore"), "# Warden's data folder: tokens, the audit trail, personal data. Never commit it.\n*\n", ownerOnly: false);
            foreach (var name in secrets)
            {
                Write(Path.Combine(dataPath, "secrets", name), $"wd_{name}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24))}\n", ownerOnly: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            console.MarkupLine($"[red]error:[/] cannot write the starter policy in {Markup.Escape(folder)}: {Markup.Escape(e.Message)}");
            return ExitCodes.Usage;
        }

        var q = Quote(policyPath);
        var table = new Grid().AddColumn().AddColumn();
        table.AddRow(Markup.Escape(policyPath), "the policy: one agent, two people, rules that allow, hold for approval and refuse, budgets and a breaker");
        table.AddRow(Markup.Escape(testsPath), "its unit tests");
        table.AddRow(Markup.Escape(dataPath + Path.DirectorySeparatorChar), $"the data folder (yours only, never committed), with a token for {Markup.Escape(string.Join(", ", secrets))} in secrets/");
        console.MarkupLine($"[green]Wrote a starter policy in {Markup.Escape(folder)}:[/]");
        console.Write(table);
        console.MarkupLine("Change the people, the agent and the rules to yours; then:");
        // Said as this checkout runs it (./warden), or as an installed warden.
        var warden = File.Exists("warden") && File.Exists("Warden.slnx") ? "./warden" : "warden";
        console.WriteLine($"  {warden} policy check {q}");
        console.WriteLine($"  {warden} policy test {q} {Quote(testsPath)}");
        console.WriteLine($"  {warden} workspace seed --contacts 2000 --seed 1 --workspace {Quote(Path.Combine(dataPath, "workspace.db"))}   # a sandbox to try it on");
        console.WriteLine($"  {warden} serve --policy {q} --data {Quote(dataPath)}");
        return ExitCodes.Ok;
    }

    private static string Template(string name, string today)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Warden.Cli.Starter." + name)
                           ?? throw new InvalidOperationException($"the starter {name} is not built in");
        return new StreamReader(stream).ReadToEnd().Replace("{{today}}", today, StringComparison.Ordinal);
    }

    /// <summary>Creates the file, failing if anything is there already (a file that appeared since the check, too).</summary>
    private static void Write(string path, string text, bool ownerOnly)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (ownerOnly && !OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var writer = new StreamWriter(new FileStream(path, options));
        writer.Write(text);
    }

    private static void CreateOwnerOnlyFolder(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            // The mode is given at creation, so the folder is never open to others for a moment, whatever the umask.
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static string Quote(string path) => path.Any(c => char.IsWhiteSpace(c) || "'\"$`\\;&|<>()*?!#".Contains(c)) ? $"'{path.Replace("'", "'\\''", StringComparison.Ordinal)}'" : path;
}
