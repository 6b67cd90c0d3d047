using System.Text.Json;

namespace Warden.Core;

/// <summary>A call to a governed system's tool, by an agent, in an environment.</summary>
public sealed record ToolCall(string Tool, JsonElement Arguments, string Agent, string Environment);

/// <summary>Why a governed system refused: a stable code and a sentence safe to show the caller.</summary>
public sealed record SystemError(string Code, string Message)
{
    /// <summary>
    /// The data classes of values the message may quote (a database's error names the value it
    /// failed on: <c>invalid input syntax for type integer: "ann@example.com"</c>); empty when it
    /// quotes none.
    /// </summary>
    public IReadOnlyList<string> Quotes { get; init; } = [];

    /// <summary>The message without what it may quote, for those who may not see one of <see cref="Quotes"/>.</summary>
    public string? Withheld { get; init; }

    /// <summary>The message as one who sees <paramref name="sees"/> may read it.</summary>
    public string MessageFor(IReadOnlyList<string> sees)
    {
        ArgumentNullException.ThrowIfNull(sees);
        return Withheld is not null && Quotes.Any(c => !sees.Contains(c)) ? Withheld : Message;
    }

    public static SystemError UnknownTool(string tool, string system, string? hint) =>
        new("unknown_tool", $"'{tool}' is not a {system} tool" + (hint is null ? "" : $"; {hint}"));

    public static SystemError InvalidArguments(string message) => new("invalid_arguments", message);

    public static SystemError NotFound(string message) => new("not_found", message);

    public static SystemError MatchesEverything(string message) => new("matches_everything", message);

    public static SystemError StalePlan(string message) => new("stale_plan", message);

    public static SystemError Refused(string message) => new("refused", message);

    public static SystemError Stopped(string message) => new("stopped", message);
}

/// <summary>A value or an error, never both (failure is a value, as Polly's Outcome has it).</summary>
public readonly record struct SystemResult<T>(T? Value, SystemError? Error)
    where T : class
{
    /// <summary>True when there is a value.</summary>
    public bool Succeeded => Error is null;

    /// <summary>The value; throws when there is none (a bug in the caller, not bad input).</summary>
    public T Get() => Value ?? throw new InvalidOperationException($"{Error!.Code}: {Error.Message}");

    /// <summary>A success.</summary>
    public static implicit operator SystemResult<T>(T value) => new(value, null);

    /// <summary>A failure.</summary>
    public static implicit operator SystemResult<T>(SystemError error) => new(null, error);
}

/// <summary>How many records had one value of a field before the change.</summary>
public sealed record ValueCount(string? Value, long Records);

/// <summary>What a change does to one field: how many records change, what they held, what they will hold.</summary>
public sealed record FieldChange(string Field, long Records, IReadOnlyList<ValueCount> Before, string? After);

/// <summary>One affected record, before and after (a sample shown to approvers).</summary>
public sealed record RecordChange(string Key, IReadOnlyDictionary<string, string?> Before, IReadOnlyDictionary<string, string?> After);

/// <summary>An object that reads a changed field: a segment, scoring or routing rule, audience sync or report.</summary>
public sealed record Dependent(string Kind, string Id, string Name, string Field);

/// <summary>What a send says, as approvers see it and the plan's hash binds it: the campaign, its subject and sender, the start of its content and the hash of all of it.</summary>
public sealed record SendMessage(string Campaign, string Name, string Subject, string Sender, string Preview, string ContentHash);

/// <summary>People a send or sync leaves out, and why.</summary>
public sealed record Exclusion(string Reason, long Records);

