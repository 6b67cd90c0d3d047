using Warden.Storage.Engines;

namespace Warden.Storage.Gateway;

/// <summary>A notification in the outbox: what, for whom, and how its delivery goes.</summary>
public sealed record OutboxMessage(long Id, DateTimeOffset CreatedAt, string Kind, IReadOnlyList<string> Recipients, string Payload, int Attempts,
    DateTimeOffset NextAttemptAt, string? LastError, DateTimeOffset? DeliveredAt);

/// <summary>Notifications waiting to be delivered to the webhook, with their attempts.</summary>
public sealed class Outbox
{
    private readonly StoreDatabase _db;

    internal Outbox(StoreDatabase database) => _db = database;

    public void Enqueue(string kind, IReadOnlyList<string> recipients, string payload, DateTimeOffset at) => _db.Execute(
        "INSERT INTO outbox (created_at, kind, recipients, payload, next_attempt_at) VALUES (@at, @kind, @recipients, @payload, @at)",
        ("@at", GatewayStore.Time(at)), ("@kind", kind), ("@recipients", System.Text.Json.JsonSerializer.Serialize(recipients)), ("@payload", payload));

    /// <summary>Undelivered messages due by <paramref name="now"/>, oldest first.</summary>
    public IReadOnlyList<OutboxMessage> Due(DateTimeOffset now, int limit = 50) =>
        Messages("WHERE delivered_at IS NULL AND next_attempt_at <= @now ORDER BY id LIMIT @limit", ("@now", GatewayStore.Time(now)), ("@limit", limit));

    /// <summary>Messages not delivered yet, with their attempts and last error; or every message, newest first.</summary>
    public IReadOnlyList<OutboxMessage> Messages(bool undeliveredOnly, int limit = 200) => undeliveredOnly
        ? Messages("WHERE delivered_at IS NULL ORDER BY id DESC LIMIT @limit", ("@limit", limit))
        : Messages("ORDER BY id DESC LIMIT @limit", ("@limit", limit));

    /// <summary>
    /// Takes a due message for sending until <paramref name="leaseUntil"/>: false when another
    /// sender (another replica) took it first. A sender that dies with it leaves it due again then.
    /// </summary>
    public bool Claim(OutboxMessage message, DateTimeOffset leaseUntil)
    {
        ArgumentNullException.ThrowIfNull(message);
        return _db.Execute("UPDATE outbox SET next_attempt_at = @lease WHERE id = @id AND next_attempt_at = @seen AND delivered_at IS NULL",
            ("@id", message.Id), ("@seen", GatewayStore.Time(message.NextAttemptAt)), ("@lease", GatewayStore.Time(leaseUntil))) == 1;
    }

    public void Delivered(long id, DateTimeOffset at) =>
        _db.Execute("UPDATE outbox SET delivered_at = @at, attempts = attempts + 1, last_error = NULL WHERE id = @id", ("@id", id), ("@at", GatewayStore.Time(at)));

    public void Failed(long id, string error, DateTimeOffset retryAt) =>
        _db.Execute("UPDATE outbox SET attempts = attempts + 1, last_error = @error, next_attempt_at = @retry WHERE id = @id", ("@id", id), ("@error", error), ("@retry", GatewayStore.Time(retryAt)));

    private List<OutboxMessage> Messages(string where, params (string Name, object? Value)[] parameters) => _db.Query(
        $"SELECT id, created_at, kind, recipients, payload, attempts, next_attempt_at, last_error, delivered_at FROM outbox {where}",
        r => new OutboxMessage(r.GetInt64(0), r.Time(1), r.GetString(2), System.Text.Json.JsonSerializer.Deserialize<List<string>>(r.GetString(3)) ?? [], r.GetString(4),
            r.GetInt32(5), r.Time(6), r.NullableString(7), r.NullableTime(8)),
        parameters);
}
