using Warden.Core;
using Warden.Tests;

namespace Warden.Postgres.Tests;

/// <summary>
/// The summary the capture trigger makes itself, per firing, from the rows' typed columns: what it
/// shows and binds when a table's rows come in several firings, for columns whose type has no
/// equality or no zone, and when the function in the database is an earlier Warden's.
/// </summary>
public sealed class CaptureSummaryTests(PostgresServer server) : IAsyncLifetime
{
    private Warehouse _warehouse = null!;

    public async ValueTask InitializeAsync() => _warehouse = await Warehouse.CreateAsync(server, contacts: 200);

    public ValueTask DisposeAsync() => _warehouse.DisposeAsync();

    [Fact]
    public async Task A_delete_whose_cascade_comes_in_one_firing_per_parent_is_previewed_whole_applied_as_planned_and_rolled_back_exactly()
    {
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TABLE orders (id bigint PRIMARY KEY, contact_id bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE, amount integer);
            INSERT INTO orders SELECT g, 1 + g % 3, g * 10 FROM generate_series(1, 7) g
            """, "orders");
        var contacts = await _warehouse.FingerprintAsync();
        var orders = await _warehouse.FingerprintAsync("orders");

        // Three contacts deleted: the foreign key deletes each one's orders by a statement of its own.
        var plan = system.Plan(Warehouse.Call("execute", "DELETE FROM contacts WHERE id <= 3")).Get();
        Assert.Contains("delete 3 row(s) of contacts", plan.Summary, StringComparison.Ordinal);
        Assert.Contains("delete 7 row(s) of orders", plan.Summary, StringComparison.Ordinal);
        var owners = Assert.Single(plan.Changes, c => c.Field == "warehouse.orders.contact_id");
        Assert.Equal(7, owners.Records);
        Assert.Equal([("2", 3L), ("1", 2L), ("3", 2L)], owners.Before.Select(v => (v.Value, v.Records)));

        var applied = (await system.ApplyAsync(plan, null, TestContext.Current.CancellationToken)).Get();
        Assert.Equal(0, await _warehouse.CountAsync("orders"));

        (await system.RollBackAsync(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria", TestContext.Current.CancellationToken)).Get();
        Assert.Equal(contacts, await _warehouse.FingerprintAsync());
        Assert.Equal(orders, await _warehouse.FingerprintAsync("orders"));
    }

    [Fact]
    public async Task A_cascade_that_deletes_other_orders_at_apply_than_at_plan_does_not_run()
    {
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TABLE orders (id bigint PRIMARY KEY, contact_id bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE, amount integer);
            INSERT INTO orders SELECT g, 1 + g % 3, g * 10 FROM generate_series(1, 7) g
            """, "orders");
        var plan = system.Plan(Warehouse.Call("execute", "DELETE FROM contacts WHERE id <= 3")).Get();
        await server.ExecuteAsync(_warehouse.Database, "UPDATE orders SET amount = amount + 1 WHERE id = 5");

        var applied = await system.ApplyAsync(plan, null, TestContext.Current.CancellationToken);

