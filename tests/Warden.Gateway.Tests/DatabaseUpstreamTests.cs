using System.Text.Json.Nodes;
using Warden.Core.Audit;
using Warden.Gateway.Tests.EndToEnd;
using Warden.Tests;

namespace Warden.Gateway.Tests;

/// <summary>
/// A database MCP server from the npm registry (@bytebase/dbhub) in front of the test PostgreSQL,
/// governed by the example policy: Warden classifies each statement with PostgreSQL through a
/// connection of its own before the server sees it. The agent is the official TypeScript SDK client.
/// </summary>
public sealed class DatabaseUpstreamTests(PostgresServer server) : IAsyncLifetime
{
    private GatewayFixture _gateway = null!;
    private string _database = "";

    private static string Server => Path.Combine(NodeClient.Folder, "node_modules", "@bytebase", "dbhub", "dist", "index.js");

    /// <summary>The example policy, with DBHub started from the test peers and its connections where this test keeps them.</summary>
    private static string WithDbhub(string policy) => policy
        .Replace("""command: [npx, -y, "@bytebase/dbhub@1.4.0", --transport, stdio]""", $"""command: [node, "{Server}", --transport, stdio]""", StringComparison.Ordinal)
        .Replace("DSN: env:WARDEN_DBHUB_DSN", "DSN: secret:dbhub-dsn", StringComparison.Ordinal)
        .Replace("sql_connection: env:WARDEN_DBHUB_CLASSIFY", "sql_connection: secret:dbhub-classify", StringComparison.Ordinal);

    public async ValueTask InitializeAsync()
    {
        _database = await server.CreateDatabaseAsync();
        await server.ExecuteAsync(_database, $"""
            CREATE TABLE contacts (id bigint PRIMARY KEY, email text NOT NULL, last_seen timestamptz);
            INSERT INTO contacts SELECT g, 'person' || g || '@example.com', timestamptz '2026-01-01' + g * interval '1 hour' FROM generate_series(1, 500) g;
            ALTER TABLE contacts OWNER TO {PostgresServer.GovernedRole};
            """);
        var directory = GatewayFixture.NewDirectory();
        Directory.CreateDirectory(Path.Combine(directory, "secrets"));
        await File.WriteAllTextAsync(Path.Combine(directory, "secrets", "dbhub-dsn"), server.AdminUrl(_database), TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "secrets", "dbhub-classify"), server.Governed(_database), TestContext.Current.CancellationToken);
        _gateway = await GatewayFixture.StartAsync(WithDbhub, directory: directory);
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        Directory.Delete(_gateway.Directory, recursive: true);
    }

    private async Task<JsonNode> Sql(string sql)
    {
        var steps = (await NodeClient.RunAsync("http", _gateway.Url + "/mcp", _gateway.Token("schema-bot"),
            NodeClient.Steps(new { op = "call", name = "dbhub.execute_sql", arguments = new { sql } })))["steps"]!;
        return NodeClient.Answer(steps[0]!);
    }

    private Task<long> Count() => server.ScalarAsync<long>(_database, "SELECT count(*) FROM contacts");

    private AuditEntry LastCall() => _gateway.Trail().Last(e => e.Entry.Kind == AuditKinds.Call).Entry;

    [Fact]
    public async Task Drop_table_is_refused_and_the_table_stays()
    {
        var answer = await Sql("DROP TABLE contacts");
        Assert.True(answer["status"]!.GetValue<string>() == "refused", answer.ToJsonString());
        Assert.Equal(500, await Count());
        Assert.Equal(("deny", "dbhub-no-schema-changes"), (LastCall().Effect, LastCall().Rule));
    }

    [Fact]
    public async Task An_unbounded_delete_is_refused_and_every_row_stays()
    {
        var answer = await Sql("DELETE FROM contacts");
        Assert.Equal("refused", answer["status"]!.GetValue<string>());
        Assert.Equal(500, await Count());
        Assert.Equal("warehouse-no-unbounded-changes", LastCall().Rule);
    }

    [Fact]
    public async Task Several_statements_at_once_are_refused_even_when_the_first_is_a_read()
    {
        var answer = await Sql("SELECT 1; DELETE FROM contacts WHERE id < 10");
        Assert.Equal("refused", answer["status"]!.GetValue<string>());
        Assert.Equal(500, await Count());
    }

    [Fact]
    public async Task A_bounded_delete_waits_for_the_technical_owner_with_the_estimated_rows()
    {
        var answer = await Sql("DELETE FROM contacts WHERE last_seen < '2026-01-02'");
        Assert.True(answer["status"]!.GetValue<string>() == "pending_approval", answer.ToJsonString());
        Assert.InRange(answer["records"]!.GetValue<long>(), 1, 500);
        Assert.Equal(500, await Count());
        Assert.Contains("a DELETE of contacts with a WHERE", LastCall().PlanSummary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_read_runs_and_personal_data_comes_back_masked()
    {
        var answer = await Sql("SELECT id, email FROM contacts WHERE id = 7");
        Assert.True(answer["status"]!.GetValue<string>() == "done", answer.ToJsonString());
        var row = answer["result"]!["data"]!["statements"]![0]!["rows"]![0]!;
        Assert.Equal("p***@example.com", row["email"]!.GetValue<string>());
        Assert.Equal(("allow", "dbhub-reads"), (LastCall().Effect, LastCall().Rule));
    }

    private static JsonNode FirstRow(JsonNode answer)
    {
        Assert.True(answer["status"]!.GetValue<string>() == "done", answer.ToJsonString());
        return answer["result"]!["data"]!["statements"]![0]!["rows"]![0]!;
    }

    [Fact]
    public async Task A_column_the_statement_renames_comes_back_masked_as_the_column_it_is()
    {
        var row = FirstRow(await Sql("SELECT email AS handle, id AS n FROM contacts WHERE id = 7"));
        Assert.Equal("p***@example.com", row["handle"]!.GetValue<string>());
        Assert.Equal("7", row["n"]!.ToString()); // node-postgres answers a bigint as text
        Assert.Contains("dbhub.contacts.email", LastCall().FieldsRead);
    }

    [Fact]
    public async Task A_column_computed_from_personal_data_comes_back_masked()
    {
        var row = FirstRow(await Sql("SELECT upper(email) AS shout, row_to_json(c)::text AS whole FROM contacts c WHERE id = 7"));
        Assert.DoesNotContain("PERSON7", row["shout"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain("person7", row["whole"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_error_that_would_quote_personal_data_is_withheld()
    {
        var answer = await Sql("SELECT email::int FROM contacts WHERE id = 7");
        Assert.True(answer["code"]?.GetValue<string>() == "upstream_error", answer.ToJsonString());
        Assert.DoesNotContain("person7", answer.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains("withheld", answer["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_statement_that_does_not_parse_is_an_error_that_says_where()
    {
        var answer = await Sql("SELEC * FROM contacts");
        Assert.True(answer["code"]?.GetValue<string>() == "invalid_arguments", answer.ToJsonString());
        Assert.Contains("SELEC", answer["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
