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
/// function, <see cref="Capture"/>). Rows are sorted by their key, then by those bytes, and
/// sha256 runs over them end to end, a long row as its own sha256 after a marker. The key's order
/// is its binary form's, byte by byte; for an update of a table whose key's order Warden knows
/// (<see cref="Firing.Ordered"/>), the order of the key's type, as the trigger's merge join pairs
/// the rows.
/// </summary>
internal static class FiringDigest
{
    private const uint BoolType = 16;

    /// <summary>What one firing changed in each way, as the trigger's digest query writes its <c>group</c> rows.</summary>
    public static IEnumerable<FiringGroup> Groups(Firing firing, IReadOnlyList<CopiedRow> rows, byte[] now, byte[] localNow)
    {
        long total = 0;
        foreach (var row in rows)
        {
            total += firing.Operation == "INSERT" || row.Before is not null ? 1 : 0;
        }

        var whole = (int)Math.Min(1024, 33_554_432 / Math.Max(total, 1));
        var groups = new List<FiringGroup>();
        foreach (var operation in (string[])["UPDATE", "DELETE", "INSERT"])
        {
            // Every row's key, its order and its bytes (a long row's sha256) laid end to end in buffers, then sorted as indexes into them.
            var ordered = firing.Ordered && firing.Operation == "UPDATE" && firing.Keys is not null;
            var keys = new Buffer();
            var orders = ordered ? new Buffer() : keys;
            var bytes = new Buffer();
            var entries = new List<Entry>();
            long moved = 0;
            foreach (var row in rows)
            {
                if (row.Operation != operation)
                {
                    continue;
                }

                moved += row.Moved ? 1 : 0;
                var keyStart = keys.Length;
                if (operation != "INSERT" && firing.Keys is not null)
                {
                    if (ordered)
                    {
                        KeyBytes(keys, row.Before!, firing.Keys);
                    }
                    else
                    {
                        KeyRecord(keys, row.Before!, firing.Keys);
                    }
                }

                var orderStart = ordered ? orders.Length : keyStart;
                if (ordered)
                {
                    OrderKey(orders, operation == "INSERT" ? row.After! : row.Before!, firing.Keys!);
                }

                var start = bytes.Length;
                Row(bytes, firing, row, now, localNow);
                if (bytes.Length - start > whole)
                {
                    var hash = SHA256.HashData(bytes.Span(start, bytes.Length - start));
                    bytes.Length = start;
                    bytes.Write(LongRow);
                    bytes.Write(hash);
                }

                entries.Add(new Entry(keyStart, keys.Length - keyStart, orderStart, (ordered ? orders.Length : keys.Length) - orderStart, start, bytes.Length - start));
            }

            if (entries.Count == 0)
            {
                continue;
            }

            // As PostgreSQL orders bytea: byte by byte, a shorter prefix first. Rows usually come in key order already.
            var order = new Order(orders, bytes, entries);
            var sorted = Enumerable.Range(0, entries.Count).ToArray();
            if (!order.IsSorted(sorted))
            {
                Array.Sort(sorted, order);
            }

            using var rowDigest = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var keyDigest = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (var i in sorted)
            {
                var entry = entries[i];
                rowDigest.AppendData(bytes.Span(entry.RowStart, entry.RowLength));
                keyDigest.AppendData(keys.Span(entry.KeyStart, entry.KeyLength));
            }

            groups.Add(new FiringGroup(firing.Table, operation, entries.Count, moved, rowDigest.GetHashAndReset(), keyDigest.GetHashAndReset()));
        }

        return groups;
    }

    /// <summary>In place of a long row, before its sha256: -1, which no record's count of columns is.</summary>
    private static readonly byte[] LongRow = [0xff, 0xff, 0xff, 0xff];

    private readonly record struct Entry(int KeyStart, int KeyLength, int OrderStart, int OrderLength, int RowStart, int RowLength);

    /// <summary>Rows by key (the bytes that order it), then bytes.</summary>
    private sealed class Order(Buffer orders, Buffer bytes, List<Entry> entries) : IComparer<int>
    {
        public int Compare(int x, int y)
        {
            var (a, b) = (entries[x], entries[y]);
            var byKey = orders.Span(a.OrderStart, a.OrderLength).SequenceCompareTo(orders.Span(b.OrderStart, b.OrderLength));
            return byKey != 0 ? byKey : bytes.Span(a.RowStart, a.RowLength).SequenceCompareTo(bytes.Span(b.RowStart, b.RowLength));
        }