/// <summary>
/// What a call would do, found without writing anything: the affected records, the field-level
/// diff, the data classes touched, the objects that depend on the changed fields, the recipients
/// of a send, and a hash over the call and the affected set that an approval binds to.
/// </summary>
public class Plan
{
    /// <summary>A plan as a system found it; the system may keep what it needs to apply it in a subclass.</summary>
    public Plan(ToolCall call, ToolDefinition tool, string hash, string affectedHash, long records, IReadOnlyList<string> sampleKeys, IReadOnlyList<string> fieldsRead,
        IReadOnlyList<string> fieldsChanged, IReadOnlyList<string> classes, IReadOnlyList<FieldChange> changes, IReadOnlyList<RecordChange> sample,
        IReadOnlyList<Dependent> dependents, long recipients, IReadOnlyList<Exclusion> excluded, string summary, long? deleted, string? destination,
        SendMessage? message)
    {
        Deleted = deleted;
        Destination = destination;
        Message = message;
        Call = call;
        Tool = tool;
        Hash = hash;
        AffectedHash = affectedHash;
        Records = records;
        SampleKeys = sampleKeys;
        FieldsRead = fieldsRead;
        FieldsChanged = fieldsChanged;
        Classes = classes;
        Changes = changes;
        Sample = sample;
        Dependents = dependents;
        Recipients = recipients;
        Excluded = excluded;
        Summary = summary;
        Facts = new()
        {
            Records = records,
            Recipients = recipients,
            Deleted = deleted,
            Destination = destination,
            Fields = Distinct(fieldsRead, fieldsChanged),
            Classes = classes,
            External = tool.External,
            Reversible = tool.Reversibility != Reversibility.Irreversible,
        };
    }

    /// <summary>The fields read and then those changed, each once, in that order (sized once: every call is planned).</summary>
    private static IReadOnlyList<string> Distinct(IReadOnlyList<string> read, IReadOnlyList<string> changed)
    {
        var seen = new HashSet<string>(read.Count + changed.Count, StringComparer.Ordinal);
        var fields = new List<string>(read.Count + changed.Count);
        foreach (var field in read)
        {
            if (seen.Add(field))
            {
                fields.Add(field);
            }
        }

        foreach (var field in changed)
        {
            if (seen.Add(field))
            {
                fields.Add(field);
            }
        }

        return fields.Count == 0 ? [] : [.. fields];
    }

    /// <summary>The call planned.</summary>
    public ToolCall Call { get; }

    /// <summary>The tool's definition.</summary>
    public ToolDefinition Tool { get; }

    /// <summary>sha256 over the canonical call (tool and definition, arguments, agent, environment) and the affected keys.</summary>
    public string Hash { get; }

    /// <summary>sha256 over the tool and the affected keys alone: the same request in other words has the same one.</summary>
    public string AffectedHash { get; }

    /// <summary>How many records the call reads or changes.</summary>
    public long Records { get; }

    /// <summary>The first affected keys, in key order.</summary>
    public IReadOnlyList<string> SampleKeys { get; }

    /// <summary>Fields the call reads (its filter, the fields it returns), as table.field.</summary>
    public IReadOnlyList<string> FieldsRead { get; }

    /// <summary>Fields the call changes, as table.field.</summary>
    public IReadOnlyList<string> FieldsChanged { get; }

    /// <summary>Data classes of the fields read or changed.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Per changed field: totals and values before and after.</summary>
    public IReadOnlyList<FieldChange> Changes { get; }

    /// <summary>A few affected records, before and after.</summary>
    public IReadOnlyList<RecordChange> Sample { get; }

    /// <summary>Objects that read the changed fields.</summary>
    public IReadOnlyList<Dependent> Dependents { get; }

    /// <summary>People a send or sync reaches, after suppression and consent.</summary>
    public long Recipients { get; }

    /// <summary>People a send or sync leaves out, by reason.</summary>
    public IReadOnlyList<Exclusion> Excluded { get; }

    /// <summary>One sentence a person can read: what this call would do.</summary>
    public string Summary { get; }

    /// <summary>How many records the call deletes, whatever its tool is called (a merge deletes its duplicates); null when it deletes none.</summary>
    public long? Deleted { get; }

    /// <summary>Where a sync sends its audience; null for other calls.</summary>
    public string? Destination { get; }

    /// <summary>What a send says (subject, sender, content): bound into the hash, so changing it voids an approval.</summary>
    public SendMessage? Message { get; }

