using System.Text.Json;
using Warden.Core;
using Warden.Workspace.Journal;

namespace Warden.Workspace.Tools;

/// <summary>One tool of the catalogue: checks its arguments and prepares the change they ask for.</summary>
internal abstract class WorkspaceTool(string name)
{
    public ToolDefinition Definition { get; } = WorkspaceCatalogue.Tools.Single(t => t.Name == name);

    public string Name => Definition.Name;

    public abstract SystemResult<Change> Prepare(ArgumentReader args, ToolContext context);
}

/// <summary>Everything a plan shows besides the affected keys, which the planner reads from <see cref="Change.Keys"/>.</summary>
internal sealed record PlanDetails(
    IReadOnlyList<string> FieldsRead,
    IReadOnlyList<string> FieldsChanged,
    IReadOnlyList<FieldChange> Changes,
    IReadOnlyList<RecordChange> Sample,
    string Summary,
    long Recipients = 0,
    IReadOnlyList<Exclusion>? Excluded = null)
{
    /// <summary>Records the change deletes (soft or for good), whatever the tool is called; null when it deletes none.</summary>
    public long? Deleted { get; init; }

    /// <summary>Classes the change touches by what it does, whatever the policy's data_classes say (consent for anything that decides who may be reached).</summary>
    public IReadOnlyList<string> Classes { get; init; } = [];

    /// <summary>Where a sync sends its audience.</summary>
    public string? Destination { get; init; }

    /// <summary>What a send says: bound into the plan's hash.</summary>
    public SendMessage? Message { get; init; }
}

/// <summary>
/// A prepared change: the keys it affects (in key order, streamed, so the plan hash covers the
/// exact set), a description for the plan, and the write itself, journaled. A read is a change
/// that writes nothing and returns data.
/// </summary>
internal abstract class Change
{
    public abstract IEnumerable<string> Keys(ToolContext context);

    public virtual SystemError? Check(ToolContext context, long records) => null;

    public abstract PlanDetails Describe(ToolContext context, long records);

    /// <summary>Objects affected beyond those that read a changed field (e.g. the syncs of a segment).</summary>
    public virtual IEnumerable<Dependent> MoreDependents(ToolContext context) => [];

    public abstract JsonElement Write(ToolContext context, ActionJournal journal);

    /// <summary>
    /// What goes out besides the affected keys and the arguments, read when planning and again
    /// when applying and bound into the plan's hash: a send's subject, sender and content, which
    /// can change after the call was approved. Null when there is nothing more.
    /// </summary>
    public virtual string? Binding(ToolContext context) => null;

    public virtual bool IsRead => false;

    public virtual JsonElement Read(ToolContext context) => throw new InvalidOperationException("not a read");

    protected static JsonElement Output(object value) => JsonSerializer.SerializeToElement(value, OutputOptions);

    private static readonly JsonSerializerOptions OutputOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}

/// <summary>The value "now", resolved when the change is written rather than when it was planned.</summary>
internal sealed class Now
{
    public static readonly Now Value = new();

    private Now()
    {
    }

    public override string ToString() => "(the time of writing)";
}
