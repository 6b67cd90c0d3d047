using System.Globalization;
using Microsoft.Data.Sqlite;

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
    private readonly GatewayDatabase _db;

    internal IncidentStore(GatewayDatabase database) => _db = database;

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
        lock (_db.Sync)
        {
            using var command = _db.Command(status is null
                ? "SELECT id, status, use_case, agent, kind, summary, owners, opened_at, acknowledged_by, resolved_by FROM incidents ORDER BY opened_at DESC"
                : "SELECT id, status, use_case, agent, kind, summary, owners, opened_at, acknowledged_by, resolved_by FROM incidents WHERE status = @status ORDER BY opened_at DESC",
                ("@status", status is { } wanted ? Word(wanted) : null));
            using var reader = command.ExecuteReader();
            var incidents = new List<IncidentRecord>();
            while (reader.Read())
            {
                incidents.Add(new IncidentRecord(reader.GetString(0),
                    Parse(reader.GetString(1)) ?? throw new InvalidDataException($"incident {reader.GetString(0)} has the unknown status '{reader.GetString(1)}'"), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.GetString(4), reader.GetString(5), System.Text.Json.JsonSerializer.Deserialize<List<string>>(reader.GetString(6)) ?? [],
                    GatewayDatabase.Parse(reader.GetString(7)), reader.IsDBNull(8) ? null : reader.GetString(8), reader.IsDBNull(9) ? null : reader.GetString(9)));
            }

            return incidents;
        }
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
