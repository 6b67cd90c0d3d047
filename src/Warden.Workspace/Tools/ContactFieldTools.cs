using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Warden.Workspace.Journal;
using Warden.Core;

namespace Warden.Workspace.Tools;

/// <summary>Sets fields on a selection of contacts: contacts.update, lifecycle.set_stage, consent.update, contacts.delete (which soft-deletes them: <c>deletes</c>).</summary>
internal sealed class ContactFieldChange(ContactSelection selection, IReadOnlyDictionary<string, object?> set, string verb, bool deletes = false) : Change
{
    /// <summary>A recorded subscription: the contacts' mailboxes leave the ledger of unsubscribed addresses.</summary>
    private bool Subscribes => set.TryGetValue("email_consent", out var status) && status is "subscribed";

    public ContactSelection Selection => selection;

    private Statistics? _statistics;

    /// <summary>
    /// The affected ids, read in one pass that also gathers what the plan shows (values before,
    /// how many change, a sample), so planning a change to 100,000 contacts scans them once.
    /// </summary>
    public override IEnumerable<string> Keys(ToolContext context)
    {
        if (context.Writing)
        {
            // Applying: select the contacts once into a temporary table, hash from it,
            // and write through it, instead of evaluating the filter three times.
            foreach (var key in Materialise(context))
            {
                yield return key;
            }

            yield break;
        }

        var statistics = new Statistics(set);
        using (var command = context.Command($"SELECT id, {string.Join(", ", set.Keys.Select(c => $"\"{c}\""))} FROM contacts WHERE {selection.Predicate} ORDER BY id", selection.Parameters))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                statistics.Add(reader);
                yield return reader.GetString(0);
            }
        }

        _statistics = statistics;
    }

    public override SystemError? Check(ToolContext context, long records) => selection.Check(context, records, verb);

    public override PlanDetails Describe(ToolContext context, long records)
    {
        var statistics = _statistics ?? throw new InvalidOperationException("Keys are read before the plan is described");
        var what = string.Join(", ", set.Select(s => $"{s.Key} to {(s.Value is null ? "nothing" : $"'{Text(s.Value)}'")}"));
        var summary = $"{verb}: set {what} on {records:N0} contact{(records == 1 ? "" : "s")} ({selection.Describe}).";
        if (Subscribes)
        {
            // Consent follows the address: say which addresses that unsubscribed become reachable again.
            var again = context.Count($"SELECT count(*) FROM unsubscribed_addresses WHERE mailbox IN (SELECT {ConsentLedger.Mailbox("email")} FROM contacts WHERE {selection.Predicate})", selection.Parameters);
            if (again > 0)
            {
                summary += $" {again:N0} address{(again == 1 ? "" : "es")} that unsubscribed before become{(again == 1 ? "s" : "")} reachable again.";
            }
        }

        IReadOnlyList<string> classes = [];
        if (set.ContainsKey("email"))
        {
            // An unsubscribed contact's new address is unsubscribed too (the ledger's trigger):
            // that decides who may be reached, so it is a consent change, never a small edit.
            var unsubscribed = context.Count($"SELECT count(*) FROM contacts WHERE email_consent = 'unsubscribed' AND {selection.Predicate}", selection.Parameters);
            if (unsubscribed > 0)
            {
                summary += $" {unsubscribed:N0} of them unsubscribed: the new address becomes unsubscribed too.";
                classes = ["consent"];
            }
        }

        return new PlanDetails(selection.FieldsRead, [.. set.Keys.Select(c => "contacts." + c)], statistics.Changes(), statistics.Sample, summary)
        {
            Deleted = deletes ? records : null,
            Classes = classes,
        };
    }

    /// <summary>What the plan shows of the affected contacts, gathered while their ids are read.</summary>
    private sealed class Statistics(IReadOnlyDictionary<string, object?> set)
    {
        private readonly string[] _columns = [.. set.Keys];
        private readonly string?[] _after = [.. set.Values.Select(Text)];
        private readonly bool[] _now = [.. set.Values.Select(v => v is Now)];
        private readonly Dictionary<string, long>[] _before = [.. set.Keys.Select(_ => new Dictionary<string, long>(StringComparer.Ordinal))];
        private readonly long[] _nulls = new long[set.Count];
        private readonly long[] _changing = new long[set.Count];

        public List<RecordChange> Sample { get; } = [];

        public void Add(DbDataReader reader)
        {
            Dictionary<string, string?>? was = Sample.Count < 5 ? [] : null;
            for (var i = 0; i < _columns.Length; i++)
            {
                var value = reader.IsDBNull(i + 1) ? null : Convert.ToString(reader.GetValue(i + 1), CultureInfo.InvariantCulture);
                if (value is null)
                {
                    _nulls[i]++;
                }
                else
                {
                    _before[i][value] = _before[i].GetValueOrDefault(value) + 1;
                }

                if (_now[i] || value != _after[i])
                {
                    _changing[i]++;
                }

                was?.Add(_columns[i], value);
            }

            if (was is not null)
            {
                Sample.Add(new RecordChange(reader.GetString(0), was, _columns.Select((c, i) => (c, _after[i])).ToDictionary(p => p.c, p => p.Item2)));
            }
        }

        public List<FieldChange> Changes() => [.. _columns.Select((column, i) => new FieldChange("contacts." + column, _changing[i],
            [.. _before[i].Select(p => new ValueCount(p.Key, p.Value)).Append(new ValueCount(null, _nulls[i])).Where(v => v.Records > 0)
                .OrderByDescending(v => v.Records).ThenBy(v => v.Value, StringComparer.Ordinal).Take(5)],
            _after[i]))];
    }

    public override JsonElement Write(ToolContext context, ActionJournal journal)
    {
        var values = set.ToDictionary(s => s.Key, s => s.Value is Now ? context.NowText : s.Value);
        var affected = context.Sql.Temp("affected");
        var updated = journal.UpdateContactRows(affected, values, context.NowText);
        if (Subscribes)
        {
            // Not journaled: undoing this subscription sets the contacts back to unsubscribed,
            // and the ledger's trigger records their addresses again.
            journal.Execute($"DELETE FROM unsubscribed_addresses WHERE mailbox IN (SELECT {ConsentLedger.Mailbox("c.email")} FROM contacts c JOIN {affected} a ON a.rid = c.{context.Sql.ContactRow})", []);
        }

        using (var drop = context.Command($"DROP TABLE {affected}"))
        {
            drop.ExecuteNonQuery();
        }

        return Output(new { Updated = updated });
    }

    private IEnumerable<string> Materialise(ToolContext context)
    {
        using (var create = context.Command(context.Sql.GatherContacts("affected", selection.Predicate, more: ", id"), selection.Parameters))
        {
            create.ExecuteNonQuery();
        }

        return context.Keys($"SELECT id FROM {context.Sql.Temp("affected")} ORDER BY {context.Sql.Ordinal}");
    }

    private static string? Text(object? value) => value is null ? null : Convert.ToString(value, CultureInfo.InvariantCulture);
}

