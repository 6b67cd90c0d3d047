namespace Warden.Core;

/// <summary>What a tool does to the systems it reaches. Rules and tier caps match on it.</summary>
public enum ActionKind
{
    /// <summary>Reads records; changes nothing.</summary>
    Read,
    /// <summary>Changes records.</summary>
    Write,
    /// <summary>Removes records.</summary>
    Delete,
    /// <summary>Sends to customers (email, SMS).</summary>
    Send,
    /// <summary>Copies data to an outside destination (an ad network audience, say).</summary>
    Sync,
    /// <summary>Changes how the system behaves: segment rules, scoring, routing.</summary>
    Configure,
}

/// <summary>Whether a tool's effect can be undone.</summary>
public enum Reversibility
{
    /// <summary>Warden can restore the before-image.</summary>
    Reversible,
    /// <summary>Cannot be restored, but another action can make up for it.</summary>
    Compensable,
    /// <summary>Cannot be undone.</summary>
    Irreversible,
}

/// <summary>The type of a tool argument, as conditions see it through <c>args.*</c>.</summary>
public enum ArgumentType
{
    /// <summary>Text.</summary>
    String,
    /// <summary>A whole number.</summary>
    Integer,
    /// <summary>A number.</summary>
    Number,
    /// <summary>true or false.</summary>
    Boolean,
    /// <summary>A list of text values.</summary>
    StringList,
    /// <summary>A mapping from names to values.</summary>
    Object,
}

/// <summary>What a filter argument filters: a table and the fields of it a filter may test.</summary>
public sealed record FilterOver(string Table, IReadOnlyList<FilterField> Fields);

/// <summary>One argument a tool takes.</summary>
public sealed record ToolArgument(string Name, ArgumentType Type, string Description, bool Required = false)
{
    /// <summary>
    /// For a filter argument (Warden's CEL subset over a table's fields): the fields it may test,
    /// with their types, and the table they belong to. A call whose filter does not compile against
    /// them is refused before it is planned. Null for any other argument.
    /// </summary>
    public FilterOver? Filter { get; init; }

    /// <summary>True when the argument is a filter.</summary>
    public bool IsFilter => Filter is not null;
}

