using Warden.Core;
using Warden.Tests;

namespace Warden.Postgres.Tests;

/// <summary>A data change: previewed exactly without changing anything, applied only as approved, journaled, and undone exactly.</summary>
public sealed class ChangeTests(PostgresServer server) : IAsyncLifetime
{
    private Warehouse _warehouse = null!;

    public async ValueTask InitializeAsync() => _warehouse = await Warehouse.CreateAsync(server, contacts: 5000);

    public ValueTask DisposeAsync() => _warehouse.DisposeAsync();

    // The first 3,000 contacts were last seen before this moment (one an hour from 2026-01-01).
    private const string Stale = "DELETE FROM contacts WHERE last_seen < timestamptz '2026-01-01 00:00:00+00' + 3000 * interval '1 hour 1.000001 second' + interval '1 second'";

    [Fact]
    public async Task A_plan_counts_the_rows_exactly_and_changes_none()
    {
        var before = await _warehouse.FingerprintAsync();
        var plan = _warehouse.Plan("execute", Stale);
        Assert.Equal(3000, plan.Records);
        Assert.Equal(3000, plan.Deleted);
        Assert.Equal(ActionKind.Delete, plan.Tool.Kind);
        Assert.Equal(before, await _warehouse.FingerprintAsync());
        Assert.Equal(5000, await _warehouse.CountAsync());
    }