        public bool IsSorted(int[] order)
        {
            for (var i = 1; i < order.Length; i++)
            {
                if (Compare(order[i - 1], order[i]) > 0)
                {
                    return false;
                }
            }

            return true;
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
    private static void Row(Buffer into, Firing firing, CopiedRow row, byte[] now, byte[] localNow)
    {
        switch (row.Operation)
        {
            case "DELETE":
                // Every column before, as it is: the copied image itself.
                into.Write(row.Before!);
                return;
            case "UPDATE":
            {
                var count = into.StartRecord();
                var before = row.Before!;
                into.Write(before.AsSpan(4));
                count += BinaryPrimitives.ReadInt32BigEndian(before);
                count += After(into, firing, row.After!, now, localNow, leaveOut: false);
                into.EndRecord(count);
                return;
            }

            default:
            {
                var start = into.Length;
                var count = into.StartRecord();
                count += After(into, firing, row.After!, now, localNow, leaveOut: firing.Operation == "INSERT");
                if (firing.Operation == "INSERT" && count == 0)
                {
                    into.Length = start; // no column: no record, no bytes
                    return;
                }

                into.EndRecord(count);
                return;
            }
        }
    }

    /// <summary>
    /// A row's columns after, written: a time equal to the transaction's as nothing, and a flag
    /// that says so (nothing when the time is); an inserted row without what a sequence feeds (an
    /// update's moved key leaves out nothing). Returns how many columns it wrote.
    /// </summary>
    private static int After(Buffer into, Firing firing, byte[] image, byte[] now, byte[] localNow, bool leaveOut)
    {
        var written = 0;
        var columns = new RecordColumns(image);
        while (columns.MoveNext())
        {
            var i = columns.Index;
            if (leaveOut && (firing.Sequenced[i] || (firing.Drawn && firing.Keys?.Contains(i + 1) == true)))
            {
                continue;
            }

            var kind = firing.Kinds[i];
            if (kind is not ("zoned" or "local"))
            {
                into.Write(columns.Column);
                written++;
                continue;
            }

            if (columns.Length < 0)
            {
                into.Null(columns.Type);
                into.Null(BoolType);
            }
            else if (columns.Value.SequenceEqual(kind == "zoned" ? now : localNow))
            {
                into.Null(columns.Type);
                into.Flag(true);
            }
            else
            {
                into.Write(columns.Column);
                into.Flag(false);
            }

            written += 2;
        }

        return written;
    }

    /// <summary>The binary form of a row's key: its columns, in the key's order, under their count.</summary>
    private static void KeyRecord(Buffer into, byte[] image, int[] keys)
    {
        into.StartRecord();
        foreach (var key in keys)
        {
            var (start, end) = Bounds(image, key);
            into.Write(image.AsSpan(start, end - start));
        }

        into.EndRecord(keys.Length);
    }

    /// <summary>An ordered key's bytes as the trigger digests them: a fixed-size column's own bytes, else the key's columns as a record.</summary>
    private static void KeyBytes(Buffer into, byte[] image, int[] keys)
    {
        if (keys.Length == 1)
        {
            var value = Column(image, keys[0], out var type);
            if (type is not (TextType or VarcharType))
            {
                into.Write(value);
                return;
            }
        }

        KeyRecord(into, image, keys);
    }

    private const uint TextType = 25;
    private const uint VarcharType = 1043;

    /// <summary>
    /// Bytes whose order, byte by byte, is the order of an ordered key's values (the trigger's
    /// merge join sorts by them): an integer, date or time with its sign bit flipped (big-endian,
    /// so negative before positive), a boolean or uuid as it is, text byte by byte (PostgreSQL's
    /// "C" order: a shorter prefix first) with each zero byte escaped and a terminator, so a
    /// key's next column never counts as the text's.
    /// </summary>
    private static void OrderKey(Buffer into, byte[] image, int[] keys)
    {
        foreach (var key in keys)
        {
            var value = Column(image, key, out var type);
            switch (type)
            {
                case 20 or 21 or 23 or 1082 or 1114 or 1184:
                    var start = into.Length;
                    into.Write(value);
                    into.Span(start, 1)[0] ^= 0x80;
                    break;
                case TextType or VarcharType:
                    foreach (var b in value)
                    {
                        into.Write(b == 0 ? [0, 0xff] : [b]);
                    }

                    into.Write([0, 0]);
                    break;
                default:
                    into.Write(value);
                    break;
            }
        }
    }

    /// <summary>A column of a record (numbered from 1): its bytes, and its type.</summary>
    private static ReadOnlySpan<byte> Column(byte[] image, int number, out uint type)
    {
        var (start, end) = Bounds(image, number);
        type = BinaryPrimitives.ReadUInt32BigEndian(image.AsSpan(start));
        return image.AsSpan(start + 8, end - start - 8);
    }

    /// <summary>Where a column of a record (numbered from 1) lies, its type and length included.</summary>
    private static (int Start, int End) Bounds(byte[] image, int number)
    {
        var columns = new RecordColumns(image);
        while (columns.MoveNext())
        {
            if (columns.Index == number - 1)
            {
                return (columns.Start, columns.End);
            }
        }

        throw new InvalidDataException($"the row has no column {number}, which its key names");
    }

    /// <summary>Bytes written end to end, records among them in PostgreSQL's binary form (their count of columns in front).</summary>
    private sealed class Buffer
    {
        private byte[] _bytes = new byte[1 << 16];
        private int _record;

        public int Length { get; set; }

        public Span<byte> Span(int start, int length) => _bytes.AsSpan(start, length);

        public void Write(ReadOnlySpan<byte> bytes)
        {
            if (Length + bytes.Length > _bytes.Length)
            {
                Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, Length + bytes.Length));
            }

            bytes.CopyTo(_bytes.AsSpan(Length));
            Length += bytes.Length;
        }

