using System.Data.Common;
using System.Text.Json;
using Warden.Storage.Engines;
using Warden.Core.Audit;

namespace Warden.Storage.Audit;

/// <summary>Which archives verify reads: their files too, or only their records (on open); and files that were moved from where they were written.</summary>
internal readonly record struct ArchiveScope(bool Files, IReadOnlyList<string> Moved);

/// <summary>An entry of the chain that archived entries or destroyed an archive, as verify reads it from the store or from an archive file.</summary>
internal sealed record ArchiveEntry(long Seq, string Time, string Kind, long? From, long? Through, string? File, string? Sha256, string? Person, string? Reason, string? Detail)
{
    /// <summary>An archive entry written before archives were recorded with their digest and maker: it says only where the archived part ends.</summary>
    public bool Legacy => Kind == AuditKinds.Archive && Sha256 is null;

    /// <summary>The archive or destruction an entry's body records; null for any other entry.</summary>
    public static ArchiveEntry? Read(JsonElement body, long seq, string time)
    {
        var k = body.TryGetProperty("kind", out var kind) && kind.ValueKind == JsonValueKind.String ? kind.GetString() : null;
        if (k is not (AuditKinds.Archive or AuditKinds.ArchiveDestroyed))
        {
            return null;
        }

        string? S(string name) => body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        long? N(string name) => body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : null;
        return new ArchiveEntry(seq, time, k, N("archived_from"), N("archived_through"), S("archive_file"), S("archive_sha256"), S("person"), S("reason"), S("detail"));
    }

    /// <summary>Whether this is the archive entry that <paramref name="record"/> says recorded it, saying the same.</summary>
    public bool Records(ArchiveRecord record) =>
        Kind == AuditKinds.Archive && Seq == record.Entry && Time == record.Time && SameArchive(record) && Person == record.By && Reason == record.Reason;

    /// <summary>Whether this is the entry that recorded <paramref name="record"/>'s destruction, saying the same.</summary>
    public bool RecordsDestruction(ArchiveRecord record) =>
        Kind == AuditKinds.ArchiveDestroyed && record.Destroyed is { } destroyed && Seq == destroyed.Entry && Time == destroyed.Time && SameArchive(record)
        && Person == destroyed.By && Reason == destroyed.Reason;

    public string Describe() => $"entries {From}–{Through} (archived by {Person} at {Time}, entry {Seq}, to {File}, sha256 {Sha256})";

    private bool SameArchive(ArchiveRecord record) => From == record.FirstSeq && Through == record.LastSeq && File == record.File && Sha256 == record.Sha256;
}

public static partial class AuditVerifier
{
    /// <summary>What is at an archive's place: nothing, other bytes, or the bytes written.</summary>
    private enum FileState
    {
        Missing,
        Altered,
        Intact,
    }

