using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Warden.Core.Audit;
using Warden.Storage.Audit;
using Warden.Storage.Engines;
using Warden.Tests;

namespace Warden.Gateway.Tests.EndToEnd;

/// <summary>
/// Two `warden serve` processes, replicas with their own data folders, over one PostgreSQL store,
/// governing one warehouse: an approval, a freeze, a budget and the audit chain are one truth
/// whichever replica an agent or a person reaches.
/// </summary>
public sealed class ReplicaTests(PostgresServer server) : IAsyncLifetime
{
    /// <summary>A policy that governs the warehouse only (the shared workspace has its own tests, SharedWorkspaceTests).</summary>
    private const string Policy = """
        version: 1
        id: replicas
        environments: [sandbox, production]
        owners:
          - { id: dev, name: Dev Patel, email: dev@example.com, roles: [approver, technical_owner], auth: { token: env:WARDEN_TOKEN_DEV } }
          - { id: sam, name: Sam Okafor, email: sam@example.com, roles: [approver, data_owner], auth: { token: env:WARDEN_TOKEN_SAM } }
          - { id: rita, name: Rita Nguyen, email: rita@example.com, roles: [approver, risk_owner], auth: { token: env:WARDEN_TOKEN_RITA } }
        data_classes:
          pii: [warehouse.contacts.email]
        use_cases:
          - id: data-hygiene
            description: Fixes warehouse records.
            classification: { access: medium, autonomy: medium, data_sensitivity: medium, customer_impact: low, compliance_exposure: medium, reversibility: low }
            owners: { business: sam, technical: dev, data: sam, risk: rita }
            escalation: sam
            review: { cadence: quarterly, last: 2026-11-01 }
        agents:
          - { id: hygiene-bot, description: Hygiene agent., use_case: data-hygiene, environments: [sandbox], auth: { token: env:WARDEN_TOKEN_HYGIENE } }
        systems:
          - id: warehouse
            kind: postgres
            description: The warehouse.
            connections: { sandbox: secret:warehouse }
            tables: [contacts]
        rules:
          - id: small-changes
            description: A change of a few rows runs.
            agent: hygiene-bot
            tool: warehouse.execute
            when: statement.kind == 'update' && statement.where && records <= 5
            effect: allow
          - id: larger-changes
            description: More waits for the data owner.
            agent: hygiene-bot
            tool: warehouse.execute
            when: statement.kind == 'update' && statement.where && records > 5
            effect: approve
            approval: { approvers: [owner:data], expires: 1h }
          - id: reads
            description: Reads run.
            agent: hygiene-bot
            tool: [warehouse.query, warehouse.describe]
            effect: allow
        budgets:
          - { id: hourly-changes, agent: hygiene-bot, metric: changed_records, limit: 10, per: 1h }
        """;

    private readonly List<WardenProcess> _replicas = [];
    private string _warehouse = "";
    private StoreLocation _store = null!;
    private string _folder = "";

    private WardenProcess A => _replicas[0];

    private WardenProcess B => _replicas[1];

    public async ValueTask InitializeAsync()
    {
        (_warehouse, var first) = await DatabaseTests.PrepareAsync(server);
        _folder = Path.Combine(Path.GetTempPath(), "warden-replicas", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_folder);
        var policy = Path.Combine(_folder, "policy.yaml");
        await File.WriteAllTextAsync(policy, Policy, TestContext.Current.CancellationToken);
        var storeDatabase = await server.CreateDatabaseAsync();
        _store = StoreLocation.Postgres(server.AdminConnection(storeDatabase));
        var storeFile = Path.Combine(_folder, "store");
        await File.WriteAllTextAsync(storeFile, server.AdminConnection(storeDatabase), TestContext.Current.CancellationToken);
        _secrets = Path.Combine(first, "secrets", "warehouse");
        _policy = policy;
        _storeFile = storeFile;
        foreach (var name in (string[])["a", "b"])
        {
            _replicas.Add(await StartReplicaAsync(name));
        }
    }

    private string _secrets = "";
    private string _policy = "";
    private string _storeFile = "";

    /// <summary>How long a replica's call goes unrenewed before another takes it over as left by a stopped one.</summary>
    private const int TakeOverSeconds = 15;