internal sealed partial class ContactsUpdateTool() : WorkspaceTool("contacts.update")
{
    // Fields with a tool of their own, so that a policy can govern them apart.
    private static readonly Dictionary<string, string> Elsewhere = new(StringComparer.Ordinal)
    {
        ["lifecycle_stage"] = "use lifecycle.set_stage",
        ["email_consent"] = "use consent.update",
        ["email_consent_at"] = "use consent.update",
        ["email_consent_source"] = "use consent.update",
        ["deleted_at"] = "use contacts.delete",
        ["id"] = "it cannot be changed",
        ["created_at"] = "it cannot be changed",
        ["updated_at"] = "it is set by the workspace",
        ["version"] = "it is set by the workspace",
    };

    private static readonly string[] Updatable =
        ["email", "first_name", "last_name", "phone", "date_of_birth", "company_id", "job_title", "country", "lead_score", "lead_source", "owner", "legacy_region"];

    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context)
    {
        var selection = ContactSelection.From(args, Name, context.Sql);
        if (!selection.Succeeded)
        {
            return selection.Error!;
        }

        var set = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var field in args.Object("set")!.Value.EnumerateObject())
        {
            if (Elsewhere.TryGetValue(field.Name, out var why))
            {
                return SystemError.InvalidArguments($"contacts.update cannot set '{field.Name}': {why}");
            }

            if (!Updatable.Contains(field.Name))
            {
                var hint = Core.Diagnostics.Suggest.Hint(field.Name, Updatable) ?? "it can set: " + string.Join(", ", Updatable);
                return SystemError.InvalidArguments($"contacts have no field '{field.Name}' that contacts.update can set; {hint}");
            }

            var (value, error) = Value(field.Name, field.Value, context);
            if (error is not null)
            {
                return SystemError.InvalidArguments($"'{field.Name}' {error}");
            }

            set[field.Name] = value;
        }

        if (set.Count == 0)
        {
            return SystemError.InvalidArguments("'set' of contacts.update is empty; name at least one field to change");
        }

        return new ContactFieldChange(selection.Value!, set, Name);
    }

    private static (object? Value, string? Error) Value(string field, JsonElement value, ToolContext context)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return field == "email" ? (null, "cannot be empty") : (null, null);
        }

        if (field == "lead_score")
        {
            return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var score) && score is >= -1000 and <= 10_000
                ? (score, null) : (null, "must be a whole number from -1,000 to 10,000");
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            return (null, "must be a string");
        }

        var text = value.GetString()!;
        return field switch
        {
            _ when text.Length > 500 => (null, "is longer than 500 characters"),
            "email" when !EmailAddress.IsValid(text) => (null, $"'{text}' is not an email address"),
            "country" when !CountryPattern().IsMatch(text) => (null, $"'{text}' is not a two-letter country code such as DE"),
            "date_of_birth" when !DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _) => (null, "must be a date like 1984-03-01"),
            "company_id" when context.Count("SELECT count(*) FROM companies WHERE id = @id", ("@id", text)) == 0 => (null, $"names no company: '{text}'"),
            _ => (text, null),
        };
    }


    [GeneratedRegex("^[A-Z]{2}$")]
    private static partial Regex CountryPattern();
}

