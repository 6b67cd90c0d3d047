using System.Text.Json;
using Warden.Core.Cel;

namespace Warden.Core.Decisions;

/// <summary>The names a rule's condition may use: the plan facts and the call's identity and arguments.</summary>
internal static class ConditionVariables
{
    public static readonly IReadOnlyDictionary<string, CelVariable> All = new Dictionary<string, CelVariable>
    {
        ["records"] = new("records", CelType.Int, (ref CelActivation a) => CelValue.Of(a.Input.Facts.Records), "how many records the call reads or changes"),
        ["recipients"] = new("recipients", CelType.Int, (ref CelActivation a) => CelValue.Of(a.Input.Facts.Recipients), "how many people a send or sync reaches"),
        ["deleted"] = new("deleted", CelType.Int, (ref CelActivation a) => CelValue.Of(a.Input.Deleted), "how many records the call deletes, whatever its tool (a merge deletes its duplicates)"),
        ["changed"] = new("changed", CelType.Int, (ref CelActivation a) => CelValue.Of(a.Input.Changed), "how many records the call changes, deletions included"),
        ["destination"] = new("destination", CelType.String, (ref CelActivation a) => CelValue.Of(a.Input.Facts.Destination ?? ""), "where a sync sends its audience; empty for other calls"),
        ["fields"] = new("fields", CelType.StringList, (ref CelActivation a) => CelValue.Of(a.Input.Facts.Fields), "fields read or changed, as table.field"),
        ["classes"] = new("classes", CelType.StringList, (ref CelActivation a) => CelValue.Of(a.Input.Classes), "data classes touched"),
        ["external"] = new("external", CelType.Bool, (ref CelActivation a) => CelValue.Of(a.Input.External), "whether the call reaches outside"),
        ["reversible"] = new("reversible", CelType.Bool, (ref CelActivation a) => CelValue.Of(a.Input.Reversible), "whether the call can be undone"),
        ["environment"] = new("environment", CelType.String, (ref CelActivation a) => CelValue.Of(a.Input.Environment), "sandbox, production, ..."),
        ["agent"] = new("agent", CelType.String, (ref CelActivation a) => CelValue.Of(a.Input.Agent), "the calling agent's id"),
        ["use_case"] = new("use_case", CelType.String, (ref CelActivation a) => CelValue.Of(a.Input.UseCase), "the calling agent's use case"),
        ["system"] = new("system", CelType.String, (ref CelActivation a) => CelValue.Of(a.Input.System), "the system that owns the tool"),
        ["tool"] = new("tool", CelType.String, (ref CelActivation a) => CelValue.Of(a.Input.Tool), "the tool's name"),
        ["kind"] = new("kind", CelType.String, (ref CelActivation a) => CelValue.Of(a.Input.Kind), "read, write, delete, send, sync or configure: delete for any call that deletes records"),
        ["args"] = Args(null, closed: false, "the call's arguments"),
        ["statement"] = new("statement", CelType.DynMap, ReadStatement, "the SQL statement a database call runs")
        {
            Fields = new Dictionary<string, CelType> { ["kind"] = CelType.String, ["tables"] = CelType.StringList, ["where"] = CelType.Bool },
            FieldsClosed = true,
            FieldsDescription = "the SQL statement a database call runs (empty kind for other calls)",
        },
    };

    private static CelValue ReadStatement(ref CelActivation a) => CelValue.FromJson(a.Input.Facts.Statement?.Json ?? StatementFacts.None);

    /// <summary>The variables with <c>args</c> typed by the arguments of the tools a rule targets.</summary>
    public static IReadOnlyDictionary<string, CelVariable> ForTools(IReadOnlyCollection<ToolDefinition> tools, bool allKnown)
    {
        if (tools.Count == 0 || !allKnown || tools.Any(t => t.Arguments is null))
        {
            return All;
        }

        var fields = new Dictionary<string, CelType>();
        foreach (var argument in tools.SelectMany(t => t.Arguments!))
        {
            var type = TypeOf(argument.Type);
            fields[argument.Name] = fields.TryGetValue(argument.Name, out var seen) && seen.Kind != type.Kind ? CelType.Dyn : type;
        }

        var names = tools.Count == 1 ? tools.First().Name : $"{tools.Count} tools";
        var copy = new Dictionary<string, CelVariable>(All)
        {
            ["args"] = Args(fields, closed: true, $"the arguments of {names}"),
        };
        return copy;
    }

    private static CelVariable Args(Dictionary<string, CelType>? fields, bool closed, string description) =>
        new("args", CelType.DynMap, ReadArguments, "the call's arguments")
        {
            Fields = fields,
            FieldsClosed = closed,
            FieldsDescription = description,
        };

    private static CelValue ReadArguments(ref CelActivation a) =>
        a.Input.Arguments.ValueKind == JsonValueKind.Object ? CelValue.FromJson(a.Input.Arguments) : CelValue.EmptyMap;

    private static CelType TypeOf(ArgumentType type) => type switch
    {
        ArgumentType.String => CelType.String,
        ArgumentType.Integer => CelType.Int,
        ArgumentType.Number => CelType.Double,
        ArgumentType.Boolean => CelType.Bool,
        ArgumentType.StringList => CelType.StringList,
        _ => CelType.DynMap,
    };
}
