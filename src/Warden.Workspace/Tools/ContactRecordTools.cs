using System.Globalization;
using System.Text.Json;
using Warden.Workspace.Journal;
using Warden.Core;

namespace Warden.Workspace.Tools;

/// <summary>
/// Merges duplicates into a primary contact: the primary's empty fields are filled from the
/// duplicates, consent keeps the most restrictive answer (an unsubscribe on any record wins), list
/// and nurture memberships move to the primary, and the duplicates are soft-deleted. All journaled,
/// so a merge can be rolled back.
/// </summary>
internal sealed class MergeChange(string primary, IReadOnlyList<string> duplicates) : Change
{
    private static readonly string[] Fillable = ["first_name", "last_name", "phone", "date_of_birth", "company_id", "job_title", "country", "lead_source", "owner"];
    private static readonly (TableInfo Table, string Group, string Time)[] Memberships = [(Tables.ListMembers, "list_id", "added_at"), (Tables.NurtureMembers, "flow_id", "joined_at")];

    private IReadOnlyList<string> Everyone => [primary, .. duplicates];

    public override IEnumerable<string> Keys(ToolContext context) => Everyone.Order(StringComparer.Ordinal);

    private Dictionary<string, object?> PrimaryChanges(ToolContext context)
    {
        var rows = Everyone.Select(id => context.Row(Tables.Contacts, id)!).ToList();
        var main = rows[0];
        var changes = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var field in Fillable.Where(f => main[f] is null))
        {
            if (rows.Skip(1).Select(r => r[field]).FirstOrDefault(v => v is not null) is { } value)
            {
                changes[field] = value;
            }
        }

        var score = rows.Max(r => Convert.ToInt64(r["lead_score"], CultureInfo.InvariantCulture));
        if (score != Convert.ToInt64(main["lead_score"], CultureInfo.InvariantCulture))
        {
            changes["lead_score"] = score;
        }

        if ((string)main["email_consent"]! != "unsubscribed" && rows.Skip(1).FirstOrDefault(r => (string)r["email_consent"]! == "unsubscribed") is { } unsubscribed)
        {
            changes["email_consent"] = "unsubscribed";
            changes["email_consent_at"] = unsubscribed["email_consent_at"];
            changes["email_consent_source"] = unsubscribed["email_consent_source"];
        }

        return changes;
    }

    public override PlanDetails Describe(ToolContext context, long records)
    {
        var changes = PrimaryChanges(context);
        var moving = Memberships.Sum(m => context.Count(
            $"SELECT count(*) FROM {m.Table.Name} WHERE contact_id IN ({context.Sql.Values("@dups")}) AND {m.Group} NOT IN (SELECT {m.Group} FROM {m.Table.Name} WHERE contact_id = @primary)",
            [new SqlArg("@dups", JsonSerializer.Serialize(duplicates)), new SqlArg("@primary", primary)]));
        var main = context.Row(Tables.Contacts, primary)!;
        var sample = new List<RecordChange>
        {
            new(primary, changes.Keys.ToDictionary(k => k, k => Convert.ToString(main[k], CultureInfo.InvariantCulture)),
                changes.ToDictionary(c => c.Key, c => Convert.ToString(c.Value, CultureInfo.InvariantCulture))),
        };
        sample.AddRange(duplicates.Take(4).Select(d => new RecordChange(d, new Dictionary<string, string?> { ["deleted_at"] = null },
            new Dictionary<string, string?> { ["deleted_at"] = "(merged)" })));
        var consent = changes.ContainsKey("email_consent") ? " Consent becomes unsubscribed, as one of the duplicates unsubscribed." : "";
        var summary = $"contacts.merge: merge {duplicates.Count} contact{(duplicates.Count == 1 ? "" : "s")} into {primary}; fill {changes.Count} field{(changes.Count == 1 ? "" : "s")}, move {moving} membership{(moving == 1 ? "" : "s")}, soft-delete the duplicates.{consent}";
        var fields = changes.Keys.Select(k => "contacts." + k).Append("contacts.deleted_at").ToList();
        return new PlanDetails(["contacts.email"], fields, [.. changes.Select(c => new FieldChange("contacts." + c.Key, 1, [new ValueCount(Convert.ToString(main[c.Key], CultureInfo.InvariantCulture), 1)], Convert.ToString(c.Value, CultureInfo.InvariantCulture)))],
            sample, summary)
        {
            // The duplicates are soft-deleted: a merge deletes them, and is governed as such.
            Deleted = duplicates.Count,
        };
    }

    public override JsonElement Write(ToolContext context, ActionJournal journal)
    {
        var changes = PrimaryChanges(context);
        if (changes.Count > 0)
        {
            journal.UpdateContacts("id = @primary", [new SqlArg("@primary", primary)], changes, context.NowText);
        }

        var parameters = new List<SqlArg> { new("@dups", JsonSerializer.Serialize(duplicates)), new("@primary", primary), new("@now", context.NowText) };
        var sql = context.Sql;
        foreach (var (table, group, time) in Memberships)
        {
            var moving = $"SELECT DISTINCT {group} AS grp FROM {table.Name} WHERE contact_id IN ({sql.Values("@dups")}) AND {group} NOT IN (SELECT {group} FROM {table.Name} WHERE contact_id = @primary)";
            journal.JournalRows(table, "insert", $"SELECT grp || '|' || @primary AS record_key, NULL AS before, {sql.Object($"'{group}', grp, 'contact_id', @primary, '{time}', @now")} AS after FROM ({moving}) AS moving", parameters);
            journal.Execute($"INSERT INTO {table.Name} ({group}, contact_id, {time}) SELECT grp, @primary, @now FROM ({moving}) AS moving", parameters);
            journal.JournalRows(table, "delete",
                $"SELECT {group} || '|' || contact_id AS record_key, {sql.Object($"'{group}', {group}, 'contact_id', contact_id, '{time}', {time}")} AS before, NULL AS after FROM {table.Name} WHERE contact_id IN ({sql.Values("@dups")})",
                parameters);
            journal.Execute($"DELETE FROM {table.Name} WHERE contact_id IN ({sql.Values("@dups")})", parameters);
        }

        journal.UpdateContacts($"deleted_at IS NULL AND id IN ({sql.Values("@dups")})", [parameters[0]],
            new Dictionary<string, object?> { ["deleted_at"] = context.NowText }, context.NowText);
        return Output(new { Primary = primary, Merged = duplicates.Count });
    }
}

