using System.Data.Common;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Warden.Storage.Engines;
using Warden.Core.Audit;

namespace Warden.Storage.Audit;

/// <summary>Where a trail breaks: a stable code, the entry (or first entry of the checkpoint) concerned, and a sentence.</summary>
public sealed record AuditFinding(string Code, long? Seq, string Message);

/// <summary>What a verification found: how much it checked, and the first break if there is one.</summary>
public sealed record AuditVerification(long Entries, long Checkpoints, AuditFinding? Finding)
{
    public bool Verified => Finding is null;

    /// <summary>The entries checked in archive files, besides the <see cref="Entries"/> in the store.</summary>
    public long ArchivedEntries { get; init; }

    /// <summary>The archive files checked.</summary>
    public int ArchiveFiles { get; init; }

    /// <summary>
    /// What a reader should know that is not a break: entries destroyed on a person's recorded
    /// decision, or archived before archives were recorded with their digest. Same shape as a finding.
    /// </summary>
    public IReadOnlyList<AuditFinding> Notes { get; init; } = [];

    /// <summary>A verification that stopped at a break, after checking what it counts.</summary>
    internal static AuditVerification Broken(long entries, long checkpoints, string code, long? seq, string message) =>
        new(entries, checkpoints, new AuditFinding(code, seq, message));
}

/// <summary>
/// Checks a trail from its bytes, trusting nothing the store says about itself: every entry's
/// hash against its text, every link against the entry before, every checkpoint's signature,
/// link and Merkle root against the entries it covers, and, given a witness, every checkpoint
/// against the witness's copy. Then the archives: each archive file the trail recorded must be
/// where it was written (or among <c>archives</c>), hold the bytes that were written and chain into
/// the rest; the store's records of them must be what the trail's entries (and the witness) say.
/// Streams: memory does not grow with the trail. Reports the first break, in a sentence that says
/// what was done to the trail where.
/// </summary>
public static partial class AuditVerifier
{
    /// <summary>As <see cref="Verify(StoreLocation, Witness?, IProgress{long}?, IReadOnlyList{string}?)"/>, of the SQLite trail at <paramref name="path"/>.</summary>
    public static AuditVerification Verify(string path, Witness? witness = null, IProgress<long>? progress = null, IReadOnlyList<string>? archives = null) =>
        Verify(StoreLocation.Sqlite(path), witness, progress, archives);