        Assert.Equal("stale_plan", applied.Error?.Code);
        Assert.Equal(7, await _warehouse.CountAsync("orders"));
    }

    [Fact]
    public async Task A_time_without_zone_set_to_the_transactions_own_is_the_same_change_at_plan_and_at_apply()
    {
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TABLE visits (id integer PRIMARY KEY, seen timestamp, note text);
            INSERT INTO visits SELECT g, timestamp '2026-01-01' + g * interval '1 day', NULL FROM generate_series(1, 5) g
            """, "visits");
        var plan = system.Plan(Warehouse.Call("execute", "UPDATE visits SET seen = localtimestamp, note = 'back' WHERE id <= 2")).Get();
        await Task.Delay(20, TestContext.Current.CancellationToken);

        var applied = await system.ApplyAsync(plan, null, TestContext.Current.CancellationToken);

        Assert.Null(applied.Error);
        Assert.Equal(2, await _warehouse.CountAsync("visits", "note = 'back'"));
    }

    [Fact]
    public async Task A_json_column_which_has_no_equality_is_compared_by_its_text()
    {
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TABLE forms (id integer PRIMARY KEY, body json);
            INSERT INTO forms SELECT g, json_build_object('n', g) FROM generate_series(1, 4) g
            """, "forms");

        var plan = system.Plan(Warehouse.Call("execute", """UPDATE forms SET body = CASE WHEN id <= 2 THEN '{"n": 0}'::json ELSE body END""")).Get();

        var body = Assert.Single(plan.Changes);
        Assert.Equal("warehouse.forms.body", body.Field);
        Assert.Equal(2, body.Records);
        Assert.Equal("""{"n": 0}""", body.After);
        Assert.Equal(["""{"n" : 1}""", """{"n" : 2}"""], body.Before.Select(v => v.Value));
        Assert.Null((await system.ApplyAsync(plan, null, TestContext.Current.CancellationToken)).Error);
    }

    [Fact]
    public async Task A_capture_function_an_earlier_Warden_installed_is_refused_at_open_with_what_to_do()
    {
        await server.ExecuteAsync(_warehouse.Database,
            "CREATE OR REPLACE FUNCTION warden.capture() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN RETURN NULL; END $f$");

        var error = await Assert.ThrowsAsync<PostgresSystemException>(() => _warehouse.OpenAsync());

        Assert.Contains("earlier version of Warden", error.Message, StringComparison.Ordinal);
        Assert.Contains("InstallAsync", error.Message, StringComparison.Ordinal);
        await PostgresDatabase.InstallAsync(server.AdminConnection(_warehouse.Database), Warehouse.Tables, TestContext.Current.CancellationToken);
        await using var reopened = await _warehouse.OpenAsync();
    }
    [Fact]
    public async Task An_approved_key_change_of_a_serial_key_cannot_move_the_row_to_another_key_than_planned()
    {
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TABLE tickets (id serial PRIMARY KEY, note text);
            INSERT INTO tickets (note) SELECT 'open' FROM generate_series(1, 5)
            """, "tickets");
        var plan = system.Plan(Warehouse.Call("execute", "UPDATE tickets SET id = 1000 + (SELECT count(*) FROM tickets WHERE note = 'moved') WHERE id = 1")).Get();
        await server.ExecuteAsync(_warehouse.Database, "UPDATE tickets SET note = 'moved' WHERE id = 5");

        var applied = await system.ApplyAsync(plan, null, TestContext.Current.CancellationToken);

        Assert.Equal("stale_plan", applied.Error?.Code);
        Assert.Equal(1, await _warehouse.CountAsync("tickets", "id = 1"));
    }
    [Fact]
    public async Task A_change_whose_images_are_more_than_one_action_journals_is_refused_at_apply_and_changes_nothing()
    {
        await using var system = await PostgresDatabase.OpenAsync(_warehouse.Options with { MaxJournaledBytes = 2_000 }, cancellationToken: TestContext.Current.CancellationToken);
        var before = await _warehouse.FingerprintAsync();
        var plan = system.Plan(Warehouse.Call("execute", "UPDATE contacts SET first_name = 'wide' WHERE id <= 20")).Get();

        var applied = await system.ApplyAsync(plan, null, TestContext.Current.CancellationToken);

        Assert.Equal("refused", applied.Error?.Code);
        Assert.Contains("2,000 bytes", applied.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(before, await _warehouse.FingerprintAsync());
    }

    [Fact]
    public async Task Images_are_journaled_in_binary_and_read_back_as_the_json_postgresql_writes_whatever_their_characters()
    {
        const string Name = "Zoë \"Q\" \\ 😀 ✓\n";
        var before = await server.ScalarAsync<string>(_warehouse.Database, "SELECT row_to_json(c)::text FROM contacts c WHERE id = 9");
        var fingerprint = await _warehouse.FingerprintAsync();

        var applied = await _warehouse.RunAsync("execute", "UPDATE contacts SET first_name = $1 WHERE id = 9", Name);

        var after = await server.ScalarAsync<string>(_warehouse.Database, "SELECT row_to_json(c)::text FROM contacts c WHERE id = 9");
        Assert.Contains("😀", after, StringComparison.Ordinal);
        using (var journal = new SqlJournal(_warehouse.JournalPath))
        {
            var journaled = journal.Images(journal.Action(applied.ActionId)!.Seq);
            Assert.NotNull(Assert.Single(journaled.Rows).After!.Record);
            await using var connection = new Npgsql.NpgsqlConnection(server.AdminConnection(_warehouse.Database));
            await connection.OpenAsync(TestContext.Current.CancellationToken);
            var image = Assert.Single(await RecordImages.JsonAsync(connection, journaled, TestContext.Current.CancellationToken));
            Assert.Equal(("public.contacts", "UPDATE", before, after), (image.Table, image.Operation, image.Before, image.After));
        }

        (await _warehouse.RollBackAsync(new RollbackRequest(applied.ActionId))).Get();
        Assert.Equal(fingerprint, await _warehouse.FingerprintAsync());
    }

    [Fact]
    public async Task A_table_with_a_column_without_a_binary_form_is_journaled_as_json_and_rolls_back_exactly()
    {
        // aclitem has no binary send or receive: the capture copies such a table's rows as JSON.
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TABLE grants (id bigint PRIMARY KEY, who aclitem, note text);
            INSERT INTO grants SELECT g, ('postgres=r' || CASE WHEN g % 2 = 0 THEN 'w' ELSE '' END || '/postgres')::aclitem, 'n' || g FROM generate_series(1, 20) g
            """, "grants");
        var fingerprint = await _warehouse.FingerprintAsync("grants");

        var plan = system.Plan(Warehouse.Call("execute", "UPDATE grants SET who = 'postgres=arwd/postgres', note = NULL WHERE id <= 10")).Get();
        var applied = (await system.ApplyAsync(plan, null, TestContext.Current.CancellationToken)).Get();

        using (var journal = new SqlJournal(_warehouse.JournalPath))
        {
            var rows = journal.Images(journal.Action(applied.ActionId)!.Seq).Rows;
            Assert.Equal(10, rows.Count);
            Assert.All(rows, r => Assert.Contains("\"who\":\"postgres=arwd/postgres\"", r.After!.Json, StringComparison.Ordinal));
        }

        (await system.RollBackAsync(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria", TestContext.Current.CancellationToken)).Get();
        Assert.Equal(fingerprint, await _warehouse.FingerprintAsync("grants"));
    }

    [Fact]
    public async Task Deleted_rows_journaled_before_a_column_was_added_come_back_with_their_values_and_the_new_column_empty()
    {
        var applied = await _warehouse.RunAsync("execute", "DELETE FROM contacts WHERE id BETWEEN 11 AND 20");
        var expected = await server.ScalarAsync<string>(_warehouse.Database,
            "SELECT string_agg(format('%s %s %s', id, email, score), ';' ORDER BY id) FROM contacts_backup WHERE id BETWEEN 11 AND 20");
        await server.ExecuteAsync(_warehouse.Database, "ALTER TABLE contacts ADD COLUMN note text");

        var result = (await _warehouse.RollBackAsync(new RollbackRequest(applied.ActionId))).Get();

        Assert.Equal(10, result.Restored);
        Assert.Equal(expected, await server.ScalarAsync<string>(_warehouse.Database,
            "SELECT string_agg(format('%s %s %s', id, email, score), ';' ORDER BY id) FROM contacts WHERE id BETWEEN 11 AND 20 AND note IS NULL"));
    }

    [Fact]
    public async Task A_time_of_a_domain_set_to_the_transactions_own_is_the_same_change_at_plan_and_at_apply()
    {
        // A domain over a time is digested by the trigger at apply too (the flag's type is the domain's base type), and must agree with the plan.
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE DOMAIN seen_at AS timestamptz CHECK (VALUE > '2000-01-01');
            CREATE TABLE visits (id bigint PRIMARY KEY, seen seen_at, at timestamptz);
            INSERT INTO visits SELECT g, '2026-01-01', '2026-01-01' FROM generate_series(1, 10) g
            """, "visits");
        var plan = system.Plan(Warehouse.Call("execute", "UPDATE visits SET seen = now(), at = now() WHERE id <= 5")).Get();

        var applied = await system.ApplyAsync(plan, null, TestContext.Current.CancellationToken);

        Assert.Null(applied.Error);
        Assert.Equal(5, await _warehouse.CountAsync("visits", "seen > '2026-06-01' AND at = seen"));
    }
}
