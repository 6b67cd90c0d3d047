using System.Runtime.InteropServices;
using System.Text.Json;
using Warden.Core.Diagnostics;

namespace Warden.Core;

/// <summary>A problem with a call's arguments: the argument it is about (null for the arguments as a whole) and a sentence naming it.</summary>
public sealed record ArgumentProblem(string? Argument, string Message);

/// <summary>
/// Checks a call's arguments against the tool's declared arguments (the list its JSON Schema is
/// made from), as the gateway does before anything is planned, and as policy tests do for their
/// cases: one check, so that a test case cannot pass with arguments every real call is refused for.
/// </summary>
internal static class ToolArguments
{
    public const int MaxBytes = 1024 * 1024;
    public const int MaxListItems = 100_000;
    public const int MaxStringLength = 20_000;

    public static IReadOnlyList<ArgumentProblem> Check(ToolDefinition tool, JsonElement arguments)
    {
        if (tool.Arguments is not { } declaredList)
        {
            return [];
        }

        if (arguments.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            arguments = Empty;
        }

        if (arguments.ValueKind != JsonValueKind.Object)
        {
            return [new(null, $"the arguments of {tool.Name} must be a JSON object")];
        }

        var size = JsonMarshal.GetRawUtf8Value(arguments).Length;
        if (size > MaxBytes)
        {
            return [new(null, $"the arguments of {tool.Name} are {size:N0} bytes; the limit is {MaxBytes:N0}")];
        }

        List<ArgumentProblem>? problems = null;
        void Add(string? argument, string message) => (problems ??= []).Add(new(argument, message));

        var declared = declaredList.ToDictionary(a => a.Name, StringComparer.Ordinal);
        foreach (var property in arguments.EnumerateObject())
        {
            if (!declared.TryGetValue(property.Name, out var argument))
            {
                var hint = Suggest.Hint(property.Name, declared.Keys) is { } h ? $"; {h}" : $"; it takes: {string.Join(", ", declared.Keys)}";
                Add(property.Name, $"{tool.Name} has no argument '{property.Name}'{hint}");
            }
            else if (TypeError(argument, property.Value) is { } error)
            {
                Add(property.Name, $"'{property.Name}' of {tool.Name} {error}");
            }
        }

        foreach (var argument in declaredList.Where(a => a.Required))
        {
            if (!arguments.TryGetProperty(argument.Name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                Add(argument.Name, $"{tool.Name} needs '{argument.Name}': {argument.Description}");
            }
        }

        // Filters last, and only well-typed ones: compiled with the same fields as the workspace
        // compiles them when it plans the call. (A filter argument is a selection's filter, or the
        // new rule or condition an update_rule tool sets.)
        foreach (var argument in declaredList.Where(a => a.IsFilter))
        {
            if (arguments.TryGetProperty(argument.Name, out var value) && value.ValueKind == JsonValueKind.String
                && !FilterCompiler.TryCompile(value.GetString()!, argument.Filter!.Fields, SqlDialect.Sqlite, out _, out var error))
            {
                Add(argument.Name, argument.Name == "filter" ? $"the filter of {tool.Name} is not valid: {error}" : $"the new {argument.Name} of {tool.Name} is not a valid filter: {error}");
            }
        }

        return problems ?? (IReadOnlyList<ArgumentProblem>)[];
    }

    private static readonly JsonElement Empty = JsonDocument.Parse("{}").RootElement.Clone();

    private static string? TypeError(ToolArgument argument, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        switch (argument.Type)
        {
            case ArgumentType.String:
                if (value.ValueKind != JsonValueKind.String)
                {
                    return "must be a string";
                }

                return value.GetString()!.Length > MaxStringLength ? $"is longer than {MaxStringLength:N0} characters" : null;
            case ArgumentType.Integer:
                return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _) ? null : "must be a whole number";
            case ArgumentType.Number:
                return value.ValueKind == JsonValueKind.Number ? null : "must be a number";
            case ArgumentType.Boolean:
                return value.ValueKind is JsonValueKind.True or JsonValueKind.False ? null : "must be true or false";
            case ArgumentType.StringList:
                if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(i => i.ValueKind != JsonValueKind.String))
                {
                    return "must be a list of strings";
                }

                return value.GetArrayLength() > MaxListItems ? $"has more than {MaxListItems:N0} items" : null;
            default:
                return value.ValueKind == JsonValueKind.Object ? null : "must be an object";
        }
    }
}
