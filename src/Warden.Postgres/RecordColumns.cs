using System.Buffers.Binary;

namespace Warden.Postgres;

/// <summary>
/// The columns of a row in PostgreSQL's binary form (<c>record_send</c>: the count of columns,
/// then each one's type, its length, -1 for null, and its bytes), one after another: where each
/// lies in the record, its type and its length. Reads in place; allocates nothing.
/// </summary>
internal ref struct RecordColumns(ReadOnlySpan<byte> record)
{
    private readonly ReadOnlySpan<byte> _record = record;
    private int _next = 4;

    /// <summary>How many columns the record holds.</summary>
    public readonly int Count => BinaryPrimitives.ReadInt32BigEndian(_record);

    /// <summary>The column's position, from 0.</summary>
    public int Index { get; private set; } = -1;

    /// <summary>Where the column starts (its type) and where it ends (after its bytes).</summary>
    public int Start { get; private set; }

    public int End { get; private set; }

    public readonly uint Type => BinaryPrimitives.ReadUInt32BigEndian(_record[Start..]);

    /// <summary>The length of its bytes, -1 when it is null.</summary>
    public readonly int Length => BinaryPrimitives.ReadInt32BigEndian(_record[(Start + 4)..]);

    /// <summary>The column whole: type, length and bytes.</summary>
    public readonly ReadOnlySpan<byte> Column => _record[Start..End];

    /// <summary>Its bytes alone (none when it is null).</summary>
    public readonly ReadOnlySpan<byte> Value => _record[(Start + 8)..End];

    public bool MoveNext()
    {
        if (Index + 1 >= Count)
        {
            return false;
        }

        Index++;
        Start = _next;
        End = Start + 8 + Math.Max(Length, 0);
        _next = End;
        return true;
    }
}
