using System.CommandLine;
using Spectre.Console;
using Warden.Core.Audit;
using Warden.Storage.Audit;

namespace Warden.Cli.Commands;

/// <summary><c>warden audit checkpoint [--trail PATH] [--key FILE]</c>: sign a checkpoint over the entries since the last one, now.</summary>
internal static class AuditCheckpointCommand
{
    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        var trail = AuditCommand.TrailOption();
        var key = new Option<string?>("--key") { Description = "The signing key file (default: the trail's path with .key added).", HelpName = "FILE" };
        var command = new Command("checkpoint", "Sign a checkpoint over the entries written since the last one, instead of waiting for the next one due.") { trail, key };
        command.SetAction(parse => Execute(parse.GetValue(trail) ?? AuditCommand.DefaultTrail, parse.GetValue(key), console, clock));
        return command;
    }

    public static int Execute(string path, string? keyPath, IAnsiConsole console, TimeProvider clock)
    {
        // AuditTrail.Open creates a trail and a key where there is none; here that would only
        // hide a mistyped path behind a new, empty trail.
        if (!File.Exists(path))
        {
            return AuditCommand.Fail(console, $"there is no audit trail at {path}");
        }

        Checkpoint? signed;
        long last;
        try
        {
            using var trail = AuditTrail.Open(path, new AuditTrailOptions { KeyPath = keyPath }, clock);
            last = trail.LastSeq;
            signed = trail.CheckpointAsync().GetAwaiter().GetResult();
        }
        catch (AuditTrailBrokenException e)
        {
            console.MarkupLine($"[red bold]error[[{Markup.Escape(e.Finding.Code)}]][/]: {Markup.Escape(e.Message)}");
            console.MarkupLine($"  [blue]=[/] hint: run `warden audit verify --trail {Markup.Escape(path)}` for the whole check; no checkpoint was signed");
            return ExitCodes.Findings;
        }
        catch (Exception e) when (AuditCommand.IsReadFailure(e))
        {
            return AuditCommand.FailReading(console, path, e);
        }

        if (signed is not null)
        {
            console.MarkupLine($"[green]signed {Markup.Escape(signed.ToString())}[/] of trail {Markup.Escape(signed.Trail)} at {Markup.Escape(signed.Time)}");
            console.MarkupLine($"  root {Markup.Escape(signed.Root)}, key {Markup.Escape(signed.KeyId)}");
            return ExitCodes.Ok;
        }

        if (last == 0)
        {
            console.MarkupLine("nothing to checkpoint: the trail is empty");
            return ExitCodes.Ok;
        }

        // Null also when the checkpoint could not be stored (the trail retries later), so check
        // that the entries really are covered before saying there was nothing to do.
        Checkpoint? latest;
        try
        {
            latest = AuditLog.Witness(path).Checkpoints.LastOrDefault();
        }
        catch (Exception e) when (AuditCommand.IsReadFailure(e))
        {
            return AuditCommand.FailReading(console, path, e);
        }

        if (latest is not null && latest.LastSeq >= last)
        {
            console.MarkupLine($"nothing to checkpoint: every entry is in a checkpoint already (the last is {Markup.Escape(latest.ToString())})");
            return ExitCodes.Ok;
        }

        return AuditCommand.Fail(console, $"the checkpoint over entries after {latest?.LastSeq ?? 0:N0} could not be written to {path}; is another process writing to the trail?");
    }
}
