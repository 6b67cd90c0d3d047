using System.Text.Json;
using System.Text.RegularExpressions;
using Warden.Workspace.Journal;
using Warden.Core;

namespace Warden.Workspace.Tools;

/// <summary>
/// Adds selected contacts to, or removes them from, a static list or a nurture flow. Only real
/// changes count: adding a member twice or removing a non-member is not part of the affected set.
/// </summary>
internal sealed class MembershipChange(TableInfo table, string group, string groupName, string groupColumn, string timeColumn, ContactSelection selection, bool add, string tool) : Change
{
    private IReadOnlyList<SqlArg> Parameters => [.. selection.Parameters, new SqlArg("@group", group)];

    private string Members => $"SELECT contact_id FROM {table.Name} WHERE {groupColumn} = @group";

    private string Selected => add
        ? $"SELECT id FROM contacts WHERE {selection.Predicate} AND id NOT IN ({Members})"
        : $"SELECT id FROM contacts WHERE {selection.Predicate} AND id IN ({Members})";

    public override IEnumerable<string> Keys(ToolContext context) =>
        context.Keys($"SELECT @group || '|' || id FROM ({Selected}) AS picked ORDER BY id", Parameters);

    public override SystemError? Check(ToolContext context, long records) => selection.Check(context, records, tool);

    public override PlanDetails Describe(ToolContext context, long records)
    {
        var unchanged = context.Count($"SELECT count(*) FROM contacts WHERE {selection.Predicate}", selection.Parameters) - records;
        var verb = add ? "add" : "remove";
        var summary = $"{tool}: {verb} {records:N0} contact{(records == 1 ? "" : "s")} {(add ? "to" : "from")} '{groupName}' ({selection.Describe})"
                      + (unchanged > 0 ? $"; {unchanged:N0} {(add ? "already members" : "not members")}, left as they are." : ".");
        var sample = context.Keys($"{Selected} ORDER BY id LIMIT 5", Parameters).Select(id => new RecordChange($"{group}|{id}",
            new Dictionary<string, string?> { ["member"] = add ? "no" : "yes" }, new Dictionary<string, string?> { ["member"] = add ? "yes" : "no" })).ToList();
        return new PlanDetails(selection.FieldsRead, [$"{table.Name}.contact_id"], [new FieldChange($"{table.Name}.contact_id", records, [], add ? "added" : "removed")], sample, summary);
    }

    public override IEnumerable<Dependent> MoreDependents(ToolContext context) =>
        table == Tables.ListMembers
            ? context.Keys("SELECT id || '|' || name FROM campaigns WHERE audience = @g AND status <> 'sent' ORDER BY id", [new SqlArg("@g", group)])
                .Select(k => k.Split('|', 2)).Select(k => new Dependent("campaign", k[0], k[1], $"{table.Name}.{groupColumn}"))
            : [];

    public override JsonElement Write(ToolContext context, ActionJournal journal)
    {
        var parameters = Parameters.Append(new SqlArg("@now", context.NowText)).ToList();
        long changed;
        if (add)
        {
            journal.JournalRows(table, "insert",
                $"SELECT @group || '|' || id AS record_key, NULL AS before, {context.Sql.Object($"'{groupColumn}', @group, 'contact_id', id, '{timeColumn}', @now")} AS after FROM ({Selected}) AS picked",
                parameters);
            changed = journal.Execute($"INSERT INTO {table.Name} ({groupColumn}, contact_id, {timeColumn}) SELECT @group, id, @now FROM ({Selected}) AS picked", parameters);
        }
        else
        {
            journal.JournalRows(table, "delete",
                $"SELECT m.{groupColumn} || '|' || m.contact_id AS record_key, {context.Sql.Object($"'{groupColumn}', m.{groupColumn}, 'contact_id', m.contact_id, '{timeColumn}', m.{timeColumn}")} AS before, NULL AS after " +
                $"FROM {table.Name} m WHERE m.{groupColumn} = @group AND m.contact_id IN ({Selected})",
                parameters);
            changed = journal.Execute($"DELETE FROM {table.Name} WHERE {groupColumn} = @group AND contact_id IN ({Selected})", parameters);
        }

        return Output(new { Changed = changed });
    }

    public static SystemResult<Change> Prepare(ArgumentReader args, ToolContext context, string tool, TableInfo table, string groupArgument, string groupTable,
        string groupColumn, string timeColumn, bool add)
    {
        var group = args.String(groupArgument)!;
        var name = context.Text($"SELECT name FROM {groupTable} WHERE id = @id", ("@id", group));
        if (name is null)
        {
            return SystemError.NotFound($"there is no {groupArgument} '{group}'; {tool} changed nothing");
        }

        var selection = ContactSelection.From(args, tool, context.Sql);
        return selection.Succeeded ? new MembershipChange(table, group, name, groupColumn, timeColumn, selection.Value!, add, tool) : selection.Error!;
    }
}

internal sealed class ListsAddMembersTool() : WorkspaceTool("lists.add_members")
{
    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context) =>
        MembershipChange.Prepare(args, context, Name, Tables.ListMembers, "list", "lists", "list_id", "added_at", add: true);
}

internal sealed class ListsRemoveMembersTool() : WorkspaceTool("lists.remove_members")
{
    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context) =>
        MembershipChange.Prepare(args, context, Name, Tables.ListMembers, "list", "lists", "list_id", "added_at", add: false);
}