    /// <summary>
    /// The archives, once the store verified (its checkpoints in <paramref name="trail"/>): the
    /// store's records of them must fit the archive marker and each other, and say what the
    /// chain's entries (<paramref name="seen"/>, from the store and every archive read) and the
    /// witness say; every kept archive must be at its place, hold the bytes written and verify
    /// against the trail's checkpoints, which chains it to the entries around it. What is gone on
    /// a person's recorded decision, or was archived before archives were recorded, is a note.
    /// </summary>
    private static AuditVerification VerifyArchives(
        DbConnection connection, AuditVerification live, Witness trail, Witness? witness, long archivedThrough, List<ArchiveEntry> seen, ArchiveScope scope)
    {
        var records = AuditStore.ArchiveRecords(connection);
        AuditVerification Broken(string code, long? seq, string message) => live with { Finding = new AuditFinding(code, seq, message) };
        if (Shape(records, archivedThrough) is { } shape)
        {
            return Broken("archive_record_altered", shape.Seq, shape.Message);
        }

        // What the witness holds was true when it was written: the store must still say it (a
        // destruction may have been recorded since), and the file must still be there.
        foreach (var kept in witness?.Archives ?? [])
        {
            var now = records.FirstOrDefault(r => r.FirstSeq == kept.FirstSeq);
            if (now is not null && now.SameArchive(kept) && (kept.Destroyed is null || kept.Destroyed == now.Destroyed))
            {
                continue;
            }

            var state = kept.Destroyed is null && scope.Files ? State(kept.File, kept.Sha256) : FileState.Intact;
            return Broken(state == FileState.Intact ? "witness_mismatch" : state == FileState.Missing ? "archive_missing" : "archive_altered", kept.FirstSeq,
                $"the witness records the archive of {kept.Describe()}, sha256 {kept.Sha256}{Saying(state)}, and the trail's store "
                + (now is null ? "no longer records it" : "records it otherwise") + ": its archive records were rewritten");
        }

        long archivedEntries = 0;
        var files = 0;
        var read = new List<(long First, long Last)> { (archivedThrough + 1, long.MaxValue) };
        var legacyThrough = records.Count > 0 ? records[0].FirstSeq - 1 : archivedThrough;
        var legacyChecked = new List<string>();
        if (scope.Files)
        {
            var moved = new Dictionary<long, string>();
            foreach (var file in scope.Moved)
            {
                var header = AuditArchive.ReadHeader(file);
                if (header is null)
                {
                    return File.Exists(file)
                        ? Broken("not_an_archive", null, $"{file} is not a Warden audit archive: its first line is not an archive header")
                        : Broken("unreadable", null, $"there is no archive at {file}");
                }

                if (header.Trail == trail.Trail && header.LastSeq <= legacyThrough)
                {
                    // An archive from before archives were recorded: nothing to compare its bytes
                    // with, but it must still verify against the trail's checkpoints.
                    var legacy = AuditArchive.Verify(file, trail, "the trail", seen.Add);
                    if (legacy.Finding is { } broken)
                    {
                        return Broken(broken.Code, broken.Seq, $"the archive at {file} does not verify: {broken.Message}");
                    }

                    archivedEntries += legacy.Entries;
                    files++;
                    legacyChecked.Add(Path.GetFullPath(file));
                    read.Add((header.FirstSeq, header.LastSeq));
                    continue;
                }

                if (header.Trail != trail.Trail || !records.Any(r => r.FirstSeq == header.FirstSeq && r.LastSeq == header.LastSeq))
                {
                    return Broken("archive_not_recorded", header.FirstSeq, header.Trail != trail.Trail
                        ? $"{file} is an archive of trail {header.Trail}, not of this trail ({trail.Trail})"
                        : $"{file} holds entries {header.FirstSeq}–{header.LastSeq}, which this trail does not record as an archive");
                }

                moved[header.FirstSeq] = Path.GetFullPath(file);
            }

            foreach (var record in records.Where(r => r.Destroyed is null))
            {
                var file = moved.GetValueOrDefault(record.FirstSeq) ?? record.File;
                var digest = AuditArchive.Digest(file);
                if (digest is null)
                {
                    return Broken("archive_missing", record.FirstSeq,
                        $"entries {record.FirstSeq}–{record.LastSeq} left the store with an archive that is not there: {record.By} archived them at {record.Time} (entry {record.Entry}) "
                        + $"to {record.File}, sha256 {record.Sha256}{(file == record.File ? "" : $", and it is not at {file} either")}. Those entries cannot be checked; "
                        + "if the file was moved, give its place with --archive FILE");
                }

                var check = AuditArchive.Verify(file, trail, "the trail", seen.Add);
                if (digest != record.Sha256)
                {
                    return Broken("archive_altered", record.FirstSeq,
                        $"the archive at {file} is not the file {record.By} archived entries {record.FirstSeq}–{record.LastSeq} to at {record.Time} (entry {record.Entry}): "
                        + $"its SHA-256 is {digest}, the trail recorded {record.Sha256}{(check.Finding is { } why ? $" ({why.Message})" : "")}");
                }

                if (check.Finding is { } finding)
                {
                    return Broken(finding.Code, finding.Seq, $"the archive at {file} of {record.Describe()} does not verify: {finding.Message}");
                }

                if (AuditArchive.ReadHeader(file) is not { } header || header.FirstSeq != record.FirstSeq || header.LastSeq != record.LastSeq)
                {
                    return Broken("archive_record_altered", record.FirstSeq, $"the store records the archive at {file} as holding entries {record.FirstSeq}–{record.LastSeq}, but it holds others: its archive records were altered");
                }

                archivedEntries += check.Entries;
                files++;
                read.Add((record.FirstSeq, record.LastSeq));
            }
        }

        // The chain is signed; the store's records are not. Each archive or destruction the chain
        // records must be in the store as it says, and each record whose entry was read must be
        // that entry's word.
        foreach (var entry in seen)
        {
            if (entry.Legacy)
            {
                if (records.Count > 0 && entry.Through >= records[0].FirstSeq)
                {
                    return Broken("archive_record_altered", entry.Seq,
                        $"entry {entry.Seq} says entries up to {entry.Through} were archived before archives were recorded, but the store records the archive of {records[0].Describe()} among them: its archive records were altered");
                }

                continue;
            }

            var record = records.FirstOrDefault(r => r.FirstSeq == entry.From);
            if (entry.Kind == AuditKinds.Archive)
            {
                if (record is not null && entry.Records(record))
                {
                    continue;
                }

                var state = scope.Files && entry.File is not null && entry.Sha256 is not null ? State(entry.File, entry.Sha256) : FileState.Intact;
                return Broken(state == FileState.Missing ? "archive_missing" : "archive_record_altered", entry.From,
                    $"entry {entry.Seq} records the archive of {entry.Describe()}{Saying(state)}, but the store {(record is null ? "has no record of it" : "records it otherwise")}: its archive records were rewritten");
            }

            if (record is null || !entry.RecordsDestruction(record))
            {
                return Broken("archive_record_altered", entry.From,
                    $"entry {entry.Seq} records that {entry.Person} destroyed the archive of entries {entry.From}–{entry.Through} at {entry.Time}, but the store "
                    + (record is null ? "has no record of that archive" : "records otherwise") + ": its archive records were rewritten");
            }
        }

        bool Read(long seq) => read.Any(r => seq >= r.First && seq <= r.Last);
        foreach (var record in records)
        {
            if (Read(record.Entry) && !seen.Any(e => e.Records(record)))
            {
                return Broken("archive_record_forged", record.FirstSeq, $"the store records the archive of {record.Describe()}, but entry {record.Entry} does not say so: the record was forged");
            }

            if (record.Destroyed is { } destroyed && Read(destroyed.Entry) && !seen.Any(e => e.RecordsDestruction(record)))
            {
                return Broken("archive_record_forged", record.FirstSeq,
                    $"the store records that {destroyed.By} destroyed the archive of entries {record.FirstSeq}–{record.LastSeq} at {destroyed.Time} (entry {destroyed.Entry}), but that entry does not say so: the record was forged");
            }
        }

        var notes = new List<AuditFinding>();
        if (legacyThrough > 0)
        {
            var said = seen.LastOrDefault(e => e.Legacy && e.Through == legacyThrough);
            notes.Add(new AuditFinding("archive_without_digest", 1,
                $"entries 1–{legacyThrough} were archived by an earlier Warden, which recorded neither the archive's digest nor who made it{(said is null ? "" : $" (entry {said.Seq}: {said.Detail})")}: "
                + (legacyChecked.Count > 0
                    ? $"{string.Join(", ", legacyChecked)} verified against the trail, but nothing shows it is the file that was written"
                    : "verify cannot look for that file; check it with `warden audit verify --archive FILE`")));
        }

        foreach (var record in records)
        {
            if (record.Destroyed is { } destroyed)
            {
                notes.Add(new AuditFinding("archive_destroyed", record.FirstSeq,
                    $"entries {record.FirstSeq}–{record.LastSeq} are gone, on the record: {destroyed.By} destroyed their archive at {destroyed.Time} (entry {destroyed.Entry}) because: {destroyed.Reason}. "
                    + $"{record.By} had archived them at {record.Time} (entry {record.Entry}) to {record.File}, sha256 {record.Sha256}"));
            }
        }

        return live with { ArchivedEntries = archivedEntries, ArchiveFiles = files, Notes = notes };
    }

