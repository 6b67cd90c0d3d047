using Warden.Core.Audit;
using Warden.Storage.Audit;

namespace Warden.Storage.Tests.Audit;

/// <summary>
/// What an operator with write access to the file can do to the trail, and what verify says about
/// it. 25 entries, a checkpoint every 10: checkpoints 1 (entries 1–10), 2 (11–20) and 3 (21–25).
/// </summary>
public sealed class TamperTests : IDisposable
{
    private readonly TrailFixture _trail = new();

    public TamperTests() => _trail.Fill(25);

    public void Dispose() => _trail.Dispose();

    private AuditFinding Broken(Witness? witness = null)
    {
        var result = AuditVerifier.Verify(_trail.Path, witness);
        Assert.NotNull(result.Finding);
        return result.Finding!;
    }

    [Fact]
    public void An_untouched_trail_verifies_every_entry_and_checkpoint()
    {
        var result = AuditVerifier.Verify(_trail.Path);
        Assert.True(result.Verified, result.Finding?.Message);
        Assert.Equal(25, result.Entries);
        Assert.Equal(3, result.Checkpoints);
    }

    [Fact]
    public void An_edited_entry_is_named()
    {
        _trail.Tamper("UPDATE audit_entries SET entry = replace(entry, '\"allow\"', '\"deny\"') WHERE seq = 14");
        var finding = Broken();
        Assert.Equal(("entry_edited", 14L), (finding.Code, finding.Seq));
        Assert.Equal("entry 14 was changed after it was written: its content does not match its hash", finding.Message);
    }

    [Fact]
    public void An_edited_entry_whose_hash_was_recomputed_breaks_the_link_to_the_next()
    {
        var text = ((string)_trail.Scalar("SELECT entry FROM audit_entries WHERE seq = 14")!).Replace("\"allow\"", "\"deny\"", StringComparison.Ordinal);
        _trail.Tamper("UPDATE audit_entries SET entry = @e, hash = @h WHERE seq = 14", ("@e", text), ("@h", AuditText.Hash(text)));
        var finding = Broken();
        Assert.Equal(("chain_broken", 15L), (finding.Code, finding.Seq));
        Assert.Equal("entry 15 does not link to entry 14: one of them was rewritten and its hash recomputed", finding.Message);
    }

    [Fact]
    public void A_rewritten_stretch_with_relinked_hashes_contradicts_its_signed_checkpoint()
    {
        Rewrite(fromSeq: 14);
        var finding = Broken();
        Assert.Equal(("checkpoint_mismatch", 11L), (finding.Code, finding.Seq));
        Assert.Equal("checkpoint 2 (entries 11–20) does not match the entries it covers: entries 11–20 were rewritten after it was signed", finding.Message);
    }

