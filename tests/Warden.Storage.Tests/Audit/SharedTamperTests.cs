using Npgsql;
using Warden.Core.Audit;
using Warden.Storage.Audit;
using Warden.Storage.Engines;
using Warden.Tests;

namespace Warden.Storage.Tests.Audit;

/// <summary>
/// What someone with write access to the PostgreSQL database can do to the shared trail, and what
/// verify says about it: the same findings as for a trail in a file (<see cref="TamperTests"/>).
/// 25 entries from two replicas, a checkpoint every 10: checkpoints 1 (entries 1–10), 2 (11–20) and 3 (21–25).
/// </summary>
public sealed class SharedTamperTests(PostgresServer postgres) : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("warden-shared-tamper-").FullName;
    private StoreLocation _place = null!;
    private string _database = "";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _database = await postgres.CreateDatabaseAsync();
        _place = StoreLocation.Postgres(postgres.AdminConnection(_database));
        var options = new AuditTrailOptions { CheckpointEvery = 10, KeyPath = Path.Combine(_folder, "audit.key") };
        await using var a = AuditTrail.Open(_place, options);
        await using var b = AuditTrail.Open(_place, options);
        for (var i = 1; i <= 25; i++)
        {
            await (i % 2 == 0 ? a : b).AppendAsync(TrailFixture.Call(i), Ct);
        }

        await a.CheckpointAsync(Ct);
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_folder, recursive: true);
        return ValueTask.CompletedTask;
    }

    private async Task<AuditFinding> BrokenAfterAsync(string sql)
    {
        Assert.True(AuditVerifier.Verify(_place).Verified);
        await postgres.ExecuteAsync(_database, sql);
        var result = AuditVerifier.Verify(_place);
        Assert.NotNull(result.Finding);
        return result.Finding!;
    }

    [Fact]
    public async Task A_deleted_entry_is_named()
    {
        var finding = await BrokenAfterAsync("DELETE FROM audit_entries WHERE seq = 14");
        Assert.Equal(("entry_missing", 14L), (finding.Code, finding.Seq));
    }

    [Fact]
    public async Task Swapped_entries_are_reported_as_reordered()
    {
        var finding = await BrokenAfterAsync("UPDATE audit_entries SET seq = -1 WHERE seq = 14; UPDATE audit_entries SET seq = 14 WHERE seq = 15; UPDATE audit_entries SET seq = 15 WHERE seq = -1;");
        Assert.Equal(("entries_reordered", 14L), (finding.Code, finding.Seq));
    }

    [Fact]
    public async Task A_tail_cut_inside_a_checkpoint_is_reported_as_truncated()
    {
        var finding = await BrokenAfterAsync("DELETE FROM audit_entries WHERE seq > 22");
        Assert.Equal(("tail_truncated", 23L), (finding.Code, finding.Seq));
    }

    [Fact]
    public async Task A_checkpoint_with_an_altered_root_is_reported_as_forged()
    {
        var finding = await BrokenAfterAsync($"UPDATE audit_checkpoints SET checkpoint = jsonb_set(checkpoint::jsonb, '{{root}}', '\"{new string('0', 64)}\"')::text WHERE number = 2");
        Assert.Equal(("checkpoint_forged", 11L), (finding.Code, finding.Seq));
    }

    [Fact]
    public async Task A_checkpoint_row_whose_range_columns_were_moved_is_caught()
    {
        var finding = await BrokenAfterAsync("UPDATE audit_checkpoints SET last_seq = 19 WHERE number = 2");
        Assert.NotNull(finding.Code);
    }

    [Fact]
    public async Task An_entry_taken_off_an_index_list_is_caught_though_the_entry_is_intact()
    {
        var finding = await BrokenAfterAsync("UPDATE audit_index SET seqs = '[1,2,3,4,6,7,8,9,10]' WHERE checkpoint = 1 AND field = 'agent'");
        Assert.Equal(("index_edited", 5L), (finding.Code, finding.Seq));
    }

    [Fact]
    public async Task An_entry_put_on_an_index_list_it_does_not_name_is_caught()
    {
        var finding = await BrokenAfterAsync("INSERT INTO audit_index (checkpoint, field, value, seqs) VALUES (2, 'person', 'maria', '[13]')");
        Assert.Equal(("index_edited", 13L), (finding.Code, finding.Seq));
    }

    [Fact]
    public async Task A_list_moved_to_another_agent_is_caught()
    {
        var finding = await BrokenAfterAsync("UPDATE audit_index SET value = 'someone-else' WHERE checkpoint = 2 AND field = 'agent'");
        Assert.Equal(("index_edited", 11L), (finding.Code, finding.Seq));
    }

    [Fact]
    public async Task A_rollback_link_added_to_the_query_columns_is_caught()
    {
        var finding = await BrokenAfterAsync("UPDATE audit_entries SET rollback_of = 3 WHERE seq = 7");
        Assert.Equal(("column_edited", 7L), (finding.Code, finding.Seq));
    }

    [Fact]
    public async Task A_record_filter_cleared_to_hide_what_touched_a_record_is_caught()
    {
        var finding = await BrokenAfterAsync("UPDATE audit_record_filters SET filter = decode(repeat('00', length(filter)), 'hex') WHERE checkpoint = 2");
        Assert.Equal(("index_edited", 11L), (finding.Code, finding.Seq));
    }

    [Fact]
    public async Task A_missing_record_filter_is_caught()
    {
        var finding = await BrokenAfterAsync("DELETE FROM audit_record_filters WHERE checkpoint = 3");
        Assert.Equal("index_edited", finding.Code);
    }

    [Fact]
    public async Task An_entry_slipped_in_before_the_first_is_caught()
    {
        var finding = await BrokenAfterAsync("INSERT INTO audit_entries (seq, time, entry, hash) SELECT -1, '2026-01-01T00:00:00.000Z', entry, hash FROM audit_entries WHERE seq = 3");
        Assert.Equal(("entry_inserted", -1L), (finding.Code, finding.Seq));
    }

    [Fact]
    public async Task A_forged_archive_marker_that_hides_entries_is_caught_even_by_the_store_alone()
    {
        var finding = await BrokenAfterAsync("""
            DELETE FROM audit_index WHERE checkpoint <= 2; DELETE FROM audit_record_filters WHERE checkpoint <= 2;
            INSERT INTO audit_trail (key, value) SELECT 'archived_head', hash FROM audit_entries WHERE seq = 20;
            INSERT INTO audit_trail (key, value) VALUES ('archived_through', '20');
            DELETE FROM audit_entries WHERE seq <= 20;
            """);
        Assert.Equal(("archive_marker_altered", 20L), (finding.Code, finding.Seq));
    }

    [Fact]
    public async Task A_rewrite_of_the_whole_store_is_caught_by_the_witness()
    {
        var witness = AuditLog.Witness(_place);
        await postgres.ExecuteAsync(_database, "DELETE FROM audit_index; DELETE FROM audit_record_filters; DELETE FROM audit_entries; DELETE FROM audit_checkpoints; DELETE FROM audit_trail;");
        var finding = AuditVerifier.Verify(_place, witness).Finding;
        Assert.Equal("trail_wiped", finding?.Code);
    }

    [Fact]
    public async Task An_edited_entry_keeps_a_replica_from_starting()
    {
        await postgres.ExecuteAsync(_database, "UPDATE audit_entries SET entry = replace(entry, '\"allow\"', '\"deny\"') WHERE seq = 5");
        var refused = Assert.Throws<AuditTrailBrokenException>(() => AuditTrail.Open(_place, new AuditTrailOptions { KeyPath = Path.Combine(_folder, "audit.key") }));
        Assert.Equal(("entry_edited", 5L), (refused.Finding.Code, refused.Finding.Seq));
    }
}
