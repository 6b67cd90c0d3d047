using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using Warden.Core.Audit;
using Warden.Storage.Audit;
using Warden.Storage.Engines;
using Warden.Tests;

namespace Warden.Gateway.Tests.EndToEnd;

/// <summary>
/// Two `warden serve` processes over one PostgreSQL store with the example marketing policy: the
/// built-in workspace and its journal are in the store, so what an agent changes through one
/// replica is what the other reads, and a person undoes it from either.
/// </summary>
public sealed class SharedWorkspaceTests(PostgresServer server) : IAsyncLifetime
{
    private readonly List<WardenProcess> _replicas = [];
    private string _folder = "";
    private StoreLocation _store = null!;

    public async ValueTask InitializeAsync()
    {
        _folder = Path.Combine(Path.GetTempPath(), "warden-shared-workspace", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_folder);
        var database = await server.CreateDatabaseAsync();
        _store = StoreLocation.Postgres(server.AdminConnection(database));
        var storeFile = Path.Combine(_folder, "store");
        await File.WriteAllTextAsync(storeFile, server.AdminConnection(database), TestContext.Current.CancellationToken);
        // The first seeds the shared sandbox (--demo on an empty workspace); the second finds it seeded.
        foreach (var (name, demo) in new[] { ("a", true), ("b", false) })
        {
            string[] extra = ["--store", "file:" + storeFile, "--audit-key", Path.Combine(_folder, "audit.key"), "--migrate"];
            _replicas.Add(await WardenProcess.ServeAsync(Path.Combine(WardenProcess.Repository, "examples", "marketing", "policy.yaml"), Path.Combine(_folder, name), null,
                demo ? [.. extra, "--demo"] : extra));
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
        }

        Directory.Delete(_folder, recursive: true);
    }

    private static async Task<(bool IsError, JsonNode Answer)> CallAsync(WardenProcess replica, string tool, object arguments)
    {
        await using var agent = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(replica.Url + "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + WardenProcess.Tokens["hygiene-bot"] },
        }), cancellationToken: TestContext.Current.CancellationToken);
        return await GatewayFixture.Call(agent, tool, arguments);
    }

    private static async Task<string?> JobTitleAsync(WardenProcess replica, string contact)
    {
        var (isError, answer) = await CallAsync(replica, "contacts.get", new { id = contact, fields = new[] { "job_title" } });
        Assert.False(isError, answer.ToJsonString());
        return answer["result"]?["job_title"]?.GetValue<string>();
    }

    [Fact]
    public async Task A_change_through_one_replica_is_read_through_the_other_and_undone_from_it()
    {
        var (a, b) = (_replicas[0], _replicas[1]);
        const string contact = "c-0000007";
        var before = await JobTitleAsync(b, contact);

        var (isError, changed) = await CallAsync(a, "contacts.update", new { ids = new[] { contact }, set = new { job_title = "Shared Buyer" } });
        Assert.False(isError, changed.ToJsonString());
        var action = changed["action_id"]!.GetValue<string>();
        Assert.Equal("Shared Buyer", await JobTitleAsync(b, contact));

        var (status, undone) = await b.Api(HttpMethod.Post, "/api/rollback", "dev", new { action_id = action });
        Assert.True(status == 200, undone?.ToJsonString());
        Assert.Equal(before, await JobTitleAsync(a, contact));

        // One chain holds both, whichever replica recorded them.
        var entries = AuditLog.Query(_store, new AuditQuery { Limit = 1000 }).Entries.Select(e => e.Entry).ToList();
        Assert.Contains(entries, e => e.Kind == AuditKinds.Call && e.ActionId == action && e.Outcome == "ok");
        Assert.Contains(entries, e => e.Kind == AuditKinds.Rollback && e.Person == "dev");
        Assert.Null(AuditVerifier.Verify(_store).Finding);
    }

    [Fact]
    public async Task Writes_through_both_replicas_at_once_are_all_applied_and_journaled_once_each()
    {
        var (a, b) = (_replicas[0], _replicas[1]);
        var (_, found) = await CallAsync(a, "contacts.search", new { filter = "country == 'DE'", limit = 12 });
        var contacts = found["result"]!["contacts"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()).ToList();
        Assert.Equal(12, contacts.Count);

        var calls = await Task.WhenAll(contacts.Select((contact, i) =>
            CallAsync(i % 2 == 0 ? a : b, "contacts.update", new { ids = new[] { contact }, set = new { job_title = "Both " + contact } })));

        Assert.All(calls, c => Assert.False(c.IsError, c.Answer.ToJsonString()));
        for (var i = 0; i < contacts.Count; i++)
        {
            // read through the replica that did not write it
            Assert.Equal("Both " + contacts[i], await JobTitleAsync(i % 2 == 0 ? b : a, contacts[i]));
        }

        var actions = calls.Select(c => c.Answer["action_id"]!.GetValue<string>()).ToHashSet();
        Assert.Equal(contacts.Count, actions.Count);
    }
}