internal sealed class ContactsMergeTool() : WorkspaceTool("contacts.merge")
{
    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context)
    {
        var primary = args.String("primary")!;
        var duplicates = args.Strings("duplicates")!.Distinct(StringComparer.Ordinal).ToList();
        if (duplicates.Count is 0 or > 100)
        {
            return SystemError.InvalidArguments("'duplicates' of contacts.merge names 1 to 100 contacts");
        }

        if (duplicates.Contains(primary))
        {
            return SystemError.InvalidArguments($"{primary} is both the primary and a duplicate");
        }

        var missing = duplicates.Prepend(primary).Where(id => context.Row(Tables.Contacts, id) is not { } row || row["deleted_at"] is not null).ToList();
        if (missing.Count > 0)
        {
            return SystemError.NotFound($"no contact {string.Join(", ", missing.Take(5))}; contacts.merge changed nothing");
        }

        return new MergeChange(primary, duplicates);
    }
}

/// <summary>
/// Erases contacts for good, with their memberships and send records: a data-subject erasure.
/// Irreversible, and deliberately without before-images: the journal keeps which records went,
/// not what they held.
/// </summary>
internal sealed class PurgeChange(ContactSelection selection) : Change
{
    private static readonly string[] Related = ["list_members", "nurture_members", "campaign_sends", "campaign_events"];

    public override IEnumerable<string> Keys(ToolContext context) => context.Keys($"SELECT id FROM contacts WHERE {selection.Predicate} ORDER BY id", selection.Parameters);

    public override SystemError? Check(ToolContext context, long records) => selection.Check(context, records, "contacts.purge");

    public override PlanDetails Describe(ToolContext context, long records)
    {
        var related = Related.Sum(t => context.Count($"SELECT count(*) FROM {t} WHERE contact_id IN (SELECT id FROM contacts WHERE {selection.Predicate})", selection.Parameters));
        var summary = $"contacts.purge: erase {records:N0} contact{(records == 1 ? "" : "s")} ({selection.Describe}) and {related:N0} related record{(related == 1 ? "" : "s")} for good. This cannot be undone.";
        var sample = context.Keys($"SELECT id FROM contacts WHERE {selection.Predicate} ORDER BY id LIMIT 5", selection.Parameters)
            .Select(id => new RecordChange(id, new Dictionary<string, string?> { ["exists"] = "yes" }, new Dictionary<string, string?> { ["exists"] = "no" })).ToList();
        return new PlanDetails(selection.FieldsRead, [.. Tables.Contacts.Columns.Select(c => "contacts." + c)], [new FieldChange("contacts.id", records, [], "erased")], sample, summary)
        {
            Deleted = records,
        };
    }

    public override JsonElement Write(ToolContext context, ActionJournal journal)
    {
        journal.JournalRows(Tables.Contacts, "delete", $"SELECT id AS record_key, NULL AS before, NULL AS after FROM contacts WHERE {selection.Predicate}", selection.Parameters);
        foreach (var table in Related)
        {
            journal.Execute($"DELETE FROM {table} WHERE contact_id IN (SELECT id FROM contacts WHERE {selection.Predicate})", selection.Parameters);
        }

        var erased = journal.Execute($"DELETE FROM contacts WHERE {selection.Predicate}", selection.Parameters);
        return Output(new { Erased = erased });
    }
}

internal sealed class ContactsPurgeTool() : WorkspaceTool("contacts.purge")
{
    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context)
    {
        var selection = ContactSelection.From(args, Name, context.Sql, includeDeleted: true);
        return selection.Succeeded ? new PurgeChange(selection.Value!) : selection.Error!;
    }
}