internal sealed class NurtureRemoveMembersTool() : WorkspaceTool("nurture.remove_members")
{
    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context) =>
        MembershipChange.Prepare(args, context, Name, Tables.NurtureMembers, "flow", "nurture_flows", "flow_id", "joined_at", add: false);
}

/// <summary>Adds addresses to, or removes them from, a suppression list. Addresses are kept lower-case and trimmed.</summary>
internal sealed class SuppressionChange(string list, string listName, IReadOnlyList<string> emails, string? reason, bool add, string tool) : Change
{
    private IReadOnlyList<SqlArg> Parameters => [new("@list", list), new("@emails", JsonSerializer.Serialize(emails))];

    private string Selected(WorkspaceSql sql) => add
        ? $"SELECT DISTINCT value AS email FROM ({sql.Values("@emails")}) AS listed WHERE value NOT IN (SELECT email FROM suppression WHERE list_id = @list)"
        : $"SELECT DISTINCT value AS email FROM ({sql.Values("@emails")}) AS listed WHERE value IN (SELECT email FROM suppression WHERE list_id = @list)";

    public override IEnumerable<string> Keys(ToolContext context) => context.Keys($"SELECT @list || '|' || email FROM ({Selected(context.Sql)}) AS picked ORDER BY email", Parameters);

    public override PlanDetails Describe(ToolContext context, long records)
    {
        var contacts = context.Count($"SELECT count(*) FROM contacts WHERE deleted_at IS NULL AND {ConsentLedger.Mailbox("email")} IN (SELECT {ConsentLedger.Mailbox("email")} FROM ({Selected(context.Sql)}) AS picked)", Parameters);
        var summary = $"{tool}: {(add ? "suppress" : "stop suppressing")} {records:N0} address{(records == 1 ? "" : "es")} on '{listName}' ({contacts:N0} contact{(contacts == 1 ? "" : "s")})"
                      + (records < emails.Count ? $"; {emails.Count - records:N0} {(add ? "already there" : "not there")}." : ".");
        var sample = context.Keys($"{Selected(context.Sql)} ORDER BY email LIMIT 5", Parameters).Select(e => new RecordChange($"{list}|{e}",
            new Dictionary<string, string?> { ["suppressed"] = add ? "no" : "yes" }, new Dictionary<string, string?> { ["suppressed"] = add ? "yes" : "no" })).ToList();
        return new PlanDetails([], ["suppression.email"], [new FieldChange("suppression.email", records, [], add ? "added" : "removed")], sample, summary);
    }

    public override JsonElement Write(ToolContext context, ActionJournal journal)
    {
        var parameters = Parameters.Append(new SqlArg("@now", context.NowText)).Append(new SqlArg("@reason", (object?)reason ?? DBNull.Value)).ToList();
        long changed;
        if (add)
        {
            journal.JournalRows(Tables.Suppression, "insert",
                $"SELECT @list || '|' || email AS record_key, NULL AS before, {context.Sql.Object($"'list_id', @list, 'email', email, 'reason', {context.Sql.Typed("@reason", "suppression", "reason")}, 'added_at', @now")} AS after FROM ({Selected(context.Sql)}) AS picked", parameters);
            changed = journal.Execute($"INSERT INTO suppression (list_id, email, reason, added_at) SELECT @list, email, @reason, @now FROM ({Selected(context.Sql)}) AS picked", parameters);
        }
        else
        {
            journal.JournalRows(Tables.Suppression, "delete",
                $"SELECT s.list_id || '|' || s.email AS record_key, {context.Sql.Object("'list_id', s.list_id, 'email', s.email, 'reason', s.reason, 'added_at', s.added_at")} AS before, NULL AS after FROM suppression s WHERE s.list_id = @list AND s.email IN ({Selected(context.Sql)})",
                parameters);
            changed = journal.Execute($"DELETE FROM suppression WHERE list_id = @list AND email IN ({Selected(context.Sql)})", parameters);
        }

        return Output(new { Changed = changed });
    }

    public static SystemResult<Change> Prepare(ArgumentReader args, ToolContext context, string tool, bool add)
    {
        var list = args.String("list")!;
        var name = context.Text("SELECT name FROM suppression_lists WHERE id = @id", ("@id", list));
        if (name is null)
        {
            return SystemError.NotFound($"there is no suppression list '{list}'; {tool} changed nothing");
        }

        var emails = args.Strings("emails")!.Select(e => e.Trim().ToLowerInvariant()).ToList();
        if (emails.Count == 0)
        {
            return SystemError.InvalidArguments($"'emails' of {tool} is empty; name at least one address");
        }

        if (emails.FirstOrDefault(e => !EmailAddress.IsValid(e)) is { } bad)
        {
            return SystemError.InvalidArguments($"'{bad}' is not an email address");
        }

        return new SuppressionChange(list, name, emails, args.String("reason"), add, tool);
    }

}

internal sealed class SuppressionAddTool() : WorkspaceTool("suppression.add")
{
    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context) => SuppressionChange.Prepare(args, context, Name, add: true);
}

internal sealed class SuppressionRemoveTool() : WorkspaceTool("suppression.remove")
{
    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context) => SuppressionChange.Prepare(args, context, Name, add: false);
}
