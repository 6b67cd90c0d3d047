using Warden.Core.Audit;
using Warden.Storage.Audit;

namespace Warden.Storage.Tests.Audit;

/// <summary>
/// A data folder from before archives were recorded with their digest and maker (Audit/Legacy:
/// 25 entries, entries 1–20 archived by entry 26, then 27–29; written by that version of Warden).
/// It keeps verifying, with a note, and upgrades in place.
/// </summary>
public sealed class LegacyArchiveTests : IDisposable
{
    private readonly TrailFixture _trail = new();

    public LegacyArchiveTests()
    {
        var legacy = Path.Combine(AppContext.BaseDirectory, "Audit", "Legacy");
        File.Copy(Path.Combine(legacy, "audit.db"), _trail.Path);
        File.Copy(Path.Combine(legacy, "audit.db.key"), _trail.Path + ".key");
        File.Copy(Path.Combine(legacy, "archive-1.jsonl"), Path.Combine(_trail.Directory, "archive-1.jsonl"));
    }

    public void Dispose() => _trail.Dispose();

    [Fact]
    public void A_trail_archived_by_an_earlier_version_verifies_with_a_note_that_its_archive_has_no_recorded_digest()
    {
        var result = AuditVerifier.Verify(_trail.Path);
        Assert.True(result.Verified, result.Finding?.Message);
        var note = Assert.Single(result.Notes);
        Assert.Equal(("archive_without_digest", 1L), (note.Code, note.Seq));
        Assert.StartsWith("entries 1–20 were archived by an earlier Warden, which recorded neither the archive's digest nor who made it (entry 26: entries 1–20 moved to ", note.Message, StringComparison.Ordinal);
        Assert.EndsWith("verify cannot look for that file; check it with `warden audit verify --archive FILE`", note.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Its_archive_still_verifies_on_its_own()
    {
        var result = AuditArchive.Verify(Path.Combine(_trail.Directory, "archive-1.jsonl"));
        Assert.True(result.Verified, result.Finding?.Message);
        Assert.Equal(20L, result.Entries);
    }

    [Fact]
    public void Its_archive_given_to_verify_is_checked_against_the_trail()
    {
        var file = Path.Combine(_trail.Directory, "archive-1.jsonl");
        var result = AuditVerifier.Verify(_trail.Path, archives: [file]);
        Assert.True(result.Verified, result.Finding?.Message);
        Assert.Equal((20L, 1), (result.ArchivedEntries, result.ArchiveFiles));
        Assert.EndsWith($"{file} verified against the trail, but nothing shows it is the file that was written", Assert.Single(result.Notes).Message, StringComparison.Ordinal);

        File.WriteAllText(file, File.ReadAllText(file).Replace("\"allow\"", "\"deny\"", StringComparison.Ordinal));
        Assert.Equal("chain_broken", AuditVerifier.Verify(_trail.Path, archives: [file]).Finding?.Code);
    }

    [Fact]
    public async Task It_upgrades_in_place_and_the_next_archive_is_recorded_and_looked_for()
    {
        await using (var trail = _trail.Open())
        {
            for (var i = 30; i <= 33; i++)
            {
                await trail.AppendAsync(TrailFixture.Call(i), TestContext.Current.CancellationToken);
            }

            await trail.CheckpointAsync(TestContext.Current.CancellationToken);
            var next = Path.Combine(_trail.Directory, "archive-2.jsonl");
            var moved = await trail.ArchiveAsync(5, next, "alice@example.com", null, TestContext.Current.CancellationToken);
            Assert.Equal((21L, 33L), (moved.FirstSeq, moved.LastSeq));
        }

        var result = AuditVerifier.Verify(_trail.Path);
        Assert.True(result.Verified, result.Finding?.Message);
        Assert.Equal((13L, 1), (result.ArchivedEntries, result.ArchiveFiles));
        Assert.Equal("archive_without_digest", Assert.Single(result.Notes).Code);

        File.Delete(Path.Combine(_trail.Directory, "archive-2.jsonl"));
        var finding = AuditVerifier.Verify(_trail.Path).Finding!;
        Assert.Equal(("archive_missing", 21L), (finding.Code, finding.Seq));
    }

    [Fact]
    public void A_witness_of_it_says_nothing_of_the_old_archive_and_verifies_it()
    {
        var witness = AuditLog.Witness(_trail.Path);
        Assert.Empty(witness.Archives);
        Assert.True(AuditVerifier.Verify(_trail.Path, witness).Verified);
        Assert.True(AuditArchive.Verify(Path.Combine(_trail.Directory, "archive-1.jsonl"), witness).Verified);
    }
}
