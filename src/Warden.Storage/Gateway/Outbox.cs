using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Warden.Storage.Gateway;

/// <summary>A notification in the outbox: what, for whom, and how its delivery goes.</summary>
public sealed record OutboxMessage(long Id, DateTimeOffset CreatedAt, string Kind, IReadOnlyList<string> Recipients, string Payload, int Attempts,
    DateTimeOffset NextAttemptAt, string? LastError, DateTimeOffset? DeliveredAt);

/// <summary>Notifications waiting to be delivered to the webhook, with their attempts.</summary>
public sealed class Outbox
{
    private readonly GatewayDatabase _db;

    internal Outbox(GatewayDatabase database) => _db = database;

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

    public void Delivered(long id, DateTimeOffset at) =>
        _db.Execute("UPDATE outbox SET delivered_at = @at, attempts = attempts + 1, last_error = NULL WHERE id = @id", ("@id", id), ("@at", GatewayStore.Time(at)));

    public void Failed(long id, string error, DateTimeOffset retryAt) =>
        _db.Execute("UPDATE outbox SET attempts = attempts + 1, last_error = @error, next_attempt_at = @retry WHERE id = @id", ("@id", id), ("@error", error), ("@retry", GatewayStore.Time(retryAt)));

    private List<OutboxMessage> Messages(string where, params (string Name, object? Value)[] parameters)
    {
        lock (_db.Sync)
        {
            using var command = _db.Command($"SELECT id, created_at, kind, recipients, payload, attempts, next_attempt_at, last_error, delivered_at FROM outbox {where}", parameters);
            using var reader = command.ExecuteReader();
            var messages = new List<OutboxMessage>();
            while (reader.Read())
            {
                messages.Add(new OutboxMessage(reader.GetInt64(0), GatewayDatabase.Parse(reader.GetString(1)), reader.GetString(2),
                    System.Text.Json.JsonSerializer.Deserialize<List<string>>(reader.GetString(3)) ?? [], reader.GetString(4), reader.GetInt32(5),
                    GatewayDatabase.Parse(reader.GetString(6)), reader.IsDBNull(7) ? null : reader.GetString(7), reader.IsDBNull(8) ? null : GatewayDatabase.Parse(reader.GetString(8))));
            }

            return messages;
        }
    }
}
