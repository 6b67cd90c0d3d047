using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Warden.Workspace.Journal;
using Warden.Core;

namespace Warden.Workspace.Tools;

/// <summary>
/// A read: its plan says how many records and which fields it returns (so the policy can refuse a
/// bulk read of personal data), and applying it returns the data. Reads write nothing.
/// </summary>
internal abstract class ReadChange : Change
{
    public sealed override bool IsRead => true;

    public sealed override JsonElement Write(ToolContext context, ActionJournal journal) => throw new InvalidOperationException("a read writes nothing");

    /// <summary>
    /// What the plan already read in its snapshot, when planning had to read the data anyway (a
    /// point read checks its record is there): applied at once, with nothing written since, the
    /// read hands this on instead of querying the same row again in a second transaction.
    /// </summary>
    public virtual JsonElement? Planned => null;

    protected static List<Dictionary<string, object?>> Rows(ToolContext context, string sql, IEnumerable<SqlArg> parameters)
    {
        using var command = context.Command(sql, parameters);
        using var reader = command.ExecuteReader();
        var rows = new List<Dictionary<string, object?>>();
        while (reader.Read())
        {
            var row = new Dictionary<string, object?>(StringComparer.Ordinal);
            for (var i = 0; i < reader.FieldCount; i++)
            {
                row[reader.GetName(i)] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }

    /// <summary>
    /// The reader's current row as a JSON object, column name to value, as <see cref="Change.Output"/>
    /// writes a row read by <see cref="Rows"/>, but written straight from the reader: a point read
    /// is on every governed call's path.
    /// </summary>
    internal static JsonElement RowObject(DbDataReader reader) => JsonScratch.Write(
        reader,
        static (json, row) =>
        {
            json.WriteStartObject();
            for (var i = 0; i < row.FieldCount; i++)
            {
                json.WritePropertyName(row.GetName(i));
                if (row.IsDBNull(i))
                {
                    json.WriteNullValue();
                    continue;
                }

                // By the value's own type (SQLite's, per row), read without boxing it.
                var type = row.GetFieldType(i);
                if (type == typeof(long))
                {
                    json.WriteNumberValue(row.GetInt64(i));
                }
                else if (type == typeof(double))
                {
                    json.WriteNumberValue(row.GetDouble(i));
                }
                else if (type == typeof(string))
                {
                    json.WriteStringValue(row.GetString(i));
                }
                else if (type == typeof(byte[]))
                {
                    json.WriteBase64StringValue(row.GetFieldValue<byte[]>(i));
                }
                else
                {
                    throw new InvalidOperationException($"column {row.GetName(i)} holds a {type.Name}, which SQLite does not return");
                }
            }

            json.WriteEndObject();
        },
        static (written, _) =>
        {
            var element = new Utf8JsonReader(written);
            return JsonElement.ParseValue(ref element);
        },
        escapeHtml: true);
}

/// <summary>A page of contacts, in id order, after a cursor: contacts.search and segments.members.</summary>
internal sealed class ContactPage(string predicate, IReadOnlyList<SqlArg> parameters, IReadOnlyList<string> filterFields, IReadOnlyList<string> columns,
    int limit, string? cursor, string what, string tool) : ReadChange
{
    private IReadOnlyList<SqlArg> Parameters => [.. parameters, new SqlArg("@cursor", (object?)cursor ?? DBNull.Value), new SqlArg("@limit", limit)];

    // Typed, as PostgreSQL cannot tell a NULL's type.
    private string Where => $"deleted_at IS NULL AND {predicate} AND (CAST(@cursor AS TEXT) IS NULL OR id > CAST(@cursor AS TEXT))";

    private JsonElement? _planned;

    /// <summary>
    /// The page's ids, found by reading the page itself in the plan's snapshot (the same query as
    /// <see cref="Read"/>: the same rows in the same order): applied at once with nothing written
    /// since, the read hands that page on (<see cref="Planned"/>) rather than query it again.
    /// </summary>
    public override IEnumerable<string> Keys(ToolContext context)
    {
        var page = Read(context);
        _planned = page;
        return [.. page.GetProperty("contacts").EnumerateArray().Select(row => row.GetProperty("id").GetString()!)];
    }

    public override JsonElement? Planned => _planned;

    public override PlanDetails Describe(ToolContext context, long records) =>
        new([.. filterFields.Concat(columns.Select(c => "contacts." + c)).Distinct()], [], [], [],
            $"{tool}: read {records:N0} contact{(records == 1 ? "" : "s")} ({what}), fields {string.Join(", ", columns)}.");

    public override JsonElement Read(ToolContext context)
    {
        var rows = Rows(context, $"SELECT {string.Join(", ", columns.Select(c => $"\"{c}\""))} FROM contacts WHERE {Where} ORDER BY id LIMIT @limit", Parameters);
        var total = context.Count($"SELECT count(*) FROM contacts WHERE deleted_at IS NULL AND {predicate}", parameters);
        var next = rows.Count == limit ? rows[^1]["id"] as string : null;
        return Output(new { Contacts = rows, Matching = total, NextCursor = next });
    }