    [Fact]
    public void A_plan_shows_a_sample_with_before_images_and_the_classes_it_touches()
    {
        var plan = _warehouse.Plan("execute", Stale);
        Assert.Equal(5, plan.Sample.Count);
        Assert.All(plan.Sample, s => Assert.Contains("@example.com", s.Before["email"], StringComparison.Ordinal));
        Assert.Contains("pii", plan.Classes);
        Assert.Contains("consent", plan.Classes);
        Assert.Contains("delete 3,000 row(s) of contacts", plan.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void An_update_plan_names_the_fields_it_changes_and_only_their_classes()
    {
        var plan = _warehouse.Plan("execute", "UPDATE contacts SET score = 0 WHERE id <= 10");
        Assert.Equal(["warehouse.contacts.score"], plan.FieldsChanged);
        Assert.Empty(plan.Classes);
        Assert.Equal(ActionKind.Write, plan.Tool.Kind);
        var change = Assert.Single(plan.Changes);
        Assert.Equal(10, change.Records);
        Assert.Equal("0.000", change.After);
    }

    [Fact]
    public async Task An_approved_delete_runs_and_is_journaled()
    {
        var applied = (await _warehouse.ApplyAsync(_warehouse.Plan("execute", Stale))).Get();
        Assert.Equal(3000, applied.Records);
        Assert.True(applied.Reversible);
        Assert.Equal(2000, await _warehouse.CountAsync());
        Assert.Equal("cleanup-bot", _warehouse.System.AgentOf(applied.ActionId));
    }

    [Fact]
    public async Task A_delete_approved_at_120_rows_that_grew_to_500_deletes_nothing()
    {
        await server.ExecuteAsync(_warehouse.Database, "UPDATE contacts SET first_name = 'temp' WHERE id <= 120");
        var plan = _warehouse.Plan("execute", "DELETE FROM contacts WHERE first_name = 'temp'");
        Assert.Equal(120, plan.Records);

        // Between approval and execution, someone else's job marks 380 more.
        await server.ExecuteAsync(_warehouse.Database, "UPDATE contacts SET first_name = 'temp' WHERE id BETWEEN 121 AND 500");
        var applied = await _warehouse.ApplyAsync(plan);

        Assert.Equal("stale_plan", applied.Error?.Code);
        Assert.Contains("500", applied.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(5000, await _warehouse.CountAsync());
        Assert.Null(_warehouse.System.ActionWithPlan("cleanup-bot", plan.Hash));
    }

    [Fact]
    public async Task A_row_changed_since_approval_voids_the_plan_even_when_the_count_is_the_same()
    {
        var plan = _warehouse.Plan("execute", "DELETE FROM contacts WHERE id <= 10");
        await server.ExecuteAsync(_warehouse.Database, "UPDATE contacts SET consent = NOT consent WHERE id = 3");
        var applied = await _warehouse.ApplyAsync(plan);
        Assert.Equal("stale_plan", applied.Error?.Code);
        Assert.Equal(5000, await _warehouse.CountAsync());
    }

    [Fact]
    public async Task The_same_statement_planned_twice_has_the_same_hash_and_an_other_agents_has_another()
    {
        var first = _warehouse.Plan("execute", Stale);
        var second = _warehouse.Plan("execute", Stale);
        Assert.Equal(first.Hash, second.Hash);
        var other = _warehouse.System.Plan(Warehouse.Call("execute", Stale) with { Agent = "other-bot" }).Get();
        Assert.NotEqual(first.Hash, other.Hash);
        Assert.Equal(first.AffectedHash, other.AffectedHash);
        Assert.Equal(5000, await _warehouse.CountAsync());
    }

    [Fact]
    public async Task An_insert_can_be_applied_after_its_plan_although_its_keys_come_from_a_sequence()
    {
        await server.ExecuteAsync(_warehouse.Database, $"""
            CREATE SEQUENCE contact_ids START 100000;
            GRANT USAGE ON SEQUENCE contact_ids TO {PostgresServer.GovernedRole};
            """);
        var plan = _warehouse.Plan("execute", "INSERT INTO contacts (id, email) SELECT nextval('contact_ids'), 'new' || g || '@example.com' FROM generate_series(1, 3) g");
        Assert.Equal(3, plan.Records);
        var applied = (await _warehouse.ApplyAsync(plan)).Get();
        Assert.Equal(3, applied.Records);
        Assert.Equal(5003, await _warehouse.CountAsync());
    }

    [Fact]
    public async Task A_deleted_set_rolled_back_is_byte_for_byte_what_it_was()
    {
        var before = await _warehouse.FingerprintAsync();
        var applied = (await _warehouse.ApplyAsync(_warehouse.Plan("execute", Stale))).Get();

        var preview = _warehouse.System.PlanRollback(new RollbackRequest(applied.ActionId)).Get();
        Assert.Equal(3000, preview.Restorable);
        Assert.Empty(preview.Conflicts);
        Assert.Equal(2000, await _warehouse.CountAsync());

        var result = (await _warehouse.RollBackAsync(new RollbackRequest(applied.ActionId))).Get();
        Assert.Equal(3000, result.Restored);
        Assert.Equal(before, await _warehouse.FingerprintAsync());
    }

    [Fact]
    public async Task An_update_rolled_back_restores_every_type_exactly()
    {
        var before = await _warehouse.FingerprintAsync();
        var applied = await _warehouse.RunAsync("execute",
            "UPDATE contacts SET score = score * 3, weight = weight / 3, last_seen = now(), tags = ARRAY['z'], photo = NULL, attrs = attrs || '{\"x\": 1.50}', email = upper(email) WHERE id % 7 = 0");
        Assert.NotEqual(before, await _warehouse.FingerprintAsync());

        await _warehouse.RollBackAsync(new RollbackRequest(applied.ActionId));
        Assert.Equal(before, await _warehouse.FingerprintAsync());
    }

    [Fact]
    public async Task A_merge_that_deletes_updates_and_inserts_is_previewed_and_rolled_back_exactly()
    {
        var before = await _warehouse.FingerprintAsync();
        const string merge = """
            MERGE INTO contacts c USING (SELECT g AS id FROM generate_series(4991, 5010) g) s ON c.id = s.id
            WHEN MATCHED AND c.id % 2 = 0 THEN DELETE
            WHEN MATCHED THEN UPDATE SET score = 1
            WHEN NOT MATCHED THEN INSERT (id, email) VALUES (s.id, 'new' || s.id || '@example.com')
            """;

        var plan = _warehouse.Plan("execute", merge);
        Assert.Equal(20, plan.Records);
        Assert.Equal(5, plan.Deleted);
        Assert.Contains("update 5 row(s) of contacts", plan.Summary, StringComparison.Ordinal);
        Assert.Contains("insert 10 row(s) of contacts", plan.Summary, StringComparison.Ordinal);
        Assert.Equal(before, await _warehouse.FingerprintAsync());

        var applied = (await _warehouse.ApplyAsync(plan)).Get();
        Assert.Equal(5005, await _warehouse.CountAsync());
        Assert.Equal(20, (await _warehouse.RollBackAsync(new RollbackRequest(applied.ActionId))).Get().Restored);
        Assert.Equal(before, await _warehouse.FingerprintAsync());
    }

    [Fact]
    public async Task An_update_of_keys_shows_the_old_keys_deleted_and_the_new_inserted_and_rolls_back_exactly()
    {
        var before = await _warehouse.FingerprintAsync();

        var plan = _warehouse.Plan("execute", "UPDATE contacts SET id = id + 100000 WHERE id <= 10");
        Assert.Equal(20, plan.Records);
        Assert.Equal(10, plan.Deleted);
        Assert.Equal(ActionKind.Delete, plan.Tool.Kind);
        Assert.Contains("delete 10 row(s) of contacts", plan.Summary, StringComparison.Ordinal);
        Assert.Contains("insert 10 row(s) of contacts", plan.Summary, StringComparison.Ordinal);

        var applied = (await _warehouse.ApplyAsync(plan)).Get();
        Assert.Equal(10, await _warehouse.CountAsync(where: "id > 100000"));
        (await _warehouse.RollBackAsync(new RollbackRequest(applied.ActionId))).Get();
        Assert.Equal(before, await _warehouse.FingerprintAsync());
    }

    [Fact]
    public async Task Another_sessions_writes_are_not_captured_into_wardens_next_change()
    {
        await _warehouse.Server.ExecuteAsync(_warehouse.Database, "UPDATE contacts SET score = 7 WHERE id <= 100");

        var plan = _warehouse.Plan("execute", "UPDATE contacts SET score = 0 WHERE id = 1");
        Assert.Equal(1, plan.Records);
        var applied = (await _warehouse.ApplyAsync(plan)).Get();
        Assert.Equal(1, applied.Records);
    }

    [Fact]
    public async Task A_rollback_never_overwrites_a_row_changed_since()
    {
        var applied = await _warehouse.RunAsync("execute", "UPDATE contacts SET first_name = 'Cleaned' WHERE id <= 5");
        await server.ExecuteAsync(_warehouse.Database, "UPDATE contacts SET first_name = 'Fixed by hand' WHERE id = 2");

        var preview = _warehouse.System.PlanRollback(new RollbackRequest(applied.ActionId)).Get();
        Assert.Equal(4, preview.Restorable);
        var conflict = Assert.Single(preview.Conflicts);
        Assert.Equal("2", conflict.Key);

        var result = (await _warehouse.RollBackAsync(new RollbackRequest(applied.ActionId))).Get();
        Assert.Equal(4, result.Restored);
        Assert.Equal("Fixed by hand", await server.ScalarAsync<string>(_warehouse.Database, "SELECT first_name FROM contacts WHERE id = 2"));
        Assert.Equal("Name1", await server.ScalarAsync<string>(_warehouse.Database, "SELECT first_name FROM contacts WHERE id = 1"));
    }

    [Fact]
    public async Task A_deleted_row_whose_key_was_taken_since_is_a_conflict_not_an_overwrite()
    {
        var applied = await _warehouse.RunAsync("execute", "DELETE FROM contacts WHERE id = 42");
        await server.ExecuteAsync(_warehouse.Database, "INSERT INTO contacts (id, email) VALUES (42, 'someone-else@example.com')");

        var result = (await _warehouse.RollBackAsync(new RollbackRequest(applied.ActionId))).Get();
        Assert.Equal(0, result.Restored);
        Assert.Single(result.Skipped);
        Assert.Equal("someone-else@example.com", await server.ScalarAsync<string>(_warehouse.Database, "SELECT email FROM contacts WHERE id = 42"));
    }

    [Fact]
    public async Task A_rollback_can_itself_be_rolled_back()
    {
        var applied = await _warehouse.RunAsync("execute", "DELETE FROM contacts WHERE id <= 100");
        var afterDelete = await _warehouse.FingerprintAsync();
        var undo = (await _warehouse.RollBackAsync(new RollbackRequest(applied.ActionId))).Get();
        Assert.Equal(5000, await _warehouse.CountAsync());

        await _warehouse.RollBackAsync(new RollbackRequest(undo.ActionId));
        Assert.Equal(afterDelete, await _warehouse.FingerprintAsync());
    }

    [Fact]
    public async Task An_action_rolled_back_once_is_not_rolled_back_twice()
    {
        var applied = await _warehouse.RunAsync("execute", "DELETE FROM contacts WHERE id <= 100");
        await _warehouse.RollBackAsync(new RollbackRequest(applied.ActionId));
        var again = await _warehouse.RollBackAsync(new RollbackRequest(applied.ActionId));
        Assert.Equal("refused", again.Error?.Code);
        Assert.Equal(5000, await _warehouse.CountAsync());
    }

    [Fact]
    public async Task An_agents_window_is_rolled_back_newest_first()
    {
        var before = await _warehouse.FingerprintAsync();
        await _warehouse.RunAsync("execute", "UPDATE contacts SET first_name = 'A' WHERE id <= 10");
        await _warehouse.RunAsync("execute", "UPDATE contacts SET first_name = 'B' WHERE id <= 20");
        await _warehouse.RunAsync("execute", "DELETE FROM contacts WHERE id <= 5");

        var result = (await _warehouse.RollBackAsync(new RollbackRequest(Agent: "cleanup-bot"))).Get();
        Assert.Equal(3, result.Undone.Count);
        Assert.Empty(result.Skipped);
        Assert.Equal(before, await _warehouse.FingerprintAsync());
    }

    [Fact]
    public async Task The_journal_outlives_the_system_and_a_reopened_one_rolls_back()
    {
        var before = await _warehouse.FingerprintAsync();
        var applied = await _warehouse.RunAsync("execute", "DELETE FROM contacts WHERE id <= 50");
        await _warehouse.System.DisposeAsync();

        await using var reopened = await _warehouse.OpenAsync();
        (await reopened.RollBackAsync(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria", TestContext.Current.CancellationToken)).Get();
        Assert.Equal(before, await _warehouse.FingerprintAsync());
    }

    [Fact]
    public async Task A_kill_switch_before_commit_changes_nothing()
    {
        var applied = await _warehouse.ApplyAsync(_warehouse.Plan("execute", Stale), new ApplyControl { Stop = () => "frozen by the kill switch" });
        Assert.Equal("stopped", applied.Error?.Code);
        Assert.Equal(5000, await _warehouse.CountAsync());
    }

    [Fact]
    public async Task A_schema_change_held_and_run_is_not_reversible()
    {
        var applied = await _warehouse.RunAsync("execute", "ALTER TABLE contacts ADD COLUMN note text");
        Assert.False(applied.Reversible);
        var preview = _warehouse.System.PlanRollback(new RollbackRequest(applied.ActionId)).Get();
        Assert.Equal([applied.ActionId], preview.Irreversible);
    }

    [Fact]
    public async Task The_kill_switch_stops_a_statement_while_it_runs_and_nothing_is_written()
    {
        var before = await _warehouse.FingerprintAsync();
        var plan = _warehouse.Plan("execute", "UPDATE contacts SET score = 0 WHERE id <= 100");
        // Another session holds the rows: the approved statement waits on them until the switch is thrown.
        await using var hold = await HoldAsync(50);

        var frozen = false;
        var applying = _warehouse.ApplyAsync(plan, new ApplyControl { Stop = () => frozen ? "frozen by the kill switch" : null });
        await Task.Delay(300, TestContext.Current.CancellationToken);
        Assert.False(applying.IsCompleted);
        frozen = true;
        var applied = await applying;

        Assert.Equal("stopped", applied.Error?.Code);
        await hold.DisposeAsync();
        Assert.Equal(before, await _warehouse.FingerprintAsync());
        Assert.Null(_warehouse.System.ActionWithPlan("cleanup-bot", plan.Hash));
    }

    [Fact]
    public async Task A_large_rollback_leaves_rows_changed_since_and_restores_the_rest()
    {
        var applied = await _warehouse.RunAsync("execute", "UPDATE contacts SET first_name = 'Cleaned' WHERE id <= 500");
        await server.ExecuteAsync(_warehouse.Database, "UPDATE contacts SET first_name = 'Fixed by hand' WHERE id = 250; DELETE FROM contacts WHERE id = 300");

        var preview = _warehouse.System.PlanRollback(new RollbackRequest(applied.ActionId)).Get();
        Assert.Equal(498, preview.Restorable);
        Assert.Equal([("250", "changed since"), ("300", "deleted since")], preview.Conflicts.Select(c => (c.Key, c.Reason)).Order());

        var result = (await _warehouse.RollBackAsync(new RollbackRequest(applied.ActionId))).Get();
        Assert.Equal(498, result.Restored);
        Assert.Equal(2, result.Skipped.Count);
        Assert.Equal("Fixed by hand", await server.ScalarAsync<string>(_warehouse.Database, "SELECT first_name FROM contacts WHERE id = 250"));
        Assert.Equal(0L, await _warehouse.CountAsync("contacts", "id = 300"));
        Assert.Equal(0L, await _warehouse.CountAsync("contacts", "first_name = 'Cleaned'"));
    }

    [Fact]
    public async Task A_large_rollback_forced_overwrites_and_brings_back_rows_changed_since()
    {
        var before = await _warehouse.FingerprintAsync();
        var applied = await _warehouse.RunAsync("execute", "UPDATE contacts SET first_name = 'Cleaned' WHERE id <= 500");
        await server.ExecuteAsync(_warehouse.Database, "UPDATE contacts SET first_name = 'Fixed by hand' WHERE id = 250; DELETE FROM contacts WHERE id = 300");

        var result = (await _warehouse.RollBackAsync(new RollbackRequest(applied.ActionId), ConflictResolution.Force)).Get();
        Assert.Equal(500, result.Restored);
        Assert.Equal(2, result.Overwritten.Count);
        Assert.Equal(before, await _warehouse.FingerprintAsync());
    }

    [Fact]
    public async Task A_large_delete_whose_keys_were_taken_since_is_restored_around_them()
    {
        var applied = await _warehouse.RunAsync("execute", "DELETE FROM contacts WHERE id <= 100");
        await server.ExecuteAsync(_warehouse.Database, "INSERT INTO contacts (id, email) VALUES (42, 'someone-else@example.com')");

        var result = (await _warehouse.RollBackAsync(new RollbackRequest(applied.ActionId))).Get();
        Assert.Equal(99, result.Restored);
        Assert.Equal("42", Assert.Single(result.Skipped).Key);
        Assert.Equal("someone-else@example.com", await server.ScalarAsync<string>(_warehouse.Database, "SELECT email FROM contacts WHERE id = 42"));
        Assert.Equal(5000, await _warehouse.CountAsync());
    }

    [Fact]
    public async Task A_large_insert_rolled_back_deletes_only_the_rows_as_inserted()
    {
        var applied = await _warehouse.RunAsync("execute", "INSERT INTO contacts (id, email) SELECT g, 'new' || g || '@example.com' FROM generate_series(10001, 10100) g");
        await server.ExecuteAsync(_warehouse.Database, "UPDATE contacts SET first_name = 'Kept' WHERE id = 10050");

        var result = (await _warehouse.RollBackAsync(new RollbackRequest(applied.ActionId))).Get();
        Assert.Equal(99, result.Restored);
        Assert.Equal("10050", Assert.Single(result.Skipped).Key);
        Assert.Equal(5001, await _warehouse.CountAsync());
    }

    /// <summary>A transaction of Warden's role that changed row 7, committed or rolled back, and its id: what a crash between the journal and the commit leaves.</summary>
    private async Task<long> TransactionAsync(bool commit)
    {
        await using var connection = new Npgsql.NpgsqlConnection(server.Governed(_warehouse.Database));
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(TestContext.Current.CancellationToken);
        await using (var change = new Npgsql.NpgsqlCommand("UPDATE contacts SET first_name = 'Crashed' WHERE id = 7", connection, transaction))
        {
            await change.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }

        await using var current = new Npgsql.NpgsqlCommand("SELECT txid_current()", connection, transaction);
        var txid = (long)(await current.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
        if (commit)
        {
            await transaction.CommitAsync(TestContext.Current.CancellationToken);
        }
        else
        {
            await transaction.RollbackAsync(TestContext.Current.CancellationToken);
        }

        return txid;
    }

    [Fact]
    public async Task An_action_a_crash_left_pending_stands_at_the_next_start_when_its_transaction_committed()
    {
        var txid = await TransactionAsync(commit: true);
        await _warehouse.System.DisposeAsync();
        LeavePending(txid);

        await using var reopened = await _warehouse.OpenAsync();
        Assert.Equal("sql_crashed", reopened.ActionWithPlan("cleanup-bot", "sha256:crashed"));
        Assert.Empty(new SqlJournal(_warehouse.JournalPath).Pending());
    }

    [Fact]
    public async Task An_action_a_crash_left_pending_is_dropped_at_the_next_start_when_its_transaction_did_not_commit()
    {
        var txid = await TransactionAsync(commit: false);
        await _warehouse.System.DisposeAsync();
        LeavePending(txid);

        await using var reopened = await _warehouse.OpenAsync();
        Assert.Null(reopened.ActionWithPlan("cleanup-bot", "sha256:crashed"));
        Assert.Null(reopened.AgentOf("sql_crashed"));
        Assert.Empty(new SqlJournal(_warehouse.JournalPath).Pending());
    }

    [Fact]
    public async Task A_rollback_that_cannot_take_its_rows_restores_nothing_and_says_why()
    {
        var applied = await _warehouse.RunAsync("execute", "UPDATE contacts SET first_name = 'Cleaned' WHERE id <= 100");
        await using var hold = await HoldAsync(50);

        var result = await _warehouse.RollBackAsync(new RollbackRequest(applied.ActionId));

        Assert.Equal("refused", result.Error?.Code);
        Assert.Contains("nothing was restored", result.Error!.Message, StringComparison.Ordinal);
        await hold.DisposeAsync();
        Assert.Equal(100L, await _warehouse.CountAsync("contacts", "first_name = 'Cleaned'"));
    }

    /// <summary>The journal as a crash between it and the database's commit leaves it: an action written, pending, with the transaction's id.</summary>
    private void LeavePending(long txid) =>
        new SqlJournal(_warehouse.JournalPath).Begin("sql_crashed", "cleanup-bot", "warehouse.execute", "update", "UPDATE contacts SET first_name = 'Crashed' WHERE id = 7",
            "sha256:crashed", txid, DateTimeOffset.UtcNow, reversible: true, [new CapturedRow("public.contacts", "UPDATE", """{"id": 7, "first_name": "Name7"}""", null)]);

    /// <summary>Another session holding a contact's row until disposed (its transaction then rolls back).</summary>
    private async Task<RowHold> HoldAsync(long id)
    {
        var connection = new Npgsql.NpgsqlConnection(server.AdminConnection(_warehouse.Database));
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        var transaction = await connection.BeginTransactionAsync(TestContext.Current.CancellationToken);
        await using (var hold = new Npgsql.NpgsqlCommand($"SELECT 1 FROM contacts WHERE id = {id} FOR UPDATE", connection, transaction))
        {
            await hold.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }

        return new RowHold(connection, transaction);
    }

    private sealed class RowHold(Npgsql.NpgsqlConnection connection, Npgsql.NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
