using System.Security.Cryptography;
using Warden.Core.Audit;
using Warden.Storage.Audit;

namespace Warden.Storage.Tests.Audit;

/// <summary>
/// Archiving: old entries move to a file that verifies on its own, the rest of the trail still
/// verifies, and nobody makes archived entries disappear unnoticed: the archive's identity is in
/// the chain, the store and the witness, and verify looks for the file.
/// </summary>
public sealed class ArchiveTests : IDisposable
{
    private readonly TrailFixture _trail = new();

    public ArchiveTests() => _trail.Fill(25); // checkpoints 1 (1–10), 2 (11–20), 3 (21–25)

    public void Dispose() => _trail.Dispose();

    private string File1 => Path.Combine(_trail.Directory, "archive-1.jsonl");

    private string File2 => Path.Combine(_trail.Directory, "archive-2.jsonl");

    private async Task<ArchiveRecord> Archive(long through, string file, string by = "alice@example.com", string? reason = null)
    {
        await using var trail = _trail.Open();
        return await trail.ArchiveAsync(through, file, by, reason, TestContext.Current.CancellationToken);
    }

    private async Task<ArchiveRecord> Destroy(string file, string by = "bob@example.com", string reason = "retention of 7 years ended")
    {
        await using var trail = _trail.Open();
        return await trail.DestroyArchiveAsync(file, by, reason, TestContext.Current.CancellationToken);
    }

    private AuditFinding Broken(Witness? witness = null, IReadOnlyList<string>? archives = null)
    {
        var result = AuditVerifier.Verify(_trail.Path, witness, archives: archives);
        Assert.NotNull(result.Finding);
        return result.Finding!;
    }

