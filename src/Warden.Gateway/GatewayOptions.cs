namespace Warden.Gateway;

/// <summary>How a gateway runs: its policy, where it keeps its files, the environment it serves and where it listens.</summary>
public sealed record GatewayOptions
{
    /// <summary>The policy file.</summary>
    public required string PolicyPath { get; init; }

    /// <summary>The policy's text, when it does not come from <see cref="PolicyPath"/> (the built-in example); <see cref="PolicyPath"/> then names it.</summary>
    public string? PolicyText { get; init; }

    /// <summary>Where the workspace, the audit trail and the gateway's own state are kept (default .warden).</summary>
    public string DataDirectory { get; init; } = ".warden";

    /// <summary>The environment every call is decided in: sandbox (the default) or production.</summary>
    public string Environment { get; init; } = "sandbox";

    /// <summary>
    /// Where the gateway logs what it survived (a webhook that cannot be reached, housekeeping that
    /// failed, a call that failed inside the gateway); nowhere by default. `warden serve` logs to stderr.
    /// </summary>
    public Microsoft.Extensions.Logging.ILoggerFactory Logging { get; init; } = Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;

    /// <summary>Where the HTTP surfaces listen (default http://127.0.0.1:8787).</summary>
    public string Url { get; init; } = "http://127.0.0.1:8787";

    /// <summary>Make up a token for every identity whose reference resolves to nothing, and seed an empty workspace: a demo that works at once.</summary>
    public bool Demo { get; init; }

    /// <summary>Contacts seeded into an empty workspace in demo mode (default 2,000).</summary>
    public int DemoContacts { get; init; } = 2_000;

    /// <summary>How many requests one agent may have waiting for approval at once (default 20).</summary>
    public int MaxPendingPerAgent { get; init; } = 20;

    /// <summary>
    /// How many requests one agent may make per second, on average (default 200), with bursts of
    /// twice that: a flood from one agent is refused with 429 and slows nobody else. Budgets and
    /// breakers, not this, govern what agents do.
    /// </summary>
    public int RequestsPerSecondPerAgent { get; init; } = 200;

    /// <summary>Recipients per batch of a send (default 500): between batches a freeze of the agent stops the rest.</summary>
    public int SendBatchSize { get; init; } = 500;

    /// <summary>A pause between the batches of a send or a large write (default none): how fast a send may go out, as mail services limit it.</summary>
    public TimeSpan SendPause { get; init; } = TimeSpan.Zero;

    /// <summary>The largest request body accepted, in bytes (default 1 MB).</summary>
    public long MaxRequestBytes { get; init; } = 1024 * 1024;

    /// <summary>Where notifications are posted (a Slack-compatible incoming webhook, or any URL taking JSON); none when null.</summary>
    public string? WebhookUrl { get; init; }

    /// <summary>Where people reach this gateway (behind a proxy, by its public name); the links in notifications and held calls' answers point there. Default: <see cref="Url"/>.</summary>
    public string? PublicUrl { get; init; }

    /// <summary>The console's page of an approval request, as people open it; null when the gateway's address is not known before it starts (port 0).</summary>
    public string? RequestPage(string approvalId)
    {
        if (!Uri.TryCreate(PublicUrl ?? Url, UriKind.Absolute, out var url) || url.Port == 0)
        {
            return null;
        }

        // A gateway listening on every interface is reached, on its own machine, at the loopback address.
        var host = PublicUrl is null && url.Host is "0.0.0.0" or "[::]" or "::" or "*" or "+" ? "127.0.0.1" : url.Host;
        var root = new UriBuilder(url) { Host = host }.Uri.GetLeftPart(UriPartial.Authority) + url.AbsolutePath.TrimEnd('/');
        return $"{root}/console/approvals/{Uri.EscapeDataString(approvalId)}";
    }

    /// <summary>The identity provider people may sign in to the console with (OpenID Connect), beside their passwords; none when null.</summary>
    public IdentityProviderOptions? IdentityProvider { get; init; }

    /// <summary>Who decided to start on an audit trail that does not verify; null refuses such a trail.</summary>
    public string? AcceptBrokenTrailBy { get; init; }

