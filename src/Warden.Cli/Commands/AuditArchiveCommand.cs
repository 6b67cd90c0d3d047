using System.CommandLine;
using Spectre.Console;
using Warden.Storage.Audit;

namespace Warden.Cli.Commands;

/// <summary><c>warden audit archive --through CHECKPOINT --out FILE --by PERSON [--reason TEXT] [--trail PATH]</c>: move old entries into a file that verifies on its own.</summary>
internal static class AuditArchiveCommand
{
    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        var trail = AuditCommand.TrailOption();
        var through = new Option<string>("--through") { Description = "The checkpoint whose entries, and all before them, are archived.", HelpName = "CHECKPOINT", Required = true };
        var output = new Option<string>("--out") { Description = "The archive file to write; never written over. Keep it there: verify looks for it where it was written.", HelpName = "FILE", Required = true };
        var by = new Option<string?>("--by") { Description = "Who archives: recorded in the trail with the archive's digest and place.", HelpName = "PERSON" };
        var reason = new Option<string?>("--reason") { Description = "Why, recorded with it.", HelpName = "TEXT" };
        var key = new Option<string?>("--key") { Description = "The signing key file (default: the trail's path with .key added).", HelpName = "FILE" };
        var command = new Command("archive", "Move the entries up to a checkpoint into an archive file that verifies on its own; the trail records the file, its digest and who archived it.")
        {
            trail, through, output, by, reason, key,
        };
        command.SetAction(parse => Execute(parse.GetValue(trail) ?? AuditCommand.DefaultTrail, parse.GetValue(through), parse.GetValue(output)!, parse.GetValue(by), parse.GetValue(reason),
            parse.GetValue(key), console, clock));
        return command;
    }

    public static int Execute(string path, string? through, string file, string? by, string? reason, string? keyPath, IAnsiConsole console, TimeProvider clock)
    {
        if (!AuditCommand.TryReadSeq("checkpoint", through, console, out var number))
        {
            return ExitCodes.Usage;
        }

        // Part of the trail leaves the store: someone answers for it.
        if (string.IsNullOrWhiteSpace(by))
        {
            return AuditCommand.Fail(console, "say who is archiving with --by PERSON: the trail records who moved its entries out, with the file and its digest; nothing was archived");
        }

        if (!File.Exists(path))
        {
            return AuditCommand.Fail(console, $"there is no audit trail at {path}");
        }

        try
        {
            using var trail = AuditTrail.Open(path, new AuditTrailOptions { KeyPath = keyPath }, clock);
            var moved = trail.ArchiveAsync(number, file, by, reason).GetAwaiter().GetResult();
            console.MarkupLine($"[green]archived entries {moved.FirstSeq:N0}–{moved.LastSeq:N0}[/] to {Markup.Escape(moved.File)} (sha256 {Markup.Escape(moved.Sha256)})");
            console.MarkupLine($"  recorded as entry {moved.Entry:N0}: archived by {Markup.Escape(moved.By)} at {Markup.Escape(moved.Time)}{(moved.Reason is null ? "" : $", because: {Markup.Escape(moved.Reason)}")}");
            console.MarkupLine("  [blue]=[/] keep the file where it is and write a new witness (`warden audit witness`): `warden audit verify` looks for it there and reports it if it is missing or altered");
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
