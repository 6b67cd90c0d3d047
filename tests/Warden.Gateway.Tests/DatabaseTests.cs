using System.Net;
using System.Text.Json.Nodes;
using Npgsql;
using Warden.Core.Audit;
using Warden.Postgres;
using Warden.Tests;

namespace Warden.Gateway.Tests;

/// <summary>
/// A PostgreSQL database declared in the policy and governed through the gateway, as an agent told
/// to "clean up the staging tables" would meet it through the official MCP client: every statement
/// classified, previewed, refused or held, run only as approved, and undone; each case in the trail.
/// </summary>
public sealed class DatabaseTests(PostgresServer server) : IAsyncLifetime
{
    private GatewayFixture _gateway = null!;
    private string _database = "";

    /// <summary>The example policy, with the warehouse's connections where this test keeps them and its tables those of the test database.</summary>
    internal static string WithWarehouse(string policy) => policy
        .Replace("sandbox: env:WARDEN_WAREHOUSE_SANDBOX", "sandbox: secret:warehouse", StringComparison.Ordinal)
        .Replace("production: env:WARDEN_WAREHOUSE", "production: secret:warehouse", StringComparison.Ordinal)
        .Replace("tables: [contacts, campaign_members]", "tables: [contacts]", StringComparison.Ordinal);

    /// <summary>A database with 5,000 contacts (and an ungoverned backup), its capture installed, and a data folder whose secrets hold the connection.</summary>
    internal static async Task<(string Database, string Directory)> PrepareAsync(PostgresServer server)
    {
        var database = await server.CreateDatabaseAsync();
        await server.ExecuteAsync(database, $"""
            CREATE TABLE contacts (id bigint PRIMARY KEY, email text NOT NULL, first_name text, last_seen timestamptz, score numeric(8, 2));
            INSERT INTO contacts SELECT g, 'person' || g || '@example.com', 'Name' || g, timestamptz '2026-01-01' + g * interval '1 hour', g * 0.25
            FROM generate_series(1, 5000) g;
            CREATE TABLE contacts_backup AS SELECT * FROM contacts;
            ALTER TABLE contacts OWNER TO {PostgresServer.GovernedRole};
            """);
        await PostgresDatabase.InstallAsync(server.AdminConnection(database), [new GovernedTable("contacts")], TestContext.Current.CancellationToken);
        var directory = GatewayFixture.NewDirectory();
        Directory.CreateDirectory(Path.Combine(directory, "secrets"));
        await File.WriteAllTextAsync(Path.Combine(directory, "secrets", "warehouse"), server.Governed(database), TestContext.Current.CancellationToken);
        return (database, directory);
    }

    public async ValueTask InitializeAsync()
    {
        (_database, var directory) = await PrepareAsync(server);
        _gateway = await GatewayFixture.StartAsync(WithWarehouse, environment: "production", directory: directory);
        foreach (var agent in (string[])["hygiene-bot", "reporting-bot"])
        {
            var (activated, _) = await _gateway.Api(HttpMethod.Post, $"/api/agents/{agent}/activate", _gateway.Token("dev"));
            Assert.Equal(HttpStatusCode.OK, activated);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        Directory.Delete(_gateway.Directory, recursive: true);
    }

    private async Task<(bool IsError, JsonNode Answer)> Execute(string sql) =>
        await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "warehouse.execute", new { sql });

    private Task<long> Count(string where = "true") => server.ScalarAsync<long>(_database, $"SELECT count(*) FROM contacts WHERE {where}");

    private AuditRecord LastCall() => _gateway.Trail().Last(e => e.Entry.Kind == "call");

    [Fact]
    public async Task The_agent_is_shown_the_database_tools_the_policy_grants_it()
    {
        var tools = await (await _gateway.Agent("hygiene-bot")).ListToolsAsync(cancellationToken: TestContext.Current.CancellationToken);
        Assert.Contains(tools, t => t.Name == "warehouse.execute");
        var reporting = await (await _gateway.Agent("reporting-bot")).ListToolsAsync(cancellationToken: TestContext.Current.CancellationToken);
        Assert.Contains(reporting, t => t.Name == "warehouse.query");
        Assert.DoesNotContain(reporting, t => t.Name == "warehouse.execute");
    }

