using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Warden.Storage.Engines;
using Warden.Core.Audit;

namespace Warden.Storage.Audit;

/// <summary>
/// What queries find entries by, for the entries of one checkpoint: for each agent, use case,
/// tool, effect and person, the list of entries that name it; and a filter over the ids of the
/// records they read or changed. Written once, in the transaction that stores the checkpoint,
/// instead of an index maintained entry by entry: that one scattered each group commit over
/// dozens of index pages and wrote about 24 KB per entry, a tenth of the throughput, and a row
/// per record id cost the writer 3 µs a key (bench/README.md). A run is a few dozen rows and one
/// filter, whatever the number of records. Entries after the last checkpoint are found by reading
/// them. Verify rebuilds every run from the entries and compares.
/// </summary>
internal sealed class AuditIndexRun
{
    /// <summary>The fields of an entry's body that have lists, by their name in the body.</summary>
    public static readonly string[] Fields = ["agent", "use_case", "tool", "effect", "person"];

    // One map per field, in the order of Fields: value → entries.
    private readonly Dictionary<string, List<long>>[] _lists = [.. Fields.Select(_ => new Dictionary<string, List<long>>(StringComparer.Ordinal))];
    private readonly List<string> _records = [];

    /// <summary>Adds an entry about to be written.</summary>
    public void Add(AuditEntry entry, long seq)
    {
        List(0, entry.Agent, seq);
        List(1, entry.UseCase, seq);
        List(2, AuditText.Redact(entry.Tool), seq); // as the body holds it: an unknown tool's name is what the agent typed
        List(3, entry.Effect, seq);
        List(4, entry.Person, seq);
        _records.AddRange(entry.RecordsRead);
        _records.AddRange(entry.RecordsChanged);
    }

    /// <summary>Adds a stored entry from its body: the same as <see cref="Add(AuditEntry, long)"/> gives for the entry it was written from.</summary>
    public void Add(JsonElement body, long seq)
    {
        for (var i = 0; i < Fields.Length; i++)
        {
            if (body.TryGetProperty(Fields[i], out var value) && value.ValueKind == JsonValueKind.String)
            {
                List(i, value.GetString(), seq);
            }
        }

        Records(body, "records_read");
        Records(body, "records_changed");
    }

    public void Clear()
    {
        foreach (var lists in _lists)
        {
            lists.Clear();
        }

        _records.Clear();
    }

    /// <summary>The run's lists, as stored: the entries in ascending order as a JSON array.</summary>
    public Dictionary<(string Field, string Value), string> Lists()
    {
        var lists = new Dictionary<(string, string), string>();
        foreach (var (field, value, seqs) in Each())
        {
            lists[(field, value)] = AuditIndexLists.Format(seqs);
        }

        return lists;
    }

    private IEnumerable<(string Field, string Value, List<long> Seqs)> Each()
    {
        for (var i = 0; i < Fields.Length; i++)
        {
            foreach (var (value, seqs) in _lists[i])
            {
                yield return (Fields[i], value, seqs);
            }
        }
    }

    public byte[] RecordFilter() => AuditRecordFilter.Build(_records);

    /// <summary>Writes the run of checkpoint <paramref name="checkpoint"/>, inside the transaction that stores the checkpoint.</summary>
    public void Write(DbConnection connection, DbTransaction transaction, long checkpoint)
    {
        using (var list = connection.CreateCommand())
        {
            list.Transaction = transaction;
            list.CommandText = "INSERT INTO audit_index (checkpoint, field, value, seqs) VALUES (@c, @f, @v, @s)";
            var f = list.Parameters.AddWithValue("@f", null);
            var v = list.Parameters.AddWithValue("@v", null);
            var s = list.Parameters.AddWithValue("@s", null);
            list.Parameters.AddWithValue("@c", checkpoint);
            foreach (var (field, value, seqs) in Each())
            {
                f.Value = field;
                v.Value = value;
                s.Value = AuditIndexLists.Format(seqs);
                list.ExecuteNonQuery();
            }
        }

        using var filter = connection.CreateCommand();
        filter.Transaction = transaction;
        filter.CommandText = "INSERT INTO audit_record_filters (checkpoint, filter) VALUES (@c, @filter)";
        filter.Parameters.AddWithValue("@c", checkpoint);
        filter.Parameters.AddWithValue("@filter", RecordFilter());
        filter.ExecuteNonQuery();
    }

