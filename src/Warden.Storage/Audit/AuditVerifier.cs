using System.Text.Json;
using Microsoft.Data.Sqlite;
using Warden.Core.Audit;

namespace Warden.Storage.Audit;

/// <summary>Where a trail breaks: a stable code, the entry (or first entry of the checkpoint) concerned, and a sentence.</summary>
public sealed record AuditFinding(string Code, long? Seq, string Message);

/// <summary>What a verification found: how much it checked, and the first break if there is one.</summary>
public sealed record AuditVerification(long Entries, long Checkpoints, AuditFinding? Finding)
{
    public bool Verified => Finding is null;
}

/// <summary>
/// Checks a trail from its bytes, trusting nothing the store says about itself: every entry's
/// hash against its text, every link against the entry before, every checkpoint's signature,
/// link and Merkle root against the entries it covers, and, given a witness, every checkpoint
/// against the witness's copy. Streams: memory does not grow with the trail. Reports the first
/// break, in a sentence that says what was done to the trail where.
/// </summary>
public static class AuditVerifier
{
    // The columns copied out of each entry for queries, checked against the entry itself.
    private static readonly (string Column, string Field)[] Copied =
    [
        ("kind", "kind"), ("environment", "environment"), ("agent", "agent"), ("use_case", "use_case"), ("tool", "tool"),
        ("effect", "effect"), ("person", "person"), ("outcome", "outcome"),
    ];

    /// <summary>Verifies the whole trail at <paramref name="path"/>, against a witness when one is given.</summary>
    public static AuditVerification Verify(string path, Witness? witness = null, IProgress<long>? progress = null)
    {
        SqliteConnection connection;
        try
        {
            connection = AuditStore.OpenReader(path);
        }
        catch (AuditTrailException e)
        {
            return new AuditVerification(0, 0, new AuditFinding("unreadable", null, e.Message));
        }

        using (connection)
        {
            try
            {
                return Verify(connection, path, witness, full: true, progress);
            }
            catch (AuditTrailException e)
            {
                return new AuditVerification(0, 0, new AuditFinding("not_a_trail", null, e.Message));
            }
            catch (SqliteException e)
            {
                return new AuditVerification(0, 0, new AuditFinding("unreadable", null, AuditStore.Unreadable(path, e).Message));
            }
        }
    }

    /// <summary>
    /// The check a trail passes before the gateway writes to it: every checkpoint (signature, link,
    /// the chain head it names), then every entry from the last checkpoint on. Seconds for a
    /// trail of millions, where the full verify reads every entry.
    /// </summary>
    internal static AuditFinding? CheckOnOpen(SqliteConnection connection)
    {
        try
        {
            return Verify(connection, "", null, full: false, null).Finding;
        }
        catch (AuditTrailException e)
        {
            return new AuditFinding("not_a_trail", null, e.Message);
        }
    }