    /// <summary>A replica in a folder of its own, with the warehouse's connection among its secrets, on the shared store and key.</summary>
    private async Task<WardenProcess> StartReplicaAsync(string name, IReadOnlyDictionary<string, string>? environment = null, int takeOverSeconds = TakeOverSeconds)
    {
        var directory = Path.Combine(_folder, name);
        Directory.CreateDirectory(Path.Combine(directory, "data", "secrets"));
        File.Copy(_secrets, Path.Combine(directory, "data", "secrets", "warehouse"));
        return await WardenProcess.ServeAsync(_policy, directory, environment, "--store", "file:" + _storeFile, "--audit-key", Path.Combine(_folder, "audit.key"), "--migrate",
            "--take-over-after", takeOverSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
        }

        Directory.Delete(_folder, recursive: true);
    }

    private static async Task<McpClient> AgentAsync(WardenProcess replica) => await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
    {
        Endpoint = new Uri(replica.Url + "/mcp"),
        TransportMode = HttpTransportMode.StreamableHttp,
        AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + WardenProcess.Tokens["hygiene-bot"] },
    }), cancellationToken: TestContext.Current.CancellationToken);

    private static async Task<(bool IsError, JsonNode Answer)> ExecuteAsync(WardenProcess replica, string sql)
    {
        await using var agent = await AgentAsync(replica);
        return await GatewayFixture.Call(agent, "warehouse.execute", new { sql });
    }

    private Task<long> CountAsync(string where) => server.ScalarAsync<long>(_warehouse, $"SELECT count(*) FROM contacts WHERE {where}");

    [Fact]
    public async Task A_call_held_on_one_replica_and_approved_on_the_other_runs_once()
    {
        var (_, held) = await ExecuteAsync(B, "UPDATE contacts SET first_name = 'Held' WHERE id <= 8");
        Assert.True("pending_approval" == held["status"]?.GetValue<string>(), held.ToJsonString());
        var id = held["approval_id"]!.GetValue<string>();

        var (approved, answer) = await A.Api(HttpMethod.Post, $"/api/approvals/{id}/approve", "sam", new { comment = "go" });
        var (again, _) = await B.Api(HttpMethod.Post, $"/api/approvals/{id}/approve", "sam", new { comment = "again" });

        Assert.True(approved == 200, answer?.ToJsonString());
        Assert.NotEqual(200, again);
        Assert.Equal(8, await CountAsync("first_name = 'Held'"));
        var runs = AuditLog.Query(_store, new AuditQuery { Tool = "warehouse.execute", Limit = 100 }).Entries
            .Where(e => e.Entry.ApprovalId == id && e.Entry.Kind == "call" && e.Entry.Outcome == "ok").ToList();
        Assert.Single(runs);
        var (_, seenOnB) = await B.Api(HttpMethod.Get, $"/api/approvals/{id}", "sam");
        Assert.Equal("executed", seenOnB?["status"]?.GetValue<string>());
    }

    [Fact]
    public async Task An_approved_call_running_longer_than_the_take_over_time_on_a_live_replica_is_not_taken_over()
    {
        // Two replicas that take a stopped one's call over after 1 s, sweeping every second.
        var running = await StartReplicaAsync("c", takeOverSeconds: 1);
        _replicas.Add(running);
        var other = await StartReplicaAsync("d", takeOverSeconds: 1);
        _replicas.Add(other);
        var (_, held) = await ExecuteAsync(running, "UPDATE contacts SET first_name = 'Slow' WHERE id <= 8");
        var id = held["approval_id"]!.GetValue<string>();

        // A row it changes is locked by another session: the approved call waits 1.8 s (the lock timeout is 2 s) while it runs.
        await using var locker = new Npgsql.NpgsqlConnection(server.AdminConnection(_warehouse));
        await locker.OpenAsync(TestContext.Current.CancellationToken);
        await using var transaction = await locker.BeginTransactionAsync(TestContext.Current.CancellationToken);
        await using (var lockRow = new Npgsql.NpgsqlCommand("SELECT 1 FROM contacts WHERE id = 3 FOR UPDATE", locker, transaction))
        {
            await lockRow.ExecuteScalarAsync(TestContext.Current.CancellationToken);
        }

        var approving = running.Api(HttpMethod.Post, $"/api/approvals/{id}/approve", "sam", new { comment = "go" });
        await Task.Delay(1800, TestContext.Current.CancellationToken);
        await transaction.CommitAsync(TestContext.Current.CancellationToken);
        var (approved, answer) = await approving;
        await Task.Delay(2500, TestContext.Current.CancellationToken); // the other replica sweeps twice more

        Assert.True(approved == 200, answer?.ToJsonString());
        Assert.Equal(8, await CountAsync("first_name = 'Slow'"));
        var (_, view) = await other.Api(HttpMethod.Get, $"/api/approvals/{id}", "sam");
        Assert.Equal("executed", view?["status"]?.GetValue<string>());
        var entries = AuditLog.Query(_store, new AuditQuery { Tool = "warehouse.execute", Limit = 100 }).Entries.Where(e => e.Entry.ApprovalId == id && e.Entry.Kind == "call").ToList();
        Assert.Equal(["ok", "pending"], entries.Select(e => e.Entry.Outcome).Order(StringComparer.Ordinal)); // held, then run once: no other replica's settling
        Assert.DoesNotContain(entries, e => e.Entry.Detail?.Contains("recovered", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task A_freeze_on_one_replica_stops_the_agent_on_the_other_at_its_next_call()
    {
        var (before, _) = await ExecuteAsync(B, "UPDATE contacts SET first_name = 'Before' WHERE id = 1");
        Assert.False(before);

        var (frozen, body) = await A.Api(HttpMethod.Post, "/api/freeze", "sam", new { agent = "hygiene-bot", reason = "stop it" });
        Assert.True(frozen == 200, body?.ToJsonString());
        var (refused, answer) = await ExecuteAsync(B, "UPDATE contacts SET first_name = 'After' WHERE id = 2");

        Assert.True(refused, answer.ToJsonString());
        Assert.Contains("frozen", answer.ToJsonString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, await CountAsync("first_name = 'After'"));
    }

    [Fact]
    public async Task A_budget_is_one_budget_across_replicas_under_concurrent_calls()
    {
        // 16 one-row changes, half to each replica, at once: the hourly budget of 10 changed rows holds.
        var calls = await Task.WhenAll(Enumerable.Range(100, 16).Select(id => ExecuteAsync(id % 2 == 0 ? A : B, $"UPDATE contacts SET first_name = 'Budget' WHERE id = {id}")));

        Assert.Equal(10, calls.Count(c => !c.IsError));
        Assert.Equal(10, await CountAsync("first_name = 'Budget'"));
        Assert.All(calls.Where(c => c.IsError), c => Assert.Contains("budget", c.Answer.ToJsonString(), StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task What_both_replicas_record_is_one_chain_that_verifies()
    {
        await Task.WhenAll(Enumerable.Range(200, 6).Select(id => ExecuteAsync(id % 2 == 0 ? A : B, $"UPDATE contacts SET first_name = 'Chain' WHERE id = {id}")));

        var entries = AuditLog.Query(_store, new AuditQuery { Limit = 1000 }).Entries;
        Assert.Equal(2, entries.Count(e => e.Entry.Kind == "policy.load"));
        Assert.Equal(6, entries.Count(e => e.Entry.Kind == "call" && e.Entry.Tool == "warehouse.execute"));
        Assert.Equal(Enumerable.Range(1, entries.Count).Select(i => (long)i), entries.Select(e => e.Seq).Order());
        Assert.Null(AuditVerifier.Verify(_store).Finding);
    }

    [Fact]
    public async Task A_change_a_replica_applied_and_died_before_recording_is_recorded_by_another()
    {
        var dying = await StartReplicaAsync("c", new Dictionary<string, string> { ["WARDEN_TEST_CRASH_AT"] = "after-apply" });
        _replicas.Add(dying);

        // The replica applies the change and is killed before its trail entry: the agent hears nothing back.
        await Assert.ThrowsAnyAsync<Exception>(() => ExecuteAsync(dying, "UPDATE contacts SET first_name = 'Orphan' WHERE id = 300"));
        Assert.Equal(1, await CountAsync("first_name = 'Orphan'"));

        // Another replica, running all along, takes the change over once the take-over time has passed.
        AuditRecord? recovered = null;
        for (var waited = 0; recovered is null && waited < 60; waited++)
        {
            await Task.Delay(1000, TestContext.Current.CancellationToken);
            recovered = AuditLog.Query(_store, new AuditQuery { Tool = "warehouse.execute", Limit = 100 }).Entries
                .FirstOrDefault(e => e.Entry.Detail?.Contains("recovered by a replica", StringComparison.Ordinal) == true);
        }

        Assert.NotNull(recovered);
        Assert.Equal(("ok", "hygiene-bot"), (recovered.Entry.Outcome, recovered.Entry.Agent));
        Assert.NotNull(recovered.Entry.ActionId);
        await Task.Delay(TakeOverSeconds * 1000 / 2 + 1000, TestContext.Current.CancellationToken); // another sweep by each replica (every half the take-over time): still recorded once
        Assert.Single(AuditLog.Query(_store, new AuditQuery { Tool = "warehouse.execute", Limit = 100 }).Entries, e => e.Entry.ActionId == recovered.Entry.ActionId);
        Assert.Null(AuditVerifier.Verify(_store).Finding);
    }
}
