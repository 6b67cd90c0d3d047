using Warden.Core;
using Warden.Tests;

namespace Warden.Postgres.Tests;

/// <summary>Statements are classified by PostgreSQL's parser and planner; the text's look decides nothing.</summary>
public sealed class ClassificationTests(PostgresServer server) : IAsyncLifetime
{
    private Warehouse _warehouse = null!;

    public async ValueTask InitializeAsync() => _warehouse = await Warehouse.CreateAsync(server, contacts: 200);

    public ValueTask DisposeAsync() => _warehouse.DisposeAsync();

    private Statement Classify(string sql) => Statement(_warehouse.Plan("execute", sql));

    private static Statement Statement(Plan plan) => PostgresDatabase.StatementOf(plan) ?? throw new Xunit.Sdk.XunitException("the plan has no statement");

    [Fact]
    public void Drop_table_is_a_schema_change_on_that_table()
    {
        var statement = Classify("DROP TABLE contacts");
        Assert.Equal(StatementKind.Schema, statement.Kind);
        Assert.Equal(["contacts"], statement.Tables);
    }

    [Fact]
    public async Task A_schema_change_is_irreversible_and_changes_nothing_when_planned()
    {
        var plan = _warehouse.Plan("execute", "TRUNCATE contacts");
        Assert.Equal(StatementKind.Schema, Statement(plan).Kind);
        Assert.Equal(Reversibility.Irreversible, plan.Tool.Reversibility);
        Assert.True(plan.Tool.AlwaysNeedsPerson);
        Assert.Equal(200, await _warehouse.CountAsync());
    }

    [Fact]
    public void A_comment_before_drop_does_not_hide_it()
    {
        Assert.Equal(StatementKind.Schema, Classify("/* routine /* nested */ cleanup */ -- staging\n  drop TABLE contacts").Kind);
    }

    [Fact]
    public void Grant_is_a_permission_change()
    {
        Assert.Equal(StatementKind.Permission, Classify("GRANT SELECT ON contacts TO PUBLIC").Kind);
    }

    [Fact]
    public void Alter_role_is_a_permission_change_not_a_schema_change()
    {
        Assert.Equal(StatementKind.Permission, Classify($"ALTER ROLE {PostgresServer.GovernedRole} CONNECTION LIMIT 5").Kind);
    }

    [Fact]
    public async Task Two_statements_in_one_call_are_refused_and_neither_runs()
    {
        var refusal = _warehouse.Refusal("execute", "DELETE FROM contacts WHERE id = 1; DROP TABLE contacts");
        Assert.Equal("refused", refusal.Code);
        Assert.Contains("one statement", refusal.Message, StringComparison.Ordinal);
        Assert.Equal(200, await _warehouse.CountAsync());
    }

    [Fact]
    public void A_delete_without_where_reaches_every_row()
    {
        var statement = Classify("DELETE FROM contacts");
        Assert.Equal(StatementKind.Delete, statement.Kind);
        Assert.False(statement.Where);
    }

    [Fact]
    public void A_where_the_planner_folds_away_is_no_where()
    {
        Assert.False(Classify("DELETE FROM contacts WHERE 1 = 1").Where);
        Assert.False(Classify("UPDATE contacts SET consent = true WHERE true").Where);
    }

    [Fact]
    public void A_delete_with_a_condition_has_a_where()
    {
        var statement = Classify("DELETE FROM contacts WHERE last_seen < '2026-01-02'");
        Assert.Equal(StatementKind.Delete, statement.Kind);
        Assert.True(statement.Where);
        Assert.Equal(["contacts"], statement.Tables);
    }

    [Fact]
    public void A_delete_inside_a_select_is_a_delete()
    {
        var statement = Classify("WITH gone AS (DELETE FROM contacts WHERE id < 10 RETURNING id) SELECT count(*) FROM gone");
        Assert.Equal(StatementKind.Delete, statement.Kind);
    }

    [Fact]
    public void A_read_sent_to_execute_is_sent_to_query()
    {
        var refusal = _warehouse.Refusal("execute", "SELECT * FROM contacts");
        Assert.Contains("warehouse.query", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_change_sent_to_query_is_refused()
    {
        var refusal = _warehouse.Refusal("query", "DELETE FROM contacts WHERE id = 1");
        Assert.Contains("warehouse.execute", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_table_that_is_not_governed_is_invisible()
    {
        var refusal = _warehouse.Refusal("query", "SELECT * FROM contacts_backup");
        Assert.Equal("invalid_arguments", refusal.Code);
        Assert.Contains("contacts_backup", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("not a table this system governs", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_governed_change_cannot_reach_an_ungoverned_table_through_a_subquery()
    {
        var refusal = _warehouse.Refusal("execute", "DELETE FROM contacts WHERE id IN (SELECT id FROM contacts_backup)");
        Assert.Contains("contacts_backup", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dropping_an_ungoverned_table_is_refused_and_it_stays()
    {
        var refusal = _warehouse.Refusal("execute", "DROP TABLE contacts_backup");
        Assert.Contains("contacts_backup", refusal.Message, StringComparison.Ordinal);
        Assert.Equal(200, await _warehouse.CountAsync("contacts_backup"));
    }

    [Fact]
    public void Wardens_capture_table_is_out_of_an_agents_reach()
    {
        var refusal = _warehouse.Refusal("execute", "DELETE FROM pg_temp.warden_captured");
        Assert.Equal("invalid_arguments", refusal.Code);
    }

    [Fact]
    public void A_statement_that_does_not_parse_says_where()
    {
        var refusal = _warehouse.Refusal("execute", "DELETE FROM contacts\nWHERE id = = 3");
        Assert.Equal("invalid_arguments", refusal.Code);
        Assert.Contains("line 2", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("syntax error", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_misspelt_command_is_an_error_not_a_kind()
    {
        var refusal = _warehouse.Refusal("execute", "DELET FROM contacts");
        Assert.Contains("DELET", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Copy_is_the_most_dangerous_kind()
    {
        var plan = _warehouse.Plan("execute", "COPY contacts TO STDOUT");
        Assert.Equal(StatementKind.Other, Statement(plan).Kind);
        Assert.Equal(Reversibility.Irreversible, plan.Tool.Reversibility);
    }

    [Fact]
    public void An_unknown_column_is_an_error_naming_it()
    {
        var refusal = _warehouse.Refusal("execute", "UPDATE contacts SET nope = 1 WHERE id = 1");
        Assert.Contains("nope", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_parameter_of_the_wrong_type_is_an_error_and_nothing_runs()
    {
        var refusal = _warehouse.Refusal("execute", "DELETE FROM contacts WHERE id = $1", "seven");
        Assert.Contains("seven", refusal.Message, StringComparison.Ordinal);
        Assert.Equal(200, await _warehouse.CountAsync());
    }

    [Fact]
    public void A_missing_parameter_is_an_error()
    {
        var refusal = _warehouse.Refusal("execute", "DELETE FROM contacts WHERE id = $1 OR id = $2", "7");
        Assert.Contains("2 parameter", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_statement_over_the_size_limit_is_refused_before_it_reaches_the_database()
    {
        var refusal = _warehouse.Refusal("query", "SELECT 1 " + new string(' ', 20_001));
        Assert.Contains("is longer than 20,000 characters", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_change_to_a_table_without_a_primary_key_is_refused()
    {
        var refusal = _warehouse.Refusal("execute", "DELETE FROM events WHERE kind = 'open'");
        Assert.Contains("primary key", refusal.Message, StringComparison.Ordinal);
        Assert.Equal(100, await _warehouse.CountAsync("events"));
    }
}
