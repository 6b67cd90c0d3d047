using System.Runtime.InteropServices;
using System.Text.Json;
using Warden.Core;

namespace Warden.Workspace.Tools;

/// <summary>
/// Checks a call's arguments against the tool's declared arguments (the same list its JSON Schema
/// is made from) and reads them. Every problem is a sentence naming the argument.
/// </summary>
internal sealed class ArgumentReader
{
    public const int MaxBytes = 1024 * 1024;
    public const int MaxListItems = 100_000;
    public const int MaxStringLength = 20_000;

    private readonly JsonElement _arguments;

    private ArgumentReader(JsonElement arguments) => _arguments = arguments;

    public static WorkspaceResult<ArgumentReader> Read(ToolDefinition tool, JsonElement arguments)
    {
        if (arguments.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            arguments = JsonDocument.Parse("{}").RootElement;
        }

        if (arguments.ValueKind != JsonValueKind.Object)
        {
            return WorkspaceError.InvalidArguments($"the arguments of {tool.Name} must be a JSON object");
        }

        var size = JsonMarshal.GetRawUtf8Value(arguments).Length;
        if (size > MaxBytes)
        {
            return WorkspaceError.InvalidArguments($"the arguments of {tool.Name} are {size:N0} bytes; the limit is {MaxBytes:N0}");
        }

        var declared = (tool.Arguments ?? []).ToDictionary(a => a.Name, StringComparer.Ordinal);
        foreach (var property in arguments.EnumerateObject())
        {
            if (!declared.TryGetValue(property.Name, out var argument))
            {
                var hint = Core.Diagnostics.Suggest.Hint(property.Name, declared.Keys) is { } h ? $"; {h}" : $"; it takes: {string.Join(", ", declared.Keys)}";
                return WorkspaceError.InvalidArguments($"{tool.Name} has no argument '{property.Name}'{hint}");
            }

            if (TypeError(argument, property.Value) is { } error)
            {
                return WorkspaceError.InvalidArguments($"'{property.Name}' of {tool.Name} {error}");
            }
        }

        foreach (var argument in declared.Values.Where(a => a.Required))
        {
            if (!arguments.TryGetProperty(argument.Name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return WorkspaceError.InvalidArguments($"{tool.Name} needs '{argument.Name}': {argument.Description}");
            }
        }

        return new ArgumentReader(arguments);
    }

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

    public bool Has(string name) => _arguments.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    public string? String(string name) => Has(name) ? _arguments.GetProperty(name).GetString() : null;

    public long? Integer(string name) => Has(name) ? _arguments.GetProperty(name).GetInt64() : null;

    public bool Boolean(string name) => Has(name) && _arguments.GetProperty(name).GetBoolean();

    public IReadOnlyList<string>? Strings(string name) =>
        Has(name) ? [.. _arguments.GetProperty(name).EnumerateArray().Select(i => i.GetString()!)] : null;

    public JsonElement? Object(string name) => Has(name) ? _arguments.GetProperty(name) : null;

    public JsonElement Raw => _arguments;
}
