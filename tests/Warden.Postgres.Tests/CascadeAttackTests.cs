using Warden.Core;
using Warden.Tests;

namespace Warden.Postgres.Tests;

/// <summary>
/// An agent's statement against the binding and the undo through what the statement does not name:
/// a key an update moves, a foreign key's cascade, a column added after Warden read the table, a
/// column whose name is the capture's own. Found by an attack review of the capture's summary.
/// </summary>
public sealed class CascadeAttackTests(PostgresServer server) : IAsyncLifetime
{
    private const string Orders = """
        CREATE TABLE orders (id bigint PRIMARY KEY, contact_id bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE, amount integer);
        INSERT INTO orders VALUES (1, 2, 10), (2, 2, 20), (3, 3, 30)
        """;

    private Warehouse _warehouse = null!;

    public async ValueTask InitializeAsync() => _warehouse = await Warehouse.CreateAsync(server, contacts: 200);

    public ValueTask DisposeAsync() => _warehouse.DisposeAsync();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private Task ExecuteAsAdminAsync(string sql) => server.ExecuteAsync(_warehouse.Database, sql);

    [Fact]
    public async Task An_update_moving_a_serial_key_cannot_move_it_elsewhere_at_apply()
    {
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TABLE tickets (id bigserial PRIMARY KEY, note text);
            INSERT INTO tickets (note) SELECT 'ticket ' || g FROM generate_series(1, 5) g
            """, "tickets");
        var plan = system.Plan(Warehouse.Call("execute",
            "UPDATE tickets SET id = 1000 + coalesce((SELECT max(id) FROM contacts WHERE first_name = 'pick'), 1) WHERE id = 1")).Get();
        Assert.Equal("1001", plan.Sample.Single(s => s.After.Count > 0).After["id"]);
        await ExecuteAsAdminAsync("UPDATE contacts SET first_name = 'pick' WHERE id = 77");

        var applied = await system.ApplyAsync(plan, null, Token);

        Assert.Equal("stale_plan", applied.Error?.Code);
        Assert.Equal(0, await _warehouse.CountAsync("tickets", "id = 1077"));
    }

    [Fact]
    public async Task An_update_moving_a_key_cannot_move_it_elsewhere_by_drawing_from_a_sequence()
    {
        await ExecuteAsAdminAsync($"CREATE SEQUENCE s; GRANT USAGE ON SEQUENCE s TO {PostgresServer.GovernedRole};");
        var plan = _warehouse.Plan("execute",
            "UPDATE contacts SET id = 100000 + coalesce((SELECT max(id) FROM contacts WHERE first_name = 'pick'), 1) WHERE id = 1 AND nextval('s') > 0");
        await ExecuteAsAdminAsync("UPDATE contacts SET first_name = 'pick' WHERE id = 77");

        var applied = await _warehouse.ApplyAsync(plan);

        Assert.Equal("stale_plan", applied.Error?.Code);
        Assert.Equal(0, await _warehouse.CountAsync(where: "id = 100077"));
    }

    [Fact]
    public async Task A_change_to_a_column_added_after_Warden_read_the_table_is_refused_not_hidden()
    {
        await ExecuteAsAdminAsync("ALTER TABLE contacts ADD COLUMN is_admin boolean NOT NULL DEFAULT false");

        var refusal = _warehouse.Refusal("execute", "UPDATE contacts SET is_admin = true WHERE id = 5");

        Assert.Contains("contacts.is_admin", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("added after Warden read the table", refusal.Message, StringComparison.Ordinal);
        Assert.Equal(0, await _warehouse.CountAsync(where: "is_admin"));
    }

    [Fact]
    public async Task A_delete_that_cascades_into_a_governed_table_without_a_key_is_refused_before_it_runs()
    {
        await ExecuteAsAdminAsync("DELETE FROM events WHERE contact_id > 200; ALTER TABLE events ADD FOREIGN KEY (contact_id) REFERENCES contacts (id) ON DELETE CASCADE");

        var refusal = _warehouse.Refusal("execute", "DELETE FROM contacts WHERE id <= 3");

        Assert.Contains("events, which has no primary key", refusal.Message, StringComparison.Ordinal);
        Assert.Equal(100, await _warehouse.CountAsync("events"));
        Assert.Equal(200, await _warehouse.CountAsync());
    }

    [Fact]
    public async Task A_rollback_that_would_cascade_away_children_it_restored_is_refused_and_changes_nothing()
    {
        await using var system = await _warehouse.OpenWithTablesAsync(Orders, "orders");
        var plan = system.Plan(Warehouse.Call("execute",
            "WITH d AS (DELETE FROM contacts WHERE id = 2 RETURNING id) UPDATE contacts SET id = (SELECT id FROM d) WHERE id = 1")).Get();
        var applied = (await system.ApplyAsync(plan, null, Token)).Get();
        var contacts = await _warehouse.FingerprintAsync();
        var orders = await _warehouse.FingerprintAsync("orders");

        var preview = system.PlanRollback(new RollbackRequest(applied.ActionId));
        var result = await system.RollBackAsync(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria", Token);

        Assert.Contains("beyond the", preview.Error?.Message, StringComparison.Ordinal);
        Assert.Equal("refused", result.Error?.Code);
        Assert.Equal(contacts, await _warehouse.FingerprintAsync());
        Assert.Equal(orders, await _warehouse.FingerprintAsync("orders"));
    }

    [Fact]
    public async Task A_rollback_whose_parents_first_order_would_leave_a_row_out_is_refused_and_changes_nothing()
    {
        await using var system = await _warehouse.OpenWithTablesAsync(Orders, "orders");
        var plan = system.Plan(Warehouse.Call("execute",
            "WITH d AS (DELETE FROM contacts WHERE id IN (2, 3) RETURNING id) UPDATE contacts SET id = (SELECT min(id) FROM d) WHERE id = 1")).Get();
        var applied = (await system.ApplyAsync(plan, null, Token)).Get();
        var contacts = await _warehouse.FingerprintAsync();
        var orders = await _warehouse.FingerprintAsync("orders");

        var result = await system.RollBackAsync(new RollbackRequest(applied.ActionId), ConflictResolution.Force, "maria", Token);

        Assert.Equal("refused", result.Error?.Code);
        Assert.Equal(contacts, await _warehouse.FingerprintAsync());
        Assert.Equal(orders, await _warehouse.FingerprintAsync("orders"));
    }

    [Fact]
    public async Task Undoing_an_insert_that_others_have_since_pointed_rows_at_is_refused_rather_than_cascading_into_them()
    {
        await using var system = await _warehouse.OpenWithTablesAsync(
            "CREATE TABLE orders (id bigint PRIMARY KEY, contact_id bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE, amount integer)", "orders");
        var applied = (await system.ApplyAsync(system.Plan(Warehouse.Call("execute", "INSERT INTO contacts (id, email) VALUES (9001, 'new@example.com')")).Get(), null, Token)).Get();
        await ExecuteAsAdminAsync("INSERT INTO orders VALUES (1, 9001, 500)");

        var preview = system.PlanRollback(new RollbackRequest(applied.ActionId));
        var result = await system.RollBackAsync(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria", Token);

        Assert.Contains("1 row(s) beyond", preview.Error?.Message, StringComparison.Ordinal);
        Assert.Equal("refused", result.Error?.Code);
        Assert.Equal(1, await _warehouse.CountAsync("orders"));
        Assert.Equal(1, await _warehouse.CountAsync(where: "id = 9001"));
    }

    [Fact]
    public async Task A_governed_table_with_a_column_named_like_the_captures_row_alias_is_captured_whole()
    {
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TABLE notes (id integer PRIMARY KEY, r text, r_ text);
            INSERT INTO notes VALUES (1, 'a', 'x'), (2, 'b', 'y')
            """, "notes");
        var before = await _warehouse.FingerprintAsync("notes");

        var plan = system.Plan(Warehouse.Call("execute", "UPDATE notes SET r = 'c' WHERE id = 1")).Get();
        Assert.Equal("warehouse.notes.r", Assert.Single(plan.Changes).Field);
        var applied = (await system.ApplyAsync(plan, null, Token)).Get();
        (await system.RollBackAsync(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria", Token)).Get();

        Assert.Equal(before, await _warehouse.FingerprintAsync("notes"));
    }

    [Theory]
    [InlineData("extra_float_digits", "-15")]
    [InlineData("enable_mergejoin", "on")]
    [InlineData("search_path", "public")]
    [InlineData("TimeZone", "Pacific/Chatham")]
    public void A_statement_cannot_set_a_setting_the_capture_reads(string setting, string value)
    {
        var refusal = _warehouse.Refusal("execute",
            $"WITH s AS (SELECT set_config('{setting}', '{value}', true) AS v) UPDATE contacts SET weight = weight * 2 FROM s WHERE id <= 3 AND s.v IS NOT NULL");

        Assert.Contains("set_config", refusal.Message, StringComparison.Ordinal);
    }
}
