using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Warden.Storage.Engines;
using Warden.Core.Audit;

namespace Warden.Storage.Audit;

/// <summary>
/// Moving old entries out of the store into a file that verifies on its own: a header (the trail,
/// its public key, the range and the hash the first entry links to), the entries' texts as they
/// were hashed, and the signed checkpoints that cover them. The store keeps every checkpoint and
/// remembers where the archived part ends, so the rest of the trail still verifies from there;
/// the gateway never deletes an entry that is not safely in such a file. Each checkpoint follows
/// the last entry it covers, so the file verifies in one pass and in constant memory. What the file
/// is (its range, the SHA-256 of its bytes, where it was written, who archived it) is recorded in
/// the trail's archive entry, in the store and in witnesses (<see cref="ArchiveRecord"/>), so an
/// archive that goes missing or changes is a finding of <see cref="AuditVerifier"/>.
/// </summary>
public static class AuditArchive
{
    public const string Format = "warden-audit-archive";

    /// <summary>What <see cref="Write"/> wrote: entries <paramref name="FirstSeq"/> to <paramref name="LastSeq"/>, to the full path <paramref name="File"/>, and the chain head at its end.</summary>
    internal sealed record Written(long FirstSeq, long LastSeq, string File, string Sha256, string Head);

    /// <summary>
    /// Writes the archive of the entries after the last archived one through checkpoint
    /// <paramref name="through"/>, readable by its owner only, fsync'd and verified; the store is
    /// not changed. Returns what the file holds, its digest and the chain head at its end, for <see cref="Remove"/>.
    /// </summary>
    internal static Written Write(DbConnection connection, string trailId, string publicKey, long through, string file)
    {
        file = Path.GetFullPath(file);
        var (archivedThrough, archivedHead) = AuditStore.Archived(connection);
        var checkpoints = AuditStore.Checkpoints(connection).Select(c => Checkpoint.TryParse(c.Text, out var parsed, out _) ? parsed : null).ToList();
        var target = checkpoints.FirstOrDefault(c => c?.Number == through)
                     ?? throw new AuditTrailException($"there is no checkpoint {through} to archive through (the trail has {checkpoints.Count})");
        if (target.LastSeq <= archivedThrough)
        {
            throw new AuditTrailException($"entries up to {archivedThrough} are archived already; checkpoint {through} ends at entry {target.LastSeq}");
        }

        if (File.Exists(file))
        {
            throw new AuditTrailException($"{file} exists already; an archive is never written over");
        }

        var first = archivedThrough + 1;
        var prev = archivedHead ?? AuditText.Genesis(trailId);
        var temporary = file + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            // It holds what the entries hold (who did what to which records): its owner's only.
            using (var stream = new FileStream(temporary, OwnerOnly.Create(FileMode.CreateNew, FileAccess.Write)))
            using (var writer = new StreamWriter(stream, new UTF8Encoding(false)))
            {
                writer.Write(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["format"] = Format, ["version"] = 1, ["trail"] = trailId, ["public_key"] = publicKey, ["first_seq"] = first, ["last_seq"] = target.LastSeq, ["prev"] = prev,
                }));
                writer.Write('\n');
                var ends = checkpoints.Where(c => c is not null && c.FirstSeq >= first && c.LastSeq <= target.LastSeq).ToDictionary(c => c!.LastSeq, c => c!);
                using (var command = connection.CreateCommand())
                {
                    command.CommandText = "SELECT seq, entry FROM audit_entries WHERE seq BETWEEN @first AND @last ORDER BY seq";
                    command.Parameters.AddWithValue("@first", first);
                    command.Parameters.AddWithValue("@last", target.LastSeq);
                    using var reader = command.ExecuteReader();
                    while (reader.Read())
                    {
                        writer.Write(reader.GetString(1));
                        writer.Write('\n');
                        if (ends.TryGetValue(reader.GetInt64(0), out var checkpoint))
                        {
                            writer.Write(checkpoint.Text());
                            writer.Write('\n');
                        }
                    }
                }

