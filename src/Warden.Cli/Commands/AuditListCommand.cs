using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Warden.Core.Audit;
using Warden.Storage.Audit;

namespace Warden.Cli.Commands;

/// <summary><c>warden audit list [filters] [--before SEQ] [--limit N] [--trail PATH]</c>: a page of entries, newest first.</summary>
internal static class AuditListCommand
{
    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        var agent = new Option<string?>("--agent") { Description = "Only this agent's entries." };
        var useCase = new Option<string?>("--use-case") { Description = "Only entries of this use case." };
        var tool = new Option<string?>("--tool") { Description = "Only calls of this tool, e.g. contacts.update." };
        var effect = new Option<string?>("--effect") { Description = "Only this effect: allow, approve, deny (decisions), approved, denied (approvals)." };
        var person = new Option<string?>("--person") { Description = "Only entries of this person (approvals, logins, kill switches)." };
        var record = new Option<string?>("--record") { Description = "Only entries that read or changed this record id." };
        var from = new Option<string?>("--from") { Description = "Only entries at or after this time (ISO 8601; UTC unless it says otherwise).", HelpName = "TIME" };
        var to = new Option<string?>("--to") { Description = "Only entries at or before this time.", HelpName = "TIME" };
        var before = new Option<string?>("--before") { Description = "Only entries older than this sequence number: the next page.", HelpName = "SEQ" };
        var limit = new Option<string?>("--limit") { Description = "At most this many entries, 1 to 1,000 (default 50).", HelpName = "N" };
        var trail = AuditCommand.TrailOption();
        var command = new Command("list", "Show entries newest first, filtered by agent, use case, tool, effect, person, record or time.")
        {
            agent, useCase, tool, effect, person, record, from, to, before, limit, trail,
        };
        command.SetAction(parse => Execute(
            new Request(parse.GetValue(agent), parse.GetValue(useCase), parse.GetValue(tool), parse.GetValue(effect), parse.GetValue(person), parse.GetValue(record),
                parse.GetValue(from), parse.GetValue(to), parse.GetValue(before), parse.GetValue(limit)),
            parse.GetValue(trail) ?? AuditCommand.DefaultTrail, console));
        return command;
    }

    /// <summary>Every effect an entry can have: decisions, votes, expiry, the kill switch, breakers' alerts, incidents' steps.</summary>
    private static readonly string[] Effects = ["allow", "approve", "deny", "approved", "denied", "expired", "freeze", "unfreeze", "alert", "acknowledged", "resolved"];

    internal sealed record Request(string? Agent, string? UseCase, string? Tool, string? Effect, string? Person, string? Record,
        string? From, string? To, string? Before, string? Limit);

    public static int Execute(Request request, string path, IAnsiConsole console)
    {
        if (!AuditCommand.TryReadTime("--from", request.From, console, out var from)
            || !AuditCommand.TryReadTime("--to", request.To, console, out var to)
            || !AuditCommand.TryReadSeq("--before", request.Before, console, out var before)
            || !TryReadLimit(request.Limit, console, out var limit))
        {
            return ExitCodes.Usage;
        }

        // A misspelt effect would match nothing and look like a quiet trail.
        if (request.Effect is { } wanted && !Effects.Contains(wanted))
        {
            var hint = Core.Diagnostics.Suggest.Hint(wanted, Effects);
            console.MarkupLine($"[red]--effect: '{Markup.Escape(wanted)}' is not an effect the trail records; it records {string.Join(", ", Effects)}{(hint is null ? "" : $"; {Markup.Escape(hint)}")}[/]");
            return ExitCodes.Usage;
        }

        var query = new AuditQuery
        {
            Agent = request.Agent,
            UseCase = request.UseCase,
            Tool = request.Tool,
            Effect = request.Effect,
            Person = request.Person,
            RecordId = request.Record,
            From = from,
            To = to,
            Before = request.Before is null ? null : before,
            Limit = limit,
        };

        AuditPage page;
        try
        {
            page = AuditLog.Query(path, query);
        }
        catch (Exception e) when (AuditCommand.IsReadFailure(e))
        {
            return AuditCommand.FailReading(console, path, e);
        }

        if (page.Entries.Count == 0)
        {
            // A value the trail has never recorded is a typo, not a quiet trail.
            foreach (var (option, field, value) in new[] { ("--agent", "agent", request.Agent), ("--use-case", "use_case", request.UseCase), ("--tool", "tool", request.Tool), ("--person", "person", request.Person) })
            {
                IReadOnlySet<string> known;
                try
                {
                    known = value is null ? new HashSet<string>() : AuditLog.Values(path, field);
                }
                catch (Exception e) when (AuditCommand.IsReadFailure(e))
                {
                    return AuditCommand.FailReading(console, path, e);
                }

                if (value is not null && !known.Contains(value))
                {
                    var hint = Core.Diagnostics.Suggest.Hint(value, [.. known]);
                    console.MarkupLine($"[red]{option}: no entry of the trail names {field.Replace('_', ' ')} '{Markup.Escape(value)}'{(hint is null ? "" : $"; {Markup.Escape(hint)}")}[/]");
                    return ExitCodes.Usage;
                }
            }

            console.MarkupLine("no entries match");
            return ExitCodes.Ok;
        }

        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn(new TableColumn("seq").RightAligned()).AddColumn("time").AddColumn("kind").AddColumn("agent")
            .AddColumn("tool").AddColumn("effect").AddColumn("outcome").AddColumn("person");
        foreach (var entry in page.Entries)
        {
            var e = entry.Entry;
            table.AddRow(
                entry.Seq.ToString(CultureInfo.InvariantCulture), AuditText.Time(entry.Time), Markup.Escape(e.Kind), Markup.Escape(e.Agent ?? ""),
                Markup.Escape(e.Tool ?? ""), Effect(e.Effect), Markup.Escape(e.Outcome ?? ""), Markup.Escape(e.Person ?? ""));
        }

        console.Write(table);
        if (page.Next is { } next)
        {
            console.MarkupLine($"more: --before {next.ToString(CultureInfo.InvariantCulture)}");
        }

        return ExitCodes.Ok;
    }

    private static string Effect(string? effect) => effect switch
    {
        null => "",
        "allow" or "approved" => $"[green]{effect}[/]",
        "approve" => $"[yellow]{effect}[/]",
        "deny" or "denied" => $"[red]{effect}[/]",
        _ => Markup.Escape(effect),
    };

    private static bool TryReadLimit(string? text, IAnsiConsole console, out int limit)
    {
        limit = 50;
        if (text is null)
        {
            return true;
        }

        if (!int.TryParse(text, NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 1000)
        {
            AuditCommand.Fail(console, $"--limit must be a whole number from 1 to 1,000, not '{text}'");
            return false;
        }

        return true;
    }
}
