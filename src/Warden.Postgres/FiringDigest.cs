using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;

namespace Warden.Postgres;

/// <summary>
/// The digests of a firing of the capture trigger at apply, made by Warden from the rows the
/// trigger copied for the journal rather than by the trigger's digest query over the transition
/// tables: the same bytes, in the same order, so the same digests as the plan's, for the work of
/// one pass the apply pays for anyway. A row's bytes are its images before and after as one
/// record in PostgreSQL's binary form: the copied images' columns laid end to end under one count,
/// a time equal to the transaction's (<c>now()</c>, <c>localtimestamp</c>) after written as
/// nothing and a flag, an inserted row without the columns a sequence feeds (see the capture's
/// function, <see cref="Capture"/>). Rows are sorted by the binary form of their key, then by
/// those bytes; sha256 runs over the short rows end to end and over the long rows' own sha256.
/// </summary>
internal static class FiringDigest
{
    private const uint BoolType = 16;

    /// <summary>What one firing changed in each way, as the trigger's digest query writes its <c>group</c> rows.</summary>
    public static IEnumerable<FiringGroup> Groups(Firing firing, IReadOnlyList<CopiedRow> rows, byte[] now, byte[] localNow)
    {
        long total = firing.Operation == "INSERT" ? rows.Count : rows.Count(r => r.Before is not null);
        var whole = Math.Min(1024, 33_554_432 / Math.Max(total, 1));
        foreach (var operation in (string[])["UPDATE", "DELETE", "INSERT"])
        {
            var digested = new List<(byte[] Key, byte[] Row, bool Long)>();
            long moved = 0;
            foreach (var row in rows)
            {
                if (row.Operation != operation)
                {
                    continue;
                }

                moved += row.Moved ? 1 : 0;
                var bytes = Row(firing, row, now, localNow);
                var key = operation == "INSERT" || firing.Keys is null ? [] : KeyRecord(row.Before!, firing.Keys);
                digested.Add(bytes.Length > whole ? (key, SHA256.HashData(bytes), true) : (key, bytes, false));
            }

            if (digested.Count == 0)
            {
                continue;
            }

            // As PostgreSQL orders bytea: byte by byte, a shorter prefix first.
            digested.Sort((x, y) => x.Key.AsSpan().SequenceCompareTo(y.Key) is var c and not 0 ? c : x.Row.AsSpan().SequenceCompareTo(y.Row));
            using var shortRows = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var longRows = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var keys = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (var (key, bytes, isLong) in digested)
            {
                (isLong ? longRows : shortRows).AppendData(bytes);
                keys.AppendData(key);
            }

            var digest = SHA256.HashData([.. shortRows.GetHashAndReset(), .. longRows.GetHashAndReset()]);
            yield return new FiringGroup(firing.Table, operation, digested.Count, moved, digest, keys.GetHashAndReset());
        }
    }

    /// <summary>
    /// The groups of a statement, per table and kind of change, from its firings' groups (the
    /// trigger's and Warden's): the rows summed, and sha256 over the firings' digests sorted, in
    /// order of table and kind (ordinal).
    /// </summary>
    public static List<CapturedGroup> Combine(IEnumerable<FiringGroup> groups) =>
    [
        .. groups.GroupBy(g => (g.Table, g.Operation))
            .OrderBy(g => g.Key.Table, StringComparer.Ordinal).ThenBy(g => g.Key.Operation, StringComparer.Ordinal)
            .Select(g => new CapturedGroup(g.Key.Table, g.Key.Operation, g.Sum(f => f.Rows), Sorted(g.Select(f => f.Digest)), Sorted(g.Select(f => f.Keys)), g.Sum(f => f.Moved))),
    ];

