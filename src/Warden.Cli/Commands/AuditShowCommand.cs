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
        void Row(string name, object? value)
        {
            if (value is not null && value.ToString() is { Length: > 0 } text)
            {
                grid.AddRow($"[bold]{name}[/]", Markup.Escape(text));
            }
        }

        Row("seq", record.Seq);
        Row("time", record.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        Row("kind", entry.Kind);
        Row("environment", entry.Environment);
        Row("agent", entry.Agent);
        Row("use case", entry.UseCase);
        Row("person", entry.Person);
        Row("tool", entry.Tool);
        Row("arguments", entry.Arguments?.GetRawText());
        Row("the agent says", entry.Instruction);
        Row("effect", entry.Effect);
        Row("rule", entry.Rule);
        Row("reason", entry.Reason);
        Row("shadow rules", entry.Shadow.Count == 0 ? null : string.Join("; ", entry.Shadow));
        Row("plan", entry.PlanSummary);
        Row("plan hash", entry.PlanHash);
        Row("fields read", entry.FieldsRead.Count == 0 ? null : string.Join(", ", entry.FieldsRead));
        Row("records read", entry.RecordsRead.Count == 0 ? null : Some(entry.RecordsRead));
        Row("records changed", entry.RecordsChanged.Count == 0 ? null : Some(entry.RecordsChanged));
        Row("approval", entry.ApprovalId);
        Row("comment", entry.Comment);
        Row("outcome", entry.Outcome);
        Row("detail", entry.Detail);
        Row("action", entry.ActionId);
        Row("rolls back entry", entry.RollbackOf);
        Row("rolled back by", record.RolledBackBy.Count == 0 ? null : string.Join(", ", record.RolledBackBy));
        Row("policy", entry.PolicyHash);
        Row("hash", record.Hash);
        Row("links to", record.Prev);
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

    private static string Some(IReadOnlyList<string> ids) => ids.Count <= 20 ? string.Join(", ", ids) : $"{string.Join(", ", ids.Take(20))} and {ids.Count - 20:N0} more";

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