    private void List(int field, string? value, long seq)
    {
        if (value is null)
        {
            return;
        }

        ref var seqs = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_lists[field], value, out _);
        seqs ??= [];

        // An entry is added once, in order: its seq is the list's last if it is there at all.
        if (seqs.Count == 0 || seqs[^1] != seq)
        {
            seqs.Add(seq);
        }
    }

    private void Records(JsonElement body, string name)
    {
        if (body.TryGetProperty(name, out var array) && array.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in array.EnumerateArray())
            {
                _records.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : item.GetRawText());
            }
        }
    }
}

/// <summary>The stored form of an index list: the sequence numbers, ascending, as a JSON array (readable with SQLite's json_each).</summary>
internal static class AuditIndexLists
{
    public static string Format(List<long> seqs)
    {
        var text = new StringBuilder(2 + (seqs.Count * 8));
        text.Append('[');
        for (var i = 0; i < seqs.Count; i++)
        {
            text.Append(i == 0 ? "" : ",").Append(seqs[i].ToString(CultureInfo.InvariantCulture));
        }

        return text.Append(']').ToString();
    }

    /// <summary>Reads a stored list; null when it is not one (the index was edited).</summary>
    public static List<long>? Parse(string text)
    {
        if (text.Length < 2 || text[0] != '[' || text[^1] != ']')
        {
            return null;
        }

        var seqs = new List<long>();
        if (text.Length == 2)
        {
            return seqs;
        }

        foreach (var part in text.AsSpan(1, text.Length - 2).Split(','))
        {
            if (!long.TryParse(text.AsSpan(1 + part.Start.Value, part.End.Value - part.Start.Value), NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
            {
                return null;
            }

            seqs.Add(seq);
        }

        return seqs;
    }
}

/// <summary>
/// A Bloom filter over the record ids a checkpoint's entries name: "could c-123 be in these
/// entries?" answered without a row per id. 16 bits per id and 8 probes, so about one run in
/// 1,700 that does not hold an id is read in vain. A probe is XXH3-64 of the id's UTF-8 bytes,
/// split into two 32-bit halves for double hashing (Kirsch and Mitzenmacher); the size is the
/// power of two at or above 16 bits per id, at least 64 bits. Fixed here, since verify rebuilds
/// the filter and compares it byte for byte.
/// </summary>
internal static class AuditRecordFilter
{
    private const int BitsPerId = 16;
    private const int Probes = 8;

    public static byte[] Build(IReadOnlyList<string> ids)
    {
        var bits = 64L;
        while (bits < (long)ids.Count * BitsPerId)
        {
            bits <<= 1;
        }

        var filter = new byte[bits / 8];
        foreach (var id in ids)
        {
            var (h1, h2) = Hash(id);
            for (uint i = 0; i < Probes; i++)
            {
                var bit = (h1 + (i * h2)) & (ulong)(bits - 1);
                filter[bit >> 3] |= (byte)(1 << (int)(bit & 7));
            }
        }

        return filter;
    }

    public static bool MayContain(byte[] filter, string id)
    {
        if (filter.Length == 0 || (filter.Length & (filter.Length - 1)) != 0)
        {
            return true; // not a filter this code wrote: read the run rather than miss an entry
        }

        var mask = ((ulong)filter.Length * 8) - 1;
        var (h1, h2) = Hash(id);
        for (uint i = 0; i < Probes; i++)
        {
            var bit = (h1 + (i * h2)) & mask;
            if ((filter[bit >> 3] & (1 << (int)(bit & 7))) == 0)
            {
                return false;
            }
        }

        return true;
    }

    private static (ulong H1, ulong H2) Hash(string id)
    {
        var max = Encoding.UTF8.GetMaxByteCount(id.Length);
        Span<byte> buffer = max <= 256 ? stackalloc byte[256] : new byte[max];
        var length = Encoding.UTF8.GetBytes(id, buffer);
        var hash = System.IO.Hashing.XxHash3.HashToUInt64(buffer[..length]);
        return (hash & 0xFFFF_FFFF, hash >> 32);
    }
}
