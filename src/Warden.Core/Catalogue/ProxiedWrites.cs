using System.Text.Json;
using System.Text.Json.Nodes;

namespace Warden.Core;

/// <summary>
/// How Warden previews a proxied call it cannot plan itself: a read tool of the same upstream,
/// called with arguments built from the call's, whose result is the before-image (and, at
/// <see cref="Records"/>, the affected records). Its hash joins the plan's, and it is read again
/// just before the call runs: a different answer voids the approval.
/// </summary>
public sealed class ToolPreview
{
    private readonly ArgumentTemplate _arguments;

    internal ToolPreview(string tool, ArgumentTemplate arguments, string? records)
    {
        Tool = tool;
        _arguments = arguments;
        Records = records;
    }

    /// <summary>The read tool (ID.TOOL).</summary>
    public string Tool { get; }

    /// <summary>The JSON path of the affected records in its result ($.records[*]); null when the whole result is the one record.</summary>
    public string? Records { get; }

    /// <summary>The read's arguments for a call's, or null with why they cannot be built.</summary>
    public JsonNode? Arguments(JsonElement args, out string? problem) =>
        _arguments.Build(new Dictionary<string, JsonNode?>(StringComparer.Ordinal) { ["args"] = JsonNode.Parse(args.GetRawText()) }, out problem);

    /// <summary>The affected records in the read's result: the matches of <see cref="Records"/>, or the whole result.</summary>
    public IReadOnlyList<JsonNode?> Affected(JsonNode? result) => Affected(result, Records);

    /// <summary>The records at a path (<see cref="Records"/> as it was when a call was journaled) in a read's result, or the whole result when there is no path.</summary>
    public static IReadOnlyList<JsonNode?> Affected(JsonNode? result, string? records) => records is null ? [result] : Policies.JsonPath.Select(result, records);
}

/// <summary>
/// Where a database server's SQL tool takes its statement (<c>sql: args.sql</c>): Warden classifies
/// it with PostgreSQL before the call is decided, as it classifies its own database tools.
/// </summary>
public sealed class ToolSql
{
    private readonly ArgumentTemplate _statement;

    internal ToolSql(ArgumentTemplate statement, string text)
    {
        _statement = statement;
        Text = text;
    }

    /// <summary>Where the statement is, as the policy writes it.</summary>
    public string Text { get; }

    /// <summary>The statement of a call, or null with why there is none (absent, not text).</summary>
    public string? Statement(JsonElement args, out string? problem)
    {
        var value = _statement.Build(new Dictionary<string, JsonNode?>(StringComparer.Ordinal) { ["args"] = JsonNode.Parse(args.GetRawText()) }, out problem);
        if (value is JsonValue text && text.GetValueKind() == JsonValueKind.String)
        {
            return text.GetValue<string>();
        }

        problem ??= $"{Text} is {(value is null ? "missing" : "not text")}";
        return null;
    }
}

/// <summary>
/// The call that reverses a proxied call, built from the before-image: once with the whole
/// preview result as <c>before</c>, or, when it reads <c>record</c>, once per affected record.
/// A proxied write without one is not reversible, and is governed as such.
/// </summary>
public sealed class ToolUndo
{
    private readonly ArgumentTemplate _arguments;

    internal ToolUndo(string tool, ArgumentTemplate arguments)
    {
        Tool = tool;
        _arguments = arguments;
    }

    /// <summary>The tool that reverses it (ID.TOOL).</summary>
    public string Tool { get; }

    /// <summary>True when it is called once per affected record.</summary>
    public bool PerRecord => _arguments.Uses.Contains("record");

    /// <summary>The undo's arguments, or null with why they cannot be built.</summary>
    public JsonNode? Arguments(JsonElement args, JsonNode? before, JsonNode? record, out string? problem) =>
        _arguments.Build(new Dictionary<string, JsonNode?>(StringComparer.Ordinal)
        {
            ["args"] = JsonNode.Parse(args.GetRawText()), ["before"] = before, ["record"] = record,
        }, out problem);
}
