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

        return new ArgumentReader(arguments.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null ? Empty : arguments);
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
