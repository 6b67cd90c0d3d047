using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Spectre.Console;
using Warden.Storage.Audit;

namespace Warden.Cli.Commands;

/// <summary><c>warden audit …</c>: verify, witness, checkpoint, prove, verify-proof, export, list and archive the audit trail.</summary>
internal static class AuditCommand
{
    public const string DefaultTrail = ".warden/audit.db";

    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        var audit = new Command("audit", "Verify, witness, prove, export and search the audit trail.");
        audit.Add(AuditVerifyCommand.Create(console, clock));
        audit.Add(AuditWitnessCommand.Create(console, clock));
        audit.Add(AuditCheckpointCommand.Create(console, clock));
        audit.Add(AuditProveCommand.Create(console, clock));
        audit.Add(AuditVerifyProofCommand.Create(console, clock));
        audit.Add(AuditExportCommand.Create(console, clock));
        audit.Add(AuditListCommand.Create(console, clock));
        audit.Add(AuditShowCommand.Create(console, clock));
        audit.Add(AuditArchiveCommand.Create(console, clock));
        audit.Add(AuditDestroyArchiveCommand.Create(console, clock));
        return audit;
    }

    /// <summary>The <c>--trail PATH</c> option every audit command takes.</summary>
    public static Option<string> TrailOption() =>
        new("--trail") { Description = "The audit trail database file.", HelpName = "PATH", DefaultValueFactory = _ => DefaultTrail };

    public static int Fail(IAnsiConsole console, string message, int exit = ExitCodes.Usage)
    {
        console.MarkupLine($"[red]error:[/] {Markup.Escape(message)}");
        return exit;
    }

    /// <summary>
    /// What went wrong reading the trail, as a sentence. The library's own exceptions already
    /// are one; the rest can only come from a file that changed under us or an entry whose text
    /// is no longer JSON, which verify explains in full.
    /// </summary>
    public static int FailReading(IAnsiConsole console, string path, Exception e) => e switch
    {
        AuditTrailException => Fail(console, e.Message),
        SqliteException sqlite => Fail(console, $"the audit trail {path} cannot be read ({sqlite.Message.TrimEnd('.')}): the file is damaged or is not an audit trail"),
        IOException or UnauthorizedAccessException => Fail(console, e.Message.TrimEnd('.')),
        _ => Fail(console, $"the audit trail {path} holds an entry that cannot be read ({e.Message.TrimEnd('.')}); run `warden audit verify --trail {path}` to see where it breaks", ExitCodes.Findings),
    };

    /// <summary>The exceptions reading a trail can end in; anything else is a bug and reaches the top-level handler.</summary>
    public static bool IsReadFailure(Exception e) =>
        e is AuditTrailException or SqliteException or IOException or UnauthorizedAccessException
            or JsonException or KeyNotFoundException or InvalidOperationException or FormatException;

    /// <summary>Reads an ISO 8601 time; one without an offset is UTC, as the trail's own times are.</summary>
    public static bool TryReadTime(string option, string? text, IAnsiConsole console, out DateTimeOffset? time)
    {
        time = null;
        if (text is null)
        {
            return true;
        }

        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
        {
            Fail(console, $"{option}: '{text}' is not a time; write it like 2026-11-25T18:00:00Z or 2026-11-25");
            return false;
        }

        time = parsed;
        return true;
    }

    /// <summary>Reads a sequence number: a whole number from 1 on.</summary>
    public static bool TryReadSeq(string what, string? text, IAnsiConsole console, out long seq)
    {
        seq = 0;
        if (text is null)
        {
            return true;
        }

        if (!long.TryParse(text, NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out seq) || seq < 1)
        {
            Fail(console, $"{what} must be an entry's sequence number, a whole number from 1, not '{text}'");
            return false;
        }

        return true;
    }

    public static string Count(long n, string one, string many) => n.ToString("N0", CultureInfo.InvariantCulture) + " " + (n == 1 ? one : many);

    /// <summary>
    /// Writes a file whole or not at all: into a temporary file beside it, then moved over it, so
    /// that a reader never sees half a witness or proof, and a failed write leaves the old one.
    /// Readable by its owner only, from the start: exports and proofs carry what the trail holds.
    /// </summary>
    public static void WriteFile(string path, Action<TextWriter> write)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"the folder {directory} does not exist");
        }

        var temporary = Path.Combine(directory, "." + Path.GetFileName(full) + ".tmp-" + Guid.NewGuid().ToString("N"));
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var stream = new FileStream(temporary, options))
            using (var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false)))
            {
                write(writer);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>
    /// Where raw output (JSON, CSV) goes when there is no --out: the console's own writer, not
    /// its renderer, which would wrap long lines and read brackets as markup.
    /// </summary>
    public static TextWriter Raw(IAnsiConsole console) => console.Profile.Out.Writer;
}