    /// <summary>Whether the store's records fit together: in order without gaps, ending where the trail's archived part ends, destroyed oldest first and after they were written.</summary>
    private static (long Seq, string Message)? Shape(List<ArchiveRecord> records, long archivedThrough)
    {
        if (records.Count > 0 && archivedThrough == 0)
        {
            return (records[0].FirstSeq, $"the store records the archive of {records[0].Describe()}, but nothing of the trail is archived: the record was forged");
        }

        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            if (record.LastSeq < record.FirstSeq || record.Entry <= record.LastSeq || (i > 0 && record.FirstSeq != records[i - 1].LastSeq + 1))
            {
                return (record.FirstSeq, $"the store's record of the archive of {record.Describe()} does not follow the one before it: its archive records were altered");
            }

            if (i == records.Count - 1 && record.LastSeq != archivedThrough)
            {
                return (record.FirstSeq, $"the store's newest archive record ends at entry {record.LastSeq}, but the trail is archived up to entry {archivedThrough}: its archive records were altered");
            }

            if (record.Destroyed is { } destroyed && (destroyed.Entry <= record.Entry || (i > 0 && records[i - 1].Destroyed is null)))
            {
                return (record.FirstSeq, $"the store records the archive of entries {record.FirstSeq}–{record.LastSeq} as destroyed "
                                         + (destroyed.Entry <= record.Entry ? "before it was written" : $"while the older archive of entries {records[i - 1].FirstSeq}–{records[i - 1].LastSeq} is kept")
                                         + ": its archive records were altered");
            }
        }

        return null;
    }

    private static FileState State(string file, string sha256) => AuditArchive.Digest(file) switch
    {
        null => FileState.Missing,
        var digest when digest == sha256 => FileState.Intact,
        _ => FileState.Altered,
    };

    private static string Saying(FileState state) => state switch
    {
        FileState.Missing => ", which is not there",
        FileState.Altered => ", whose file no longer holds those bytes",
        _ => "",
    };
}
