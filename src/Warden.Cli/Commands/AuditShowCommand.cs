using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Warden.Core.Audit;
using Warden.Storage.Audit;

namespace Warden.Cli.Commands;

/// <summary>
/// <c>warden audit show SEQ</c>: one entry whole (the call, the rule and reason, the plan, the
/// approval, the outcome), with the entries it links to: the other entries of its approval
/// request, the rollbacks of its action, and the entry its rollback undid.
/// </summary>
internal static class AuditShowCommand
{
    /// <summary>How far from an entry its approval's other entries are looked for: longer than any request waits.</summary>
    private static readonly TimeSpan ApprovalReach = TimeSpan.FromDays(8);

    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        _ = clock;
        var seq = new Argument<string>("SEQ") { Description = "The entry's sequence number, as audit list shows it." };
        var trail = AuditCommand.TrailOption();
        var command = new Command("show", "Show one entry whole, with the entries of its approval and its rollbacks.") { seq, trail };
        command.SetAction(parse => Execute(parse.GetValue(seq)!, parse.GetValue(trail) ?? AuditCommand.DefaultTrail, console));
        return command;
    }

    public static int Execute(string seqText, string path, IAnsiConsole console)
    {
        if (!AuditCommand.TryReadSeq("SEQ", seqText, console, out var seq))
        {
            return ExitCodes.Usage;
        }

        AuditRecord? record;
        List<AuditRecord> approval = [];
        try
        {
            record = AuditLog.Query(path, new AuditQuery { Before = seq + 1, Limit = 1 }).Entries.FirstOrDefault(r => r.Seq == seq);
            if (record is null)
            {
                return AuditCommand.Fail(console, $"{path}: {AuditLog.Missing(path, seq)}", ExitCodes.Findings);
            }

            if (record.Entry.ApprovalId is { } id && record.Entry.Agent is { } agent)
            {
                approval = Related(path, record, agent, id);
            }
        }
        catch (Exception e) when (AuditCommand.IsReadFailure(e))
        {
            return AuditCommand.FailReading(console, path, e);
        }

        var entry = record.Entry;
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        foreach (var (name, value) in record.Fields())
        {
            grid.AddRow($"[bold]{name}[/]", Markup.Escape(value));
        }

        console.Write(grid);

        if (approval.Count > 0)
        {
            console.MarkupLine($"[bold]Approval {Markup.Escape(entry.ApprovalId!)}[/]:");
            foreach (var other in approval)
            {
                var e = other.Entry;
                console.MarkupLine($"  {other.Seq.ToString(CultureInfo.InvariantCulture),6}  {Markup.Escape(e.Kind)}  {Markup.Escape(e.Person ?? e.Agent ?? "")}  {Markup.Escape(e.Effect ?? "")}  {Markup.Escape(e.Outcome ?? "")}"
                                   + (other.Seq == record.Seq ? "  [grey](this entry)[/]" : ""));
            }
        }

        if (record.RolledBackBy.Count > 0)
        {
            console.MarkupLine($"Rolled back by entr{(record.RolledBackBy.Count == 1 ? "y" : "ies")} {string.Join(", ", record.RolledBackBy)} (warden audit show {record.RolledBackBy[0].ToString(CultureInfo.InvariantCulture)}).");
        }

        if (entry.RollbackOf is { } undone)
        {
            console.MarkupLine($"Rolls back entry {undone.ToString(CultureInfo.InvariantCulture)} (warden audit show {undone.ToString(CultureInfo.InvariantCulture)}).");
        }

        return ExitCodes.Ok;
    }

    /// <summary>The entries of the same approval request: the agent's entries around this one that name it.</summary>
    private static List<AuditRecord> Related(string path, AuditRecord record, string agent, string approvalId)
    {
        var found = new List<AuditRecord>();
        long? before = null;
        while (true)
        {
            var page = AuditLog.Query(path, new AuditQuery
            {
                Agent = agent, From = record.Time - ApprovalReach, To = record.Time + ApprovalReach, Before = before, Limit = 1000,
            });
            found.AddRange(page.Entries.Where(e => e.Entry.ApprovalId == approvalId));
            if (page.Next is not { } next)
            {
                break;
            }

            before = next;
        }

        found.Reverse();
        return found;
    }
}