                writer.Flush();
                stream.Flush(flushToDisk: true);
            }

            // Nothing leaves the store unless the file holds it intact.
            var check = Verify(temporary);
            if (check.Finding is { } finding)
            {
                throw new AuditTrailException($"the archive did not verify, so nothing was moved: {finding.Message}");
            }

            File.Move(temporary, file);
        }
        finally
        {
            File.Delete(temporary);
        }

        return new Written(first, target.LastSeq, file, Digest(file)!, target.ChainHead);
    }

    /// <summary>The SHA-256 of a file's bytes, in hex; null when there is no such file.</summary>
    internal static string? Digest(string file)
    {
        try
        {
            using var stream = File.OpenRead(file);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// Removes archived entries from the store, moves its archive marker and records the archive,
    /// inside the caller's transaction (which also appends the entry that records the move).
    /// </summary>
    internal static void Remove(DbConnection connection, DbTransaction transaction, ArchiveRecord record, string head)
    {
        var (first, last) = (record.FirstSeq, record.LastSeq);
        AuditStore.InsertArchiveRecord(connection, transaction, record);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            DELETE FROM audit_index WHERE checkpoint <= (SELECT number FROM audit_checkpoints WHERE last_seq = @last);
            DELETE FROM audit_record_filters WHERE checkpoint <= (SELECT number FROM audit_checkpoints WHERE last_seq = @last);
            DELETE FROM audit_entries WHERE seq BETWEEN @first AND @last;
            INSERT INTO audit_trail (key, value) VALUES ('archived_through', @last), ('archived_head', @head)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value;
            """;
        command.Parameters.AddWithValue("@first", first);
        command.Parameters.AddWithValue("@last", last);
        command.Parameters.AddWithValue("@head", head);
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// Verifies an archive file on its own, or against a witness: every entry, link and checkpoint
    /// in it, and, when the witness records this archive, that the file's bytes are the ones
    /// written (their SHA-256).
    /// </summary>
    public static AuditVerification Verify(string file, Witness? witness = null)
    {
        var result = Verify(file, witness, "the witness", null);
        if (witness is null || ReadHeader(file) is not { } header || witness.Archives.FirstOrDefault(a => a.FirstSeq == header.FirstSeq) is not { } recorded)
        {
            return result;
        }

        var digest = Digest(file);
        return digest == recorded.Sha256
            ? result
            : AuditVerification.Broken(result.Entries, result.Checkpoints, "archive_altered", recorded.FirstSeq,
                $"{file} is not the archive the witness records for {recorded.Describe()}: its SHA-256 is {digest}, the witness recorded {recorded.Sha256}"
                + (result.Finding is { } finding ? $" ({finding.Message})" : ""));
    }

    /// <summary>An archive's header: whose entries it holds, which.</summary>
    internal sealed record Header(string Trail, long FirstSeq, long LastSeq);

    /// <summary>The header of the archive at <paramref name="file"/>; null when there is no file or it is not an archive.</summary>
    internal static Header? ReadHeader(string file)
    {
        try
        {
            using var reader = new StreamReader(file, Encoding.UTF8);
            using var document = JsonDocument.Parse(reader.ReadLine() ?? "");
            var root = document.RootElement;
            return root.GetProperty("format").GetString() == Format
                ? new Header(root.GetProperty("trail").GetString() ?? "", root.GetProperty("first_seq").GetInt64(), root.GetProperty("last_seq").GetInt64())
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>
    /// Verifies the archive at <paramref name="file"/> against <paramref name="witness"/>'s key and
    /// checkpoints (a witness, or the trail's own verified checkpoints, then named "the trail"), named <paramref name="source"/>
    /// in findings; every entry that archived or destroyed an archive goes to <paramref name="archiveEntry"/>.
    /// </summary>
    internal static AuditVerification Verify(string file, Witness? witness, string source, Action<ArchiveEntry>? archiveEntry)
    {
        if (!File.Exists(file))
        {
            return new AuditVerification(0, 0, new AuditFinding("unreadable", null, $"there is no archive at {file}"));
        }

        using var reader = new StreamReader(file, Encoding.UTF8);
        var header = reader.ReadLine();
        string trail, publicKey, prev;
        long firstSeq, lastSeq;
        try
        {
            using var document = JsonDocument.Parse(header ?? "");
            var root = document.RootElement;
            if (root.GetProperty("format").GetString() != Format)
            {
                throw new FormatException("not an archive");
            }

            trail = root.GetProperty("trail").GetString() ?? throw new FormatException("no trail");
            publicKey = root.GetProperty("public_key").GetString() ?? throw new FormatException("no key");
            prev = root.GetProperty("prev").GetString() ?? throw new FormatException("no link");
            firstSeq = root.GetProperty("first_seq").GetInt64();
            lastSeq = root.GetProperty("last_seq").GetInt64();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return new AuditVerification(0, 0, new AuditFinding("not_an_archive", null, $"{file} is not a Warden audit archive: its first line is not an archive header"));
        }

        if (witness is not null && (witness.Trail != trail || witness.PublicKey != publicKey))
        {
            return new AuditVerification(0, 0, new AuditFinding(witness.Trail != trail ? "witness_of_another_trail" : "key_replaced", null,
                witness.Trail != trail ? $"{source} is of trail {witness.Trail}, but the archive is of trail {trail}: it is another trail's archive" : $"the archive's public key is not the one {source} holds: the key was replaced"));
        }

        // The archive's edges: the first entry links to the trail's start or to the end of the
        // checkpoint before; with a witness, the archive must hold exactly the witness's
        // checkpoints inside its range, so neither end can be cut without it showing.
        var witnessed = witness?.Checkpoints.ToDictionary(c => c.Number);
        if (firstSeq == 1 && prev != AuditText.Genesis(trail))
        {
            return AuditVerification.Broken(0, 0, "chain_broken", 1, "the archive's first entry does not link to the start of its trail: its header was altered");
        }

        var inRange = witness?.Checkpoints.Where(c => c.FirstSeq >= firstSeq && c.LastSeq <= lastSeq).OrderBy(c => c.Number).ToList();
        if (witness is not null && (inRange!.Count == 0 || inRange[0].FirstSeq != firstSeq || inRange[^1].LastSeq != lastSeq))
        {
            return AuditVerification.Broken(0, 0, "witness_mismatch", firstSeq, $"the archive's range, entries {firstSeq}–{lastSeq}, does not start and end where {source}'s checkpoints do: it was cut");
        }

        if (witness is not null && witnessed!.TryGetValue(inRange![0].Number - 1, out var before) && before.ChainHead != prev)
        {
            return AuditVerification.Broken(0, 0, "chain_broken", firstSeq, $"the archive's first entry does not link to the end of {before} as {source} holds it: its header was altered");
        }

        var range = new CompactRange();
        Checkpoint? previous = null;
        var expected = firstSeq;
        long entries = 0, checkpoints = 0, lineNumber = 1;
        var rangeStart = firstSeq;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (line.StartsWith("{\"body\":", StringComparison.Ordinal))
            {
                if (!AuditText.TryReadFrame(line, out var frame))
                {
                    return AuditVerification.Broken(entries, checkpoints, "entry_edited", expected, $"line {lineNumber} of the archive is not an audit entry any more: it was altered");
                }

                if (frame.Seq != expected)
                {
                    return AuditVerification.Broken(entries, checkpoints, frame.Seq > expected ? "entry_missing" : "entries_reordered", expected,
                        $"line {lineNumber} of the archive is entry {frame.Seq} where entry {expected} belongs");
                }

                if (frame.Prev != prev)
                {
                    return AuditVerification.Broken(entries, checkpoints, "chain_broken", expected, $"entry {expected} in the archive does not link to entry {expected - 1}: one of them was altered");
                }

                if (archiveEntry is not null && line.Contains("\"kind\":\"archive", StringComparison.Ordinal))
                {
                    using var document = JsonDocument.Parse(line);
                    if (ArchiveEntry.Read(document.RootElement.GetProperty("body"), frame.Seq, frame.Time) is { } entry)
                    {
                        archiveEntry(entry);
                    }
                }

                prev = AuditText.Hash(line);
                range.Append(Convert.FromHexString(prev));
                entries++;
                expected++;
                continue;
            }

            if (!Checkpoint.TryParse(line, out var checkpoint, out var why))
            {
                return AuditVerification.Broken(entries, checkpoints, "not_an_archive", null, $"line {lineNumber} of the archive is neither an entry nor a checkpoint ({why})");
            }

            if (!checkpoint!.IsSignedBy(witness?.PublicKey ?? publicKey))
            {
                return AuditVerification.Broken(entries, checkpoints, "checkpoint_forged", checkpoint.FirstSeq, $"{checkpoint} in the archive is not signed by the trail's key: it was forged or altered");
            }

            if (witnessed is not null && (!witnessed.TryGetValue(checkpoint.Number, out var copy) || copy.Text() != checkpoint.Text()))
            {
                return AuditVerification.Broken(entries, checkpoints, "witness_mismatch", checkpoint.FirstSeq, $"{checkpoint} in the archive differs from {source}'s copy, or {source} has none");
            }

            if (checkpoint.Trail != trail || (previous is not null && (checkpoint.Number != previous.Number + 1 || checkpoint.Previous != previous.Hash())))
            {
                return AuditVerification.Broken(entries, checkpoints, "checkpoint_chain_broken", checkpoint.FirstSeq, $"{checkpoint} does not follow the checkpoint before it in the archive: checkpoints were replaced");
            }

            if (checkpoint.FirstSeq != rangeStart || checkpoint.LastSeq != expected - 1 || checkpoint.ChainHead != prev || checkpoint.Root != Convert.ToHexStringLower(range.Root()))
            {
                return AuditVerification.Broken(entries, checkpoints, "checkpoint_mismatch", checkpoint.FirstSeq,
                    $"{checkpoint} does not match entries {rangeStart}–{expected - 1} in the archive: they were rewritten");
            }

            range.Clear();
            rangeStart = checkpoint.LastSeq + 1;
            previous = checkpoint;
            checkpoints++;
        }

        if (expected - 1 != lastSeq)
        {
            return AuditVerification.Broken(entries, checkpoints, "tail_truncated", expected, $"the archive says it holds entries {firstSeq}–{lastSeq} but it ends at entry {expected - 1}: it was cut off");
        }

        if (rangeStart != lastSeq + 1)
        {
            return AuditVerification.Broken(entries, checkpoints, "checkpoint_missing", rangeStart, $"no checkpoint in the archive covers entries {rangeStart}–{lastSeq}");
        }

        if (inRange is not null && inRange.Count != checkpoints)
        {
            return AuditVerification.Broken(entries, checkpoints, "witness_mismatch", firstSeq, $"{source} holds {inRange.Count} checkpoints inside the archive's range, the archive {checkpoints}");
        }

        return new AuditVerification(entries, checkpoints, null);
    }
}