/// <summary>
/// A tool Warden governs: its system, its name, what kind of action it is, whether it can be
/// undone and whether it reaches outside. Decisions and tier caps are made from these facts.
/// </summary>
public sealed record ToolDefinition(
    string System,
    string Name,
    ActionKind Kind,
    Reversibility Reversibility,
    bool External,
    string Description,
    IReadOnlyList<ToolArgument>? Arguments = null,
    bool Annotated = true)
{
    /// <summary>Built-in workspace tools live in this system.</summary>
    public const string WorkspaceSystem = "workspace";

    /// <summary>
    /// Data classes in the tool's result, by JSON path into it (<c>$.records[*].email</c> → pii): an
    /// upstream tool's result is masked by them before the agent or the trail sees it. Empty for
    /// tools whose systems know their own fields.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> ResultClasses { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>
    /// Data classes in the tool's arguments, by JSON path into them (<c>$.fields.email</c> → pii): a
    /// call whose arguments hold a value there touches the class, for conditions and approvers.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> ArgumentClasses { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>The classes a call's arguments touch: those of each path in <see cref="ArgumentClasses"/> present in them, null included (clearing a consent flag changes consent).</summary>
    public IReadOnlyList<string> ClassesIn(global::System.Text.Json.JsonElement arguments)
    {
        if (ArgumentClasses.Count == 0)
        {
            return [];
        }

        var node = global::System.Text.Json.Nodes.JsonNode.Parse(arguments.GetRawText());
        return [.. ArgumentClasses.Where(p => Policies.JsonPath.Select(node, p.Key).Count > 0).SelectMany(p => p.Value).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>How many records a call touches, as the policy works it out from the arguments (a CEL expression: <c>args.ids.size()</c>); null when it does not say.</summary>
    public string? Records { get; init; }

    internal Cel.CelCondition? RecordsCount { get; init; }

    /// <summary>For an upstream's tool: the version the policy approves (sha256 of its name, description, input schema and hints, as `warden upstreams list` shows it); null when the first version seen is pinned.</summary>
    public string? Pin { get; init; }

    /// <summary>For an upstream's tool: the read that previews a call (its before-image and affected records); null when it has none.</summary>
    public ToolPreview? Preview { get; init; }

    /// <summary>For an upstream's tool: the call that reverses one; null when Warden cannot undo it.</summary>
    public ToolUndo? Undo { get; init; }

    /// <summary>For a database server's SQL tool: where its statement is, classified by PostgreSQL before the call is decided; null for any other tool.</summary>
    public ToolSql? Sql { get; init; }

    /// <summary>
    /// The records a call with these arguments touches, by <see cref="Records"/>: false with no
    /// problem when the policy does not say, false with the problem when the arguments do not give a
    /// whole number (a missing list, say), which a careful caller refuses rather than guesses.
    /// </summary>
    public bool TryCountRecords(global::System.Text.Json.JsonElement arguments, out long records, out string? problem)
    {
        records = 0;
        problem = null;
        return RecordsCount is { } count && count.TryCount(arguments, out records, out problem);
    }

    /// <summary>The JSON Schema of the arguments as an upstream server gives it, shown to agents when the policy does not list the arguments.</summary>
    public string? Schema { get; init; }

    /// <summary>
    /// The JSON Schema of the arguments, with descriptions an LLM can follow; unknown arguments
    /// are not allowed. Null when the tool's arguments are not known (an unannotated upstream tool).
    /// </summary>
    public string? InputSchema()
    {
        if (Arguments is null)
        {
            return Schema;
        }

        var buffer = new MemoryStream();
        using (var writer = new global::System.Text.Json.Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("type", "object");
            writer.WriteStartObject("properties");
            foreach (var argument in Arguments)
            {
                writer.WriteStartObject(argument.Name);
                switch (argument.Type)
                {
                    case ArgumentType.StringList:
                        writer.WriteString("type", "array");
                        writer.WriteStartObject("items");
                        writer.WriteString("type", "string");
                        writer.WriteEndObject();
                        break;
                    default:
                        writer.WriteString("type", argument.Type switch
                        {
                            ArgumentType.Integer => "integer",
                            ArgumentType.Number => "number",
                            ArgumentType.Boolean => "boolean",
                            ArgumentType.Object => "object",
                            _ => "string",
                        });
                        break;
                }

                writer.WriteString("description", argument.Description);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.WriteStartArray("required");
            foreach (var argument in Arguments.Where(a => a.Required))
            {
                writer.WriteStringValue(argument.Name);
            }

            writer.WriteEndArray();
            writer.WriteBoolean("additionalProperties", false);
            writer.WriteEndObject();
        }

        return global::System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>
    /// What the gateway refuses a call's arguments for before anything is planned: not an object,
    /// too large, an argument the tool does not take, a value of the wrong type, a required one
    /// missing, a filter that does not compile. Empty when they are acceptable, or when the tool's
    /// arguments are not known (an upstream tool annotated without them).
    /// </summary>
    public IReadOnlyList<ArgumentProblem> CheckArguments(global::System.Text.Json.JsonElement arguments) => ToolArguments.Check(this, arguments);

    /// <summary>True when the tool needs a person whatever a rule says (invariant 2).</summary>
    public bool AlwaysNeedsPerson => Reversibility == Reversibility.Irreversible || External;

    /// <summary>
    /// An upstream tool nobody annotated: counted as destructive, irreversible and external, the
    /// most dangerous reading, so that forgetting an annotation can only make Warden stricter.
    /// </summary>
    public static ToolDefinition Unannotated(string system, string name) =>
        new(system, name, ActionKind.Delete, Reversibility.Irreversible, External: true,
            "not annotated in the policy: treated as destructive, irreversible and external", Annotated: false);
}