    [Fact]
    public async Task Drop_table_is_refused_and_the_table_stays()
    {
        var (isError, answer) = await Execute("DROP TABLE contacts");
        Assert.True(isError);
        Assert.Equal("warehouse-no-schema-changes-in-production", answer["rule"]!.GetValue<string>());
        Assert.Equal(5000, await Count());
        Assert.Equal(("deny", "refused", "warehouse-no-schema-changes-in-production"), (LastCall().Entry.Effect, LastCall().Entry.Outcome, LastCall().Entry.Rule));
    }

    [Fact]
    public async Task Truncate_is_refused()
    {
        var (isError, answer) = await Execute("TRUNCATE contacts");
        Assert.True(isError);
        Assert.Equal("warehouse-no-schema-changes-in-production", answer["rule"]!.GetValue<string>());
        Assert.Equal(5000, await Count());
        Assert.Equal(("deny", "refused", "TRUNCATE contacts"), (LastCall().Entry.Effect, LastCall().Entry.Outcome, LastCall().Entry.Arguments!.Value.GetProperty("sql").GetString()));
    }

    [Fact]
    public async Task Delete_without_where_is_refused()
    {
        var (isError, answer) = await Execute("DELETE FROM contacts");
        Assert.True(isError);
        Assert.Equal("warehouse-no-unbounded-changes", answer["rule"]!.GetValue<string>());
        Assert.Equal(5000, await Count());
        Assert.Equal("refused", LastCall().Entry.Outcome);
    }

