using Warden.Core;
using Warden.Tests;

namespace Warden.Postgres.Tests;

/// <summary>
/// An agent's statement against the capture and the plan hash: a change the digest cannot tell
/// from the one approved, rows the statement triggers pair or order so that undoing them goes wrong.
/// </summary>
public sealed class CaptureAttackTests(PostgresServer server) : IAsyncLifetime
{
    private Warehouse _warehouse = null!;

    public async ValueTask InitializeAsync() => _warehouse = await Warehouse.CreateAsync(server, contacts: 200);

    public ValueTask DisposeAsync() => _warehouse.DisposeAsync();

    private Task ExecuteAsAdminAsync(string sql) => server.ExecuteAsync(_warehouse.Database, sql);

    /// <summary>The action's rollback previews no conflict, and leaves the table byte for byte as it was before.</summary>
    private async Task AssertRollsBackExactlyAsync(string actionId, string before)
    {
        var preview = _warehouse.System.PlanRollback(new RollbackRequest(actionId)).Get();
        Assert.Empty(preview.Conflicts);
        (await _warehouse.RollBackAsync(new RollbackRequest(actionId))).Get();
        Assert.Equal(before, await _warehouse.FingerprintAsync());
    }

    [Fact]
    public async Task An_approved_update_cannot_write_a_text_that_looks_like_the_hashs_stand_in_for_the_time()
    {
        // At approval the name becomes the transaction's time, which the digest writes as a stand-in;
        // at apply another row tells the statement to write the stand-in's own text instead.
        var plan = _warehouse.Plan("execute",
            "UPDATE contacts SET first_name = CASE WHEN EXISTS (SELECT 1 FROM contacts WHERE first_name = 'flip') THEN chr(1) || 'now' ELSE to_jsonb(now()) #>> '{}' END WHERE id = 1");
        await ExecuteAsAdminAsync("UPDATE contacts SET first_name = 'flip' WHERE id = 150");

        var applied = await _warehouse.ApplyAsync(plan);

        Assert.Equal("stale_plan", applied.Error?.Code);
        Assert.Equal("Name1", await server.ScalarAsync<string>(_warehouse.Database, "SELECT first_name FROM contacts WHERE id = 1"));
    }

    [Fact]
    public async Task An_approved_insert_cannot_write_other_keys_than_its_preview_showed()
    {
        // At approval nobody is picked, so the row gets key 100001; before it runs, another call
        // picks contact 77, and the same statement would insert key 100077.
        var plan = _warehouse.Plan("execute",
            "INSERT INTO contacts (id, email) SELECT 100000 + coalesce((SELECT max(id) FROM contacts WHERE first_name = 'pick'), 1), 'new@example.com'");
        Assert.Equal("contacts:100001", Assert.Single(plan.Sample).Key);
        await ExecuteAsAdminAsync("UPDATE contacts SET first_name = 'pick' WHERE id = 77");

        var applied = await _warehouse.ApplyAsync(plan);

        Assert.Equal("stale_plan", applied.Error?.Code);
        Assert.Equal(0, await _warehouse.CountAsync(where: "id > 100000"));
    }

    [Fact]
    public async Task A_merge_that_moves_a_key_onto_a_row_it_deletes_rolls_back_exactly()
    {
        var before = await _warehouse.FingerprintAsync();
        // Row 1 is deleted first, then row 2 takes its key: PostgreSQL fires the update's
        // statement trigger before the delete's, so the captured rows are not in the order they happened.
        const string merge = """
            MERGE INTO contacts c USING (SELECT g AS id FROM generate_series(1, 2) g) s ON c.id = s.id
            WHEN MATCHED AND c.id = 1 THEN DELETE
            WHEN MATCHED THEN UPDATE SET id = 1
            """;
        var plan = _warehouse.Plan("execute", merge);
        var applied = (await _warehouse.ApplyAsync(plan)).Get();
        Assert.Equal(199, await _warehouse.CountAsync());

        await AssertRollsBackExactlyAsync(applied.ActionId, before);
    }

    [Fact]
    public async Task A_statement_that_deletes_a_row_in_a_cte_and_moves_another_onto_its_key_rolls_back_exactly()
    {
        var before = await _warehouse.FingerprintAsync();
        var applied = await _warehouse.RunAsync("execute",
            "WITH d AS (DELETE FROM contacts WHERE id = 2 RETURNING id) UPDATE contacts SET id = (SELECT id FROM d) WHERE id = 1");
        Assert.Equal(199, await _warehouse.CountAsync());

        await AssertRollsBackExactlyAsync(applied.ActionId, before);
    }

