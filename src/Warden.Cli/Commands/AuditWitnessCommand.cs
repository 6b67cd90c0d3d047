using System.CommandLine;
using Spectre.Console;
using Warden.Core.Audit;
using Warden.Storage.Audit;

namespace Warden.Cli.Commands;

/// <summary><c>warden audit witness --out FILE [--trail PATH]</c>: the trail's public key, checkpoints and archive records, to keep elsewhere.</summary>
internal static class AuditWitnessCommand
{
    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        var trail = AuditCommand.TrailOption();
        var output = new Option<string?>("--out") { Description = "Where to write the witness; keep it away from the gateway (another machine, a ticket, a locked bucket).", HelpName = "FILE" };
        var command = new Command("witness", "Write the trail's public key, every checkpoint and what it recorded of its archive files to a file, to verify the trail against later.") { trail, output };
        command.SetAction(parse => Execute(parse.GetValue(trail) ?? AuditCommand.DefaultTrail, parse.GetValue(output), console));
        return command;
    }

    public static int Execute(string path, string? outputPath, IAnsiConsole console)
    {
        if (string.IsNullOrWhiteSpace(outputPath))
        {
            return AuditCommand.Fail(console, "say where to write the witness, e.g. --out audit-witness.jsonl");
        }

        Witness witness;
        try
        {
            witness = AuditLog.Witness(path);
        }
        catch (Exception e) when (AuditCommand.IsReadFailure(e))
        {
            return AuditCommand.FailReading(console, path, e);
        }

        string keyId;
        try
        {
            keyId = AuditKey.IdOf(Convert.FromBase64String(witness.PublicKey));
        }
        catch (FormatException)
        {
            return AuditCommand.Fail(console, $"the public key stored in {path} is not base64: it was altered; run `warden audit verify --trail {path}`", ExitCodes.Findings);
        }

        // Writing over an older witness must not erase what it proves: the new one has to hold
        // every checkpoint the old one did, unchanged, or the trail was rewritten in between.
        if (File.Exists(outputPath) && Conflict(outputPath, witness) is { } conflict)
        {
            return AuditCommand.Fail(console, conflict.Message, conflict.Exit);
        }

        try
        {
            AuditCommand.WriteFile(outputPath, witness.Write);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return AuditCommand.Fail(console, $"cannot write the witness to {outputPath}: {e.Message.TrimEnd('.')}");
        }

        var covered = witness.Checkpoints.Count == 0 ? "no entries yet" : $"entries 1–{witness.Checkpoints[^1].LastSeq:N0}";
        var archives = witness.Archives.Count == 0 ? "" : $", {AuditCommand.Count(witness.Archives.Count, "archive", "archives")}";
        console.MarkupLine($"[green]wrote the witness[/] of trail {Markup.Escape(witness.Trail)} to {Markup.Escape(outputPath)}: " +
                           $"{AuditCommand.Count(witness.Checkpoints.Count, "checkpoint", "checkpoints")} ({covered}){archives}, key {Markup.Escape(keyId)}");
        return ExitCodes.Ok;
    }

    private static (string Message, int Exit)? Conflict(string path, Witness witness)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ($"{path} exists and cannot be read ({e.Message.TrimEnd('.')}); choose another file", ExitCodes.Usage);
        }

        if (!Witness.TryRead(text, out var old, out var error))
        {
            return ($"{path} exists and is not a witness ({error}); choose another file or move it away", ExitCodes.Usage);
        }

        if (old!.Trail != witness.Trail)
        {
            return ($"{path} is the witness of trail {old.Trail}, not of this trail ({witness.Trail}); choose another file", ExitCodes.Usage);
        }

        if (old.PublicKey != witness.PublicKey)
        {
            return ($"the trail's public key is not the one the witness {path} holds: the key was replaced; run `warden audit verify --from-witness {path}`", ExitCodes.Findings);
        }

        foreach (var kept in old.Checkpoints)
        {
            var now = witness.Checkpoints.FirstOrDefault(c => c.Number == kept.Number);
            if (now is null || now.Text() != kept.Text())
            {
                return ($"the trail no longer holds {kept} as the witness {path} has it; the witness was kept as it is: run `warden audit verify --from-witness {path}`", ExitCodes.Findings);
            }
        }

        // An archive the old witness knows of must still be recorded as it was (a destruction may
        // have been recorded since) and, unless destroyed on the record, still be there, unchanged.
        foreach (var kept in old.Archives)
        {
            var now = witness.Archives.FirstOrDefault(a => a.FirstSeq == kept.FirstSeq);
            string? problem = null;
            if (now is null || !now.SameArchive(kept) || (kept.Destroyed is not null && kept.Destroyed != now.Destroyed))
            {
                problem = "the trail no longer records it as the witness has it";
            }
            else if (now.Destroyed is null && Digest(kept.File) is var digest && digest != kept.Sha256)
            {
                problem = digest is null ? "it is not there" : $"its file no longer holds those bytes (its SHA-256 is {digest})";
            }

            if (problem is not null)
            {
                return ($"the witness {path} records the archive of {kept.Describe()}, sha256 {kept.Sha256}, and {problem}; the witness was kept as it is: run `warden audit verify --from-witness {path}`",
                    ExitCodes.Findings);
            }
        }

        return null;
    }

    private static string? Digest(string file)
    {
        try
        {
            using var stream = File.OpenRead(file);
            return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