    /// <summary>The facts the policy decides on, derived from what the plan does (a system may add what only it knows, such as a statement's kind).</summary>
    public PlanFacts Facts { get; protected init; }
}

/// <summary>What applying a plan did: for a send stopped between batches, how far it got and why it stopped.</summary>
public sealed record AppliedAction(string ActionId, string Tool, long Records, bool Reversible, JsonElement Output)
{
    /// <summary>Why a send stopped before its last batch (the kill switch), or null when it went out whole.</summary>
    public string? Stopped { get; init; }

    /// <summary>Recipients a send reached (of <see cref="Records"/> planned); for other calls, the records written.</summary>
    public long Done { get; init; }

    /// <summary>
    /// Names in <see cref="Output"/> whose values come from fields of another name (a column a
    /// query renamed, or computed from several), with those fields: masking treats each name as
    /// those fields, with their classes as the policy gives them. Null when the output's names are
    /// the fields' own.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? OutputFields { get; init; }

    /// <summary>What the system noticed in the call's result, for the trail (text that tries to instruct the agent); empty when nothing.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>A send a stopped gateway left half-way, now ended as stopped: its action, and how many it had sent of how many it queued.</summary>
public sealed record InterruptedSend(string ActionId, long Sent, long Queued);

/// <summary>
/// How a plan is carried out, and when it stops. A send goes out in batches of
/// <see cref="BatchSize"/>, each committed as it goes (what went out cannot be called back), with
/// <see cref="Pause"/> between them and <see cref="Stop"/> asked before each after the first. A
/// write is one transaction, and <see cref="Stop"/> is asked while it runs, every
/// <see cref="CheckEvery"/> steps of SQLite's work: when it says to stop, the statement is
/// interrupted and the transaction rolled back, so nothing is written.
/// </summary>
public sealed class ApplyControl
{
    /// <summary>Recipients per batch of a send (default 500).</summary>
    public int BatchSize { get; init; } = 500;

    /// <summary>A pause between a send's batches (default none): how fast a send may go out, as mail services limit it.</summary>
    public TimeSpan Pause { get; init; }

    /// <summary>Why to stop now (a frozen agent), or null to go on. Asked often: it must be cheap.</summary>
    public Func<string?>? Stop { get; init; }

    /// <summary>How many of SQLite's virtual-machine steps a write runs between two questions to <see cref="Stop"/> (default 100,000: some milliseconds).</summary>
    public int CheckEvery { get; init; } = 100_000;
}

/// <summary>Which actions a rollback undoes: one action, or everything an agent did in a time window.</summary>
public sealed record RollbackRequest(string? ActionId = null, string? Agent = null, DateTimeOffset? From = null, DateTimeOffset? To = null);

/// <summary>A record that changed after the action being undone: restoring it would overwrite someone's work.</summary>
public sealed record RollbackConflict(string ActionId, string Table, string Key, string Reason);

/// <summary>What a rollback would do, found without writing: records to restore, conflicts, and actions that cannot be undone.</summary>
public sealed record RollbackPlan(
    RollbackRequest Request,
    IReadOnlyList<string> Actions,
    long Restorable,
    IReadOnlyList<RollbackConflict> Conflicts,
    IReadOnlyList<string> Irreversible,
    string Summary);

/// <summary>What to do with conflicting records: leave them (the default) or overwrite them anyway.</summary>
public enum ConflictResolution
{
    /// <summary>Leave records changed since the action as they are, and report them.</summary>
    Skip,
    /// <summary>Restore them anyway, overwriting the later change.</summary>
    Force,
}

/// <summary>
/// What a rollback did: the records it restored (not those it skipped, nor those already as it
/// would leave them), the conflicts it left as they are, and those it overwrote because it was
/// forced (its journal keeps what they held, so rolling the rollback back returns it).
/// </summary>
public sealed record RollbackResult(string ActionId, IReadOnlyList<string> Undone, long Restored, IReadOnlyList<RollbackConflict> Skipped, IReadOnlyList<RollbackConflict> Overwritten);