    [Fact]
    public async Task An_upsert_is_previewed_as_inserts_and_updates_and_rolled_back_exactly()
    {
        var before = await _warehouse.FingerprintAsync();
        var plan = _warehouse.Plan("execute",
            "INSERT INTO contacts (id, email) VALUES (1, 'one@example.com'), (5001, 'new@example.com') ON CONFLICT (id) DO UPDATE SET email = excluded.email");
        Assert.Contains("update 1 row(s) of contacts", plan.Summary, StringComparison.Ordinal);
        Assert.Contains("insert 1 row(s) of contacts", plan.Summary, StringComparison.Ordinal);

        var applied = (await _warehouse.ApplyAsync(plan)).Get();
        (await _warehouse.RollBackAsync(new RollbackRequest(applied.ActionId))).Get();
        Assert.Equal(before, await _warehouse.FingerprintAsync());
    }

    [Fact]
    public async Task A_statement_that_updates_one_table_twice_through_a_cte_is_captured_whole_and_rolled_back_exactly()
    {
        var before = await _warehouse.FingerprintAsync();
        var plan = _warehouse.Plan("execute",
            "WITH a AS (UPDATE contacts SET id = 5001 WHERE id = 1 RETURNING id) UPDATE contacts SET id = 1, first_name = 'moved' WHERE id = 2 AND EXISTS (SELECT FROM a)");
        Assert.Equal(3, plan.Records);

        var applied = (await _warehouse.ApplyAsync(plan)).Get();
        (await _warehouse.RollBackAsync(new RollbackRequest(applied.ActionId))).Get();
        Assert.Equal(before, await _warehouse.FingerprintAsync());
    }

    [Fact]
    public async Task A_delete_the_capture_misses_cannot_hide_behind_the_rows_a_key_change_adds()
    {
        // The delete trigger was disabled by someone (an approved ALTER TABLE, the owner). A key
        // change shows as two rows but PostgreSQL counts one update: the ten rows of slack would
        // cover ten deletes no one saw.
        await ExecuteAsAdminAsync("ALTER TABLE contacts DISABLE TRIGGER warden_capture_delete");

        var planned = _warehouse.System.Plan(Warehouse.Call("execute",
            "WITH d AS (DELETE FROM contacts WHERE id BETWEEN 100 AND 109 RETURNING id) UPDATE contacts SET id = id + 100000 WHERE id <= 10"));
        var error = planned.Succeeded ? (await _warehouse.ApplyAsync(planned.Value!)).Error : planned.Error;

        Assert.NotNull(error);
        Assert.Equal(200, await _warehouse.CountAsync());
    }

    [Fact]
    public async Task A_change_cannot_write_an_ungoverned_table_through_a_trigger_deferred_to_the_commit()
    {
        // A deferred constraint trigger someone installed fires at COMMIT: never in the preview
        // (rolled back), and at apply after Warden looked at what the statement wrote.
        await ExecuteAsAdminAsync("""
            CREATE FUNCTION public.purge_backup_later() RETURNS trigger SECURITY DEFINER LANGUAGE plpgsql AS
              $$ BEGIN DELETE FROM public.contacts_backup WHERE id = NEW.id; RETURN NULL; END $$;
            CREATE CONSTRAINT TRIGGER purge_backup_later AFTER UPDATE ON contacts DEFERRABLE INITIALLY DEFERRED
              FOR EACH ROW EXECUTE FUNCTION public.purge_backup_later();
            """);

        var planned = _warehouse.System.Plan(Warehouse.Call("execute", "UPDATE contacts SET score = 1 WHERE id <= 3"));
        var error = planned.Succeeded ? (await _warehouse.ApplyAsync(planned.Value!)).Error : planned.Error;

        Assert.NotNull(error);
        Assert.Contains("contacts_backup", error.Message, StringComparison.Ordinal);
        Assert.Equal(200, await _warehouse.CountAsync("contacts_backup"));
    }