    [Fact]
    public async Task Two_statements_in_one_call_are_refused_and_recorded()
    {
        var (isError, _) = await Execute("DELETE FROM contacts WHERE id = 1; DROP TABLE contacts");
        Assert.True(isError);
        Assert.Equal(5000, await Count());
        Assert.Equal("error", LastCall().Entry.Outcome);
        Assert.Contains("one statement", LastCall().Entry.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_table_the_policy_does_not_list_is_invisible()
    {
        var (isError, answer) = await GatewayFixture.Call(await _gateway.Agent("reporting-bot"), "warehouse.query", new { sql = "SELECT count(*) FROM contacts_backup" });
        Assert.True(isError);
        Assert.Contains("not a table this system governs", answer.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(("reporting-bot", "error"), (LastCall().Entry.Agent, LastCall().Entry.Outcome));
    }

    [Fact]
    public async Task A_delete_of_3000_rows_is_held_approved_run_and_rolled_back_byte_for_byte()
    {
        var before = await server.ScalarAsync<string>(_database, "SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM contacts c");
        var (_, held) = await Execute("DELETE FROM contacts WHERE id <= 3000");
        Assert.True(held["status"]!.GetValue<string>() == "pending_approval", held.ToJsonString());
        Assert.Equal(3000, held["records"]!.GetValue<long>());
        Assert.Equal(5000, await Count());

        var id = held["approval_id"]!.GetValue<string>();
        var (_, view) = await _gateway.Api(HttpMethod.Get, "/api/approvals/" + id, _gateway.Token("sam"));
        Assert.Contains("delete 3,000 row(s) of contacts", view!.ToJsonString(), StringComparison.Ordinal);

        var (status, body) = await _gateway.Api(HttpMethod.Post, $"/api/approvals/{id}/approve", _gateway.Token("sam"), new { comment = "stale staging rows" });
        Assert.True(status == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal("executed", body!["result"]!.GetValue<string>());
        Assert.Equal(2000, await Count());

        var call = LastCall();
        Assert.Equal(("ok", id), (call.Entry.Outcome, call.Entry.ApprovalId));
        var (rolledBack, rollback) = await _gateway.Api(HttpMethod.Post, "/api/rollback", _gateway.Token("sam"), new { action_id = call.Entry.ActionId });
        Assert.True(rolledBack == HttpStatusCode.OK, rollback?.ToJsonString());
        Assert.Equal(3000, rollback!["restored"]!.GetValue<long>());
        Assert.Equal(before, await server.ScalarAsync<string>(_database, "SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM contacts c"));
    }

    [Fact]
    public async Task A_delete_approved_at_120_rows_and_grown_to_500_deletes_nothing()
    {
        await server.ExecuteAsync(_database, "UPDATE contacts SET first_name = 'staging' WHERE id <= 120");
        var (_, held) = await Execute("DELETE FROM contacts WHERE first_name = 'staging'");
        Assert.Equal(120, held["records"]!.GetValue<long>());

        await server.ExecuteAsync(_database, "UPDATE contacts SET first_name = 'staging' WHERE id <= 500");
        var (_, body) = await _gateway.Api(HttpMethod.Post, $"/api/approvals/{held["approval_id"]}/approve", _gateway.Token("sam"), new { comment = "ok" });
        Assert.NotEqual("executed", body!["result"]!.GetValue<string>());
        Assert.Equal(5000, await Count());
        Assert.DoesNotContain(_gateway.Trail(), e => e.Entry.Kind == "call" && e.Entry.Outcome == "ok" && e.Entry.Tool == "warehouse.execute");
    }

    [Fact]
    public async Task A_query_over_a_masked_column_comes_back_masked_even_renamed()
    {
        var (isError, answer) = await GatewayFixture.Call(await _gateway.Agent("reporting-bot"), "warehouse.query",
            new { sql = "SELECT email AS contact, email, score FROM contacts WHERE id = 7" });
        Assert.False(isError, answer.ToJsonString());
        var row = answer["result"]!["rows"]![0]!;
        Assert.Equal("p***@example.com", row["contact"]!.GetValue<string>());
        Assert.Equal("p***@example.com", row["email"]!.GetValue<string>());
        Assert.Equal(1.75m, row["score"]!.GetValue<decimal>());
        Assert.Equal(("allow", "ok", "warehouse.query"), (LastCall().Entry.Effect, LastCall().Entry.Outcome, LastCall().Entry.Tool));
        Assert.Contains("warehouse.contacts.email", LastCall().Entry.FieldsRead);
    }

    [Fact]
    public async Task A_gateway_whose_database_connection_is_unset_starts_and_refuses_its_tools()
    {
        // The example policy as it is: WARDEN_WAREHOUSE_SANDBOX is not set here.
        await using var gateway = await GatewayFixture.StartAsync();
        var client = await gateway.Agent("reporting-bot");
        var refused = await Assert.ThrowsAsync<ModelContextProtocol.McpProtocolException>(() => GatewayFixture.Call(client, "warehouse.query", new { sql = "SELECT 1" }));
        Assert.Contains("'warehouse.query' is not a tool Warden offers", refused.Message, StringComparison.Ordinal);
        var tools = await client.ListToolsAsync(cancellationToken: TestContext.Current.CancellationToken);
        Assert.DoesNotContain(tools, t => t.Name.StartsWith("warehouse.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task In_the_sandbox_a_schema_change_waits_for_two_owners_then_runs_and_cannot_be_undone()
    {
        var (database, directory) = await PrepareAsync(server);
        await using var gateway = await GatewayFixture.StartAsync(WithWarehouse, directory: directory);
        var (_, held) = await GatewayFixture.Call(await gateway.Agent("schema-bot"), "warehouse.execute", new { sql = "ALTER TABLE contacts ADD COLUMN note text" });
        Assert.True(held["status"]!.GetValue<string>() == "pending_approval", held.ToJsonString());
        var id = held["approval_id"]!.GetValue<string>();

        var (_, first) = await gateway.Api(HttpMethod.Post, $"/api/approvals/{id}/approve", gateway.Token("dev"), new { comment = "ok" });
        Assert.Equal("recorded", first!["result"]!.GetValue<string>());
        Assert.Equal(0L, await server.ScalarAsync<long>(database, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'contacts' AND column_name = 'note'"));

        var (_, second) = await gateway.Api(HttpMethod.Post, $"/api/approvals/{id}/approve", gateway.Token("rita"), new { comment = "ok" });
        Assert.Equal("executed", second!["result"]!.GetValue<string>());
        Assert.Equal(1L, await server.ScalarAsync<long>(database, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'contacts' AND column_name = 'note'"));
        var call = gateway.Trail().Last(e => e.Entry.Kind == "call");
        var (status, preview) = await gateway.Api(HttpMethod.Post, "/api/rollback", gateway.Token("sam"), new { action_id = call.Entry.ActionId, preview = true });
        Assert.True(status == HttpStatusCode.OK, preview?.ToJsonString());
        Assert.Equal(call.Entry.ActionId, preview!["irreversible"]![0]!.GetValue<string>());
        Directory.Delete(directory, recursive: true);
    }
    [Fact]
    public async Task A_sandbox_action_cannot_be_rolled_back_against_the_production_database_sharing_the_data_folder()
    {
        // The sandbox copy in its own database; both environments' gateways keep their data in one folder.
        var (sandbox, _) = await PrepareAsync(server);
        var directory = _gateway.Directory;
        await File.WriteAllTextAsync(Path.Combine(directory, "secrets", "warehouse-sandbox"), server.Governed(sandbox), TestContext.Current.CancellationToken);
        await _gateway.DisposeAsync();
        string Policy(string policy) => WithWarehouse(policy).Replace("sandbox: secret:warehouse", "sandbox: secret:warehouse-sandbox", StringComparison.Ordinal);

        string actionId;
        await using (var staging = await GatewayFixture.StartAsync(Policy, directory: directory))
        {
            await staging.Api(HttpMethod.Post, "/api/agents/hygiene-bot/activate", staging.Token("dev"));
            var (_, held) = await GatewayFixture.Call(await staging.Agent("hygiene-bot"), "warehouse.execute", new { sql = "DELETE FROM contacts WHERE id <= 10" });
            var (_, approved) = await staging.Api(HttpMethod.Post, $"/api/approvals/{held["approval_id"]}/approve", staging.Token("sam"), new { comment = "ok" });
            Assert.Equal("executed", approved!["result"]!.GetValue<string>());
            actionId = staging.Trail().Last(e => e.Entry.Kind == "call").Entry.ActionId!;
        }

        _gateway = await GatewayFixture.StartAsync(Policy, environment: "production", directory: directory);
        await server.ExecuteAsync(_database, "DELETE FROM contacts WHERE id <= 10");
        var (status, body) = await _gateway.Api(HttpMethod.Post, "/api/rollback", _gateway.Token("sam"), new { action_id = actionId });
        Assert.True(status == HttpStatusCode.NotFound, $"{status}: {body?.ToJsonString()}");
        Assert.Equal(4990, await Count());
    }
    [Theory]
    [InlineData("SELECT c FROM contacts c WHERE id = 7")]
    [InlineData("SELECT array_agg(email) AS a FROM contacts WHERE id = 7")]
    [InlineData("SELECT x.e FROM (SELECT email AS e FROM contacts WHERE id = 7) x")]
    [InlineData("WITH x AS (SELECT email FROM contacts WHERE id = 7) SELECT upper(email) AS u FROM x")]
    [InlineData("SELECT (c).email AS e FROM (SELECT c FROM contacts c WHERE id = 7) s")]
    [InlineData("SELECT json_build_object('e', email) AS j FROM contacts WHERE id = 7")]
    [InlineData("SELECT * FROM (VALUES (1)) v(n), LATERAL (SELECT email AS n2 FROM contacts WHERE id = 7) l")]
    [InlineData("SELECT string_agg(email, ',') AS s FROM contacts WHERE id = 7")]
    public async Task A_query_cannot_read_a_masked_column_unmasked(string sql)
    {
        var (_, answer) = await GatewayFixture.Call(await _gateway.Agent("reporting-bot"), "warehouse.query", new { sql });
        Assert.DoesNotContain("person7@", answer.ToJsonString(), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Name7", answer.ToJsonString(), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("SELECT row_to_json(c) AS r FROM contacts c WHERE id = 7")]
    [InlineData("SELECT to_jsonb(c) - 'id' AS r FROM contacts c WHERE id = 7")]
    public async Task A_whole_row_turned_into_json_comes_back_masked(string sql)
    {
        var (_, answer) = await GatewayFixture.Call(await _gateway.Agent("reporting-bot"), "warehouse.query", new { sql });
        Assert.DoesNotContain("person7@", answer.ToJsonString(), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("SELECT email::int FROM contacts WHERE id = 7")]
    [InlineData("SELECT 1 FROM contacts WHERE id = 7 AND email::int > 0")]
    [InlineData("SELECT (SELECT email FROM contacts WHERE id = 7)::date")]
    public async Task An_error_of_a_query_does_not_quote_a_masked_column(string sql)
    {
        var (isError, answer) = await GatewayFixture.Call(await _gateway.Agent("reporting-bot"), "warehouse.query", new { sql });
        Assert.True(isError, answer.ToJsonString());
        Assert.DoesNotContain("person7", answer.ToJsonString(), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("withheld", answer["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain("person7", LastCall().Entry.Reason, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task An_error_of_a_change_while_it_is_planned_does_not_quote_a_masked_column()
    {
        var (isError, answer) = await Execute("UPDATE contacts SET last_seen = email::timestamptz WHERE id = 7");
        Assert.True(isError, answer.ToJsonString());
        Assert.DoesNotContain("person7", answer.ToJsonString(), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("SQLSTATE 22007", answer["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_agent_that_sees_the_columns_reads_the_error_whole()
    {
        var directory = _gateway.Directory;
        await _gateway.DisposeAsync();
        _gateway = await GatewayFixture.StartAsync(p => WithWarehouse(p).Replace("sees: [consent]", "sees: [consent, pii]", StringComparison.Ordinal),
            environment: "production", directory: directory);
        var (isError, answer) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "warehouse.query", new { sql = "SELECT email::int FROM contacts WHERE id = 7" });
        Assert.True(isError, answer.ToJsonString());
        Assert.Contains("person7@example.com", answer["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_agent_that_sees_pii_cannot_read_every_email_at_once_by_aggregating_them()
    {
        var directory = _gateway.Directory;
        await _gateway.DisposeAsync();
        _gateway = await GatewayFixture.StartAsync(p => WithWarehouse(p).Replace("sees: [consent]", "sees: [consent, pii]", StringComparison.Ordinal),
            environment: "production", directory: directory);
        var (isError, answer) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "warehouse.query", new { sql = "SELECT string_agg(email, ',') AS everyone FROM contacts" });
        Assert.True(isError, answer.ToJsonString()[..Math.Min(300, answer.ToJsonString().Length)]);
        Assert.Equal("no-bulk-pii-reads", answer["rule"]!.GetValue<string>());
    }
    [Fact]
    public async Task An_agents_window_is_not_reported_undone_while_its_database_cannot_be_reached()
    {
        var (_, held) = await Execute("DELETE FROM contacts WHERE id <= 10");
        var (_, approved) = await _gateway.Api(HttpMethod.Post, $"/api/approvals/{held["approval_id"]}/approve", _gateway.Token("sam"), new { comment = "ok" });
        Assert.Equal("executed", approved!["result"]!.GetValue<string>());

        // The database goes away: its actions cannot be planned, and must not be left out silently.
        await server.ExecuteAsync("postgres", $"ALTER DATABASE \"{_database}\" ALLOW_CONNECTIONS false; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{_database}'");
        var (status, body) = await _gateway.Api(HttpMethod.Post, "/api/rollback", _gateway.Token("sam"), new { agent = "hygiene-bot", from = "2000-01-01T00:00:00Z", to = "2100-01-01T00:00:00Z" });
        Assert.True(status != HttpStatusCode.OK, body?.ToJsonString());
        Assert.True(body?.ToJsonString().Contains("warehouse", StringComparison.Ordinal), body?.ToJsonString());
    }
}