    public static readonly string[] DefaultColumns = ["id", "email", "first_name", "last_name", "country", "lifecycle_stage", "lead_score"];

    public static SystemResult<IReadOnlyList<string>> Columns(ArgumentReader args, string tool)
    {
        var fields = args.Strings("fields") ?? DefaultColumns;
        foreach (var field in fields)
        {
            if (!Tables.Contacts.Columns.Contains(field))
            {
                return SystemError.InvalidArguments($"contacts have no field '{field}'" + (Core.Diagnostics.Suggest.Hint(field, Tables.Contacts.Columns) is { } h ? $"; {h}" : ""));
            }
        }

        IReadOnlyList<string> columns = [.. fields.Prepend("id").Distinct()];
        return new SystemResult<IReadOnlyList<string>>(columns, null);
    }

    public static SystemResult<PageSize> Limit(ArgumentReader args, string tool)
    {
        var limit = args.Integer("limit") ?? 50;
        return limit is < 1 or > 500 ? SystemError.InvalidArguments($"'limit' of {tool} must be from 1 to 500; page through larger sets with 'cursor'") : new PageSize((int)limit);
    }
}

internal sealed record PageSize(int Value);

internal sealed class ContactsSearchTool() : WorkspaceTool("contacts.search")
{
    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context)
    {
        var columns = ContactPage.Columns(args, Name);
        var limit = ContactPage.Limit(args, Name);
        if (!columns.Succeeded || !limit.Succeeded)
        {
            return columns.Error ?? limit.Error!;
        }

        if (args.String("filter") is not { } text)
        {
            return new ContactPage("1 = 1", [], [], columns.Value!, limit.Value!.Value, args.String("cursor"), "every contact", Name);
        }

        var filter = ContactFilter.Compile(text, "f", context.Sql, out var error);
        return filter is null
            ? SystemError.InvalidArguments($"the filter of {Name} is not valid: {error}")
            : new ContactPage(filter.Predicate, filter.Parameters, filter.Fields, columns.Value!, limit.Value!.Value, args.String("cursor"), $"where {text}", Name);
    }
}

internal sealed class SegmentsMembersTool() : WorkspaceTool("segments.members")
{
    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context)
    {
        var limit = ContactPage.Limit(args, Name);
        if (!limit.Succeeded)
        {
            return limit.Error!;
        }

        var id = args.String("segment")!;
        if (context.Row(Tables.Segments, id) is not { } segment)
        {
            return SystemError.NotFound($"there is no segment '{id}'");
        }

        var filter = ContactFilter.Compile((string)segment["rule"]!, "f", context.Sql, out var error);
        return filter is null
            ? SystemError.Refused($"segment '{id}' has a rule that is not a valid filter: {error}")
            : new ContactPage(filter.Predicate, filter.Parameters, filter.Fields, ["id", "email", "lifecycle_stage"], limit.Value!.Value, args.String("cursor"), $"members of segment '{segment["name"]}'", Name);
    }
}

/// <summary>
/// The columns contacts.get reads, what its plan says it reads, and its query. Every call without
/// <c>fields</c> reads all of them, so that case is worked out once.
/// </summary>
internal sealed class ContactColumns
{
    // Said as "all fields" rather than listed: the answer names them, and the plan's summary is in
    // every answer and trail entry (twenty names, 300 characters, repeated on every read).
    public static readonly ContactColumns All = new([.. Tables.Contacts.Columns.Where(c => c != "version")], "all fields");

    public ContactColumns(IReadOnlyList<string> columns, string? listed = null)
    {
        Columns = columns;
        FieldsRead = [.. columns.Select(c => "contacts." + c)];
        Listed = listed ?? string.Join(", ", columns);
        Select = $"SELECT {string.Join(", ", columns.Select(c => $"\"{c}\""))} FROM contacts WHERE id = @id";
        SelectLive = Select + " AND deleted_at IS NULL";
    }

    public IReadOnlyList<string> Columns { get; }

    public IReadOnlyList<string> FieldsRead { get; }

    public string Listed { get; }

    public string Select { get; }

    /// <summary>The query, for a contact that is not deleted: what planning reads.</summary>
    public string SelectLive { get; }
}

/// <summary>One contact, all fields unless fewer are asked for; <paramref name="planned"/> is the row as the plan read it.</summary>
internal sealed class ContactRead(string id, ContactColumns columns, JsonElement planned) : ReadChange
{
    public override IEnumerable<string> Keys(ToolContext context) => [id];

    public override JsonElement? Planned => planned;

    public override PlanDetails Describe(ToolContext context, long records) =>
        new(columns.FieldsRead, [], [], [], $"contacts.get: read contact {id} ({columns.Listed}).");

    public override JsonElement Read(ToolContext context)
    {
        using var command = context.Command(columns.Select, ("@id", id));
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            throw new InvalidOperationException($"contact {id} was planned but is not there");
        }

