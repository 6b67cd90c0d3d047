using System.CommandLine;
using System.Text;
using Spectre.Console;
using Warden.Storage.Audit;

namespace Warden.Cli.Commands;

/// <summary><c>warden audit export --format jsonl|csv [--since TIME] [--out FILE] [--trail PATH]</c>: every entry, for a SIEM or a spreadsheet.</summary>
internal static class AuditExportCommand
{
    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        var format = new Option<string?>("--format") { Description = "jsonl (one JSON object per line) or csv (RFC 4180, with a header).", HelpName = "jsonl|csv" };
        var since = new Option<string?>("--since") { Description = "Only entries from this time on (ISO 8601; UTC unless it says otherwise).", HelpName = "TIME" };
        var output = new Option<string?>("--out") { Description = "Write to this file instead of standard output.", HelpName = "FILE" };
        var trail = AuditCommand.TrailOption();
        var command = new Command("export", "Write every entry, oldest first, as JSON lines or CSV, with stable field names.") { format, since, output, trail };
        command.SetAction(parse => Execute(parse.GetValue(format), parse.GetValue(since), parse.GetValue(output), parse.GetValue(trail) ?? AuditCommand.DefaultTrail, console));
        return command;
    }

    public static int Execute(string? format, string? sinceText, string? outputPath, string path, IAnsiConsole console)
    {
        if (format is null)
        {
            return AuditCommand.Fail(console, "say which format to export, --format jsonl or --format csv");
        }

        if (format is not ("jsonl" or "csv"))
        {
            return AuditCommand.Fail(console, $"--format must be jsonl or csv, not '{format}'");
        }

        if (!AuditCommand.TryReadTime("--since", sinceText, console, out var since))
        {
            return ExitCodes.Usage;
        }

        long written;
        try
        {
            if (outputPath is null)
            {
                // Nothing but the export on standard output, so it can be piped.
                using var buffered = new ChunkWriter(AuditCommand.Raw(console));
                AuditLog.Export(path, buffered, format, since);
                return ExitCodes.Ok;
            }

            written = 0;
            AuditCommand.WriteFile(outputPath, writer => written = AuditLog.Export(path, writer, format, since));
        }
        catch (Exception e) when (AuditCommand.IsReadFailure(e))
        {
            return AuditCommand.FailReading(console, path, e);
        }

        console.MarkupLine($"[green]exported {AuditCommand.Count(written, "entry", "entries")}[/] as {format} to {Markup.Escape(outputPath)}");
        return ExitCodes.Ok;
    }

    /// <summary>
    /// Collects the export's many small writes into large ones: the console's writer flushes on
    /// every write, which for a trail of millions of entries is millions of system calls.
    /// </summary>
    private sealed class ChunkWriter(TextWriter inner) : TextWriter
    {
        private const int Size = 64 * 1024;
        private readonly StringBuilder _buffer = new(Size);

        public override Encoding Encoding => inner.Encoding;

        public override void Write(char value)
        {
            _buffer.Append(value);
            if (_buffer.Length >= Size)
            {
                Flush();
            }
        }

        public override void Write(string? value)
        {
            _buffer.Append(value);
            if (_buffer.Length >= Size)
            {
                Flush();
            }
        }

        public override void Flush()
        {
            if (_buffer.Length > 0)
            {
                inner.Write(_buffer.ToString());
                _buffer.Clear();
            }

            inner.Flush();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                Flush();
            }

            // The console's writer is not ours to close.
            base.Dispose(disposing);
        }
    }
}