    private static AuditVerification Verify(SqliteConnection connection, string path, Witness? witness, bool full, IProgress<long>? progress)
    {
        var (trailId, publicKey) = AuditStore.ReadIdentity(connection, path);
        if (trailId is null || publicKey is null)
        {
            return AuditStore.HasEntries(connection)
                ? new AuditVerification(0, 0, new AuditFinding("not_a_trail", null, "the trail has entries but no identity (trail id and public key): it was altered"))
                : new AuditVerification(0, 0, null);
        }

        if (witness is not null && witness.Trail != trailId)
        {
            return new AuditVerification(0, 0, new AuditFinding("witness_of_another_trail", null, $"the witness is of trail {witness.Trail}, but this trail is {trailId}"));
        }

        if (witness is not null && witness.PublicKey != publicKey)
        {
            return new AuditVerification(0, 0, new AuditFinding("key_replaced", null,
                $"the trail's public key ({SafeId(publicKey)}) is not the one the witness holds ({SafeId(witness.PublicKey)}): the key was replaced"));
        }

        var trustedKey = witness?.PublicKey ?? publicKey;
        var genesis = AuditText.Genesis(trailId);

        // Pass 1: the checkpoints, few and small, loaded whole.
        var checkpoints = new List<Checkpoint>();
        var previous = genesis;
        var nextFirst = 1L;
        foreach (var (number, text) in AuditStore.Checkpoints(connection))
        {
            if (!Checkpoint.TryParse(text, out var checkpoint, out var why))
            {
                return Found(0, checkpoints.Count, "checkpoint_forged", null, $"checkpoint {number} is not a checkpoint any more ({why}): it was altered");
            }

            var expected = checkpoints.Count + 1;
            if (checkpoint!.Number != number || number != expected)
            {
                return Found(0, checkpoints.Count, "checkpoint_missing", checkpoint.FirstSeq,
                    number > expected ? $"checkpoint {expected} is missing: checkpoint {expected - 1} is followed by checkpoint {number}" : $"checkpoint {number} is stored out of place (as {number}, expected {expected})");
            }

            if (!checkpoint.IsSignedBy(trustedKey))
            {
                return Found(0, checkpoints.Count, "checkpoint_forged", checkpoint.FirstSeq,
                    $"{checkpoint} is not signed by the trail's key{(witness is null ? "" : " (as the witness holds it)")}: it was forged or altered");
            }

            if (checkpoint.Trail != trailId || checkpoint.Previous != previous || checkpoint.FirstSeq != nextFirst || checkpoint.LastSeq < checkpoint.FirstSeq)
            {
                return Found(0, checkpoints.Count, "checkpoint_chain_broken", checkpoint.FirstSeq,
                    $"{checkpoint} does not follow checkpoint {number - 1} (it links to another checkpoint, another trail or another range): checkpoints were replaced");
            }

            if (witness is not null && witness.Checkpoints.FirstOrDefault(w => w.Number == number) is { } copy && copy.Text() != checkpoint.Text())
            {
                return Found(0, checkpoints.Count, "witness_mismatch", checkpoint.FirstSeq,
                    $"{checkpoint} differs from the witness's copy ({copy}): the trail was rewritten after it was witnessed");
            }

            checkpoints.Add(checkpoint);
            previous = checkpoint.Hash();
            nextFirst = checkpoint.LastSeq + 1;
        }

        // Entries moved to archives are verified from their files; the store remembers where they
        // end, and that place must be the end of a checkpoint with the same chain head.
        var (archivedThrough, archivedHead) = AuditStore.Archived(connection);
        if (archivedThrough > 0 && (archivedHead is null || checkpoints.All(c => c.LastSeq != archivedThrough)))
        {
            return Found(0, checkpoints.Count, "archive_marker_altered", archivedThrough, $"the trail says entries up to {archivedThrough} are archived, but no checkpoint ends there: the marker was altered");
        }

        if (archivedThrough > 0 && checkpoints.First(c => c.LastSeq == archivedThrough).ChainHead != archivedHead)
        {
            return Found(0, checkpoints.Count, "archive_marker_altered", archivedThrough, $"the hash recorded for the end of the archived entries ({archivedThrough}) is not the one its checkpoint signed: the marker was altered");
        }

        var last = AuditStore.LastEntry(connection);
        var lastSeq = Math.Max(last?.Seq ?? 0, archivedThrough);
        if (checkpoints.Count > 0 && checkpoints[^1].LastSeq > lastSeq)
        {
            return Found(0, checkpoints.Count, "tail_truncated", lastSeq + 1,
                $"the trail ends at entry {lastSeq} but {checkpoints[^1]} covers entries up to {checkpoints[^1].LastSeq}: the tail was cut off");
        }

        if (witness is not null && witness.Checkpoints.Where(w => w.Number > checkpoints.Count).MinBy(w => w.Number) is { } beyond)
        {
            return Found(0, checkpoints.Count, "tail_truncated", Math.Min(lastSeq + 1, beyond.FirstSeq),
                beyond.LastSeq > lastSeq
                    ? $"the trail ends at entry {lastSeq} but the witness holds {beyond}: the tail was cut off"
                    : $"the witness holds {beyond}, which the trail no longer has: checkpoints were removed");
        }

        // Pass 2: the entries, streamed. The open check starts at the last checkpoint's range.
        var start = full || checkpoints.Count == 0 ? 1 : checkpoints[^1].FirstSeq;
        var prevHash = genesis;
        if (start <= archivedThrough)
        {
            start = archivedThrough + 1;
            prevHash = archivedHead!;
        }
        else if (start > 1)
        {
            // Only a trail with two checkpoints or more starts past entry 1 (the first covers it).
            var before = checkpoints[^2];
            var stored = start - 1 == archivedThrough ? archivedHead : HashOf(connection, start - 1);
            if (stored is null || stored != before.ChainHead)
            {
                return Found(0, checkpoints.Count, "chain_broken", start - 1, $"entry {start - 1}, the last of {before}, is missing or was rewritten");
            }

            prevHash = stored;
        }

        var cpIndex = checkpoints.FindIndex(c => c.LastSeq >= start);
        var range = new CompactRange();
        var expectedSeq = start;
        long verified = 0;
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, time, kind, environment, agent, use_case, tool, effect, person, outcome, entry, hash FROM audit_entries WHERE seq >= @start ORDER BY seq";
        command.Parameters.AddWithValue("@start", start);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var seq = reader.GetInt64(0);
            var text = reader.GetString(10);
            var hash = reader.GetString(11);
            if (seq != expectedSeq)
            {
                return Found(verified, checkpoints.Count, "entry_missing", expectedSeq, seq == expectedSeq + 1
                    ? $"entry {expectedSeq} is missing: entry {expectedSeq - 1} is followed by entry {seq}"
                    : $"entries {expectedSeq}–{seq - 1} are missing: entry {expectedSeq - 1} is followed by entry {seq}");
            }

            if (!AuditText.TryReadFrame(text, out var frame) || AuditText.Hash(text) != hash)
            {
                return Found(verified, checkpoints.Count, "entry_edited", seq, $"entry {seq} was changed after it was written: its content does not match its hash");
            }

            if (frame.Seq != seq)
            {
                return Found(verified, checkpoints.Count, "entries_reordered", seq, $"the entry stored as number {seq} is entry {frame.Seq}: the trail was reordered");
            }

            if (frame.Prev != prevHash)
            {
                return Found(verified, checkpoints.Count, "chain_broken", seq,
                    $"entry {seq} does not link to entry {seq - 1}: one of them was rewritten and its hash recomputed");
            }

            if (frame.Time != reader.GetString(1))
            {
                return Found(verified, checkpoints.Count, "column_edited", seq, $"entry {seq}'s time column says {reader.GetString(1)} but the entry says {frame.Time}: the column was edited");
            }

            if (ColumnMismatch(reader, text) is { } column)
            {
                return Found(verified, checkpoints.Count, "column_edited", seq, $"entry {seq}'s {column.Column} column says {column.Stored} but the entry says {column.Written}: the column was edited");
            }

            range.Append(Convert.FromHexString(hash));
            prevHash = hash;
            verified++;
            expectedSeq++;
            if (cpIndex >= 0 && cpIndex < checkpoints.Count && checkpoints[cpIndex].LastSeq == seq)
            {
                var checkpoint = checkpoints[cpIndex];
                if (checkpoint.ChainHead != hash || checkpoint.Root != Convert.ToHexStringLower(range.Root()))
                {
                    return Found(verified, checkpoints.Count, "checkpoint_mismatch", checkpoint.FirstSeq,
                        $"{checkpoint} does not match the entries it covers: entries {checkpoint.FirstSeq}–{checkpoint.LastSeq} were rewritten after it was signed");
                }

                range.Clear();
                cpIndex++;
            }

            if ((verified & 0xFFFF) == 0)
            {
                progress?.Report(verified);
            }
        }

        progress?.Report(verified);
        return new AuditVerification(verified, checkpoints.Count, null);
    }

    private static AuditVerification Found(long entries, long checkpoints, string code, long? seq, string message) =>
        new(entries, checkpoints, new AuditFinding(code, seq, message));

    private static string? HashOf(SqliteConnection connection, long seq)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT hash FROM audit_entries WHERE seq = @seq";
        command.Parameters.AddWithValue("@seq", seq);
        return command.ExecuteScalar() as string;
    }

    private static (string Column, string Stored, string Written)? ColumnMismatch(SqliteDataReader reader, string text)
    {
        using var document = JsonDocument.Parse(text);
        var body = document.RootElement.GetProperty("body");
        for (var i = 0; i < Copied.Length; i++)
        {
            var stored = reader.IsDBNull(2 + i) ? null : reader.GetString(2 + i);
            var written = body.TryGetProperty(Copied[i].Field, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            if (stored != written)
            {
                return (Copied[i].Column, stored ?? "nothing", written ?? "nothing");
            }
        }

        return null;
    }

    private static string SafeId(string publicKey)
    {
        try
        {
            return AuditKey.IdOf(Convert.FromBase64String(publicKey));
        }
        catch (FormatException)
        {
            return "not a key";
        }
    }
}