internal sealed class LifecycleSetStageTool() : WorkspaceTool("lifecycle.set_stage")
{
    public static readonly string[] Stages = ["subscriber", "lead", "mql", "sql", "opportunity", "customer"];

    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context)
    {
        var stage = args.String("stage")!;
        if (!Stages.Contains(stage))
        {
            return SystemError.InvalidArguments($"'{stage}' is not a lifecycle stage; the stages are {string.Join(", ", Stages)}");
        }

        var selection = ContactSelection.From(args, Name, context.Sql);
        return selection.Succeeded ? new ContactFieldChange(selection.Value!, new Dictionary<string, object?> { ["lifecycle_stage"] = stage }, Name) : selection.Error!;
    }
}

internal sealed class ConsentUpdateTool() : WorkspaceTool("consent.update")
{
    private static readonly string[] Statuses = ["subscribed", "unsubscribed"];
    private static readonly string[] Sources = ["form", "import", "request", "preference_center", "support"];

    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context)
    {
        var status = args.String("status")!;
        var source = args.String("source")!;
        if (!Statuses.Contains(status))
        {
            return SystemError.InvalidArguments($"'{status}' is not a consent status; write subscribed or unsubscribed");
        }

        if (!Sources.Contains(source))
        {
            return SystemError.InvalidArguments($"'{source}' is not a consent source; the sources are {string.Join(", ", Sources)}");
        }

        var selection = ContactSelection.From(args, Name, context.Sql);
        return selection.Succeeded
            ? new ContactFieldChange(selection.Value!, new Dictionary<string, object?>
            {
                ["email_consent"] = status,
                ["email_consent_at"] = Now.Value,
                ["email_consent_source"] = source,
            }, Name)
            : selection.Error!;
    }
}

internal sealed class ContactsDeleteTool() : WorkspaceTool("contacts.delete")
{
    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context)
    {
        var selection = ContactSelection.From(args, Name, context.Sql);
        return selection.Succeeded ? new ContactFieldChange(selection.Value!, new Dictionary<string, object?> { ["deleted_at"] = Now.Value }, Name, deletes: true) : selection.Error!;
    }
}