        /// <summary>Leaves room for a record's count of columns; returns 0, the count so far.</summary>
        public int StartRecord()
        {
            _record = Length;
            Write([0, 0, 0, 0]);
            return 0;
        }

        public void EndRecord(int count) => BinaryPrimitives.WriteInt32BigEndian(_bytes.AsSpan(_record), count);

        public void Null(uint type)
        {
            Span<byte> bytes = stackalloc byte[8];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, type);
            BinaryPrimitives.WriteInt32BigEndian(bytes[4..], -1);
            Write(bytes);
        }

        public void Flag(bool value)
        {
            Span<byte> bytes = stackalloc byte[9];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, BoolType);
            BinaryPrimitives.WriteInt32BigEndian(bytes[4..], 1);
            bytes[8] = value ? (byte)1 : (byte)0;
            Write(bytes);
        }
    }
}

/// <summary>A firing of the capture trigger at apply whose rows Warden digests (<see cref="FiringDigest"/>): what the trigger wrote down of its table.</summary>
internal sealed record Firing(string Table, string Operation, long Number, long Rows, int[]? Keys, string[] Kinds, bool[] Sequenced, bool Drawn, bool Ordered)
{
    public static Firing Parse(string table, string operation, long number, string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        return new Firing(table, operation, number, root.GetProperty("rows").GetInt64(),
            root.GetProperty("keys").ValueKind == JsonValueKind.Null ? null : [.. root.GetProperty("keys").EnumerateArray().Select(k => k.GetInt32())],
            [.. root.GetProperty("kinds").EnumerateArray().Select(k => k.GetString()!)],
            [.. root.GetProperty("sequenced").EnumerateArray().Select(k => k.GetBoolean())],
            root.GetProperty("drawn").GetBoolean(),
            root.TryGetProperty("ordered", out var ordered) && ordered.GetBoolean());
    }
}

/// <summary>A row the capture copied in binary form, with its firing's kind of change.</summary>
internal sealed record CopiedRow(string Operation, bool Moved, byte[]? Before, byte[]? After);

/// <summary>What one firing changed in one way: its rows, how many of them are an update's whose key moved, their digest and their keys' digest.</summary>
internal sealed record FiringGroup(string Table, string Operation, long Rows, long Moved, byte[] Digest, byte[] Keys);
