using Warden.Core.Audit;
using Warden.Storage.Audit;

namespace Warden.Storage.Tests.Audit;

/// <summary>Archiving: old entries move to a file that verifies on its own, and the rest of the trail still verifies.</summary>
public sealed class ArchiveTests : IDisposable
{
    private readonly TrailFixture _trail = new();

    public ArchiveTests() => _trail.Fill(25); // checkpoints 1 (1–10), 2 (11–20), 3 (21–25)

    public void Dispose() => _trail.Dispose();

    private string File1 => Path.Combine(_trail.Directory, "archive-1.jsonl");

    private async Task<ArchiveResult> Archive(long through, string file)
    {
        await using var trail = _trail.Open();
        return await trail.ArchiveAsync(through, file, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Archived_entries_leave_the_store_and_the_rest_still_verifies()
    {
        var moved = await Archive(2, File1);
        Assert.Equal((1L, 20L), (moved.FirstSeq, moved.LastSeq));
        Assert.Equal(0L, _trail.Scalar("SELECT count(*) FROM audit_entries WHERE seq <= 20"));
        var rest = AuditVerifier.Verify(_trail.Path, AuditLog.Witness(_trail.Path));
        Assert.True(rest.Verified, rest.Finding?.Message);
        Assert.Equal(6, rest.Entries); // 21–25 and the archive's own entry
    }

    [Fact]
    public async Task The_archive_file_verifies_on_its_own_and_against_the_witness()
    {
        var witness = AuditLog.Witness(_trail.Path);
        await Archive(2, File1);
        var result = AuditArchive.Verify(File1, witness);
        Assert.True(result.Verified, result.Finding?.Message);
        Assert.Equal((20L, 2L), (result.Entries, result.Checkpoints));
    }

    [Fact]
    public async Task The_move_is_recorded_in_the_trail()
    {
        var moved = await Archive(1, File1);
        var entry = AuditLog.Query(_trail.Path, new AuditQuery { Limit = 1 }).Entries.Single();
        Assert.Equal(AuditKinds.Archive, entry.Entry.Kind);
        Assert.Equal($"entries 1–10 moved to {File1} (sha256 {moved.Sha256})", entry.Entry.Detail);
    }

    [Fact]
    public async Task A_second_archive_continues_where_the_first_ended()
    {
        await Archive(1, File1);
        var second = Path.Combine(_trail.Directory, "archive-2.jsonl");
        var moved = await Archive(2, second);
        Assert.Equal((11L, 20L), (moved.FirstSeq, moved.LastSeq));
        Assert.True(AuditArchive.Verify(second).Verified);
        Assert.True(AuditVerifier.Verify(_trail.Path).Verified);
    }

    [Fact]
    public async Task An_edited_archive_is_caught()
    {
        await Archive(2, File1);
        var lines = File.ReadAllLines(File1);
        lines[5] = lines[5].Replace("\"allow\"", "\"deny\"", StringComparison.Ordinal);
        File.WriteAllLines(File1, lines);
        var finding = AuditArchive.Verify(File1).Finding!;
        Assert.Equal(("chain_broken", 6L), (finding.Code, finding.Seq));
    }

    [Fact]
    public async Task An_archive_cut_short_is_caught()
    {
        await Archive(2, File1);
        var lines = File.ReadAllLines(File1);
        File.WriteAllLines(File1, lines[..^3]);
        Assert.Equal("tail_truncated", AuditArchive.Verify(File1).Finding!.Code);
    }

    [Fact]
    public async Task Archiving_through_a_checkpoint_that_does_not_exist_moves_nothing()
    {
        var refused = await Assert.ThrowsAsync<AuditTrailException>(() => Archive(9, File1));
        Assert.Equal("there is no checkpoint 9 to archive through (the trail has 3)", refused.Message);
        Assert.False(File.Exists(File1));
        Assert.Equal(25L, _trail.Scalar("SELECT count(*) FROM audit_entries"));
    }

    [Fact]
    public async Task An_existing_file_is_never_written_over()
    {
        File.WriteAllText(File1, "keep me");
        var refused = await Assert.ThrowsAsync<AuditTrailException>(() => Archive(1, File1));
        Assert.EndsWith("exists already; an archive is never written over", refused.Message, StringComparison.Ordinal);
        Assert.Equal("keep me", File.ReadAllText(File1));
    }

    [Fact]
    public async Task An_altered_archive_marker_is_caught()
    {
        await Archive(2, File1);
        _trail.Tamper("UPDATE audit_trail SET value = '15' WHERE key = 'archived_through'");
        Assert.Equal("archive_marker_altered", AuditVerifier.Verify(_trail.Path).Finding!.Code);
    }

    [Fact]
    public async Task A_trail_reopened_after_an_archive_goes_on_from_its_end()
    {
        await Archive(3, File1);
        _trail.Fill(3);
        var result = AuditVerifier.Verify(_trail.Path);
        Assert.True(result.Verified, result.Finding?.Message);
        Assert.Equal(29L, _trail.Scalar("SELECT max(seq) FROM audit_entries"));
    }

    [Fact]
    public async Task A_failed_archive_leaves_the_writer_working()
    {
        await using var trail = _trail.Open();
        await Assert.ThrowsAsync<AuditTrailException>(() => trail.ArchiveAsync(1, Path.Combine(_trail.Directory, "bad\0name.jsonl"), TestContext.Current.CancellationToken));
        var appended = await trail.AppendAsync(TrailFixture.Call(26), TestContext.Current.CancellationToken);
        Assert.Equal(26, appended.Seq);
    }

    [Fact]
    public async Task The_archive_entry_records_the_range_it_moved()
    {
        await Archive(2, File1);
        var entry = AuditLog.Query(_trail.Path, new AuditQuery { Limit = 1 }).Entries.Single();
        Assert.Equal(20, entry.Entry.ArchivedThrough);
    }

    [Fact]
    public async Task An_archive_with_its_header_moved_past_the_trails_start_is_caught()
    {
        await Archive(2, File1);
        var lines = File.ReadAllLines(File1);
        lines[0] = lines[0].Replace("\"first_seq\":1", "\"first_seq\":2", StringComparison.Ordinal);
        File.WriteAllLines(File1, [lines[0], .. lines[2..]]);
        Assert.NotNull(AuditArchive.Verify(File1).Finding);
    }
}
