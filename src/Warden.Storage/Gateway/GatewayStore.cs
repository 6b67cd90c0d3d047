using Warden.Storage.Engines;

namespace Warden.Storage.Gateway;

/// <summary>
/// The gateway's own state, as the stores that keep it: approval requests and votes, frozen agents,
/// usage, activations, intents and the entries of actions, incidents, the notification outbox, and
/// people's console accounts. In a SQLite file in the data folder (one gateway), or in a PostgreSQL
/// database that several gateway replicas share.
/// </summary>
public sealed class GatewayStore : IDisposable
{
    /// <summary>The store's name in the migrations (<c>Migrations/ENGINE/gateway</c>).</summary>
    public const string Component = "gateway";

    private readonly StoreDatabase _database;

    private GatewayStore(StoreDatabase database)
    {
        _database = database;
        Approvals = new ApprovalStore(database);
        Freezes = new FreezeStore(database);
        Usage = new UsageStore(database);
        Rates = database.Engine == StoreEngine.Postgres ? new AgentRates(database) : null;
        Activations = new ActivationStore(database);
        Intents = new IntentStore(database);
        Incidents = new IncidentStore(database);
        Outbox = new Outbox(database);
        People = new PersonAccounts(database);
    }

    /// <summary>Opens (creating when needed) the store in the SQLite file at <paramref name="path"/>, readable by its owner only (it names people and holds their approvals).</summary>
    /// <exception cref="InvalidOperationException">The file is damaged or is not a gateway store; the message says which file.</exception>
    public static GatewayStore Open(string path) => Open(StoreLocation.Sqlite(path), migrate: true);

    /// <summary>
    /// Opens the store where <paramref name="location"/> says. A SQLite file is brought up to this
    /// build's schema as it opens; a PostgreSQL database, shared by replicas, only with
    /// <paramref name="migrate"/> (<c>warden db migrate</c>, or <c>serve --migrate</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">It cannot be opened, is not a gateway store, is behind this build and may not be migrated, or is ahead of it.</exception>
    public static GatewayStore Open(StoreLocation location, bool migrate)
    {
        ArgumentNullException.ThrowIfNull(location);
        var database = StoreMigrations.OpenDatabase(location, "gateway store");
        try
        {
            if (migrate || database.Engine == StoreEngine.Sqlite)
            {
                Migrate(database);
            }
            else if (Migrations.Pending(database, Component) is { Count: > 0 } pending)
            {
                throw new InvalidOperationException(
                    $"the gateway store {database.Shown} is not at this build's schema ({pending.Count} step(s) to apply, from {pending[0].Version:D4} {pending[0].Name}): run `warden db migrate --store ...`, or start with --migrate");
            }

            return new GatewayStore(database);
        }
        catch (System.Data.Common.DbException e)
        {
            database.Dispose();
            throw new InvalidOperationException($"the gateway store {database.Shown} cannot be opened ({e.Message.Split('\n')[0].TrimEnd('.')}): it is damaged or is not a Warden gateway store", e);
        }
        catch
        {
            database.Dispose();
            throw;
        }
    }

    /// <summary>The engine the store is on.</summary>
    public StoreEngine Engine => _database.Engine;

    public ApprovalStore Approvals { get; }

    public FreezeStore Freezes { get; }

    public UsageStore Usage { get; }

    /// <summary>Agents' request rates, shared by the replicas of a PostgreSQL store; null on SQLite, where one gateway counts them in memory.</summary>
    public AgentRates? Rates { get; }

    public ActivationStore Activations { get; }

    public IntentStore Intents { get; }

    public IncidentStore Incidents { get; }

    public Outbox Outbox { get; }

    /// <summary>People's console passwords and sessions.</summary>
    public PersonAccounts People { get; }

    /// <summary>
    /// Holds named locks (taken in the order given) until disposed: within this gateway, and on
    /// PostgreSQL across every replica, so that a budget's check and its count are not interleaved
    /// with another call's anywhere.
    /// </summary>
    public Task<IDisposable> HoldAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        return _database.HoldAsync(keys, cancellationToken);
    }

    /// <summary>Times as the store writes them: UTC, milliseconds, sortable as text.</summary>
    public static string Time(DateTimeOffset time) => StoreDatabase.Time(time);

    public void Dispose() => _database.Dispose();

    /// <summary>Brings the store up to this build's schema; returns the steps applied.</summary>
    internal static IReadOnlyList<Migration> Migrate(StoreDatabase database)
    {
        if (database.Engine == StoreEngine.Sqlite)
        {
            UpgradeUnversioned(database);
        }

        return Migrations.Apply(database, Component, DateTimeOffset.UtcNow);
    }

    /// <summary>
    /// A SQLite store written before migrations were versioned has the tables, perhaps without the
    /// columns added since: they are added before the first step (which creates only what is missing).
    /// </summary>
    private static void UpgradeUnversioned(StoreDatabase database) => database.Use(session =>
    {
        bool Lacks(string table, string column) =>
            session.Scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = @table", ("@table", table)) == 1
            && session.Scalar($"SELECT count(*) FROM pragma_table_info('{table}') WHERE name = @column", ("@column", column)) == 0;

        if (Lacks("usage", "person"))
        {
            // Usage counted before budgets per person was on nobody's behalf, as far as they go.
            session.Execute("ALTER TABLE usage ADD COLUMN person TEXT");
        }

        if (Lacks("console_sessions", "last_seen"))
        {
            session.Execute("ALTER TABLE console_sessions ADD COLUMN last_seen TEXT");
        }

        return 0;
    });
}