    private static string Sha256(string file) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));

    [Fact]
    public async Task Archived_entries_leave_the_store_and_the_rest_still_verifies_with_the_archive()
    {
        var moved = await Archive(2, File1);
        Assert.Equal((1L, 20L), (moved.FirstSeq, moved.LastSeq));
        Assert.Equal(0L, _trail.Scalar("SELECT count(*) FROM audit_entries WHERE seq <= 20"));
        var rest = AuditVerifier.Verify(_trail.Path, AuditLog.Witness(_trail.Path));
        Assert.True(rest.Verified, rest.Finding?.Message);
        Assert.Equal(6, rest.Entries); // 21–25 and the archive's own entry
        Assert.Equal((20L, 1), (rest.ArchivedEntries, rest.ArchiveFiles));
        Assert.Empty(rest.Notes);
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
    public async Task The_archive_entry_names_the_person_the_reason_the_file_and_its_digest()
    {
        var moved = await Archive(1, File1, reason: "the store grows");
        var entry = AuditLog.Query(_trail.Path, new AuditQuery { Limit = 1 }).Entries.Single();
        Assert.Equal(AuditKinds.Archive, entry.Entry.Kind);
        Assert.Equal(("alice@example.com", "the store grows"), (entry.Entry.Person, entry.Entry.Reason));
        Assert.Equal((1L, 10L), (entry.Entry.ArchivedFrom!.Value, entry.Entry.ArchivedThrough!.Value));
        Assert.Equal((Path.GetFullPath(File1), Sha256(File1)), (entry.Entry.ArchiveFile, entry.Entry.ArchiveSha256));
        Assert.Equal($"entries 1–10 moved to {File1} (sha256 {moved.Sha256})", entry.Entry.Detail);
        Assert.Equal((entry.Seq, AuditText.Time(entry.Time)), (moved.Entry, moved.Time));
    }

    [Fact]
    public async Task The_store_and_the_witness_record_the_archive_as_the_entry_does()
    {
        var moved = await Archive(2, File1, reason: "quarterly");
        var witness = AuditLog.Witness(_trail.Path);
        Assert.Equal(moved, Assert.Single(witness.Archives));
        var text = new StringWriter();
        witness.Write(text);
        Assert.True(Witness.TryRead(text.ToString(), out var read, out var error), error);
        Assert.Equal(moved, Assert.Single(read!.Archives));
    }

    [Fact]
    public async Task Archiving_without_naming_a_person_is_refused_and_moves_nothing()
    {
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => Archive(2, File1, by: " "));
        Assert.StartsWith("an archive names the person who makes it", refused.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(File1));
        Assert.Equal(25L, _trail.Scalar("SELECT count(*) FROM audit_entries"));
    }

    [Fact]
    public async Task A_deleted_archive_is_a_finding_that_names_its_entries_who_archived_them_and_when()
    {
        var moved = await Archive(2, File1);
        File.Delete(File1);
        var finding = Broken();
        Assert.Equal(("archive_missing", 1L), (finding.Code, finding.Seq));
        Assert.StartsWith($"entries 1–20 left the store with an archive that is not there: alice@example.com archived them at {moved.Time} (entry 26) to {File1}, sha256 {moved.Sha256}",
            finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_archive_with_one_entry_edited_is_a_finding()
    {
        await Archive(2, File1);
        var lines = File.ReadAllLines(File1);
        lines[5] = lines[5].Replace("\"allow\"", "\"deny\"", StringComparison.Ordinal);
        File.WriteAllLines(File1, lines);
        var finding = Broken();
        Assert.Equal(("archive_altered", 1L), (finding.Code, finding.Seq));
        Assert.Contains($"the archive at {File1} is not the file alice@example.com archived entries 1–20 to", finding.Message, StringComparison.Ordinal);
        Assert.Contains("entry 6 in the archive does not link to entry 5", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_archive_replaced_by_another_trails_valid_archive_is_a_finding()
    {
        await Archive(2, File1);
        using var other = new TrailFixture();
        other.Fill(25);
        var foreign = Path.Combine(other.Directory, "archive-1.jsonl");
        await using (var trail = other.Open())
        {
            await trail.ArchiveAsync(2, foreign, "mallory", null, TestContext.Current.CancellationToken);
        }

        Assert.True(AuditArchive.Verify(foreign).Verified, "the replacement is a sound archive in itself");
        File.Copy(foreign, File1, overwrite: true);
        var finding = Broken();
        Assert.Equal("archive_altered", finding.Code);
        Assert.Contains("it is another trail's archive", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_edited_archive_is_caught_on_its_own()
    {
        await Archive(2, File1);
        var lines = File.ReadAllLines(File1);
        lines[5] = lines[5].Replace("\"allow\"", "\"deny\"", StringComparison.Ordinal);
        File.WriteAllLines(File1, lines);
        var finding = AuditArchive.Verify(File1).Finding!;
        Assert.Equal(("chain_broken", 6L), (finding.Code, finding.Seq));
    }

    [Fact]
    public async Task An_archive_checked_against_the_witness_must_hold_the_bytes_it_recorded()
    {
        await Archive(2, File1);
        var witness = AuditLog.Witness(_trail.Path);
        File.WriteAllText(File1, File.ReadAllText(File1).Replace("\"allow\"", "\"deny\"", StringComparison.Ordinal));
        var finding = AuditArchive.Verify(File1, witness).Finding!;
        Assert.Equal("archive_altered", finding.Code);
        Assert.StartsWith($"{File1} is not the archive the witness records for entries 1–20 (archived by alice@example.com", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_moved_archive_is_missing_until_its_new_place_is_given()
    {
        await Archive(2, File1);
        var elsewhere = Path.Combine(_trail.Directory, "cold", "archive-1.jsonl");
        Directory.CreateDirectory(Path.GetDirectoryName(elsewhere)!);
        File.Move(File1, elsewhere);
        Assert.Equal("archive_missing", Broken().Code);
        var result = AuditVerifier.Verify(_trail.Path, archives: [elsewhere]);
        Assert.True(result.Verified, result.Finding?.Message);
        Assert.Equal(20L, result.ArchivedEntries);
    }

    [Fact]
    public async Task An_archive_given_in_place_of_a_missing_one_must_be_that_archive()
    {
        await Archive(1, File1);
        await Archive(2, File2);
        File.Delete(File1);
        var finding = Broken(archives: [File2]);
        Assert.Equal("archive_missing", finding.Code); // File2 is used for entries 11–20, not for 1–10
        Assert.StartsWith("entries 1–10 left the store", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deleting_an_archive_and_its_store_record_is_caught_by_the_archive_entry()
    {
        await Archive(2, File1);
        File.Delete(File1);
        _trail.Tamper("DELETE FROM audit_archives");
        var finding = Broken();
        Assert.Equal(("archive_missing", 1L), (finding.Code, finding.Seq));
        Assert.Contains("entry 26 records the archive of entries 1–20 (archived by alice@example.com", finding.Message, StringComparison.Ordinal);
        Assert.EndsWith(", which is not there, but the store has no record of it: its archive records were rewritten", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_witness_detects_a_missing_archive_even_when_the_stores_records_were_rewritten()
    {
        await Archive(2, File1);
        var witness = AuditLog.Witness(_trail.Path);
        File.Delete(File1);
        _trail.Tamper("DELETE FROM audit_archives");
        var finding = Broken(witness);
        Assert.Equal(("archive_missing", 1L), (finding.Code, finding.Seq));
        Assert.StartsWith("the witness records the archive of entries 1–20 (archived by alice@example.com", finding.Message, StringComparison.Ordinal);
        Assert.EndsWith(", which is not there, and the trail's store no longer records it: its archive records were rewritten", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_witness_detects_a_digest_rewritten_in_the_store_to_match_an_altered_archive()
    {
        await Archive(2, File1);
        var witness = AuditLog.Witness(_trail.Path);
        File.WriteAllText(File1, File.ReadAllText(File1).Replace("\"allow\"", "\"deny\"", StringComparison.Ordinal));
        _trail.Tamper("UPDATE audit_archives SET sha256 = @sha", ("@sha", Sha256(File1)));
        var finding = Broken(witness);
        Assert.Equal(("archive_altered", 1L), (finding.Code, finding.Seq));
        Assert.Contains("whose file no longer holds those bytes, and the trail's store records it otherwise", finding.Message, StringComparison.Ordinal);
        Assert.False(AuditVerifier.Verify(_trail.Path).Verified, "without the witness, the altered file still does not verify");
    }

    [Fact]
    public async Task A_store_record_redirected_to_a_copy_is_caught_by_the_archive_entry()
    {
        await Archive(2, File1);
        var copy = Path.Combine(_trail.Directory, "copy.jsonl");
        File.Copy(File1, copy);
        _trail.Tamper("UPDATE audit_archives SET file = @file", ("@file", copy));
        File.Delete(File1); // and the copy, under the attacker's control, answers for it
        var finding = Broken();
        Assert.Equal("archive_missing", finding.Code);
        Assert.Contains("entry 26 records the archive of entries 1–20", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_first_archive_deleted_with_its_record_is_caught_from_inside_the_second()
    {
        await Archive(1, File1); // entry 26 records it, and closing checkpoints it (checkpoint 4)
        await Archive(4, File2); // entries 11–26: the record of the first archive is now in the second
        Assert.True(AuditVerifier.Verify(_trail.Path).Verified);
        File.Delete(File1);
        _trail.Tamper("DELETE FROM audit_archives WHERE first_seq = 1");
        var finding = Broken();
        Assert.Equal(("archive_missing", 1L), (finding.Code, finding.Seq));
        Assert.StartsWith("entry 26 records the archive of entries 1–10", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_archives_are_each_checked_and_chain_into_the_rest()
    {
        await Archive(1, File1);
        await Archive(2, File2);
        var result = AuditVerifier.Verify(_trail.Path);
        Assert.True(result.Verified, result.Finding?.Message);
        Assert.Equal((20L, 2), (result.ArchivedEntries, result.ArchiveFiles));
        File.Delete(File1);
        Assert.Equal(("archive_missing", 1L), (Broken().Code, Broken().Seq));
    }

    [Fact]
    public async Task Opening_a_trail_whose_archive_record_was_removed_is_refused()
    {
        await Archive(2, File1);
        _trail.Tamper("DELETE FROM audit_archives");
        var refused = Assert.Throws<AuditTrailBrokenException>(() => _trail.Open());
        Assert.Equal("archive_record_altered", refused.Finding.Code);
    }

    [Fact]
    public async Task An_archive_destroyed_on_a_persons_word_is_a_note_not_a_finding()
    {
        var moved = await Archive(2, File1);
        var destroyed = await Destroy(File1);
        Assert.False(File.Exists(File1));
        Assert.Equal(("bob@example.com", "retention of 7 years ended"), (destroyed.Destroyed!.By, destroyed.Destroyed.Reason));
        var result = AuditVerifier.Verify(_trail.Path);
        Assert.True(result.Verified, result.Finding?.Message);
        var note = Assert.Single(result.Notes);
        Assert.Equal(("archive_destroyed", 1L), (note.Code, note.Seq));
        Assert.Equal($"entries 1–20 are gone, on the record: bob@example.com destroyed their archive at {destroyed.Destroyed.Time} (entry 27) because: retention of 7 years ended. "
                     + $"alice@example.com had archived them at {moved.Time} (entry 26) to {File1}, sha256 {moved.Sha256}", note.Message);
        var entry = AuditLog.Query(_trail.Path, new AuditQuery { Limit = 1 }).Entries.Single().Entry;
        Assert.Equal((AuditKinds.ArchiveDestroyed, "bob@example.com"), (entry.Kind, entry.Person));
    }

    [Fact]
    public async Task A_destruction_recorded_after_the_witness_was_written_is_a_note_against_it()
    {
        await Archive(2, File1);
        var witness = AuditLog.Witness(_trail.Path);
        await Destroy(File1);
        var result = AuditVerifier.Verify(_trail.Path, witness);
        Assert.True(result.Verified, result.Finding?.Message);
        Assert.Equal("archive_destroyed", Assert.Single(result.Notes).Code);
    }

    [Fact]
    public async Task Marking_an_archive_destroyed_in_the_store_alone_is_caught()
    {
        await Archive(2, File1);
        File.Delete(File1);
        _trail.Tamper("UPDATE audit_archives SET destroyed_by = 'mallory', destroyed_reason = 'retention', destroyed_time = '2026-01-01T00:00:00.000Z', destroyed_entry = 27");
        var finding = Broken();
        Assert.Equal("archive_record_forged", finding.Code);
        Assert.Contains("that entry does not say so: the record was forged", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Archives_are_destroyed_oldest_first()
    {
        await Archive(1, File1);
        await Archive(2, File2);
        var refused = await Assert.ThrowsAsync<AuditTrailException>(() => Destroy(File2));
        Assert.Equal("archives are destroyed oldest first, and the archive of entries 1–10 is kept; nothing was destroyed", refused.Message);
        Assert.True(File.Exists(File2));
    }

    [Fact]
    public async Task A_file_that_is_not_the_archive_is_not_destroyed_in_its_name()
    {
        await Archive(2, File1);
        File.WriteAllText(File1, File.ReadAllText(File1).Replace("\"allow\"", "\"deny\"", StringComparison.Ordinal));
        var refused = await Assert.ThrowsAsync<AuditTrailException>(() => Destroy(File1));
        Assert.EndsWith("; nothing was destroyed", refused.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(File1));
        Assert.Equal(AuditKinds.Archive, AuditLog.Query(_trail.Path, new AuditQuery { Limit = 1 }).Entries.Single().Entry.Kind);
    }

    [Fact]
    public async Task A_lost_archive_can_be_declared_destroyed_on_the_record()
    {
        await Archive(2, File1);
        File.Delete(File1);
        var destroyed = await Destroy(File1, reason: "the archive volume failed");
        Assert.Equal("the archive volume failed", destroyed.Destroyed!.Reason);
        var entry = AuditLog.Query(_trail.Path, new AuditQuery { Limit = 1 }).Entries.Single().Entry;
        Assert.EndsWith($"was not at {File1}: declared destroyed", entry.Detail, StringComparison.Ordinal);
        Assert.True(AuditVerifier.Verify(_trail.Path).Verified);
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
        Assert.Equal("archive_marker_altered", Broken().Code);
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
        await Assert.ThrowsAsync<AuditTrailException>(() => trail.ArchiveAsync(1, Path.Combine(_trail.Directory, "bad\0name.jsonl"), "alice", null, TestContext.Current.CancellationToken));
        var appended = await trail.AppendAsync(TrailFixture.Call(26), TestContext.Current.CancellationToken);
        Assert.Equal(26, appended.Seq);
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
