using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Warden.Core;

namespace Warden.Workspace;

/// <summary>
/// The built-in marketing workspace's tools and fields, as the policy engine knows them so that
/// rules, tier caps and data classes can be checked before anything runs. The tools are listed
/// here, the single source of their kinds and arguments; the fields and their data classes are
/// read from the workspace's schema (Schema.sql), so a column added there is known, and masked by
/// its classes, without a second list to keep in step.
/// </summary>
public static partial class WorkspaceCatalogue
{
    /// <summary>The workspace as a governed system's catalogue.</summary>
    public static SystemCatalogue Catalogue { get; } = Build(WorkspaceStore.Schema);

    /// <summary>Every workspace tool, in the order the catalogue lists them.</summary>
    public static IReadOnlyList<ToolDefinition> Tools => Catalogue.Tools;

    /// <summary>Every field of the workspace's data model, as table.field.</summary>
    public static IReadOnlyList<string> Fields => Catalogue.FieldNames;

    /// <summary>
    /// The contact fields a filter may test, with their types (INTEGER columns are numbers): the
    /// workspace compiles filters with this list, and the gateway and policy tests check filters with it.
    /// </summary>
    public static IReadOnlyList<FilterField> ContactFilterFields { get; } = FilterFieldsOf(Catalogue.Fields, "contacts");

    /// <summary>The catalogue of a workspace with this schema: the tools, and the fields with their classes read from the schema.</summary>
    public static SystemCatalogue Build(string schema)
    {
        var fields = FieldsOf(schema);
        var contactFilter = new FilterOver("contacts", FilterFieldsOf(fields, "contacts"));
        return new SystemCatalogue(ToolDefinition.WorkspaceSystem, ToolsOf(contactFilter), fields);
    }

    private static List<FilterField> FilterFieldsOf(IEnumerable<SystemField> fields, string table) =>
    [
        .. fields.Where(f => f.Name.StartsWith(table + ".", StringComparison.Ordinal))
            .Select(f => new FilterField(f.Name[(table.Length + 1)..], f.Type)),
    ];

    /// <summary>
    /// The columns of the schema's tables, read by SQLite itself from the schema run in memory,
    /// with the classes their comments name; tables marked internal are left out.
    /// </summary>
    private static List<SystemField> FieldsOf(string schema) =>
        [.. Read(schema).Where(t => !t.Internal).SelectMany(t => t.Columns.Select(c => new SystemField($"{t.Name}.{c.Name}", c.Type, c.Classes)))];

    /// <summary>Every table's columns, internal ones included, in the schema's order: what the journal reads and writes of a row.</summary>
    internal static IReadOnlyDictionary<string, string[]> Columns { get; } =
        Read(WorkspaceStore.Schema).ToDictionary(t => t.Name, t => t.Columns.Select(c => c.Name).ToArray(), StringComparer.Ordinal);

    /// <summary>The columns, internal tables' too, that hold integers, as table.column: PostgreSQL needs a value's type where nothing else gives it.</summary>
    internal static IReadOnlySet<string> IntegerColumns { get; } =
        Read(WorkspaceStore.Schema).SelectMany(t => t.Columns.Where(c => c.Type == FilterFieldType.Integer).Select(c => $"{t.Name}.{c.Name}")).ToHashSet(StringComparer.Ordinal);

    private sealed record SchemaColumn(string Name, FilterFieldType Type, IReadOnlyList<string> Classes);

    private sealed record SchemaTable(string Name, bool Internal, IReadOnlyList<SchemaColumn> Columns);

