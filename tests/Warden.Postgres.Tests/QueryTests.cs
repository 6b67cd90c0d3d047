using System.Text.Json;
using Warden.Core;
using Warden.Tests;

namespace Warden.Postgres.Tests;

/// <summary>Queries run read-only, capped and timed out, and say which of their columns carry which classes, however they are named.</summary>
public sealed class QueryTests(PostgresServer server) : IAsyncLifetime
{
    private Warehouse _warehouse = null!;

    public async ValueTask InitializeAsync() => _warehouse = await Warehouse.CreateAsync(server, contacts: 300);

    public ValueTask DisposeAsync() => _warehouse.DisposeAsync();

    [Fact]
    public async Task A_query_returns_rows_as_json_objects()
    {
        var applied = await _warehouse.RunAsync("query", "SELECT id, email, score, consent, tags FROM contacts WHERE id = $1", "3");
        var row = Assert.Single(applied.Output.GetProperty("rows").EnumerateArray());
        Assert.Equal(3, row.GetProperty("id").GetInt64());
        Assert.Equal("person3@example.com", row.GetProperty("email").GetString());
        Assert.Equal(3.375m, row.GetProperty("score").GetDecimal());
        Assert.True(row.GetProperty("consent").GetBoolean());
        Assert.Equal(JsonValueKind.Array, row.GetProperty("tags").ValueKind);
    }

    [Fact]
    public async Task A_query_returns_at_most_the_row_cap_and_says_it_was_cut()
    {
        var applied = await _warehouse.RunAsync("query", "SELECT id FROM contacts");
        Assert.Equal(100, applied.Output.GetProperty("rows").GetArrayLength());
        Assert.True(applied.Output.GetProperty("truncated").GetBoolean());
    }

    [Fact]
    public async Task A_renamed_column_is_traced_to_its_field()
    {
        var applied = await _warehouse.RunAsync("query", "SELECT email AS contact, id FROM contacts WHERE id < 3");
        Assert.Equal(["warehouse.contacts.email"], applied.OutputFields!["contact"]);
        Assert.Equal(["warehouse.contacts.id"], applied.OutputFields["id"]);
    }

    [Fact]
    public async Task A_computed_column_is_traced_to_every_field_the_query_reads()
    {
        var applied = await _warehouse.RunAsync("query", "SELECT lower(email) || '' AS x FROM contacts WHERE id < 3");
        Assert.Contains("warehouse.contacts.email", applied.OutputFields!["x"]);
    }

    [Fact]
    public async Task A_masked_agent_sees_a_renamed_email_masked()
    {
        var applied = await _warehouse.RunAsync("query", "SELECT email AS contact FROM contacts WHERE id = 1");
        var loaded = PolicyLoader.Load("""
            version: 1
            id: test
            owners:
              - { id: ana, name: Ana Lind, email: ana@example.com, roles: [approver, business_owner, risk_owner, technical_owner, data_owner] }
            use_cases:
              - id: tidy
                classification: { access: medium, autonomy: medium, data_sensitivity: low, customer_impact: low, compliance_exposure: low, reversibility: low }
                owners: { business: ana, technical: ana, data: ana, risk: ana }
                escalation: ana
            agents:
              - { id: cleanup-bot, use_case: tidy, environments: [sandbox], auth: { token: env:T_TIDY } }
            """, "test.yaml", new PolicyLoadOptions { Systems = [_warehouse.System.Catalogue] });
        var policy = loaded.Policy ?? throw new Xunit.Sdk.XunitException(string.Join("\n", loaded.Errors));
        var masked = ReadMask.For(policy, policy.FindAgent("cleanup-bot")!).Apply(applied.Output, applied.OutputFields);
        Assert.Equal("p***@example.com", masked.GetProperty("rows")[0].GetProperty("contact").GetString());
    }

    [Fact]
    public async Task A_query_cannot_write_even_through_select_into()
    {
        var refusal = _warehouse.Refusal("query", "SELECT * INTO copied FROM contacts");
        Assert.Equal("invalid_arguments", refusal.Code);
        Assert.Contains("SELECT ... INTO", refusal.Message, StringComparison.Ordinal);
        Assert.Equal(0L, await server.ScalarAsync<long>(_warehouse.Database, "SELECT count(*) FROM pg_class WHERE relname = 'copied'"));
    }

    [Fact]
    public async Task A_query_runs_read_only_so_not_even_a_sequence_moves()
    {
        // nextval is a function the classifier lets through (every serial INSERT calls it); the
        // query's read-only transaction is what refuses it here.
        await server.ExecuteAsync(_warehouse.Database, $"CREATE SEQUENCE order_ids START 1000; ALTER SEQUENCE order_ids OWNER TO {PostgresServer.GovernedRole}; SELECT nextval('order_ids');");

        var applied = await _warehouse.ApplyAsync(_warehouse.Plan("query", "SELECT nextval('order_ids')"));

        Assert.Contains("read-only transaction", applied.Error?.Message, StringComparison.Ordinal);
        Assert.Equal(1000L, await server.ScalarAsync<long>(_warehouse.Database, "SELECT last_value FROM order_ids"));
    }

    [Fact]
    public async Task A_query_that_runs_too_long_is_stopped()
    {
        var plan = _warehouse.Plan("query", "SELECT count(*) FROM contacts a, contacts b, contacts c");
        await using var quick = await PostgresDatabase.OpenAsync(_warehouse.Options with { StatementTimeout = TimeSpan.FromMilliseconds(200) }, cancellationToken: TestContext.Current.CancellationToken);
        var applied = await quick.ApplyAsync(quick.Plan(plan.Call).Get(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Contains("statement timeout", applied.Error?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Describe_lists_the_governed_tables_with_their_classes_and_nothing_else()
    {
        var applied = await _warehouse.RunAsync("describe", "");
        var tables = applied.Output.GetProperty("tables").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToList();
        Assert.Equal(["contacts", "events"], tables);
        Assert.DoesNotContain("contacts_backup", applied.Output.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_catalogue_names_each_column_with_its_classes()
    {
        Assert.Equal(["pii"], _warehouse.System.Catalogue.ClassesOf("warehouse.contacts.email"));
        Assert.Equal(["consent"], _warehouse.System.Catalogue.ClassesOf("warehouse.contacts.consent"));
        Assert.Empty(_warehouse.System.Catalogue.ClassesOf("warehouse.contacts.score"));
    }

    [Fact]
    public void A_count_reads_no_column_and_no_class()
    {
        var plan = _warehouse.Plan("query", "SELECT count(*) FROM contacts");
        Assert.Empty(plan.FieldsRead);
        Assert.Empty(plan.Classes);
    }

    [Fact]
    public void A_filter_on_a_classified_column_counts_as_reading_it()
    {
        var plan = _warehouse.Plan("query", "SELECT count(*) FROM contacts c WHERE c.email LIKE 'a%'");
        Assert.Equal(["warehouse.contacts.email"], plan.FieldsRead);
        Assert.Equal(["pii"], plan.Classes);
    }
}