    [Fact(Skip = "an explicit value for a sequence-fed column (serial or identity, OVERRIDING SYSTEM VALUE) is left out of the hash with the values the sequence gives; binding it needs to know which columns the INSERT names (its parse tree), not yet done")]
    public async Task An_approved_insert_cannot_write_another_explicit_value_into_a_serial_key()
    {
        await using var system = await _warehouse.OpenWithTablesAsync("CREATE TABLE orders (id bigserial PRIMARY KEY, note text)", "orders");

        // At approval the order gets key 101; before it runs, another call picks contact 77.
        var plan = system.Plan(Warehouse.Call("execute",
            "INSERT INTO orders (id, note) SELECT 100 + coalesce((SELECT max(id) FROM contacts WHERE first_name = 'pick'), 1), 'gift'")).Get();
        await ExecuteAsAdminAsync("UPDATE contacts SET first_name = 'pick' WHERE id = 77");

        var applied = await system.ApplyAsync(plan, null, TestContext.Current.CancellationToken);

        Assert.Equal("stale_plan", applied.Error?.Code);
        Assert.Equal(0, await _warehouse.CountAsync("orders"));
    }

    [Fact]
    public async Task An_update_that_shifts_keys_onto_each_other_is_previewed_and_rolled_back_exactly()
    {
        var before = await _warehouse.FingerprintAsync();
        // Row 1 moves out of the way, and rows 2 to 40 each take the key below: paired by key, 39
        // keys keep their place with another row's values, key 40 goes and key 100000 comes.
        var plan = _warehouse.Plan("execute", "UPDATE contacts SET id = CASE WHEN id = 1 THEN 100000 ELSE id - 1 END WHERE id <= 40");
        Assert.Contains("update 39 row(s) of contacts", plan.Summary, StringComparison.Ordinal);
        Assert.Contains("delete 1 row(s) of contacts", plan.Summary, StringComparison.Ordinal);
        Assert.Contains("insert 1 row(s) of contacts", plan.Summary, StringComparison.Ordinal);

        var applied = (await _warehouse.ApplyAsync(plan)).Get();
        Assert.Equal("person2@example.com", await server.ScalarAsync<string>(_warehouse.Database, "SELECT email FROM contacts WHERE id = 1"));
        (await _warehouse.RollBackAsync(new RollbackRequest(applied.ActionId))).Get();
        Assert.Equal(before, await _warehouse.FingerprintAsync());
    }

    [Fact(Skip = "a statement that calls nextval anywhere has its inserted keys left out of the hash, so one that draws from a sequence and uses the value for nothing unbinds keys chosen by a subquery; binding all but the keys a sequence gave needs the sequences' values around the statement, not a flag per statement")]
    public async Task An_approved_insert_cannot_unbind_its_keys_by_drawing_from_a_sequence_it_does_not_use()
    {
        await ExecuteAsAdminAsync($"""
            CREATE SEQUENCE contact_ids START 100000;
            GRANT USAGE ON SEQUENCE contact_ids TO {PostgresServer.GovernedRole};
            """);
        var plan = _warehouse.Plan("execute",
            "INSERT INTO contacts (id, email) SELECT 100000 + coalesce((SELECT max(id) FROM contacts WHERE first_name = 'pick'), 1), 'new@example.com' WHERE nextval('contact_ids') > 0");
        await ExecuteAsAdminAsync("UPDATE contacts SET first_name = 'pick' WHERE id = 77");

        var applied = await _warehouse.ApplyAsync(plan);

        Assert.Equal("stale_plan", applied.Error?.Code);
        Assert.Equal(0, await _warehouse.CountAsync(where: "id > 100000"));
    }

