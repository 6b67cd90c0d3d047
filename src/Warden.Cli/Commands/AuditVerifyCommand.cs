using System.CommandLine;
using Spectre.Console;
using Warden.Core.Audit;
using Warden.Storage.Audit;
using Warden.Storage.Engines;

namespace Warden.Cli.Commands;

/// <summary>
/// <c>warden audit verify [--from-witness FILE] [--archive FILE]... [--trail PATH | --store REF]</c>: check every
/// entry and checkpoint, and every archive file the trail recorded, optionally against a witness.
/// With <c>--archive</c> and no <c>--trail</c>, the archive file alone.
/// </summary>
internal static class AuditVerifyCommand
{
    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        var trail = AuditCommand.TrailOption();
        var witness = new Option<string?>("--from-witness") { Description = "A witness file kept elsewhere: the trail must still hold every checkpoint and archive it has, unchanged.", HelpName = "FILE" };
        var archive = new Option<string[]>("--archive")
        {
            Description = "An archive file (from `warden audit archive`). With --trail: where that trail's archive is now, if it was moved (repeat for several). Alone: verify just this file.",
            HelpName = "FILE",
        };
        var store = new Option<string?>("--store")
        {
            Description = "The trail replicas share in PostgreSQL, instead of a file: env:NAME or file:/path holding the store's connection string (as `warden serve --store`).",
            HelpName = "REF",
        };
        var command = new Command("verify", "Check every entry's hash and link, every checkpoint's signature and Merkle root, and every archive file; report the first break.") { trail, witness, archive, store };
        command.SetAction(parse =>
        {
            var archives = parse.GetValue(archive) ?? [];
            if (parse.GetValue(store) is { } reference)
            {
                if (parse.GetResult(trail) is { Implicit: false } || archives.Length > 0)
                {
                    return AuditCommand.Fail(console, "--store names the trail: give it without --trail or --archive");
                }

                return DbCommand.Locate(reference, ".warden", console) is { } location
                    ? Execute(location, parse.GetValue(witness), [], console)
                    : ExitCodes.Usage;
            }

            var alone = archives.Length > 0 && parse.GetResult(trail) is null or { Implicit: true };
            if (alone && archives.Length > 1)
            {
                return AuditCommand.Fail(console, "give one --archive FILE to verify on its own, or name its trail with --trail PATH to verify the trail with its archives");
            }

            return alone
                ? Execute(archives[0], parse.GetValue(witness), [], console, archive: true)
                : Execute(parse.GetValue(trail) ?? AuditCommand.DefaultTrail, parse.GetValue(witness), archives, console);
        });
        return command;
    }

    public static int Execute(string path, string? witnessPath, IReadOnlyList<string> archives, IAnsiConsole console, bool archive = false) =>
        Execute(StoreLocation.Sqlite(path), witnessPath, archives, console, archive);

    /// <summary>Verifies the trail at a location (a SQLite file, or the shared store in PostgreSQL), or one archive file.</summary>
    public static int Execute(StoreLocation location, string? witnessPath, IReadOnlyList<string> archives, IAnsiConsole console, bool archive = false)
    {
        Witness? witness = null;
        if (witnessPath is not null && !TryReadWitness(witnessPath, console, out witness, out var exit))
        {
            return exit;
        }

        var path = location.Shown;
        var result = archive ? AuditArchive.Verify(location.Connection, witness)
            : console.Profile.Capabilities.Interactive ? VerifyWithStatus(location, witness, archives, console) : AuditVerifier.Verify(location, witness, archives: archives);
        var against = witnessPath is null ? "" : $", against the witness {witnessPath}";
        foreach (var note in result.Notes)
        {
            console.MarkupLine($"[yellow bold]note[[{Markup.Escape(note.Code)}]][/]: {Markup.Escape(note.Message)}");
        }

        if (result.Finding is not { } finding)
        {
            var archived = result.ArchiveFiles == 0
                ? ""
                : $", and {AuditCommand.Count(result.ArchivedEntries, "entry", "entries")} in {AuditCommand.Count(result.ArchiveFiles, "archive file", "archive files")}";
            console.MarkupLine($"[green]verified:[/] {AuditCommand.Count(result.Entries, "entry", "entries")}, {AuditCommand.Count(result.Checkpoints, "checkpoint", "checkpoints")}{Markup.Escape(archived + against)}");
            return ExitCodes.Ok;
        }

        console.MarkupLine($"[red bold]error[[{Markup.Escape(finding.Code)}]][/]: {Markup.Escape(finding.Message)}");
        console.MarkupLine($"  [blue]-->[/] {Markup.Escape(path)}{(finding.Seq is { } seq ? $", entry {seq}" : "")}");
        var checkedFirst = result.Entries + result.Checkpoints == 0
            ? ""
            : $": {AuditCommand.Count(result.Entries, "entry", "entries")} and {AuditCommand.Count(result.Checkpoints, "checkpoint", "checkpoints")} checked out before the break";
        console.MarkupLine($"[red]{Markup.Escape(path)} does not verify[/]{Markup.Escape(against + checkedFirst)}");
        return ExitCodes.Findings;
    }

    /// <summary>
    /// Reads a witness file. A missing file is a mistake on the command line (exit 2); a file
    /// that is there but cut off or not a witness is a finding (exit 1): the copy meant to
    /// catch tampering was itself damaged.
    /// </summary>
    public static bool TryReadWitness(string path, IAnsiConsole console, out Witness? witness, out int exit)
    {
        witness = null;
        if (!File.Exists(path))
        {
            exit = AuditCommand.Fail(console, $"{path}: no such witness file");
            return false;
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            exit = AuditCommand.Fail(console, $"{path}: the witness file cannot be read ({e.Message.TrimEnd('.')})", ExitCodes.Findings);
            return false;
        }

        if (!Witness.TryRead(text, out witness, out var error))
        {
            exit = AuditCommand.Fail(console, $"{path}: {error}", ExitCodes.Findings);
            return false;
        }

        // TryRead lets a header with a null trail or key through; the verifier would then throw.
        if (witness!.Trail is null || witness.PublicKey is null)
        {
            witness = null;
            exit = AuditCommand.Fail(console, $"{path}: line 1 is not a Warden witness header (its trail or public key is null)", ExitCodes.Findings);
            return false;
        }

        exit = ExitCodes.Ok;
        return true;
    }

    private static AuditVerification VerifyWithStatus(StoreLocation path, Witness? witness, IReadOnlyList<string> archives, IAnsiConsole console)
    {
        AuditVerification? result = null;
        console.Status().Start("verifying", context =>
        {
            var progress = new Reporter(n => context.Status($"verifying: {n:N0} entries checked"));
            result = AuditVerifier.Verify(path, witness, progress, archives);
        });
        return result!;
    }

    /// <summary>Reports on the verifying thread; <see cref="Progress{T}"/> would post to the thread pool.</summary>
    private sealed class Reporter(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
