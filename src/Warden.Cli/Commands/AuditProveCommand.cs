using System.CommandLine;
using Spectre.Console;
using Warden.Core.Audit;
using Warden.Storage.Audit;

namespace Warden.Cli.Commands;

/// <summary><c>warden audit prove SEQ [--out FILE] [--trail PATH]</c>: the proof that one entry is in a signed checkpoint.</summary>
internal static class AuditProveCommand
{
    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        // Read as text and checked here, so a bad number gets a sentence and exit code 2.
        var seq = new Argument<string?>("seq") { Description = "The entry's sequence number.", Arity = ArgumentArity.ZeroOrOne };
        var trail = AuditCommand.TrailOption();
        var output = new Option<string?>("--out") { Description = "Write the proof to this file instead of printing it.", HelpName = "FILE" };
        var command = new Command("prove", "Print the proof that an entry is in the trail: the entry, its Merkle path and the signed checkpoint, checkable offline.") { seq, trail, output };
        command.SetAction(parse => Execute(parse.GetValue(seq), parse.GetValue(trail) ?? AuditCommand.DefaultTrail, parse.GetValue(output), console));
        return command;
    }

    public static int Execute(string? seqText, string path, string? outputPath, IAnsiConsole console)
    {
        if (seqText is null)
        {
            return AuditCommand.Fail(console, "say which entry to prove, e.g. warden audit prove 1234");
        }

        if (!AuditCommand.TryReadSeq("the entry", seqText, console, out var seq))
        {
            return ExitCodes.Usage;
        }

        InclusionProof proof;
        try
        {
            proof = AuditLog.Prove(path, seq);
        }
        catch (Exception e) when (AuditCommand.IsReadFailure(e))
        {
            return AuditCommand.FailReading(console, path, e);
        }

        if (outputPath is null)
        {
            var raw = AuditCommand.Raw(console);
            raw.Write(proof.ToJson());
            raw.Flush();
            return ExitCodes.Ok;
        }

        try
        {
            AuditCommand.WriteFile(outputPath, writer => writer.Write(proof.ToJson()));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return AuditCommand.Fail(console, $"cannot write the proof to {outputPath}: {e.Message.TrimEnd('.')}");
        }

        console.MarkupLine($"[green]wrote the proof[/] that entry {seq:N0} is in {Markup.Escape(proof.Checkpoint.ToString())} to {Markup.Escape(outputPath)}");
        return ExitCodes.Ok;
    }
}
