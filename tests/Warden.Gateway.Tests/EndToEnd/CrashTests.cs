using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using ModelContextProtocol.Client;
using Warden.Core.Audit;
using Warden.Storage.Audit;
using Warden.Core;

namespace Warden.Gateway.Tests.EndToEnd;

/// <summary>
/// Nothing applied goes unrecorded: a gateway killed with SIGKILL after the workspace committed a
/// change and before the trail recorded it records the change, as recovered, when it starts again.
/// </summary>
public sealed class CrashTests
{
    [Fact]
    public async Task A_change_applied_just_before_a_kill_9_is_recorded_as_recovered_when_the_gateway_starts_again()
    {
        using var folder = new DataFolder();
        var directory = folder.Path;
        var data = Path.Combine(directory, "data");
        string contact;
        await using (var crashing = await WardenProcess.StartAsync(directory, new Dictionary<string, string> { ["WARDEN_TEST_CRASH_AT"] = "after-apply" }, "--demo"))
        {
            contact = Scalar(data, "SELECT id FROM contacts WHERE deleted_at IS NULL ORDER BY id LIMIT 1");
            await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = new Uri(crashing.Url + "/mcp"),
                TransportMode = HttpTransportMode.StreamableHttp,
                AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + WardenProcess.Tokens["hygiene-bot"] },
            }), cancellationToken: TestContext.Current.CancellationToken);
            await Assert.ThrowsAnyAsync<Exception>(async () => await client.CallToolAsync("contacts.update",
                new Dictionary<string, object?> { ["ids"] = new[] { contact }, ["set"] = new Dictionary<string, object?> { ["job_title"] = "Crash Tester" } },
                cancellationToken: TestContext.Current.CancellationToken));
            for (var i = 0; i < 100 && !crashing.HasExited; i++)
            {
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }

            Assert.True(crashing.HasExited, "the crash point did not kill the gateway");
        }

        // The workspace committed the change; the trail has no entry for it.
        Assert.Equal("Crash Tester", Scalar(Path.Combine(data, "workspace.db"), "SELECT job_title FROM contacts WHERE id = @id", contact));
        var action = Scalar(Path.Combine(data, "workspace.db"), "SELECT id FROM actions WHERE tool = 'contacts.update'");
        Assert.DoesNotContain(Entries(data), e => e.Entry.ActionId == action);

        await using (var restarted = await WardenProcess.StartAsync(directory, new Dictionary<string, string>(), "--demo"))
        {
            var recovered = Assert.Single(Entries(data), e => e.Entry.ActionId == action).Entry;
            Assert.Equal(("call", "hygiene-bot", "contacts.update", "ok"), (recovered.Kind, recovered.Agent, recovered.Tool, recovered.Outcome));
            Assert.Contains("recovered when the gateway started again", recovered.Detail, StringComparison.Ordinal);
            Assert.Contains(contact, recovered.Arguments!.Value.GetRawText(), StringComparison.Ordinal);
            Assert.Equal("hygiene-small-fixes", recovered.Rule);
            var (exit, output) = await WardenProcess.CliAsync(null, null, null, "audit", "verify", "--trail", Path.Combine(data, "audit.db"));
            Assert.True(exit == 0, output);
        }

        // Started a third time: recorded once, not again.
        await using (var again = await WardenProcess.StartAsync(directory, new Dictionary<string, string>(), "--demo"))
        {
            Assert.Single(Entries(data), e => e.Entry.ActionId == action);
        }
    }

    [Fact]
    public async Task A_send_cut_off_after_its_first_batch_is_stopped_and_recorded_with_how_far_it_got_when_the_gateway_starts_again()
    {
        using var folder = new DataFolder();
        var directory = folder.Path;
        string campaign;
        await using (var gateway = await GatewayFixture.StartAsync(directory: directory))
        {
            var (_, draft) = await GatewayFixture.Call(await gateway.Agent("campaign-qa-bot"), "campaigns.create_draft",
                new { name = "Winter", audience = "newsletter", subject = "Winter news", content = "In the shops now.", sender = "news@northwind.example" });
            campaign = draft["result"]!["campaign"]!.GetValue<string>();
            var call = new ToolCall("campaigns.send", System.Text.Json.JsonSerializer.SerializeToElement(new { campaign }), "campaign-qa-bot", "sandbox");
            var plan = gateway.Gateway.Workspace.Plan(call).Get();
            gateway.Gateway.Recovery.Intend("campaign-qa-bot", "campaigns.send", plan.Hash,
                new AuditEntry { Kind = AuditKinds.Call, Environment = "sandbox", Agent = "campaign-qa-bot", UseCase = "campaign-qa", Tool = "campaigns.send", Effect = "approve" });
            // The process dies between the first batch and the second, as a power cut would have it.
            await Assert.ThrowsAsync<IOException>(() => gateway.Gateway.Workspace.ApplyAsync(plan, new ApplyControl { BatchSize = 20, Stop = () => throw new IOException("power cut") }, TestContext.Current.CancellationToken));
            Assert.Equal("sending", gateway.Workspace("SELECT status FROM campaigns WHERE id = @c", ("@c", campaign)));
        }

        await using (var restarted = await GatewayFixture.StartAsync(directory: directory))
        {
            Assert.Equal("stopped", restarted.Workspace("SELECT status FROM campaigns WHERE id = @c", ("@c", campaign)));
            Assert.Equal(20L, restarted.Workspace("SELECT count(*) FROM campaign_sends WHERE campaign_id = @c", ("@c", campaign)));
            Assert.Equal(0L, restarted.Workspace("SELECT count(*) FROM send_queue"));
            var entry = restarted.Trail().Single(e => e.Entry.Tool == "campaigns.send" && e.Entry.ActionId is not null).Entry;
            Assert.Equal("stopped", entry.Outcome);
            Assert.Matches("after 20 of [0-9,]+ recipients had been sent to", entry.Detail);
        }
    }

    private static IReadOnlyList<AuditRecord> Entries(string data) =>
        AuditLog.Query(Path.Combine(data, "audit.db"), new AuditQuery { Limit = 1000 }).Entries;

    private static string Scalar(string path, string sql, string? id = null)
    {
        using var connection = new SqliteConnection($"Data Source={(path.EndsWith(".db", StringComparison.Ordinal) ? path : Path.Combine(path, "workspace.db"))};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("@id", (object?)id ?? DBNull.Value);
        return Convert.ToString(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture)!;
    }
}
