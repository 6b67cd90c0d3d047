using System.Text.Json;
using Warden.Core;

namespace Warden.Workspace.Tools;

/// <summary>
/// Checks a call's arguments against the tool's declared arguments (<see cref="ToolDefinition.CheckArguments"/>)
/// and reads them. Every problem is a sentence naming the argument.
/// </summary>
internal sealed class ArgumentReader
{
    private static readonly JsonElement Empty = JsonDocument.Parse("{}").RootElement.Clone();

    private readonly JsonElement _arguments;

    private ArgumentReader(JsonElement arguments) => _arguments = arguments;

    public static SystemResult<ArgumentReader> Read(ToolDefinition tool, JsonElement arguments)
    {
        // The catalogue's check, which policy tests run on their cases too.
        if (tool.CheckArguments(arguments) is [var problem, ..])
        {
            return SystemError.InvalidArguments(problem.Message);
        }

        // No workspace text holds a NUL: PostgreSQL refuses one in text, and SQLite stores it where C reads the value short.
        if (NulAt(arguments, "") is { } where)
        {
            return SystemError.InvalidArguments($"'{where}' of {tool.Name} holds a NUL character (\\u0000), which no workspace text may hold");
        }

        return new ArgumentReader(arguments.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null ? Empty : arguments);
    }

    /// <summary>Where the first string or property name holding a NUL is (e.g. set.job_title, ids[0]); null when none does.</summary>
    private static string? NulAt(JsonElement value, string path)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String when value.GetString()!.Contains('\0', StringComparison.Ordinal):
                return path;
            case JsonValueKind.Object:
                foreach (var property in value.EnumerateObject())
                {
                    var at = path.Length == 0 ? property.Name : $"{path}.{property.Name}";
                    if (property.Name.Contains('\0', StringComparison.Ordinal))
                    {
                        return at;
                    }

                    if (NulAt(property.Value, at) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in value.EnumerateArray())
                {
                    if (NulAt(item, $"{path}[{index++}]") is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            default:
                return null;
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