    /// <summary>
    /// Verifies the whole trail at <paramref name="path"/> (either engine) and its archive files, against a witness
    /// when one is given. <paramref name="archives"/> are archive files that were moved from where
    /// they were written: each is used for the archive whose entries it holds.
    /// </summary>
    public static AuditVerification Verify(StoreLocation path, Witness? witness = null, IProgress<long>? progress = null, IReadOnlyList<string>? archives = null)
    {
        DbConnection connection;
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
                return Verify(connection, path.Shown, witness, progress, new ArchiveScope(Files: true, archives ?? []));
            }
            catch (AuditTrailException e)
            {
                return new AuditVerification(0, 0, new AuditFinding("not_a_trail", null, e.Message));
            }
            catch (DbException e)
            {
                return new AuditVerification(0, 0, new AuditFinding("unreadable", null, AuditStore.Unreadable(path.Shown, e).Message));
            }
        }
    }

    /// <summary>
    /// The check a trail passes before the gateway writes to it: the whole verify of the store. A
    /// shortcut (from the last checkpoint on) would let an edit further back through; the time it
    /// takes is in bench/README.md. Archive files are not read here (they may be on another volume,
    /// and gigabytes): their records are checked against the entries in the store, and
    /// `warden audit verify` checks the files.
    /// </summary>
    internal static AuditFinding? CheckOnOpen(DbConnection connection)
    {
        try
        {
            return Verify(connection, "", null, null, new ArchiveScope(Files: false, [])).Finding;
        }
        catch (AuditTrailException e)
        {
            return new AuditFinding("not_a_trail", null, e.Message);
        }
    }

    private static AuditVerification Verify(DbConnection connection, string path, Witness? witness, IProgress<long>? progress, ArchiveScope scope)
    {
        // One snapshot: an archive or append committing meanwhile must not look like a break.
        // A plain BEGIN, not BeginTransaction, which would make every command name the transaction.
        Execute(connection, AuditSql.BeginSnapshot(connection));
        try
        {
            return VerifySnapshot(connection, path, witness, progress, scope);
        }
        finally
        {
            Execute(connection, "ROLLBACK");
        }
    }

    private static void Execute(DbConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static AuditVerification VerifySnapshot(DbConnection connection, string path, Witness? witness, IProgress<long>? progress, ArchiveScope scope)
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
        var archiveEntries = new List<ArchiveEntry>();
        var firstLive = cpIndex >= 0 ? checkpoints[cpIndex].Number : checkpoints.Count + 1;
        using var index = new IndexCursor(connection, firstLive);
        var run = new AuditIndexRun();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, time, rollback_of, entry, hash FROM audit_entries WHERE seq >= @start ORDER BY seq";
        command.Parameters.AddWithValue("@start", start);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var seq = reader.GetInt64(0);
            var text = reader.GetString(3);
            var hash = reader.GetString(4);
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

            var body = Body.Read(text, seq, frame.Time, run);
            long? rollbackOf = reader.IsDBNull(2) ? null : reader.GetInt64(2);
            if (rollbackOf != body.RollbackOf)
            {
                return AuditVerification.Broken(verified, checkpoints.Count, "column_edited", seq,
                    $"entry {seq}'s rollback_of column says {Number(rollbackOf)} but the entry says {Number(body.RollbackOf)}: the column was edited");
            }

            if (body.Kind == AuditKinds.Archive)
            {
                lastArchive = body.ArchivedThrough;
            }

            if (body.Archive is { } archiveEntry)
            {
                archiveEntries.Add(archiveEntry);
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

                if (index.Mismatch(checkpoint, run) is { } indexFinding)
                {
                    return AuditVerification.Broken(verified, checkpoints.Count, "index_edited", indexFinding.Seq, indexFinding.Message);
                }

                range.Clear();
                run.Clear();
                cpIndex++;
            }

            if ((verified & 0xFFFF) == 0)
            {
                progress?.Report(verified);
            }
        }

        // Done with the entries: PostgreSQL runs the next statements only once this result is closed.
        reader.Dispose();
        if (index.Leftover() is { } orphan)
        {
            return AuditVerification.Broken(verified, checkpoints.Count, "index_edited", null,
                $"the index holds {orphan} for checkpoint {orphan.Checkpoint}, which covers no entry of the live trail: the index was edited");
        }

        if (archivedThrough > 0 && lastArchive != archivedThrough)
        {
            return AuditVerification.Broken(verified, checkpoints.Count, "archive_marker_altered", archivedThrough, lastArchive is null
                ? $"the trail says entries up to {archivedThrough} are archived, but no archive entry records that: the marker was forged"
                : $"the trail says entries up to {archivedThrough} are archived, but its newest archive entry says {lastArchive}: the marker was altered");
        }

        progress?.Report(verified);
        var trail = new Witness(trailId, trustedKey, checkpoints);
        return VerifyArchives(connection, new AuditVerification(verified, checkpoints.Count, null), trail, witness, archivedThrough, archiveEntries, scope);
    }

    private static string Number(long? n) => n?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "nothing";

    /// <summary>What verify needs of an entry's body besides its hash: its kind and links, and what it says of an archive; its index keys go into the run being rebuilt.</summary>
    private readonly record struct Body(string? Kind, long? RollbackOf, long? ArchivedThrough, ArchiveEntry? Archive)
    {
        public static Body Read(string entryText, long seq, string time, AuditIndexRun run)
        {
            using var document = JsonDocument.Parse(entryText);
            var body = document.RootElement.GetProperty("body");
            run.Add(body, seq);
            return new Body(
                body.TryGetProperty("kind", out var kind) && kind.ValueKind == JsonValueKind.String ? kind.GetString() : null,
                body.TryGetProperty("rollback_of", out var of) && of.TryGetInt64(out var n) ? n : null,
                body.TryGetProperty("archived_through", out var through) && through.TryGetInt64(out var t) ? t : null,
                ArchiveEntry.Read(body, seq, time));
        }
    }

    /// <summary>Something stored in the index, named for a finding.</summary>
    private readonly record struct IndexRow(long Checkpoint, string What)
    {
        public override string ToString() => What;
    }

    /// <summary>
    /// The index, read run by run in its own order beside the entries: each checkpoint's lists and
    /// record filter must be exactly what its entries give, so an entry added to or taken from the
    /// index ("what touched c-5") is caught, holding one run at a time.
    /// </summary>
    private sealed class IndexCursor : IDisposable
    {
        private readonly DbCommand _listsCommand;
        private readonly DbDataReader _lists;
        private readonly DbCommand _filtersCommand;
        private readonly DbDataReader _filters;
        private bool _hasList;
        private bool _hasFilter;
        private IndexRow? _stray;

        public IndexCursor(DbConnection connection, long firstLive)
        {
            _listsCommand = connection.CreateCommand();
            _listsCommand.CommandText = "SELECT checkpoint, field, value, seqs FROM audit_index ORDER BY checkpoint, field, value";
            _lists = Open(_listsCommand);
            _hasList = _lists.Read();
            _filtersCommand = connection.CreateCommand();
            _filtersCommand.CommandText = "SELECT checkpoint, filter FROM audit_record_filters ORDER BY checkpoint";
            _filters = Open(_filtersCommand);
            _hasFilter = _filters.Read();
            SkipBefore(firstLive);
        }

        /// <summary>
        /// SQLite reads beside the entries, a row at a time. PostgreSQL has one result open per
        /// connection, so there the index is read whole first (it is a small part of the trail).
        /// </summary>
        private static DbDataReader Open(DbCommand command)
        {
            if (command.Connection is not Npgsql.NpgsqlConnection)
            {
                return command.ExecuteReader();
            }

            var table = new System.Data.DataTable { Locale = System.Globalization.CultureInfo.InvariantCulture };
            using (var reader = command.ExecuteReader())
            {
                table.Load(reader);
            }

            return table.CreateDataReader();
        }

        /// <summary>The first difference between <paramref name="checkpoint"/>'s stored run and <paramref name="expected"/>, rebuilt from its entries; null when there is none.</summary>
        public (long? Seq, string Message)? Mismatch(Checkpoint checkpoint, AuditIndexRun expected)
        {
            SkipBefore(checkpoint.Number);
            var stored = new Dictionary<(string, string), string>();
            while (_hasList && _lists.GetInt64(0) == checkpoint.Number)
            {
                stored[(_lists.GetString(1), _lists.GetString(2))] = _lists.GetString(3);
                _hasList = _lists.Read();
            }

            byte[]? filter = null;
            if (_hasFilter && _filters.GetInt64(0) == checkpoint.Number)
            {
                filter = (byte[])_filters.GetValue(1);
                _hasFilter = _filters.Read();
            }

            (long Seq, string Message)? first = null;
            void Found(long seq, string message)
            {
                if (first is null || seq < first.Value.Seq)
                {
                    first = (seq, message + ": the index was edited");
                }
            }

            var lists = expected.Lists();
            foreach (var ((field, value), seqs) in lists)
            {
                if (!stored.TryGetValue((field, value), out var text))
                {
                    var firstSeq = AuditIndexLists.Parse(seqs)![0];
                    Found(firstSeq, $"the index has no {field} {value} list for {checkpoint}, though entry {firstSeq} names it");
                }
                else if (text != seqs)
                {
                    var want = AuditIndexLists.Parse(seqs)!;
                    var have = AuditIndexLists.Parse(text);
                    if (have is null)
                    {
                        Found(want[0], $"the index's {field} {value} list for {checkpoint} is not a list of entries");
                        continue;
                    }

                    var added = have.Except(want).DefaultIfEmpty(long.MaxValue).Min();
                    var missing = want.Except(have).DefaultIfEmpty(long.MaxValue).Min();
                    if (missing <= added)
                    {
                        Found(missing, $"the index lacks entry {missing} under {field} {value}, which the entry names");
                    }
                    else
                    {
                        Found(added, $"the index lists entry {added} under {field} {value}, which the entry does not name");
                    }
                }
            }

            foreach (var ((field, value), text) in stored)
            {
                if (!lists.ContainsKey((field, value)))
                {
                    var seq = AuditIndexLists.Parse(text) is [var one, ..] ? one : checkpoint.FirstSeq;
                    Found(seq, $"the index lists entry {seq} under {field} {value}, which the entry does not name");
                }
            }

            if (filter is null || !filter.AsSpan().SequenceEqual(expected.RecordFilter()))
            {
                Found(checkpoint.FirstSeq, $"the record filter of {checkpoint} {(filter is null ? "is missing" : "does not match the records its entries name")}");
            }

            return first is { } f ? (f.Seq, f.Message) : null;
        }

        public IndexRow? Leftover()
        {
            if (_stray is not null)
            {
                return _stray;
            }

            if (_hasList)
            {
                return ListRow();
            }

            return _hasFilter ? FilterRow() : null;
        }

        private void SkipBefore(long number)
        {
            // Runs of archived checkpoints, or of none: reported as leftovers.
            while (_hasList && _lists.GetInt64(0) < number)
            {
                _stray ??= ListRow();
                _hasList = _lists.Read();
            }

            while (_hasFilter && _filters.GetInt64(0) < number)
            {
                _stray ??= FilterRow();
                _hasFilter = _filters.Read();
            }
        }

        private IndexRow ListRow() => new(_lists.GetInt64(0), $"the {_lists.GetString(1)} {_lists.GetString(2)} list");

        private IndexRow FilterRow() => new(_filters.GetInt64(0), "a record filter");

        public void Dispose()
        {
            _lists.Dispose();
            _listsCommand.Dispose();
            _filters.Dispose();
            _filtersCommand.Dispose();
        }
    }
}