    [Fact]
    public async Task A_key_change_that_cascades_to_a_governed_table_rolls_back_exactly()
    {
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TABLE subscriptions (id bigint PRIMARY KEY, contact_id bigint NOT NULL REFERENCES contacts (id) ON UPDATE CASCADE);
            INSERT INTO subscriptions SELECT g, 1 + g % 3 FROM generate_series(1, 6) g
            """, "subscriptions");
        var contacts = await _warehouse.FingerprintAsync();
        var subscriptions = await _warehouse.FingerprintAsync("subscriptions");

        // The key change shows as contact 1 deleted and 100001 inserted; its subscriptions follow it.
        var plan = system.Plan(Warehouse.Call("execute", "UPDATE contacts SET id = 100001 WHERE id = 1")).Get();
        var applied = (await system.ApplyAsync(plan, null, TestContext.Current.CancellationToken)).Get();
        Assert.Equal(2, await _warehouse.CountAsync("subscriptions", "contact_id = 100001"));

        (await system.RollBackAsync(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria", TestContext.Current.CancellationToken)).Get();
        Assert.Equal(contacts, await _warehouse.FingerprintAsync());
        Assert.Equal(subscriptions, await _warehouse.FingerprintAsync("subscriptions"));
    }

    [Fact]
    public async Task A_delete_is_stale_when_a_column_whose_name_holds_AS_v_changed_since_the_plan()
    {
        // The capture's column lists were once made by editing one another's text: "body AS vx" read as "body AS ox", twice, and itself never.
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TABLE notes (id bigint PRIMARY KEY, "body AS vx" text, "body AS ox" text);
            INSERT INTO notes VALUES (1, 'approved text', 'o')
            """, "notes");
        var plan = system.Plan(Warehouse.Call("execute", "DELETE FROM notes WHERE id = 1")).Get();
        await ExecuteAsAdminAsync("UPDATE notes SET \"body AS vx\" = 'changed since' WHERE id = 1");

        var applied = await system.ApplyAsync(plan, null, TestContext.Current.CancellationToken);