    [Fact]
    public void A_rewrite_resigned_with_the_gateways_own_key_is_caught_by_the_witness()
    {
        var witness = AuditLog.Witness(_trail.Path);
        Rewrite(fromSeq: 14);
        Resign();
        Assert.True(AuditVerifier.Verify(_trail.Path).Verified, "without a witness, a rewrite re-signed with the key cannot be told apart");
        var finding = Broken(witness);
        Assert.Equal(("witness_mismatch", 11L), (finding.Code, finding.Seq));
        Assert.StartsWith("checkpoint 2 (entries 11–20) differs from the witness's copy", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_deleted_entry_is_named()
    {
        _trail.Tamper("DELETE FROM audit_entries WHERE seq = 14");
        var finding = Broken();
        Assert.Equal(("entry_missing", 14L), (finding.Code, finding.Seq));
        Assert.Equal("entry 14 is missing: entry 13 is followed by entry 15", finding.Message);
    }

    [Fact]
    public void Swapped_entries_are_reported_as_reordered()
    {
        _trail.Tamper("UPDATE audit_entries SET seq = -1 WHERE seq = 14; UPDATE audit_entries SET seq = 14 WHERE seq = 15; UPDATE audit_entries SET seq = 15 WHERE seq = -1;");
        var finding = Broken();
        Assert.Equal(("entries_reordered", 14L), (finding.Code, finding.Seq));
        Assert.Equal("the entry stored as number 14 is entry 15: the trail was reordered", finding.Message);
    }

    [Fact]
    public void A_tail_cut_inside_a_checkpoint_is_reported_as_truncated()
    {
        _trail.Tamper("DELETE FROM audit_entries WHERE seq > 22");
        var finding = Broken();
        Assert.Equal(("tail_truncated", 23L), (finding.Code, finding.Seq));
        Assert.Equal("the trail ends at entry 22 but checkpoint 3 (entries 21–25) covers entries up to 25: the tail was cut off", finding.Message);
    }

    [Fact]
    public void A_tail_cut_with_its_checkpoints_is_caught_by_the_witness()
    {
        var witness = AuditLog.Witness(_trail.Path);
        _trail.Tamper("DELETE FROM audit_entries WHERE seq > 20; DELETE FROM audit_index WHERE checkpoint = 3; DELETE FROM audit_record_filters WHERE checkpoint = 3; DELETE FROM audit_checkpoints WHERE number = 3;");
        Assert.True(AuditVerifier.Verify(_trail.Path).Verified, "without a witness, a clean cut at a checkpoint cannot be seen");
        var finding = Broken(witness);
        Assert.Equal(("tail_truncated", 21L), (finding.Code, finding.Seq));
        Assert.Equal("the trail ends at entry 20 but the witness holds checkpoint 3 (entries 21–25): the tail was cut off", finding.Message);
    }

    [Fact]
    public void A_checkpoint_with_an_altered_root_is_reported_as_forged()
    {
        _trail.Tamper("UPDATE audit_checkpoints SET checkpoint = json_set(checkpoint, '$.root', @root) WHERE number = 2", ("@root", new string('0', 64)));
        var finding = Broken();
        Assert.Equal(("checkpoint_forged", 11L), (finding.Code, finding.Seq));
        Assert.Equal("checkpoint 2 (entries 11–20) is not signed by the trail's key: it was forged or altered", finding.Message);
    }

    [Fact]
    public void Checkpoints_signed_with_a_substituted_key_are_caught_by_the_witness()
    {
        var witness = AuditLog.Witness(_trail.Path);
        var forger = AuditKey.Generate();
        _trail.Tamper("UPDATE audit_trail SET value = @key WHERE key = 'public_key'", ("@key", forger.PublicKeyText));
        Resign(forger);
        Assert.True(AuditVerifier.Verify(_trail.Path).Verified, "the store alone trusts the key it holds");
        var finding = Broken(witness);
        Assert.Equal("key_replaced", finding.Code);
        Assert.EndsWith("is not the one the witness holds (" + AuditKey.IdOf(witness.PublicKey) + "): the key was replaced", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_entry_taken_off_an_index_list_is_caught_though_the_entry_is_intact()
    {
        _trail.Tamper("UPDATE audit_index SET seqs = '[1,2,3,4,6,7,8,9,10]' WHERE checkpoint = 1 AND field = 'agent'");
        var finding = Broken();
        Assert.Equal(("index_edited", 5L), (finding.Code, finding.Seq));
        Assert.Equal("the index lacks entry 5 under agent hygiene-bot, which the entry names: the index was edited", finding.Message);
    }

    [Fact]
    public void An_entry_put_on_an_index_list_it_does_not_name_is_caught()
    {
        _trail.Tamper("INSERT INTO audit_index (checkpoint, field, value, seqs) VALUES (2, 'person', 'maria', '[13]')");
        var finding = Broken();
        Assert.Equal(("index_edited", 13L), (finding.Code, finding.Seq));
        Assert.Equal("the index lists entry 13 under person maria, which the entry does not name: the index was edited", finding.Message);
    }

    [Fact]
    public void A_list_moved_to_another_agent_is_caught()
    {
        _trail.Tamper("UPDATE audit_index SET value = 'someone-else' WHERE checkpoint = 2 AND field = 'agent'");
        var finding = Broken();
        Assert.Equal(("index_edited", 11L), (finding.Code, finding.Seq));
        Assert.Equal("the index has no agent hygiene-bot list for checkpoint 2 (entries 11–20), though entry 11 names it: the index was edited", finding.Message);
    }

    [Fact]
    public void A_rollback_link_added_to_the_query_columns_is_caught()
    {
        _trail.Tamper("UPDATE audit_entries SET rollback_of = 3 WHERE seq = 7");
        var finding = Broken();
        Assert.Equal(("column_edited", 7L), (finding.Code, finding.Seq));
        Assert.Equal("entry 7's rollback_of column says 3 but the entry says nothing: the column was edited", finding.Message);
    }

    [Fact]
    public void A_record_filter_cleared_to_hide_what_touched_a_record_is_caught()
    {
        _trail.Tamper("UPDATE audit_record_filters SET filter = zeroblob(length(filter)) WHERE checkpoint = 2");
        var finding = Broken();
        Assert.Equal(("index_edited", 11L), (finding.Code, finding.Seq));
        Assert.Equal("the record filter of checkpoint 2 (entries 11–20) does not match the records its entries name: the index was edited", finding.Message);
    }

    [Fact]
    public void A_missing_record_filter_is_caught()
    {
        _trail.Tamper("DELETE FROM audit_record_filters WHERE checkpoint = 3");
        Assert.Equal("the record filter of checkpoint 3 (entries 21–25) is missing: the index was edited", Broken().Message);
    }

    [Fact]
    public void An_index_run_for_a_checkpoint_that_does_not_exist_is_caught()
    {
        _trail.Tamper("INSERT INTO audit_index (checkpoint, field, value, seqs) VALUES (4, 'agent', 'hygiene-bot', '[26]')");
        var finding = Broken();
        Assert.Equal("index_edited", finding.Code);
        Assert.Equal("the index holds the agent hygiene-bot list for checkpoint 4, which covers no entry of the live trail: the index was edited", finding.Message);
    }

    [Fact]
    public void An_entry_slipped_in_before_the_first_is_caught()
    {
        var text = (string)_trail.Scalar("SELECT entry FROM audit_entries WHERE seq = 3")!;
        _trail.Tamper("INSERT INTO audit_entries (seq, time, entry, hash) VALUES (-1, '2026-01-01T00:00:00.000Z', @e, @h)", ("@e", text), ("@h", AuditText.Hash(text)));
        var finding = Broken();
        Assert.Equal(("entry_inserted", -1L), (finding.Code, finding.Seq));
    }

    [Fact]
    public void A_forged_archive_marker_that_hides_entries_is_caught_even_by_the_store_alone()
    {
        var head = (string)_trail.Scalar("SELECT hash FROM audit_entries WHERE seq = 20")!;
        _trail.Tamper("DELETE FROM audit_index WHERE checkpoint <= 2; DELETE FROM audit_record_filters WHERE checkpoint <= 2; DELETE FROM audit_entries WHERE seq <= 20; INSERT INTO audit_trail (key, value) VALUES ('archived_through', '20'), ('archived_head', @h)", ("@h", head));
        var finding = Broken(AuditLog.Witness(_trail.Path));
        Assert.Equal(("archive_marker_altered", 20L), (finding.Code, finding.Seq));
        Assert.Equal("the trail says entries up to 20 are archived, but no archive entry records that: the marker was forged", finding.Message);
    }

    [Fact]
    public void A_wiped_store_is_caught_by_the_witness()
    {
        var witness = AuditLog.Witness(_trail.Path);
        _trail.Tamper("DELETE FROM audit_index; DELETE FROM audit_record_filters; DELETE FROM audit_entries; DELETE FROM audit_checkpoints; DELETE FROM audit_trail;");
        var finding = Broken(witness);
        Assert.Equal("trail_wiped", finding.Code);
    }

    [Fact]
    public void An_edit_far_behind_the_last_checkpoint_keeps_the_gateway_from_starting()
    {
        _trail.Tamper("UPDATE audit_entries SET entry = replace(entry, '\"allow\"', '\"deny\"') WHERE seq = 5");
        var refused = Assert.Throws<AuditTrailBrokenException>(() => _trail.Open());
        Assert.Equal(("entry_edited", 5L), (refused.Finding.Code, refused.Finding.Seq));
    }

    [Fact]
    public void A_witness_of_another_trail_is_refused()
    {
        using var other = new TrailFixture();
        other.Fill(3);
        var finding = Broken(AuditLog.Witness(other.Path));
        Assert.Equal("witness_of_another_trail", finding.Code);
    }

    [Fact]
    public void A_corrupted_file_is_reported_as_unreadable()
    {
        using (var file = new FileStream(_trail.Path, FileMode.Open, FileAccess.Write))
        {
            file.Write(new byte[100]); // the SQLite header
        }

        File.Delete(_trail.Path + "-wal");
        var finding = Broken();
        Assert.Equal("unreadable", finding.Code);
        Assert.Contains("is not a readable database", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_trail_file_is_reported()
    {
        var result = AuditVerifier.Verify(Path.Combine(_trail.Directory, "nowhere.db"));
        Assert.Equal("unreadable", result.Finding!.Code);
        Assert.StartsWith("there is no audit trail at ", result.Finding.Message, StringComparison.Ordinal);
    }

    /// <summary>Rewrites entries from <paramref name="fromSeq"/> on (effect allow → deny), recomputing every hash and link after it, and the index.</summary>
    private void Rewrite(long fromSeq)
    {
        var prev = (string)_trail.Scalar($"SELECT hash FROM audit_entries WHERE seq = {fromSeq - 1}")!;
        for (var seq = fromSeq; seq <= 25; seq++)
        {
            var text = (string)_trail.Scalar($"SELECT entry FROM audit_entries WHERE seq = {seq}")!;
            Assert.True(AuditText.TryReadFrame(text, out var frame));
            var body = text[8..text.IndexOf(",\"prev\":", StringComparison.Ordinal)].Replace("\"allow\"", "\"deny\"", StringComparison.Ordinal);
            var rewritten = AuditText.Entry(body, prev, seq, DateTimeOffset.Parse(frame.Time, System.Globalization.CultureInfo.InvariantCulture));
            prev = AuditText.Hash(rewritten);
            _trail.Tamper("UPDATE audit_entries SET entry = @e, hash = @h WHERE seq = @s", ("@e", rewritten), ("@h", prev), ("@s", seq));
        }

        // A careful forger keeps the index in step, so that only the signatures can give them away.
        _trail.Reindex();
    }

    /// <summary>Signs every checkpoint again over the entries as they are now, with the trail's own key or another.</summary>
    private void Resign(AuditKey? key = null)
    {
        key ??= LoadKey();
        var witness = AuditLog.Witness(_trail.Path);
        var previous = AuditText.Genesis(witness.Trail);
        foreach (var old in witness.Checkpoints)
        {
            var leaves = new List<byte[]>();
            string head = "";
            for (var seq = old.FirstSeq; seq <= old.LastSeq; seq++)
            {
                head = (string)_trail.Scalar($"SELECT hash FROM audit_entries WHERE seq = {seq}")!;
                leaves.Add(Convert.FromHexString(head));
            }

            var signed = Checkpoint.Sign(key, old.Trail, old.Number, old.FirstSeq, old.LastSeq, head, Convert.ToHexStringLower(Merkle.Root(leaves)), previous,
                DateTimeOffset.Parse(old.Time, System.Globalization.CultureInfo.InvariantCulture));
            _trail.Tamper("UPDATE audit_checkpoints SET checkpoint = @c WHERE number = @n", ("@c", signed.Text()), ("@n", old.Number));
            previous = signed.Hash();
        }
    }

    private AuditKey LoadKey()
    {
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(_trail.Path + ".key"));
        return AuditKey.FromPrivateKey(Convert.FromBase64String(document.RootElement.GetProperty("private_key").GetString()!));
    }
}
