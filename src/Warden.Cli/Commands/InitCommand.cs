using System.CommandLine;
using System.Reflection;
using Spectre.Console;
using Warden.Storage;

namespace Warden.Cli.Commands;

/// <summary>
/// <c>warden init [FOLDER]</c>: your own policy to start from: a commented starter policy
/// (warden.yaml, which `warden serve` picks up by default), its unit tests, and the data folder,
/// readable by its owner only. Never overwrites a file.
/// </summary>
internal static class InitCommand
{
    private static readonly (string File, string Resource)[] Files =
    [
        (ServeCommand.DefaultPolicy, "Warden.Cli.Starter.warden.yaml"),
        ("warden.tests.yaml", "Warden.Cli.Starter.warden.tests.yaml"),
    ];

    public static Command Create(IAnsiConsole console)
    {
        var folder = new Argument<string>("FOLDER") { Description = "Where to write them (default: here).", Arity = ArgumentArity.ZeroOrOne, DefaultValueFactory = _ => "." };
        var command = new Command("init", "Start your own policy: a commented warden.yaml, its tests in warden.tests.yaml, and a .warden data folder.") { folder };
        command.SetAction(parse => Execute(parse.GetValue(folder)!, console));
        return command;
    }

    public static int Execute(string folder, IAnsiConsole console)
    {
        var existing = Files.Select(f => Path.Combine(folder, f.File)).Where(File.Exists).ToList();
        if (existing.Count > 0)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(string.Join(" and ", existing))} already exist{(existing.Count == 1 ? "s" : "")}; nothing was written. Move {(existing.Count == 1 ? "it" : "them")} away, or init another folder.");
            return ExitCodes.Usage;
        }

        try
        {
            Directory.CreateDirectory(folder);
            foreach (var (file, resource) in Files)
            {
                using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(resource)!;
                using var reader = new StreamReader(stream);
                // CreateNew: a file that appeared meanwhile is not overwritten either.
                using var output = new FileStream(Path.Combine(folder, file), FileMode.CreateNew, FileAccess.Write);
                using var writer = new StreamWriter(output);
                writer.Write(reader.ReadToEnd());
            }

            OwnerOnly.CreateFolder(Path.Combine(folder, ".warden"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(folder)}: {Markup.Escape(e.Message)}");
            return ExitCodes.Usage;
        }

        // Said as this checkout runs it (./warden), or as an installed warden; the paths from here.
        var warden = File.Exists("warden") && File.Exists("Warden.slnx") ? "./warden" : "warden";
        var policy = Path.Combine(folder, ServeCommand.DefaultPolicy);
        var tests = Path.Combine(folder, "warden.tests.yaml");
        console.MarkupLine($"Wrote {Markup.Escape(policy)} (your policy, commented), {Markup.Escape(tests)} (its tests) and the data folder {Markup.Escape(Path.Combine(folder, ".warden"))}. Next:");
        console.MarkupLine($"  {warden} policy check {Markup.Escape(policy)}");
        console.MarkupLine($"  {warden} policy test {Markup.Escape(policy)} {Markup.Escape(tests)}");
        console.MarkupLine($"  {warden} serve --policy {Markup.Escape(policy)} --data {Markup.Escape(Path.Combine(folder, ".warden"))} --demo   [grey]# --demo makes up tokens and seeds a sandbox[/]");
        return ExitCodes.Ok;
    }
}
