using Microsoft.Extensions.Logging;
using System.Text;
using System.Text.Json.Nodes;
using Warden.Gateway.Approvals;
using Warden.Storage.Gateway;

namespace Warden.Gateway.Notifications;

/// <summary>
/// Tells people what waits for them, through a durable outbox: a message is stored when a call is
/// held or an incident opens, and a background sender posts it to the webhook (a Slack-compatible
/// body: "text" for people, "warden" for machines). A failed post is retried with growing pauses,
/// and an undelivered message stays visible with its last error (GET /api/notifications,
/// /api/health). Without a webhook nothing is stored.
/// </summary>
internal sealed class Notifier : IDisposable
{
    private readonly PolicyInForce _policies;
    private readonly GatewayStore _store;
    private readonly TimeProvider _clock;
    private readonly ILogger _log;
    private readonly Uri? _webhook;
    private readonly HttpClient _http;
    private ITimer? _sender;
    private int _sending;

    private readonly GatewayOptions _options;

    public Notifier(PolicyInForce policies, GatewayOptions options, GatewayStore store, HttpMessageHandler? handler = null)
    {
        _policies = policies;
        _store = store;
        _options = options;
        _clock = options.Clock;
        _log = options.Logging.CreateLogger<Notifier>();
        _webhook = options.WebhookUrl is { } url ? new Uri(url) : null;
        _http = handler is null ? new HttpClient { Timeout = TimeSpan.FromSeconds(10) } : new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>Starts sending what is due to the webhook every two seconds; called once the gateway has opened, so a failed open leaves no timer running.</summary>
    public void Start()
    {
        if (_webhook is not null)
        {
            _sender ??= _clock.CreateTimer(_ => _ = SendDueAsync(CancellationToken.None), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        }
    }

    /// <summary>The pause before the next try after <paramref name="attempts"/> failed ones: 10 s, 30 s, 90 s, ... at most an hour.</summary>
    public static TimeSpan Backoff(int attempts) => TimeSpan.FromSeconds(Math.Min(3600, 10 * Math.Pow(3, Math.Max(0, attempts - 1))));

    public void ApprovalRequested(ApprovalRecord record, IReadOnlyList<string> approvers, string summary)
    {
        var policy = _policies.Current;
        var useCase = policy.FindUseCase(record.UseCase);
        var owners = useCase is null ? [] : new[] { useCase.Owners.Business, useCase.Owners.Technical, useCase.Owners.Data, useCase.Owners.Risk };
        Enqueue("approval_requested", [.. approvers.Concat(owners).Distinct()],
            $"{record.Agent} asks to run {record.Tool}: {summary} Waiting for {string.Join(", ", approvers.Select(policy.Who))} until {GatewayStore.Time(record.ExpiresAt)}"
            + (record.Replaces is null ? "" : $" (replaces {record.Replaces}, whose plan changed)") + "."
            + (_options.RequestPage(record.Id) is { } page ? $" Decide at {page}, or" : "") + $" `warden approvals show {record.Id}`",
            new JsonObject
            {
                ["approval_id"] = record.Id, ["agent"] = record.Agent, ["tool"] = record.Tool, ["risk"] = record.Risk, ["expires_at"] = GatewayStore.Time(record.ExpiresAt),
                ["url"] = _options.RequestPage(record.Id),
            });
    }

    public void IncidentOpened(IncidentRecord incident) =>
        Enqueue("incident_opened", incident.Owners, $"Incident {incident.Id} ({incident.Kind}) for use case {incident.UseCase}: {incident.Summary}.",
            new JsonObject { ["incident_id"] = incident.Id, ["use_case"] = incident.UseCase, ["agent"] = incident.Agent, ["kind"] = incident.Kind });

    /// <summary>How long a claimed message is left to its sender before another may try it (a sender that died with it).</summary>
    private static readonly TimeSpan ClaimFor = TimeSpan.FromMinutes(2);

    /// <summary>Posts every message that is due; a message that fails waits longer before the next try.</summary>
    public async Task SendDueAsync(CancellationToken cancellationToken)
    {
        if (_webhook is null || Interlocked.Exchange(ref _sending, 1) == 1)
        {
            return;
        }

        try
        {
            foreach (var message in _store.Outbox.Due(_clock.GetUtcNow()))
            {
                // Replicas share the outbox: the one that claims a message sends it.
                if (!_store.Outbox.Claim(message, _clock.GetUtcNow() + ClaimFor))
                {
                    continue;
                }

                string? error;
                try
                {
                    using var content = new StringContent(message.Payload, Encoding.UTF8, "application/json");
                    using var response = await _http.PostAsync(_webhook, content, cancellationToken).ConfigureAwait(false);
                    error = response.IsSuccessStatusCode ? null : $"the webhook answered {(int)response.StatusCode} {response.ReasonPhrase}";
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    error = $"the webhook could not be reached: {e.Message}";
                }

                if (error is not null)
                {
                    _log.LogWarning("Notification {Id} ({Kind}) was not delivered, attempt {Attempt}: {Error}", message.Id, message.Kind, message.Attempts + 1, error);
                }

                var now = _clock.GetUtcNow();
                if (error is null)
                {
                    _store.Outbox.Delivered(message.Id, now);
                }
                else
                {
                    _store.Outbox.Failed(message.Id, error, now + Backoff(message.Attempts + 1));
                }
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
            // The gateway is closing; the outbox keeps what is left for the next start.
            _log.LogDebug(e, "Sending notifications stopped; the outbox keeps the rest");
        }
        finally
        {
            Volatile.Write(ref _sending, 0);
        }
    }

    public void Dispose()
    {
        _sender?.Dispose();
        _http.Dispose();
    }

    private void Enqueue(string kind, IReadOnlyList<string> recipients, string text, JsonObject details)
    {
        if (_webhook is null)
        {
            return;
        }

        details["kind"] = kind;
        var policy = _policies.Current;
        details["recipients"] = new JsonArray([.. recipients.Select(r => (JsonNode)new JsonObject
        {
            ["id"] = r,
            ["name"] = policy.FindOwner(r)?.Name,
            ["email"] = policy.FindOwner(r)?.Email,
        })]);
        var payload = new JsonObject { ["text"] = text, ["warden"] = details };
        _store.Outbox.Enqueue(kind, recipients, payload.ToJsonString(), _clock.GetUtcNow());
    }
}
