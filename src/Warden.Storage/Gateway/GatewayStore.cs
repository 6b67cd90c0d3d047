using System.Globalization;

namespace Warden.Storage.Gateway;

/// <summary>
/// The gateway's own state in one SQLite file (<see cref="GatewayDatabase"/>), as the stores that
/// keep it: approval requests and votes, frozen agents, usage, activations, intents and the entries
/// of actions, incidents, the notification outbox, and people's console accounts.
/// </summary>
public sealed class GatewayStore : IDisposable
{
    private readonly GatewayDatabase _database;

    private GatewayStore(GatewayDatabase database)
    {
        _database = database;
        Approvals = new ApprovalStore(database);
        Freezes = new FreezeStore(database);
        Usage = new UsageStore(database);
        Activations = new ActivationStore(database);
        Intents = new IntentStore(database);
        Incidents = new IncidentStore(database);
        Outbox = new Outbox(database);
        People = new PersonAccounts(database);
    }

    /// <summary>Opens (creating when needed) the store at <paramref name="path"/>, readable by its owner only (it names people and holds their approvals).</summary>
    /// <exception cref="InvalidOperationException">The file is damaged or is not a gateway store; the message says which file.</exception>
    public static GatewayStore Open(string path) => new(GatewayDatabase.Open(path));

    public ApprovalStore Approvals { get; }

    public FreezeStore Freezes { get; }

    public UsageStore Usage { get; }

    public ActivationStore Activations { get; }

    public IntentStore Intents { get; }

    public IncidentStore Incidents { get; }

    public Outbox Outbox { get; }

    /// <summary>People's console passwords and sessions.</summary>
    public PersonAccounts People { get; }

    /// <summary>Times as the store writes them: UTC, milliseconds, sortable as text.</summary>
    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public void Dispose() => _database.Dispose();
}