    /// <summary>
    /// Where the gateway's state, its audit trail and the journals and pins of the systems it governs
    /// are kept when not in <see cref="DataDirectory"/>: a PostgreSQL database that several gateway
    /// replicas share, one truth for all of them. Null keeps them in the data folder (SQLite).
    /// </summary>
    public Warden.Storage.Engines.StoreLocation? Store { get; init; }

    /// <summary>The audit trail's signing key file with <see cref="Store"/> (the same file on every replica; created when missing); with the data folder, DATA/audit.db.key.</summary>
    public string? AuditKeyPath { get; init; }

    /// <summary>Bring <see cref="Store"/> up to this build's schema at start (warden db migrate does it otherwise); a store behind the build is refused without it.</summary>
    public bool Migrate { get; init; }

    /// <summary>
    /// With <see cref="Store"/>: how long a change a replica began is left to it before another
    /// replica takes it over as interrupted (default 5 minutes, longer than any apply's timeouts):
    /// a replica that stops mid-apply is settled by the others within this, and a minute.
    /// </summary>
    public TimeSpan TakeOverAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The clock; tests move it.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>These options with notifications posted to <paramref name="webhookUrl"/> and agents limited to <paramref name="requestsPerSecond"/>; everything else as it is.</summary>
    public GatewayOptions With(string? webhookUrl, int requestsPerSecond) => this with { WebhookUrl = webhookUrl, RequestsPerSecondPerAgent = requestsPerSecond };

    internal void Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(PolicyPath))
        {
            errors.Add("PolicyPath names no file");
        }

        if (Environment is not ("sandbox" or "production"))
        {
            errors.Add($"the environment is sandbox or production, not '{Environment}'");
        }

        if (!Uri.TryCreate(Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            errors.Add($"'{Url}' is not an http or https address");
        }

        if (PublicUrl is not null && (!Uri.TryCreate(PublicUrl, UriKind.Absolute, out var published) || published.Scheme is not ("http" or "https")))
        {
            errors.Add($"the public address '{PublicUrl}' is not an http or https address");
        }

        if (WebhookUrl is not null && (!Uri.TryCreate(WebhookUrl, UriKind.Absolute, out var hook) || hook.Scheme is not ("http" or "https")))
        {
            errors.Add($"the webhook '{WebhookUrl}' is not an http or https address");
        }

        if (Store is { Engine: not Warden.Storage.Engines.StoreEngine.Postgres })
        {
            errors.Add("a shared store is a PostgreSQL database; the SQLite stores are in the data folder");
        }

        if (Store is not null && string.IsNullOrWhiteSpace(AuditKeyPath))
        {
            errors.Add("a shared store needs the audit trail's signing key file (the same on every replica)");
        }

        if (TakeOverAfter < TimeSpan.FromSeconds(1) || TakeOverAfter > TimeSpan.FromDays(1))
        {
            errors.Add($"taking over a stopped replica's change waits 1 s to 1 day, not {TakeOverAfter}");
        }

        if (SendBatchSize is < 1 or > 100_000)
        {
            errors.Add($"a send's batch is 1 to 100,000 recipients, not {SendBatchSize}");
        }

        if (SendPause < TimeSpan.Zero || SendPause > TimeSpan.FromMinutes(1))
        {
            errors.Add($"the pause between batches is 0 to 1 minute, not {SendPause}");
        }

        if (DemoContacts is < 0 or > 1_000_000)
        {
            errors.Add($"DemoContacts must be 0 to 1,000,000 (was {DemoContacts})");
        }

        if (MaxPendingPerAgent < 1)
        {
            errors.Add($"MaxPendingPerAgent must be at least 1 (was {MaxPendingPerAgent})");
        }

        if (RequestsPerSecondPerAgent < 1)
        {
            errors.Add($"RequestsPerSecondPerAgent must be at least 1 (was {RequestsPerSecondPerAgent})");
        }

        if (MaxRequestBytes < 1024)
        {
            errors.Add($"MaxRequestBytes must be at least 1,024 (was {MaxRequestBytes})");
        }

        if (IdentityProvider is not null)
        {
            errors.AddRange(IdentityProvider.Errors(DataDirectory));
        }

        if (errors.Count > 0)
        {
            throw new GatewayException("invalid gateway options: " + string.Join("; ", errors));
        }
    }
}