        return RowObject(reader);
    }
}

internal sealed class ContactsGetTool() : WorkspaceTool("contacts.get")
{
    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context)
    {
        var id = args.String("id")!;
        ContactColumns columns;
        if (args.Has("fields"))
        {
            var asked = ContactPage.Columns(args, Name);
            if (!asked.Succeeded)
            {
                return asked.Error!;
            }

            columns = new ContactColumns(asked.Value!);
        }
        else
        {
            columns = ContactColumns.All;
        }

        // Whether it is there, by reading it: a read allowed at once hands on this row (see
        // ReadChange.Planned) rather than read it again; one held for people reads it afresh.
        using var command = context.Command(columns.SelectLive, ("@id", id));
        using var reader = command.ExecuteReader();
        return reader.Read()
            ? new ContactRead(id, columns, ReadChange.RowObject(reader))
            : SystemError.NotFound($"there is no contact '{id}'");
    }
}

/// <summary>A campaign's row, or its delivery and engagement figures.</summary>
internal sealed class CampaignRead(string id, bool stats) : ReadChange
{
    public override IEnumerable<string> Keys(ToolContext context) => [id];

    public override PlanDetails Describe(ToolContext context, long records) =>
        new(stats ? ["campaign_sends.contact_id", "campaign_events.kind"] : [.. Tables.Campaigns.Columns.Select(c => "campaigns." + c)], [], [], [],
            $"{(stats ? "campaigns.stats" : "campaigns.get")}: read campaign {id}.");

    public override JsonElement Read(ToolContext context)
    {
        var parameters = new[] { new SqlArg("@id", id) };
        if (!stats)
        {
            return Output(Rows(context, "SELECT * FROM campaigns WHERE id = @id", parameters)[0]);
        }

        var sent = context.Count("SELECT count(*) FROM campaign_sends WHERE campaign_id = @id", parameters);
        var events = Rows(context, "SELECT kind, count(DISTINCT contact_id) AS people FROM campaign_events WHERE campaign_id = @id GROUP BY kind", parameters)
            .ToDictionary(r => (string)r["kind"]!, r => Convert.ToInt64(r["people"], CultureInfo.InvariantCulture));
        long Of(string kind) => events.GetValueOrDefault(kind);
        double Rate(long n) => sent == 0 ? 0 : Math.Round((double)n / sent, 4);
        return Output(new
        {
            Campaign = id,
            Sent = sent,
            Delivered = Of("delivered"),
            Opened = Of("open"),
            Clicked = Of("click"),
            Bounced = Of("bounce"),
            Unsubscribed = Of("unsubscribe"),
            OpenRate = Rate(Of("open")),
            ClickRate = Rate(Of("click")),
            BounceRate = Rate(Of("bounce")),
        });
    }
}

internal sealed class CampaignsGetTool() : WorkspaceTool("campaigns.get")
{
    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context) =>
        context.Row(Tables.Campaigns, args.String("campaign")!) is null ? SystemError.NotFound($"there is no campaign '{args.String("campaign")}'") : new CampaignRead(args.String("campaign")!, stats: false);
}

internal sealed class CampaignsStatsTool() : WorkspaceTool("campaigns.stats")
{
    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context) =>
        context.Row(Tables.Campaigns, args.String("campaign")!) is null ? SystemError.NotFound($"there is no campaign '{args.String("campaign")}'") : new CampaignRead(args.String("campaign")!, stats: true);
}

/// <summary>The workspace's schema, data classes, dependency map and sizes, for an agent finding its way.</summary>
internal sealed class DescribeRead : ReadChange
{
    private static readonly string[] Counted = ["contacts", "companies", "lists", "segments", "suppression", "campaigns", "nurture_flows", "scoring_rules", "routing_rules", "audience_syncs"];

    public override IEnumerable<string> Keys(ToolContext context) => [];

    public override PlanDetails Describe(ToolContext context, long records) => new([], [], [], [], "workspace.describe: read the schema, data classes and dependency map.");

    public override JsonElement Read(ToolContext context)
    {
        var fields = WorkspaceCatalogue.Fields.GroupBy(f => f.Split('.')[0]).ToDictionary(
            g => g.Key,
            g => g.Select(f => new { Field = f, Classes = context.ClassesOf(f) }).ToList());
        var dependencies = Rows(context, "SELECT field, object_kind, object_id FROM field_dependencies ORDER BY field, object_kind, object_id", [])
            .GroupBy(r => (string)r["field"]!)
            .ToDictionary(g => g.Key, g => g.Select(r => $"{r["object_kind"]}:{r["object_id"]}").ToList());
        var counts = Counted.ToDictionary(t => t, t => context.Count($"SELECT count(*) FROM {t}"));
        return Output(new { Tables = fields, Dependencies = dependencies, Records = counts, Tools = WorkspaceCatalogue.Tools.Select(t => t.Name) });
    }
}

internal sealed class WorkspaceDescribeTool() : WorkspaceTool("workspace.describe")
{
    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context) => new DescribeRead();
}
