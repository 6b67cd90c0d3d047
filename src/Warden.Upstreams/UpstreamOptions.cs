using Microsoft.Extensions.Logging;
using Warden.Core;

namespace Warden.Upstreams;

/// <summary>How Warden governs one upstream MCP server in one environment.</summary>
public sealed class UpstreamOptions
{
    /// <summary>The system's id in the policy; its tools are named ID.TOOL.</summary>
    public required string Id { get; init; }

    /// <summary>The environment the gateway runs in.</summary>
    public required string Environment { get; init; }

    /// <summary>How to reach the server: a command (stdio) or a url (Streamable HTTP), with references to the credentials only Warden holds.</summary>
    public required UpstreamEndpoint Endpoint { get; init; }

    /// <summary>Turns a reference (env:NAME, file:/path, secret:NAME) into its value, or null when it points at nothing.</summary>
    public required Func<string, string?> Resolve { get; init; }

    /// <summary>The policy's annotations of this server's tools (named ID.TOOL); any other tool it offers is governed as unannotated.</summary>
    public IReadOnlyList<ToolDefinition> Annotated { get; init; } = [];

    /// <summary>Where the pins of its tools and its journal are kept (DATA/systems/ENV/ID.db).</summary>
    public required string PinPath { get; init; }

    /// <summary>
    /// Where the pins and the journal are when Warden's state is in PostgreSQL, shared by replicas:
    /// that store, in the upstream's own schema for <see cref="Environment"/>. <see cref="PinPath"/> is not used then.
    /// </summary>
    public Warden.Storage.Engines.StoreLocation? SharedStore { get; init; }

    /// <summary>How long one call may take (default 30 s): past it the agent is told the server did not answer.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long starting or reaching the server may take (default 15 s).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How old the server's tool list may be before a call lists its tools again, to catch a changed description (default 1 min; zero: before every call).</summary>
    public TimeSpan RelistAfter { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How many times the server may be started (or reconnected) within <see cref="RestartWindow"/> (default 3).</summary>
    public int MaxRestarts { get; init; } = 3;

    /// <summary>The window <see cref="MaxRestarts"/> counts in (default 1 min).</summary>
    public TimeSpan RestartWindow { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How many failures in a row (down, timed out) open the breaker (default 3).</summary>
    public int BreakAfter { get; init; } = 3;

    /// <summary>How long an open breaker refuses calls without trying the server (default 30 s).</summary>
    public TimeSpan BreakFor { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>True when the agent may not see one of these data classes: the result's values at paths of such classes are masked.</summary>
    public Func<string, IReadOnlyList<string>, bool> Hidden { get; init; } = (_, classes) => classes.Count > 0;

    /// <summary>The data classes of one of this server's fields, named ID.FIELD (for a SQL tool, ID.TABLE.COLUMN): those the policy gives it.</summary>
    public Func<string, IReadOnlyList<string>> ClassesOf { get; init; } = _ => [];

    /// <summary>Told of each attempt to reach the server, each restart and each changed tool, for the audit trail.</summary>
    public Func<UpstreamEvent, Task>? Report { get; init; }

    /// <summary>Classifies a SQL tool's statement (with PostgreSQL, through a connection Warden holds); null when the server has no SQL tools. The upstream closes it.</summary>
    public ISqlClassifier? Sql { get; init; }

    /// <summary>The largest answer passed on to an agent, in bytes of JSON (default 1 MiB): a larger read is refused, a larger write's answer withheld.</summary>
    public int MaxResultBytes { get; init; } = 1 << 20;

    /// <summary>True when text in results that tries to instruct the agent is withheld from it; it is flagged in the trail either way.</summary>
    public bool WithholdInstructions { get; init; }

    /// <summary>Where the MCP client logs.</summary>
    public ILoggerFactory? Logging { get; init; }
}

/// <summary>Classifies the statements of a database server's SQL tool, as Warden's own database system does.</summary>
public interface ISqlClassifier : IAsyncDisposable
{
    /// <summary>The statement's kind, tables, WHERE and estimated rows; an error when it cannot be classified (and then nothing is sent).</summary>
    Task<SystemResult<ClassifiedSql>> ClassifyAsync(string sql, CancellationToken cancellationToken);
}

/// <summary>A SQL tool's statement as PostgreSQL classified it: its kind, tables and WHERE, and the planner's estimate of the rows it reaches.</summary>
public sealed record ClassifiedSql(StatementFacts Statement, long EstimatedRows)
{
    /// <summary>The columns the statement reads, as table.column.</summary>
    public IReadOnlyList<string> Columns { get; init; } = [];

    /// <summary>Each label of the statement's result with the columns (table.column) its values may come from.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Outputs { get; init; } = new Dictionary<string, IReadOnlyList<string>>();
}

/// <summary>Something that happened between Warden and an upstream server: a connection, a restart, a failed call, a changed tool.</summary>
/// <param name="System">The upstream's id.</param>
/// <param name="Tool">The tool concerned (ID.TOOL), if any.</param>
/// <param name="What">What happened, in a sentence.</param>
/// <param name="Outcome">ok, error, timeout, blocked or accepted.</param>
public sealed record UpstreamEvent(string System, string? Tool, string What, string Outcome);
