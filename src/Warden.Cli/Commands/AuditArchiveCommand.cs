using System.CommandLine;
using Spectre.Console;
using Warden.Storage.Audit;

namespace Warden.Cli.Commands;

/// <summary><c>warden audit archive --through CHECKPOINT --out FILE [--trail PATH]</c>: move old entries into a file that verifies on its own.</summary>
internal static class AuditArchiveCommand
{
    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        var trail = AuditCommand.TrailOption();
        var through = new Option<string>("--through") { Description = "The checkpoint whose entries, and all before them, are archived.", HelpName = "CHECKPOINT", Required = true };
        var output = new Option<string>("--out") { Description = "The archive file to write; never written over.", HelpName = "FILE", Required = true };
        var key = new Option<string?>("--key") { Description = "The signing key file (default: the trail's path with .key added).", HelpName = "FILE" };
        var command = new Command("archive", "Move the entries up to a checkpoint into an archive file that verifies on its own; the rest of the trail still verifies.") { trail, through, output, key };
        command.SetAction(parse => Execute(parse.GetValue(trail) ?? AuditCommand.DefaultTrail, parse.GetValue(through), parse.GetValue(output)!, parse.GetValue(key), console, clock));
        return command;
    }

    public static int Execute(string path, string? through, string file, string? keyPath, IAnsiConsole console, TimeProvider clock)
    {
        if (!AuditCommand.TryReadSeq("checkpoint", through, console, out var number))
        {
            return ExitCodes.Usage;
        }

        if (!File.Exists(path))
        {
            return AuditCommand.Fail(console, $"there is no audit trail at {path}");
        }

        try
        {
            using var trail = AuditTrail.Open(path, new AuditTrailOptions { KeyPath = keyPath }, clock);
            var moved = trail.ArchiveAsync(number, file).GetAwaiter().GetResult();
            console.MarkupLine($"[green]archived entries {moved.FirstSeq:N0}–{moved.LastSeq:N0}[/] to {Markup.Escape(moved.File)} (sha256 {Markup.Escape(moved.Sha256)})");
            console.MarkupLine($"  [blue]=[/] keep it with the witness; `warden audit verify --archive {Markup.Escape(moved.File)}` checks it");
            return ExitCodes.Ok;
        }
        catch (AuditTrailBrokenException e)
        {
            console.MarkupLine($"[red bold]error[[{Markup.Escape(e.Finding.Code)}]][/]: {Markup.Escape(e.Message)}");
            return ExitCodes.Findings;
        }
        catch (AuditTrailException e)
        {
            return AuditCommand.Fail(console, e.Message, ExitCodes.Findings);
        }
        catch (Exception e) when (AuditCommand.IsReadFailure(e))
        {
            return AuditCommand.FailReading(console, path, e);
        }
    }
}
