using System.CommandLine;
using Spectre.Console;
using Warden.Storage.Audit;

namespace Warden.Cli.Commands;

/// <summary>
/// <c>warden audit destroy-archive FILE --by PERSON --reason TEXT [--trail PATH]</c>: record that a
/// person destroys an archive (its retention ended), then delete it. Never silent: the decision is
/// an entry of the trail, and verify reports those entries as destroyed on the record.
/// </summary>
internal static class AuditDestroyArchiveCommand
{
    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        var trail = AuditCommand.TrailOption();
        var file = new Argument<string>("FILE") { Description = "The archive: where it was written, or where it is now." };
        var by = new Option<string?>("--by") { Description = "Who decides to destroy it: recorded in the trail.", HelpName = "PERSON" };
        var reason = new Option<string?>("--reason") { Description = "Why (a retention period that ended, say): recorded in the trail.", HelpName = "TEXT" };
        var key = new Option<string?>("--key") { Description = "The signing key file (default: the trail's path with .key added).", HelpName = "FILE" };
        var command = new Command("destroy-archive", "Record that a person destroys the oldest kept archive, and delete its file; verify then reports its entries as destroyed on the record.")
        {
            file, trail, by, reason, key,
        };
        command.SetAction(parse => Execute(parse.GetValue(trail) ?? AuditCommand.DefaultTrail, parse.GetValue(file)!, parse.GetValue(by), parse.GetValue(reason), parse.GetValue(key), console, clock));
        return command;
    }

    public static int Execute(string path, string file, string? by, string? reason, string? keyPath, IAnsiConsole console, TimeProvider clock)
    {
        if (string.IsNullOrWhiteSpace(by) || string.IsNullOrWhiteSpace(reason))
        {
            return AuditCommand.Fail(console, "say who destroys the archive and why, with --by PERSON and --reason TEXT: both are recorded in the trail; nothing was destroyed");
        }

        if (!File.Exists(path))
        {
            return AuditCommand.Fail(console, $"there is no audit trail at {path}");
        }

        try
        {
            using var trail = AuditTrail.Open(path, new AuditTrailOptions { KeyPath = keyPath }, clock);
            var existed = File.Exists(file);
            var destroyed = trail.DestroyArchiveAsync(file, by, reason).GetAwaiter().GetResult();
            var decision = destroyed.Destroyed!;
            console.MarkupLine($"[yellow]destroyed the archive of entries {destroyed.FirstSeq:N0}–{destroyed.LastSeq:N0}[/] ({Markup.Escape(existed ? $"{Path.GetFullPath(file)} deleted" : $"it was not at {Path.GetFullPath(file)}: declared destroyed")})");
            console.MarkupLine($"  recorded as entry {decision.Entry:N0}: destroyed by {Markup.Escape(decision.By)} at {Markup.Escape(decision.Time)}, because: {Markup.Escape(decision.Reason)}");
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