    private static string Sorted(IEnumerable<byte[]> digests)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var digest in digests.Order(Comparer<byte[]>.Create((x, y) => x.AsSpan().SequenceCompareTo(y))))
        {
            hash.AppendData(digest);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>A row's bytes as the trigger's digest query makes them.</summary>
    private static byte[] Row(Firing firing, CopiedRow row, byte[] now, byte[] localNow)
    {
        switch (row.Operation)
        {
            case "DELETE":
                // Every column before, as it is: the copied image itself.
                return row.Before!;
            case "UPDATE":
            {
                var before = Columns(row.Before!);
                var after = Columns(row.After!);
                var record = new Record();
                foreach (var column in before)
                {
                    record.Column(row.Before!, column);
                }

                for (var i = 0; i < after.Length; i++)
                {
                    record.After(row.After!, after[i], firing.Kinds[i], now, localNow);
                }

                return record.ToArray();
            }

            default:
            {
                var after = Columns(row.After!);
                var record = new Record();
                for (var i = 0; i < after.Length; i++)
                {
                    // A row a statement inserted leaves out what a sequence feeds (an update's moved key leaves out nothing).
                    if (firing.Operation == "INSERT" && (firing.Sequenced[i] || (firing.Drawn && firing.Keys?.Contains(i + 1) == true)))
                    {
                        continue;
                    }

                    record.After(row.After!, after[i], firing.Kinds[i], now, localNow);
                }

                return firing.Operation == "INSERT" && record.Count == 0 ? [] : record.ToArray();
            }
        }
    }

    /// <summary>The binary form of a row's key: its columns, in the key's order, under their count.</summary>
    private static byte[] KeyRecord(byte[] image, int[] keys)
    {
        var columns = Columns(image);
        var record = new Record();
        foreach (var key in keys)
        {
            record.Column(image, columns[key - 1]);
        }

        return record.ToArray();
    }

    /// <summary>Where each column of a record in binary form lies: its type, length and bytes.</summary>
    private static (int Start, int End)[] Columns(byte[] record)
    {
        var columns = new (int, int)[BinaryPrimitives.ReadInt32BigEndian(record)];
        var at = 4;
        for (var i = 0; i < columns.Length; i++)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(record.AsSpan(at + 4));
            var end = at + 8 + Math.Max(length, 0);
            columns[i] = (at, end);
            at = end;
        }

        return columns;
    }

    /// <summary>A record in binary form being written: its columns, then their count in front.</summary>
    private sealed class Record
    {
        private readonly MemoryStream _columns = new();

        public int Count { get; private set; }

        public void Column(byte[] image, (int Start, int End) column)
        {
            _columns.Write(image, column.Start, column.End - column.Start);
            Count++;
        }

        /// <summary>A column after: a time equal to the transaction's is written as nothing, and a flag says so; the flag is nothing when the time is.</summary>
        public void After(byte[] image, (int Start, int End) column, string kind, byte[] now, byte[] localNow)
        {
            if (kind is not ("zoned" or "local"))
            {
                Column(image, column);
                return;
            }

            var type = BinaryPrimitives.ReadUInt32BigEndian(image.AsSpan(column.Start));
            var value = image.AsSpan((column.Start + 8)..column.End);
            if (BinaryPrimitives.ReadInt32BigEndian(image.AsSpan(column.Start + 4)) < 0)
            {
                Null(type);
                Null(BoolType);
                return;
            }

            if (value.SequenceEqual(kind == "zoned" ? now : localNow))
            {
                Null(type);
                Flag(true);
            }
            else
            {
                Column(image, column);
                Flag(false);
            }
        }

        private void Null(uint type)
        {
            Span<byte> bytes = stackalloc byte[8];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, type);
            BinaryPrimitives.WriteInt32BigEndian(bytes[4..], -1);
            _columns.Write(bytes);
            Count++;
        }

        private void Flag(bool value)
        {
            Span<byte> bytes = stackalloc byte[9];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, BoolType);
            BinaryPrimitives.WriteInt32BigEndian(bytes[4..], 1);
            bytes[8] = value ? (byte)1 : (byte)0;
            _columns.Write(bytes);
            Count++;
        }

        public byte[] ToArray()
        {
            var bytes = new byte[4 + _columns.Length];
            BinaryPrimitives.WriteInt32BigEndian(bytes, Count);
            _columns.GetBuffer().AsSpan(0, (int)_columns.Length).CopyTo(bytes.AsSpan(4));
            return bytes;
        }
    }
}

/// <summary>A firing of the capture trigger at apply whose rows Warden digests (<see cref="FiringDigest"/>): what the trigger wrote down of its table.</summary>
internal sealed record Firing(string Table, string Operation, long Number, long Rows, int[]? Keys, string[] Kinds, bool[] Sequenced, bool Drawn)
{
    public static Firing Parse(string table, string operation, long number, string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        return new Firing(table, operation, number, root.GetProperty("rows").GetInt64(),
            root.GetProperty("keys").ValueKind == JsonValueKind.Null ? null : [.. root.GetProperty("keys").EnumerateArray().Select(k => k.GetInt32())],
            [.. root.GetProperty("kinds").EnumerateArray().Select(k => k.GetString()!)],
            [.. root.GetProperty("sequenced").EnumerateArray().Select(k => k.GetBoolean())],
            root.GetProperty("drawn").GetBoolean());
    }
}

/// <summary>A row the capture copied in binary form, with its firing's kind of change.</summary>
internal sealed record CopiedRow(string Operation, bool Moved, byte[]? Before, byte[]? After);

/// <summary>What one firing changed in one way: its rows, how many of them are an update's whose key moved, their digest and their keys' digest.</summary>
internal sealed record FiringGroup(string Table, string Operation, long Rows, long Moved, byte[] Digest, byte[] Keys);
