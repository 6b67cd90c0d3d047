using Npgsql;
using Warden.Core;
using Warden.Tests;

namespace Warden.Postgres.Tests;

/// <summary>
/// An agent trying to get round the control: a change dressed as a read, a write the capture does
/// not see, a preview that is not what runs, a statement that waits for ever. Each is refused, or
/// caught before anything changes.
/// </summary>
public sealed class AttackTests(PostgresServer server) : IAsyncLifetime
{
    private Warehouse _warehouse = null!;

    public async ValueTask InitializeAsync() => _warehouse = await Warehouse.CreateAsync(server, contacts: 200);

    public ValueTask DisposeAsync() => _warehouse.DisposeAsync();

    private Task ExecuteAsAdminAsync(string sql) => server.ExecuteAsync(_warehouse.Database, sql);

    /// <summary>Plans the call and, if Warden lets it through, applies it: what an agent whose call was allowed would get.</summary>
    private async Task<SystemError?> TryAsync(string tool, string sql, params string[] parameters)
    {
        var planned = _warehouse.System.Plan(Warehouse.Call(tool, sql, parameters));
        if (!planned.Succeeded)
        {
            return planned.Error;
        }

        return (await _warehouse.ApplyAsync(planned.Value!)).Error;
    }

    [Fact]
    public async Task A_preview_cannot_reset_a_sequence_through_a_function_in_the_where()
    {
        // Warden's role owns the sequence, as it owns a governed table's serial column.
        await ExecuteAsAdminAsync($"CREATE SEQUENCE order_ids START 1000; ALTER SEQUENCE order_ids OWNER TO {PostgresServer.GovernedRole}; SELECT nextval('order_ids');");

        var planned = _warehouse.System.Plan(Warehouse.Call("execute", "UPDATE contacts SET first_name = first_name WHERE id = 1 AND setval('order_ids', 1) > 0"));

        Assert.False(planned.Succeeded);
        Assert.Contains("setval", planned.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(1000, await server.ScalarAsync<long>(_warehouse.Database, "SELECT last_value FROM order_ids"));
    }

    [Theory]
    [InlineData("SELECT pg_advisory_lock(42)")]
    [InlineData("SELECT id FROM contacts WHERE pg_try_advisory_lock(id)")]
    [InlineData("SELECT pg_terminate_backend(1)")]
    [InlineData("SELECT set_config('search_path', 'pg_temp', false)")]
    public void A_read_only_query_cannot_call_a_function_that_acts_outside_its_transaction(string sql)
    {
        var refusal = _warehouse.Refusal("query", sql);
        Assert.Equal("invalid_arguments", refusal.Code);
        Assert.Contains("function", refusal.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SELECT query_to_xml('SELECT email FROM contacts WHERE id = 1', false, false, '')")]
    [InlineData("SELECT table_to_xml('contacts', false, false, '')")]
    [InlineData("SELECT query FROM pg_stat_get_activity(NULL)")]
    public void A_query_cannot_read_what_the_plan_does_not_show_through_a_function(string sql)
    {
        // query_to_xml and table_to_xml read contacts.email past its class; pg_stat_get_activity
        // shows other agents' statements, with the values in them.
        var refusal = _warehouse.Refusal("query", sql);
        Assert.Contains("the statement calls the function", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_change_cannot_write_an_ungoverned_table_through_a_function_in_its_where()
    {
        // A helper someone installed, running as its owner: it deletes from the backup.
        await ExecuteAsAdminAsync($"""
            CREATE FUNCTION public.purge_backup(bigint) RETURNS boolean SECURITY DEFINER LANGUAGE sql AS 'DELETE FROM contacts_backup WHERE id = $1 RETURNING true';
            GRANT EXECUTE ON FUNCTION public.purge_backup(bigint) TO {PostgresServer.GovernedRole};
            """);

        var error = await TryAsync("execute", "UPDATE contacts SET first_name = first_name WHERE id <= 3 AND public.purge_backup(id)");

        Assert.NotNull(error);
        Assert.Contains("purge_backup", error.Message, StringComparison.Ordinal);
        Assert.Equal(200, await _warehouse.CountAsync("contacts_backup"));
    }

    [Fact]
    public async Task A_delete_cannot_cascade_into_an_ungoverned_table()
    {
        await ExecuteAsAdminAsync("""
            CREATE TABLE orders (id bigint PRIMARY KEY, contact_id bigint REFERENCES contacts (id) ON DELETE CASCADE);
            INSERT INTO orders SELECT g, 1 + g % 10 FROM generate_series(1, 50) g;
            """);

        var error = await TryAsync("execute", "DELETE FROM contacts WHERE id = 1");

        Assert.NotNull(error);
        Assert.Contains("orders", error.Message, StringComparison.Ordinal);
        Assert.Equal(50, await _warehouse.CountAsync("orders"));
        Assert.Equal(200, await _warehouse.CountAsync());
    }

    [Fact]
    public async Task An_approved_update_cannot_write_other_values_than_its_preview_showed()
    {
        // At approval no name starts with x, so the update writes each name as it is.
        var plan = _warehouse.Plan("execute",
            "UPDATE contacts SET first_name = coalesce((SELECT max(first_name) FROM contacts WHERE first_name LIKE 'x%'), first_name) WHERE id <= 10");
        Assert.Empty(plan.FieldsChanged);

        // Before it runs, another allowed call renames a contact outside the ten.
        await ExecuteAsAdminAsync("UPDATE contacts SET first_name = 'xHACKED' WHERE id = 150");
        var applied = await _warehouse.ApplyAsync(plan);

        Assert.Equal("stale_plan", applied.Error?.Code);
        Assert.Equal(1, await _warehouse.CountAsync("contacts", "first_name = 'xHACKED'"));
    }

    [Fact]
    public async Task Classifying_a_statement_on_a_locked_table_gives_up_instead_of_waiting_for_ever()
    {
        await using var holder = new NpgsqlConnection(server.AdminConnection(_warehouse.Database));
        await holder.OpenAsync(TestContext.Current.CancellationToken);
        await using var transaction = await holder.BeginTransactionAsync(TestContext.Current.CancellationToken);
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE contacts IN ACCESS EXCLUSIVE MODE", holder, transaction))
        {
            await lockTable.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }

        var planning = Task.Run(() => _warehouse.System.Plan(Warehouse.Call("query", "SELECT count(*) FROM contacts")), TestContext.Current.CancellationToken);
        var finished = await Task.WhenAny(planning, Task.Delay(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken));
        await transaction.RollbackAsync(TestContext.Current.CancellationToken);

        Assert.Same(planning, finished);
        var error = (await planning).Error;
        Assert.NotNull(error);
        Assert.Contains("lock", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_parameter_with_a_NUL_character_is_refused_saying_which()
    {
        var refusal = _warehouse.Refusal("query", "SELECT id FROM contacts WHERE email = $1", "a\0b");
        Assert.Equal("invalid_arguments", refusal.Code);
        Assert.Contains("'params' item 1", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("NUL", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_change_that_would_move_the_search_path_for_wardens_own_queries_is_refused_before_it_runs()
    {
        // With the search path moved for the rest of the transaction, a function of another schema
        // would answer for PostgreSQL's sha256 in the digests Warden asks for after the statement.
        await ExecuteAsAdminAsync($"""
            CREATE SCHEMA lender;
            CREATE FUNCTION lender.sha256(bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$ SELECT '\x00'::bytea $$;
            GRANT USAGE ON SCHEMA lender TO {PostgresServer.GovernedRole};
            """);

        var error = await TryAsync("execute", "WITH moved AS (SELECT set_config('search_path', 'lender, pg_catalog', true) AS path) UPDATE contacts SET score = 1 FROM moved WHERE id <= 5");

        Assert.Contains("set_config", error?.Message, StringComparison.Ordinal);
        Assert.Equal(0, await _warehouse.CountAsync(where: "score = 1"));
    }

    [Fact]
    public async Task A_writing_cte_under_a_select_cannot_hide_its_rows_when_the_capture_is_off()
    {
        // The capture trigger was disabled by someone (an approved ALTER TABLE, the owner); the
        // statement's own count is that of its SELECT, which returns nothing.
        await ExecuteAsAdminAsync("ALTER TABLE contacts DISABLE TRIGGER USER");

        var error = await TryAsync("execute", "WITH gone AS (DELETE FROM contacts WHERE id < 10 RETURNING id) SELECT id FROM gone WHERE false");

        Assert.NotNull(error);
        Assert.Contains("Warden saw 0", error.Message, StringComparison.Ordinal);
        Assert.Equal(200, await _warehouse.CountAsync());
    }

    [Theory]
    [InlineData("DELETE FROM contacts WHERE id IS NOT NULL")]
    [InlineData("UPDATE contacts SET consent = false WHERE id > 0")]
    public void A_where_that_matches_every_row_is_no_where(string sql)
    {
        var statement = PostgresDatabase.StatementOf(_warehouse.Plan("execute", sql))!;
        Assert.False(statement.Where);
    }

    [Fact]
    public void A_restricted_change_keeps_its_where()
    {
        Assert.True(PostgresDatabase.StatementOf(_warehouse.Plan("execute", "UPDATE contacts SET consent = false WHERE id > 1"))!.Where);
    }

    [Theory]
    [InlineData("UPDATE big SET n = 1 WHERE id > 0", false)]
    [InlineData("UPDATE big SET n = 1 WHERE id <= 30000", true)]
    public async Task On_a_table_of_many_pages_a_where_is_kept_only_when_rows_are_left_untouched(string sql, bool where)
    {
        // Some of its pages are looked at first, at random, for a row the statement left alone; only when none shows is every row read.
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TABLE big (id bigint PRIMARY KEY, n integer NOT NULL);
            INSERT INTO big SELECT g, 0 FROM generate_series(1, 60000) g
            """, "big");

        var statement = PostgresDatabase.StatementOf(system.Plan(Warehouse.Call("execute", sql)).Get())!;

        Assert.Equal(where, statement.Where);
    }

    [Fact]
    public async Task A_query_of_huge_values_returns_a_bounded_answer()
    {
        var applied = await _warehouse.RunAsync("query", "SELECT id, repeat('x', 1000000) AS blob FROM contacts");
        Assert.True(applied.Output.GetProperty("truncated").GetBoolean());
        Assert.True(applied.Output.GetRawText().Length < 8_000_000, $"the answer holds {applied.Output.GetRawText().Length:N0} characters");
    }

    [Fact]
    public async Task Classifying_a_create_table_as_does_not_run_its_query()
    {
        await ExecuteAsAdminAsync($"CREATE SEQUENCE order_ids START 1000; ALTER SEQUENCE order_ids OWNER TO {PostgresServer.GovernedRole}; SELECT nextval('order_ids');");

        var plan = _warehouse.Plan("execute", "CREATE TEMP TABLE copied AS SELECT setval('order_ids', 1), id FROM contacts");

        Assert.Equal(StatementKind.Schema, PostgresDatabase.StatementOf(plan)!.Kind);
        Assert.Equal(["contacts"], PostgresDatabase.StatementOf(plan)!.Tables);
        Assert.Equal(1000, await server.ScalarAsync<long>(_warehouse.Database, "SELECT last_value FROM order_ids"));
    }

    [Fact]
    public void A_create_table_as_cannot_copy_an_ungoverned_table()
    {
        var refusal = _warehouse.Refusal("execute", "CREATE TEMP TABLE copied AS SELECT * FROM contacts_backup");
        Assert.Contains("contacts_backup", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_change_of_more_rows_than_the_limit_is_refused_before_they_are_read()
    {
        await using var small = await PostgresDatabase.OpenAsync(_warehouse.Options with { MaxChangedRows = 100 }, cancellationToken: TestContext.Current.CancellationToken);

        var planned = small.Plan(Warehouse.Call("execute", "UPDATE contacts SET score = 0 WHERE id <= 150"));

        Assert.Equal("refused", planned.Error?.Code);
        Assert.Contains("more than 100 rows", planned.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(0, await _warehouse.CountAsync("contacts", "score = 0"));
    }
}