    private static List<SchemaTable> Read(string schema)
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = schema;
        command.ExecuteNonQuery();
        command.CommandText = "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY rowid";
        var tables = new List<(string Name, string Sql)>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                tables.Add((reader.GetString(0), reader.GetString(1)));
            }
        }

        var result = new List<SchemaTable>();
        foreach (var (table, sql) in tables)
        {
            var lines = sql.Split('\n');

            var classes = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
            foreach (var line in lines)
            {
                if (ClassesOf(table, line) is { } found)
                {
                    classes[found.Column] = found.Classes;
                }
            }

            command.CommandText = $"SELECT name, type FROM pragma_table_info('{table}') ORDER BY cid";
            var columns = new List<SchemaColumn>();
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    var column = reader.GetString(0);
                    var type = reader.GetString(1).Equals("INTEGER", StringComparison.OrdinalIgnoreCase) ? FilterFieldType.Integer : FilterFieldType.Text;
                    columns.Add(new SchemaColumn(column, type, classes.GetValueOrDefault(column) ?? []));
                }
            }

            result.Add(new SchemaTable(table, lines[0].Contains("-- internal", StringComparison.Ordinal), columns));
        }

        return result;
    }

    /// <summary>
    /// The classes a column line's comment names (<c>email TEXT, -- stored trimmed; classes: pii, consent</c>),
    /// or null when it names none. A comment that says "classes" in any other way is an error, not a
    /// column left unclassed: a typo there would let personal data reach agents unmasked.
    /// </summary>
    /// <exception cref="InvalidOperationException">The comment mentions classes but does not list them as `classes: a, b`.</exception>
    private static (string Column, IReadOnlyList<string> Classes)? ClassesOf(string table, string line)
    {
        var comment = line.IndexOf("--", StringComparison.Ordinal);
        if (comment < 0 || line[comment..].IndexOf("class", StringComparison.OrdinalIgnoreCase) < 0)
        {
            return null;
        }

        var match = ColumnClasses().Match(line);
        if (!match.Success)
        {
            throw new InvalidOperationException($"Schema.sql, table {table}: the comment of '{line.Trim()}' mentions classes but does not list them as 'classes: pii, consent' at the end of a column's line");
        }

        return (match.Groups["column"].Value, [.. match.Groups["class"].Captures.Select(c => c.Value)]);
    }

    /// <summary>A column line whose comment ends with its classes: lower-case names, separated by commas.</summary>
    [GeneratedRegex(@"^\s*(?<column>[A-Za-z_][A-Za-z0-9_]*)\s.*--.*\bclasses:\s*(?<class>[a-z][a-z0-9_]*)(\s*,\s*(?<class>[a-z][a-z0-9_]*))*\s*$")]
    private static partial Regex ColumnClasses();

    private static ToolArgument Arg(string name, ArgumentType type, string description, bool required = false) =>
        new(name, type, description, required);


    private static ToolDefinition Tool(string name, ActionKind kind, Reversibility reversibility, string description, params ToolArgument[] arguments) =>
        new(ToolDefinition.WorkspaceSystem, name, kind, reversibility, External: false, description, arguments);

    private static ToolDefinition ExternalTool(string name, ActionKind kind, string description, params ToolArgument[] arguments) =>
        new(ToolDefinition.WorkspaceSystem, name, kind, Reversibility.Irreversible, External: true, description, arguments);

    private static List<ToolDefinition> ToolsOf(FilterOver contacts)
    {
        ToolArgument Filter(string name, string description, bool required = false) =>
            new(name, ArgumentType.String, description, required) { Filter = contacts };

        // Arguments that select contacts, shared by every tool that acts on a set of contacts.
        ToolArgument[] ContactSelection =
        [
            Arg("ids", ArgumentType.StringList, "Contact ids to act on."),
            Filter("filter", "A filter over contact fields selecting the contacts to act on, in CEL syntax, e.g. lifecycle_stage == 'lead' && country in ['DE', 'AT'] && lead_score >= 40."),
            Arg("all", ArgumentType.Boolean, "Set to true to act on every contact when no ids or filter are given; never implied."),
        ];

        return
        [
        Tool("workspace.describe", ActionKind.Read, Reversibility.Reversible, "Describe the workspace: tables, fields, data classes and which objects depend on which fields."),
        Tool("contacts.search", ActionKind.Read, Reversibility.Reversible, "Search contacts with a filter; returns a page of contacts.",
            Filter("filter", "A filter over contact fields in CEL syntax, e.g. country == 'DE' && lead_score > 50; all contacts when absent."),
            Arg("fields", ArgumentType.StringList, "Fields to return; default a safe summary."),
            Arg("limit", ArgumentType.Integer, "Page size."),
            Arg("cursor", ArgumentType.String, "Cursor from the previous page.")),
        Tool("contacts.get", ActionKind.Read, Reversibility.Reversible, "Get one contact by id.",
            Arg("id", ArgumentType.String, "Contact id.", required: true),
            Arg("fields", ArgumentType.StringList, "Fields to return.")),
        Tool("segments.members", ActionKind.Read, Reversibility.Reversible, "List the contacts a segment selects.",
            Arg("segment", ArgumentType.String, "Segment id.", required: true),
            Arg("limit", ArgumentType.Integer, "Page size."),
            Arg("cursor", ArgumentType.String, "Cursor from the previous page.")),
        Tool("campaigns.get", ActionKind.Read, Reversibility.Reversible, "Get a campaign with its audience and content.",
            Arg("campaign", ArgumentType.String, "Campaign id.", required: true)),
        Tool("campaigns.stats", ActionKind.Read, Reversibility.Reversible, "Delivery and engagement figures for a campaign.",
            Arg("campaign", ArgumentType.String, "Campaign id.", required: true)),

        Tool("contacts.update", ActionKind.Write, Reversibility.Reversible, "Change fields on the selected contacts.",
            [.. ContactSelection, Arg("set", ArgumentType.Object, "Field changes: field name to new value.", required: true)]),
        Tool("contacts.merge", ActionKind.Delete, Reversibility.Reversible, "Merge duplicate contacts into one primary contact; the duplicates are soft-deleted (restorable), so a merge is governed as a delete of them.",
            Arg("primary", ArgumentType.String, "The contact that survives.", required: true),
            Arg("duplicates", ArgumentType.StringList, "Contacts merged into the primary.", required: true)),
        Tool("contacts.delete", ActionKind.Delete, Reversibility.Reversible, "Soft-delete the selected contacts (restorable).",
            [.. ContactSelection]),
        Tool("contacts.purge", ActionKind.Delete, Reversibility.Irreversible, "Erase the selected contacts for good (e.g. a data-subject erasure request).",
            [.. ContactSelection, Arg("reason", ArgumentType.String, "Why the contacts are erased.", required: true)]),
        Tool("lists.add_members", ActionKind.Write, Reversibility.Reversible, "Add the selected contacts to a static list.",
            [Arg("list", ArgumentType.String, "List id.", required: true), .. ContactSelection]),
        Tool("lists.remove_members", ActionKind.Write, Reversibility.Reversible, "Remove the selected contacts from a static list.",
            [Arg("list", ArgumentType.String, "List id.", required: true), .. ContactSelection]),
        Tool("segments.update_rule", ActionKind.Configure, Reversibility.Reversible, "Change the rule that decides a segment's members.",
            Arg("segment", ArgumentType.String, "Segment id.", required: true),
            Filter("rule", "The new segment rule: a filter over contact fields in CEL syntax, e.g. lifecycle_stage == 'mql' && country == 'DE'.", required: true)),
        Tool("suppression.add", ActionKind.Write, Reversibility.Reversible, "Add email addresses to a suppression list; suppressed contacts are never sent to.",
            Arg("list", ArgumentType.String, "Suppression list id.", required: true),
            Arg("emails", ArgumentType.StringList, "Addresses to suppress.", required: true),
            Arg("reason", ArgumentType.String, "Why they are suppressed.")),
        Tool("suppression.remove", ActionKind.Write, Reversibility.Reversible, "Remove email addresses from a suppression list.",
            Arg("list", ArgumentType.String, "Suppression list id.", required: true),
            Arg("emails", ArgumentType.StringList, "Addresses to remove.", required: true),
            Arg("reason", ArgumentType.String, "Why they may be sent to again.", required: true)),
        Tool("consent.update", ActionKind.Write, Reversibility.Reversible, "Record a change of email consent for the selected contacts.",
            [.. ContactSelection,
             Arg("status", ArgumentType.String, "subscribed or unsubscribed.", required: true),
             Arg("source", ArgumentType.String, "Where the consent change came from (form, import, request).", required: true)]),
        Tool("scoring.update_rule", ActionKind.Configure, Reversibility.Reversible, "Change a lead-scoring rule.",
            Arg("rule", ArgumentType.String, "Scoring rule id.", required: true),
            Filter("condition", "Which contacts the rule scores: a filter over contact fields in CEL syntax."),
            Arg("points", ArgumentType.Integer, "Points the rule adds (or subtracts).")),
        Tool("routing.update_rule", ActionKind.Configure, Reversibility.Reversible, "Change a lead-routing rule.",
            Arg("rule", ArgumentType.String, "Routing rule id.", required: true),
            Filter("condition", "Which contacts the rule routes: a filter over contact fields in CEL syntax."),
            Arg("owner", ArgumentType.String, "Who receives the routed leads.")),
        Tool("lifecycle.set_stage", ActionKind.Write, Reversibility.Reversible, "Move the selected contacts to a lifecycle stage.",
            [.. ContactSelection, Arg("stage", ArgumentType.String, "subscriber, lead, mql, sql, opportunity or customer.", required: true)]),
        Tool("nurture.remove_members", ActionKind.Write, Reversibility.Reversible, "Take the selected contacts out of a nurture flow.",
            [Arg("flow", ArgumentType.String, "Nurture flow id.", required: true), .. ContactSelection]),
        Tool("campaigns.create_draft", ActionKind.Write, Reversibility.Reversible, "Create a campaign in draft.",
            Arg("name", ArgumentType.String, "Campaign name.", required: true),
            Arg("audience", ArgumentType.String, "Segment or list id the campaign goes to.", required: true),
            Arg("subject", ArgumentType.String, "Subject line.", required: true),
            Arg("content", ArgumentType.String, "Body.", required: true),
            Arg("sender", ArgumentType.String, "From address.", required: true)),
        Tool("campaigns.schedule", ActionKind.Write, Reversibility.Reversible, "Schedule a draft campaign (it can be unscheduled until it is sent).",
            Arg("campaign", ArgumentType.String, "Campaign id.", required: true),
            Arg("at", ArgumentType.String, "When to send, an RFC 3339 time.", required: true)),
        ExternalTool("campaigns.send", ActionKind.Send, "Send a campaign now to its audience, after suppression and consent.",
            Arg("campaign", ArgumentType.String, "Campaign id.", required: true)),
        ExternalTool("audiences.sync", ActionKind.Sync, "Sync a segment to an external ad audience.",
            Arg("segment", ArgumentType.String, "Segment id.", required: true),
            Arg("destination", ArgumentType.String, "Destination, e.g. linkedin:matched-audience-42.", required: true)),
        ];
    }
}
