namespace Warden.Core;

/// <summary>
/// A field of a governed system's data, as a policy names it (table.field in the workspace), with
/// its type for filters and the data classes the system itself knows it holds. A policy's
/// data_classes add to those classes; they never take one away.
/// </summary>
public sealed record SystemField(string Name, FilterFieldType Type, IReadOnlyList<string> Classes);

/// <summary>
/// What a governed system offers the policy: its tools (kinds, reversibility, arguments) and the
/// fields of its data with their classes. The policy checker, the decision engine and masking
/// read only this; none of them knows any system by name.
/// </summary>
public sealed class SystemCatalogue
{
    private readonly Dictionary<string, SystemField> _fields;

    /// <param name="system">The system's id; its tools carry it.</param>
    /// <param name="tools">Its tools.</param>
    /// <param name="fields">The fields of its data.</param>
    public SystemCatalogue(string system, IReadOnlyList<ToolDefinition> tools, IReadOnlyList<SystemField> fields)
    {
        ArgumentNullException.ThrowIfNull(tools);
        ArgumentNullException.ThrowIfNull(fields);
        if (tools.FirstOrDefault(t => t.System != system) is { } stray)
        {
            throw new ArgumentException($"tool {stray.Name} belongs to system '{stray.System}', not '{system}'", nameof(tools));
        }

        System = system;
        Tools = tools;
        Fields = fields;
        _fields = fields.ToDictionary(f => f.Name, StringComparer.Ordinal);
        FieldNames = [.. fields.Select(f => f.Name)];
    }

    /// <summary>The system's id.</summary>
    public string System { get; }

    /// <summary>Every tool, in the order the system lists them.</summary>
    public IReadOnlyList<ToolDefinition> Tools { get; }

    /// <summary>Every field, in the order the system lists them.</summary>
    public IReadOnlyList<SystemField> Fields { get; }

    /// <summary>Every field's name.</summary>
    public IReadOnlyList<string> FieldNames { get; }

    /// <summary>The field of this name, or null.</summary>
    public SystemField? Field(string name) => _fields.GetValueOrDefault(name);

    /// <summary>The classes the system itself gives a field (none for a field it does not have).</summary>
    public IReadOnlyList<string> ClassesOf(string field) => _fields.TryGetValue(field, out var known) ? known.Classes : [];
}
