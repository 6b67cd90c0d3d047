using Warden.Storage.Engines;

namespace Warden.Storage.Gateway;

/// <summary>A change about to be applied: who, with which tool and plan, the entry the trail would get, and since when.</summary>
public sealed record IntentRecord(string Id, string Environment, string Agent, string Tool, string PlanHash, string Entry, DateTimeOffset StartedAt);

/// <summary>Changes about to be applied (settled once the trail records them), and the trail's entry for each applied action: how a restart finds what went unrecorded.</summary>
public sealed class IntentStore
{
    private readonly StoreDatabase _db;

    internal IntentStore(StoreDatabase database) => _db = database;

    /// <summary>Remembers the audit entry that records a workspace action.</summary>
    public void RememberAction(string actionId, long auditSeq) => _db.Execute(
        "INSERT INTO action_entries (action_id, audit_seq) VALUES (@id, @seq) ON CONFLICT DO NOTHING", ("@id", actionId), ("@seq", auditSeq));

    /// <summary>
    /// Writes that a change is about to be applied, before the workspace commits it; <see cref="Settle"/>
    /// removes it once the trail records it. Held until <paramref name="heldUntil"/> from the first
    /// moment, when given (<see cref="Hold"/>), so no replica can claim it in between.
    /// </summary>
    public void Intend(IntentRecord intent, DateTimeOffset? heldUntil = null) => _db.Execute(
        "INSERT INTO intents (id, environment, agent, tool, plan_hash, entry, started_at, claimed_until) VALUES (@id, @environment, @agent, @tool, @hash, @entry, @at, @until)",
        ("@id", intent.Id), ("@environment", intent.Environment), ("@agent", intent.Agent), ("@tool", intent.Tool), ("@hash", intent.PlanHash),
        ("@entry", intent.Entry), ("@at", GatewayStore.Time(intent.StartedAt)), ("@until", heldUntil is { } until ? GatewayStore.Time(until) : null));

    /// <summary>
    /// Takes an intent over to settle it, until <paramref name="until"/>: false when another
    /// (a replica) holds it now. A taker that stops lets it go when its claim runs out.
    /// </summary>
    public bool Claim(string intentId, DateTimeOffset now, DateTimeOffset until) => _db.Execute(
        "UPDATE intents SET claimed_until = @until WHERE id = @id AND (claimed_until IS NULL OR claimed_until <= @now)",
        ("@id", intentId), ("@now", GatewayStore.Time(now)), ("@until", GatewayStore.Time(until))) == 1;

    /// <summary>
    /// The replica applying the change holds its intent until <paramref name="until"/>, and renews
    /// that while the change runs: no other replica claims an intent held, so a slow change is
    /// never taken for a stopped one.
    /// </summary>
    public void Hold(string intentId, DateTimeOffset until) =>
        _db.Execute("UPDATE intents SET claimed_until = @until WHERE id = @id", ("@id", intentId), ("@until", GatewayStore.Time(until)));

    /// <summary>The trail records what the intent was about: forget it.</summary>
    public void Settle(string intentId) => _db.Execute("DELETE FROM intents WHERE id = @id", ("@id", intentId));

    /// <summary>Intents a stopped gateway left in this environment, oldest first.</summary>
    public IReadOnlyList<IntentRecord> Pending(string environment) =>
        _db.Query("SELECT id, environment, agent, tool, plan_hash, entry, started_at FROM intents WHERE environment = @environment ORDER BY started_at, id",
            r => new IntentRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.Time(6)),
            ("@environment", environment));

    /// <summary>The audit entry that records a workspace action; null when the gateway did not apply it.</summary>
    public long? ActionEntry(string actionId) => _db.Scalar("SELECT coalesce((SELECT audit_seq FROM action_entries WHERE action_id = @id), -1)", ("@id", actionId)) is var seq and >= 0 ? seq : null;
}
