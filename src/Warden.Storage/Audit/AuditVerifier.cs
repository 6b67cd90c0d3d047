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

    /// <summary>A verification that stopped at a break, after checking what it counts.</summary>
    internal static AuditVerification Broken(long entries, long checkpoints, string code, long? seq, string message) =>
        new(entries, checkpoints, new AuditFinding(code, seq, message));
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
                return Verify(connection, path, witness, progress);
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
    /// The check a trail passes before the gateway writes to it: the whole verify. A shortcut
    /// (from the last checkpoint on) would let an edit further back through; the time it takes is
    /// in bench/README.md.
    /// </summary>
    internal static AuditFinding? CheckOnOpen(SqliteConnection connection)
    {
        try
        {
            return Verify(connection, "", null, null).Finding;
        }
        catch (AuditTrailException e)
        {
            return new AuditFinding("not_a_trail", null, e.Message);
        }
    }

    private static AuditVerification Verify(SqliteConnection connection, string path, Witness? witness, IProgress<long>? progress)
    {
        // One snapshot: an archive or append committing meanwhile must not look like a break.
        // A plain BEGIN, not BeginTransaction, which would make every command name the transaction.
        Execute(connection, "BEGIN DEFERRED");
        try
        {
            return VerifySnapshot(connection, path, witness, progress);
        }
        finally
        {
            Execute(connection, "ROLLBACK");
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static AuditVerification VerifySnapshot(SqliteConnection connection, string path, Witness? witness, IProgress<long>? progress)
    {
        var (trailId, publicKey) = AuditStore.ReadIdentity(connection, path);
        if (trailId is null || publicKey is null)
        {
            if (witness is { Checkpoints.Count: > 0 })
            {
                return AuditVerification.Broken(0, 0, "trail_wiped", 1, $"the trail is empty but the witness holds {witness.Checkpoints.Count} checkpoints of trail {witness.Trail}: it was wiped");
            }

            return AuditStore.HasEntries(connection)
                ? AuditVerification.Broken(0, 0, "not_a_trail", null, "the trail has entries but no identity (trail id and public key): it was altered")
                : new AuditVerification(0, 0, null);
        }

        if (witness is not null && witness.Trail != trailId)
        {
            return AuditVerification.Broken(0, 0, "witness_of_another_trail", null, $"the witness is of trail {witness.Trail}, but this trail is {trailId}");
        }

        if (witness is not null && witness.PublicKey != publicKey)
        {
            return AuditVerification.Broken(0, 0, "key_replaced", null, $"the trail's public key ({AuditKey.IdOf(publicKey)}) is not the one the witness holds ({AuditKey.IdOf(witness.PublicKey)}): the key was replaced");
        }

        var trustedKey = witness?.PublicKey ?? publicKey;
        var genesis = AuditText.Genesis(trailId);
        var witnessed = witness?.Checkpoints.ToDictionary(c => c.Number) ?? [];

        // Pass 1: the checkpoints, few and small, loaded whole.
        var checkpoints = new List<Checkpoint>();
        var previous = genesis;
        var nextFirst = 1L;
        foreach (var row in AuditStore.CheckpointRows(connection))
        {
            var number = row.Number;
            if (!Checkpoint.TryParse(row.Text, out var checkpoint, out var why))
            {
                return AuditVerification.Broken(0, checkpoints.Count, "checkpoint_forged", null, $"checkpoint {number} is not a checkpoint any more ({why}): it was altered");
            }

            var expected = checkpoints.Count + 1;
            if (checkpoint!.Number != number || number != expected)
            {
                return AuditVerification.Broken(0, checkpoints.Count, "checkpoint_missing", checkpoint.FirstSeq,
                    number > expected ? $"checkpoint {expected} is missing: checkpoint {expected - 1} is followed by checkpoint {number}" : $"checkpoint {number} is stored out of place (as {number}, expected {expected})");
            }

            if (!checkpoint.IsSignedBy(trustedKey))
            {
                return AuditVerification.Broken(0, checkpoints.Count, "checkpoint_forged", checkpoint.FirstSeq,
                    $"{checkpoint} is not signed by the trail's key{(witness is null ? "" : " (as the witness holds it)")}: it was forged or altered");
            }

            if (checkpoint.Trail != trailId || checkpoint.Previous != previous || checkpoint.FirstSeq != nextFirst || checkpoint.LastSeq < checkpoint.FirstSeq)
            {
                return AuditVerification.Broken(0, checkpoints.Count, "checkpoint_chain_broken", checkpoint.FirstSeq,
                    $"{checkpoint} does not follow checkpoint {number - 1} (it links to another checkpoint, another trail or another range): checkpoints were replaced");
            }

            if (row.FirstSeq != checkpoint.FirstSeq || row.LastSeq != checkpoint.LastSeq)
            {
                return AuditVerification.Broken(0, checkpoints.Count, "column_edited", checkpoint.FirstSeq, $"{checkpoint}'s range columns say {row.FirstSeq}–{row.LastSeq}: the columns were edited");
            }

            if (witnessed.TryGetValue(number, out var copy) && copy.Text() != checkpoint.Text())
            {
                return AuditVerification.Broken(0, checkpoints.Count, "witness_mismatch", checkpoint.FirstSeq,
                    $"{checkpoint} differs from the witness's copy ({copy}): the trail was rewritten after it was witnessed");
            }

            checkpoints.Add(checkpoint);
            previous = checkpoint.Hash();
            nextFirst = checkpoint.LastSeq + 1;
        }

        // Entries moved to archives are verified from their files. The store remembers where they
        // end: that must be the end of a checkpoint, with its chain head, and the newest archive
        // entry in the chain must name the same place (the marker alone is not signed).
        long archivedThrough;
        string? archivedHead;
        try
        {
            (archivedThrough, archivedHead) = AuditStore.Archived(connection);
        }
        catch (AuditTrailException e)
        {
            return AuditVerification.Broken(0, checkpoints.Count, "archive_marker_altered", null, e.Message);
        }

        if (archivedThrough > 0 && (archivedHead is null || checkpoints.All(c => c.LastSeq != archivedThrough)))
        {
            return AuditVerification.Broken(0, checkpoints.Count, "archive_marker_altered", archivedThrough, $"the trail says entries up to {archivedThrough} are archived, but no checkpoint ends there: the marker was altered");
        }

        if (archivedThrough > 0 && checkpoints.First(c => c.LastSeq == archivedThrough).ChainHead != archivedHead)
        {
            return AuditVerification.Broken(0, checkpoints.Count, "archive_marker_altered", archivedThrough, $"the hash recorded for the end of the archived entries ({archivedThrough}) is not the one its checkpoint signed: the marker was altered");
        }

        var last = AuditStore.LastEntry(connection);
        var lastSeq = Math.Max(last?.Seq ?? 0, archivedThrough);
        if (checkpoints.Count > 0 && checkpoints[^1].LastSeq > lastSeq)
        {
            return AuditVerification.Broken(0, checkpoints.Count, "tail_truncated", lastSeq + 1,
                $"the trail ends at entry {lastSeq} but {checkpoints[^1]} covers entries up to {checkpoints[^1].LastSeq}: the tail was cut off");
        }

        if (witness is not null && witness.Checkpoints.Where(w => w.Number > checkpoints.Count).MinBy(w => w.Number) is { } beyond)
        {
            return AuditVerification.Broken(0, checkpoints.Count, "tail_truncated", Math.Min(lastSeq + 1, beyond.FirstSeq),
                beyond.LastSeq > lastSeq
                    ? $"the trail ends at entry {lastSeq} but the witness holds {beyond}: the tail was cut off"
                    : $"the witness holds {beyond}, which the trail no longer has: checkpoints were removed");
        }

        // Pass 2: the entries, streamed, with the records index beside them.
        var start = archivedThrough + 1;
        var prevHash = archivedThrough > 0 ? archivedHead! : genesis;
        if (AuditStore.Scalar(connection, "SELECT count(*) FROM audit_entries WHERE seq < @start", ("@start", start)) is > 0 and var stray)
        {
            var first = AuditStore.Scalar(connection, "SELECT min(seq) FROM audit_entries");
            return AuditVerification.Broken(0, checkpoints.Count, "entry_inserted", first,
                $"entry {first} is stored where the trail holds no entry (before its first{(archivedThrough > 0 ? $" or among the {archivedThrough} archived" : "")}; {stray} such): entries were inserted");
        }

        var cpIndex = checkpoints.FindIndex(c => c.LastSeq >= start);
        var range = new CompactRange();
        var expectedSeq = start;
        long verified = 0;
        long? lastArchive = null;
        using var records = new RecordCursor(connection, start);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, time, kind, environment, agent, use_case, tool, effect, person, outcome, rollback_of, entry, hash FROM audit_entries WHERE seq >= @start ORDER BY seq";
        command.Parameters.AddWithValue("@start", start);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var seq = reader.GetInt64(0);
            var text = reader.GetString(11);
            var hash = reader.GetString(12);
            if (seq != expectedSeq)
            {
                return AuditVerification.Broken(verified, checkpoints.Count, "entry_missing", expectedSeq, seq == expectedSeq + 1
                    ? $"entry {expectedSeq} is missing: entry {expectedSeq - 1} is followed by entry {seq}"
                    : $"entries {expectedSeq}–{seq - 1} are missing: entry {expectedSeq - 1} is followed by entry {seq}");
            }

            if (!AuditText.TryReadFrame(text, out var frame) || AuditText.Hash(text) != hash)
            {
                return AuditVerification.Broken(verified, checkpoints.Count, "entry_edited", seq, $"entry {seq} was changed after it was written: its content does not match its hash");
            }

            if (frame.Seq != seq)
            {
                return AuditVerification.Broken(verified, checkpoints.Count, "entries_reordered", seq, $"the entry stored as number {seq} is entry {frame.Seq}: the trail was reordered");
            }

            if (frame.Prev != prevHash)
            {
                return AuditVerification.Broken(verified, checkpoints.Count, "chain_broken", seq,
                    $"entry {seq} does not link to entry {seq - 1}: one of them was rewritten and its hash recomputed");
            }

            if (frame.Time != reader.GetString(1))
            {
                return AuditVerification.Broken(verified, checkpoints.Count, "column_edited", seq, $"entry {seq}'s time column says {reader.GetString(1)} but the entry says {frame.Time}: the column was edited");
            }

            var body = Body.Read(text);
            if (ColumnMismatch(reader, body) is { } column)
            {
                return AuditVerification.Broken(verified, checkpoints.Count, "column_edited", seq, $"entry {seq}'s {column.Column} column says {column.Stored} but the entry says {column.Written}: the column was edited");
            }

            if (records.Mismatch(seq, body.Records) is { } recordsFinding)
            {
                return AuditVerification.Broken(verified, checkpoints.Count, "column_edited", seq, $"entry {seq}'s record index {recordsFinding}: the index was edited");
            }

            if (body.Kind == AuditKinds.Archive)
            {
                lastArchive = body.ArchivedThrough;
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
                    return AuditVerification.Broken(verified, checkpoints.Count, "checkpoint_mismatch", checkpoint.FirstSeq,
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

        if (records.Leftover() is { } orphan)
        {
            return AuditVerification.Broken(verified, checkpoints.Count, "column_edited", orphan, $"the record index names entry {orphan}, which is not in the live trail: the index was edited");
        }

        if (archivedThrough > 0 && lastArchive != archivedThrough)
        {
            return AuditVerification.Broken(verified, checkpoints.Count, "archive_marker_altered", archivedThrough, lastArchive is null
                ? $"the trail says entries up to {archivedThrough} are archived, but no archive entry records that: the marker was forged"
                : $"the trail says entries up to {archivedThrough} are archived, but its newest archive entry says {lastArchive}: the marker was altered");
        }

        progress?.Report(verified);
        return new AuditVerification(verified, checkpoints.Count, null);
    }

    private static string? HashOf(SqliteConnection connection, long seq)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT hash FROM audit_entries WHERE seq = @seq";
        command.Parameters.AddWithValue("@seq", seq);
        return command.ExecuteScalar() as string;
    }

    private static (string Column, string Stored, string Written)? ColumnMismatch(SqliteDataReader reader, Body body)
    {
        for (var i = 0; i < Copied.Length; i++)
        {
            var stored = reader.IsDBNull(2 + i) ? null : reader.GetString(2 + i);
            var written = body.Text(Copied[i].Field);
            if (stored != written)
            {
                return (Copied[i].Column, stored ?? "nothing", written ?? "nothing");
            }
        }

        long? rollbackOf = reader.IsDBNull(10) ? null : reader.GetInt64(10);
        if (rollbackOf != body.RollbackOf)
        {
            return ("rollback_of", rollbackOf?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "nothing",
                body.RollbackOf?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "nothing");
        }

        return null;
    }

    /// <summary>The fields of an entry's body that the store copies into columns and indexes.</summary>
    private sealed class Body
    {
        private readonly Dictionary<string, string?> _texts = new(StringComparer.Ordinal);

        public long? RollbackOf { get; private set; }

        public long? ArchivedThrough { get; private set; }

        public SortedSet<string> Records { get; } = new(StringComparer.Ordinal);

        public string? Kind => Text("kind");

        public string? Text(string field) => _texts.GetValueOrDefault(field);

        public static Body Read(string entryText)
        {
            var body = new Body();
            using var document = JsonDocument.Parse(entryText);
            foreach (var property in document.RootElement.GetProperty("body").EnumerateObject())
            {
                switch (property.Name)
                {
                    case "rollback_of" when property.Value.TryGetInt64(out var of):
                        body.RollbackOf = of;
                        break;
                    case "archived_through" when property.Value.TryGetInt64(out var through):
                        body.ArchivedThrough = through;
                        break;
                    case "records_read" or "records_changed" when property.Value.ValueKind == JsonValueKind.Array:
                        foreach (var id in property.Value.EnumerateArray())
                        {
                            body.Records.Add(id.GetString() ?? "");
                        }

                        break;
                    default:
                        if (property.Value.ValueKind == JsonValueKind.String)
                        {
                            body._texts[property.Name] = property.Value.GetString();
                        }

                        break;
                }
            }

            return body;
        }
    }

    /// <summary>
    /// The record index (audit_records), read in entry order beside the entries, so that an id
    /// added to or taken from the index ("what touched c-5") is caught without holding it all.
    /// </summary>
    private sealed class RecordCursor : IDisposable
    {
        private readonly SqliteCommand _command;
        private readonly SqliteDataReader _reader;
        private bool _has;

        public RecordCursor(SqliteConnection connection, long start)
        {
            _command = connection.CreateCommand();
            _command.CommandText = "SELECT seq, record_id FROM audit_records ORDER BY seq, record_id";
            _reader = _command.ExecuteReader();
            _has = _reader.Read();
            while (_has && _reader.GetInt64(0) < start)
            {
                // Rows for entries that are archived or never existed: reported as leftovers.
                Stray ??= _reader.GetInt64(0);
                _has = _reader.Read();
            }
        }

        private long? Stray { get; set; }

        /// <summary>What differs between the index's ids for <paramref name="seq"/> and the entry's own, or null.</summary>
        public string? Mismatch(long seq, SortedSet<string> ids)
        {
            var indexed = new List<string>();
            while (_has && _reader.GetInt64(0) <= seq)
            {
                if (_reader.GetInt64(0) < seq)
                {
                    Stray ??= _reader.GetInt64(0);
                }
                else
                {
                    indexed.Add(_reader.GetString(1));
                }

                _has = _reader.Read();
            }

            if (indexed.SequenceEqual(ids))
            {
                return null;
            }

            var added = indexed.Except(ids).FirstOrDefault();
            return added is not null ? $"lists {added}, which the entry does not name" : $"lacks {ids.Except(indexed).First()}, which the entry names";
        }

        public long? Leftover() => Stray ?? (_has ? _reader.GetInt64(0) : null);

        public void Dispose()
        {
            _reader.Dispose();
            _command.Dispose();
        }
    }
}