        Assert.Equal("stale_plan", applied.Error?.Code);
        Assert.Equal(1, await _warehouse.CountAsync("notes"));
    }

    [Fact]
    public async Task A_table_with_a_column_whose_name_holds_AS_v_can_be_changed()
    {
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TABLE prices (id bigint PRIMARY KEY, "net AS value" numeric);
            INSERT INTO prices VALUES (1, 10)
            """, "prices");

        var plan = system.Plan(Warehouse.Call("execute", "DELETE FROM prices WHERE id = 1"));

        Assert.Null(plan.Error);
        Assert.Equal(1, plan.Value!.Records);
    }

    [Fact]
    public async Task A_cascade_into_a_keyless_table_with_a_column_called_name_is_refused_as_keyless()
    {
        // "name" is also a variable of the capture function's: a statement of its own naming it would be ambiguous.
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TABLE tags (name text, contact_id bigint REFERENCES contacts (id) ON UPDATE CASCADE);
            INSERT INTO tags VALUES ('a', 1)
            """, "tags");

        var plan = system.Plan(Warehouse.Call("execute", "UPDATE contacts SET id = 1000 WHERE id = 1"));

        Assert.Contains("no primary key", plan.Error?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_change_applied_over_a_connection_not_in_utf8_is_journaled_in_utf8_and_rolls_back()
    {
        // The journal's document is UTF-8: images sent in another client encoding are decoded first, not copied as bytes.
        await using var system = await PostgresDatabase.OpenAsync(
            _warehouse.Options with { ConnectionString = server.Governed(_warehouse.Database) + ";Client Encoding=LATIN1;Encoding=ISO-8859-1" }, cancellationToken: TestContext.Current.CancellationToken);
        var before = await _warehouse.FingerprintAsync();
        var plan = system.Plan(Warehouse.Call("execute", "UPDATE contacts SET first_name = 'Zoë' WHERE id = 3")).Get();
        var applied = (await system.ApplyAsync(plan, null, TestContext.Current.CancellationToken)).Get();
        Assert.Equal(1, await _warehouse.CountAsync(where: "first_name = 'Zoë'"));

        (await system.RollBackAsync(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria", TestContext.Current.CancellationToken)).Get();

        Assert.Equal(before, await _warehouse.FingerprintAsync());
    }

    [Theory]
    [InlineData("id IN (2, 5)", "UPDATE contacts SET first_name = repeat('long', 599) || 'lonG' WHERE id = 5")]
    [InlineData("id <= 8 AND id <> 4", "UPDATE contacts SET first_name = 'Name4!' WHERE id = 4")]
    public async Task An_update_is_stale_when_one_of_its_long_or_short_rows_changed_since_the_plan(string longRows, string changeSince)
    {
        // Rows up to a size are hashed one after another, longer ones each by itself: a change to either counts.
        await ExecuteAsAdminAsync($"UPDATE contacts SET first_name = repeat('long', 600) WHERE {longRows}");
        var plan = _warehouse.Plan("execute", "UPDATE contacts SET weight = -1 WHERE id <= 8");
        await ExecuteAsAdminAsync(changeSince);

        var applied = await _warehouse.ApplyAsync(plan);

        Assert.Equal("stale_plan", applied.Error?.Code);
        Assert.Equal(0, await _warehouse.CountAsync(where: "weight = -1"));
    }

    [Fact]
    public async Task An_update_of_long_and_short_rows_applies_when_nothing_changed_since_and_rolls_back_exactly()
    {
        await ExecuteAsAdminAsync("UPDATE contacts SET first_name = repeat('long', 600) WHERE id % 3 = 0");
        var before = await _warehouse.FingerprintAsync();
        var plan = _warehouse.Plan("execute", "UPDATE contacts SET weight = -1, id = CASE WHEN id = 9 THEN 9009 ELSE id END WHERE id <= 30");

        var applied = (await _warehouse.ApplyAsync(plan)).Get();

        Assert.Equal(30, await _warehouse.CountAsync(where: "weight = -1"));
        await AssertRollsBackExactlyAsync(applied.ActionId, before);
    }

    [Fact]
    public async Task A_cascade_whose_firings_mix_long_and_short_rows_is_stale_when_a_long_row_changed_and_rolls_back_exactly_when_none_did()
    {
        // Three firings (one per contact), each with long and short orders.
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TABLE orders (id bigint PRIMARY KEY, contact_id bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE, note text);
            INSERT INTO orders SELECT g, 1 + g % 3, CASE WHEN g % 2 = 0 THEN repeat('n', 2000) ELSE 'short' END FROM generate_series(1, 9) g
            """, "orders");
        var ct = TestContext.Current.CancellationToken;
        var stale = system.Plan(Warehouse.Call("execute", "DELETE FROM contacts WHERE id <= 3")).Get();
        await ExecuteAsAdminAsync("UPDATE orders SET note = repeat('n', 1999) || 'N' WHERE id = 4");
        Assert.Equal("stale_plan", (await system.ApplyAsync(stale, null, ct)).Error?.Code);
        Assert.Equal(9, await _warehouse.CountAsync("orders"));

        var contacts = await _warehouse.FingerprintAsync();
        var orders = await _warehouse.FingerprintAsync("orders");
        var plan = system.Plan(Warehouse.Call("execute", "DELETE FROM contacts WHERE id <= 3")).Get();
        var applied = (await system.ApplyAsync(plan, null, ct)).Get();
        Assert.Equal(0, await _warehouse.CountAsync("orders"));
        (await system.RollBackAsync(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria", ct)).Get();
        Assert.Equal(contacts, await _warehouse.FingerprintAsync());
        Assert.Equal(orders, await _warehouse.FingerprintAsync("orders"));
    }

    [Fact]
    public async Task A_firing_large_enough_to_lower_the_size_of_a_short_row_is_stale_when_a_row_either_side_of_it_changed()
    {
        // 40,000 rows: rows up to 33554432 / 40000 = 838 bytes are hashed one after another; an update's rows here (76 bytes and twice the body's) are 676 to 994 bytes.
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TABLE big (id bigint PRIMARY KEY, n integer NOT NULL, body text NOT NULL);
            INSERT INTO big SELECT g, 0, repeat('b', 300 + g % 160) FROM generate_series(1, 40000) g
            """, "big");
        var ct = TestContext.Current.CancellationToken;
        var stale = system.Plan(Warehouse.Call("execute", "UPDATE big SET n = n + 1 WHERE id > 0")).Get();
        // Row 160's update is 676 bytes (short), row 159's 994 (long).
        await ExecuteAsAdminAsync("UPDATE big SET body = 'c' || substr(body, 2) WHERE id = 160");
        Assert.Equal("stale_plan", (await system.ApplyAsync(stale, null, ct)).Error?.Code);
        var stale2 = system.Plan(Warehouse.Call("execute", "UPDATE big SET n = n + 1 WHERE id > 0")).Get();
        await ExecuteAsAdminAsync("UPDATE big SET body = 'd' || substr(body, 2) WHERE id = 159");
        Assert.Equal("stale_plan", (await system.ApplyAsync(stale2, null, ct)).Error?.Code);
        Assert.Equal(0, await _warehouse.CountAsync("big", "n <> 0"));

        var plan = system.Plan(Warehouse.Call("execute", "UPDATE big SET n = n + 1 WHERE id > 0")).Get();
        (await system.ApplyAsync(plan, null, ct)).Get();
        Assert.Equal(40000, await _warehouse.CountAsync("big", "n = 1"));
    }
}
