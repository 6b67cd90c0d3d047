using Warden.Storage.Engines;

namespace Warden.Storage.Gateway;

/// <summary>Where an incident stands: open, acknowledged by one of its people, or resolved. Stored and shown as its lower-case word.</summary>
public enum IncidentStatus
{
    /// <summary>Opened by a guard; nobody has answered yet.</summary>
    Open,
    /// <summary>One of the people it is routed to has seen it.</summary>
    Acknowledged,
    /// <summary>Closed.</summary>
    Resolved,
}

/// <summary>An incident opened by a guard, routed to a use case's owners.</summary>
public sealed record IncidentRecord(
    string Id, IncidentStatus Status, string UseCase, string? Agent, string Kind, string Summary, IReadOnlyList<string> Owners, DateTimeOffset OpenedAt,
    string? AcknowledgedBy, string? ResolvedBy);

/// <summary>Incidents opened by guards, and their steps: open, acknowledged, resolved.</summary>
public sealed class IncidentStore
{
    private readonly StoreDatabase _db;

    internal IncidentStore(StoreDatabase database) => _db = database;

    public void Open(IncidentRecord incident) => _db.Execute(
        "INSERT INTO incidents (id, status, use_case, agent, kind, summary, owners, opened_at) VALUES (@id, 'open', @use_case, @agent, @kind, @summary, @owners, @at)",
        ("@id", incident.Id), ("@use_case", incident.UseCase), ("@agent", incident.Agent), ("@kind", incident.Kind), ("@summary", incident.Summary),
        ("@owners", System.Text.Json.JsonSerializer.Serialize(incident.Owners)), ("@at", GatewayStore.Time(incident.OpenedAt)));

    /// <summary>The status as stored and shown: open, acknowledged, resolved.</summary>
    public static string Word(IncidentStatus status) => status.ToString().ToLowerInvariant();

    /// <summary>The status a word names, or null.</summary>
    public static IncidentStatus? Parse(string word) => Enum.GetValues<IncidentStatus>().Cast<IncidentStatus?>().FirstOrDefault(s => Word(s!.Value) == word);

    /// <summary>Incidents with this status (all when null), newest first.</summary>
    public IReadOnlyList<IncidentRecord> List(IncidentStatus? status = null)
    {
        const string Columns = "SELECT id, status, use_case, agent, kind, summary, owners, opened_at, acknowledged_by, resolved_by FROM incidents";
        (string, object?)[] parameters = status is { } wanted ? [("@status", Word(wanted))] : [];
        return _db.Query(status is null ? $"{Columns} ORDER BY opened_at DESC" : $"{Columns} WHERE status = @status ORDER BY opened_at DESC",
            r => new IncidentRecord(r.GetString(0),
                Parse(r.GetString(1)) ?? throw new InvalidDataException($"incident {r.GetString(0)} has the unknown status '{r.GetString(1)}'"), r.GetString(2), r.NullableString(3),
                r.GetString(4), r.GetString(5), System.Text.Json.JsonSerializer.Deserialize<List<string>>(r.GetString(6)) ?? [], r.Time(7), r.NullableString(8), r.NullableString(9)),
            parameters);
    }

    /// <summary>Moves an incident on: acknowledged (from open) or resolved (from open or acknowledged); false when it cannot.</summary>
    public bool Advance(string id, IncidentStatus status, string person, DateTimeOffset at) => status switch
    {
        IncidentStatus.Acknowledged => _db.Execute("UPDATE incidents SET status = 'acknowledged', acknowledged_by = @p, acknowledged_at = @at WHERE id = @id AND status = 'open'",
            ("@id", id), ("@p", person), ("@at", GatewayStore.Time(at))) == 1,
        IncidentStatus.Resolved => _db.Execute("UPDATE incidents SET status = 'resolved', resolved_by = @p, resolved_at = @at WHERE id = @id AND status <> 'resolved'",
            ("@id", id), ("@p", person), ("@at", GatewayStore.Time(at))) == 1,
        _ => throw new ArgumentException($"an incident is acknowledged or resolved, not {Word(status)}", nameof(status)),
    };
}
