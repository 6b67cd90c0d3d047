namespace Warden.Postgres;

/// <summary>A table an agent may reach, and the data classes of its columns (columns not named hold none).</summary>
/// <param name="Name">The table, as <c>table</c> (in the <c>public</c> schema) or <c>schema.table</c>.</param>
/// <param name="Classes">Data classes by column name, e.g. <c>email: [pii]</c>.</param>
public sealed record GovernedTable(string Name, IReadOnlyDictionary<string, IReadOnlyList<string>> Classes)
{
    /// <summary>A table whose columns hold no declared class.</summary>
    public GovernedTable(string name)
        : this(name, new Dictionary<string, IReadOnlyList<string>>())
    {
    }
}

/// <summary>How Warden reaches and governs one PostgreSQL database.</summary>
public sealed record PostgresOptions
{
    /// <summary>The system's id: its tools are <c>ID.query</c>, <c>ID.execute</c>, <c>ID.describe</c>.</summary>
    public required string Id { get; init; }

    /// <summary>The connection string Warden uses (never shown to an agent). Its role needs no more than the governed tables.</summary>
    public required string ConnectionString { get; init; }

    /// <summary>The tables an agent may reach; every other relation is invisible.</summary>
    public required IReadOnlyList<GovernedTable> Tables { get; init; }

    /// <summary>Where Warden journals before-images: a SQLite file in its data folder, never in the governed database.</summary>
    public required string JournalPath { get; init; }

    /// <summary>
    /// Where the journal is when Warden's state is in PostgreSQL, shared by replicas: that store,
    /// in the system's own schema for this environment. <see cref="JournalPath"/> is not used then.
    /// </summary>
    public (Warden.Storage.Engines.StoreLocation Store, string Environment)? SharedJournal { get; init; }

    /// <summary>The most rows a query returns (default 1,000); more are cut and the answer says so.</summary>
    public int RowCap { get; init; } = 1000;

    /// <summary>How long one statement may run (default 10 s).</summary>
    public TimeSpan StatementTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a statement waits for a lock before it gives up (default 2 s).</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The longest statement accepted, in characters (default, and at most, the 20,000 any tool argument may have).</summary>
    public int MaxStatementLength { get; init; } = 20_000;

    /// <summary>
    /// More classes of a field, named ID.table.column, than <see cref="GovernedTable.Classes"/>
    /// gives: the policy's data_classes, when a gateway governs the database.
    /// </summary>
    public Func<string, IReadOnlyList<string>>? ClassesOf { get; init; }

    /// <summary>
    /// The most rows one statement may change (default 250,000). Every changed row is held in
    /// memory to be previewed, hashed and journaled, so a larger change is refused, saying so,
    /// rather than exhausting the gateway; it can be split.
    /// </summary>
    public int MaxChangedRows { get; init; } = 250_000;

    /// <summary>
    /// The most bytes of row images (JSON, in UTF-8) one action may journal (default 600,000,000):
    /// an action's images are one document, read back whole to undo it (at most 2 GB), so a change
    /// of fewer rows than <see cref="MaxChangedRows"/> but very wide ones is refused too.
    /// </summary>
    public long MaxJournaledBytes { get; init; } = 600_000_000;

    /// <summary>How many affected rows a plan shows before and after (default 5).</summary>
    public int SampleSize { get; init; } = 5;

    /// <summary>
    /// How many calls are planned at once (default four per processor, at least 8); more wait
    /// their turn without holding a thread. Planning reads the database synchronously, and 200
    /// agents planning at once otherwise held 200 pool threads waiting for connections, which
    /// starved the rest of the gateway (its HTTP answers and timers) for seconds.
    /// </summary>
    public int PlanningSlots { get; init; } = Math.Max(8, Environment.ProcessorCount * 4);
}
