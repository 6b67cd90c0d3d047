using System.Security.Cryptography;

namespace Warden.Core.Audit;

/// <summary>
/// Merkle tree hashing as RFC 6962 / RFC 9162 define it: leaves are hashed with a 0x00 prefix and
/// inner nodes with 0x01, so a leaf can never pass for a node; a tree of n leaves splits at the
/// largest power of two below n. Checkpoints sign such a root, and inclusion proofs are its paths.
/// </summary>
public static class Merkle
{
    /// <summary>The hash of an empty tree: SHA-256 of nothing.</summary>
    public static byte[] EmptyRoot() => SHA256.HashData([]);

    public static byte[] LeafHash(ReadOnlySpan<byte> data)
    {
        var input = new byte[data.Length + 1];
        data.CopyTo(input.AsSpan(1));
        return SHA256.HashData(input);
    }

    public static byte[] NodeHash(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        Span<byte> input = stackalloc byte[1 + left.Length + right.Length];
        input[0] = 0x01;
        left.CopyTo(input[1..]);
        right.CopyTo(input[(1 + left.Length)..]);
        return SHA256.HashData(input);
    }

    /// <summary>MTH(D[n]) over the given leaf hashes.</summary>
    public static byte[] Root(IReadOnlyList<byte[]> leaves) => leaves.Count == 0 ? EmptyRoot() : Root(leaves, 0, leaves.Count);

    /// <summary>PATH(m, D[n]): the sibling hashes from leaf <paramref name="index"/> up to the root, lowest first.</summary>
    public static List<byte[]> InclusionPath(IReadOnlyList<byte[]> leaves, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, leaves.Count);
        var path = new List<byte[]>();
        Path(leaves, 0, leaves.Count, index, path);
        return path;
    }

    /// <summary>Checks an inclusion proof as RFC 9162 section 2.1.3.2 says.</summary>
    public static bool VerifyInclusion(long index, long size, ReadOnlySpan<byte> leafHash, IReadOnlyList<byte[]> path, ReadOnlySpan<byte> root)
    {
        if (index < 0 || index >= size)
        {
            return false;
        }

        var fn = index;
        var sn = size - 1;
        var r = leafHash.ToArray();
        foreach (var p in path)
        {
            if (sn == 0 || p.Length != 32)
            {
                return false;
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                r = NodeHash(p, r);
                while ((fn & 1) == 0 && fn != 0)
                {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
            else
            {
                r = NodeHash(r, p);
            }

            fn >>= 1;
            sn >>= 1;
        }

        return sn == 0 && r.AsSpan().SequenceEqual(root);
    }

    private static byte[] Root(IReadOnlyList<byte[]> leaves, int start, int count)
    {
        if (count == 1)
        {
            return leaves[start];
        }

        var k = SplitPoint(count);
        return NodeHash(Root(leaves, start, k), Root(leaves, start + k, count - k));
    }

    private static void Path(IReadOnlyList<byte[]> leaves, int start, int count, int index, List<byte[]> path)
    {
        if (count == 1)
        {
            return;
        }

        var k = SplitPoint(count);
        if (index < k)
        {
            Path(leaves, start, k, index, path);
            path.Add(Root(leaves, start + k, count - k));
        }
        else
        {
            Path(leaves, start + k, count - k, index - k, path);
            path.Add(Root(leaves, start, k));
        }
    }

    /// <summary>The largest power of two smaller than n (n &gt; 1).</summary>
    private static int SplitPoint(int n) => 1 << (31 - System.Numerics.BitOperations.LeadingZeroCount((uint)(n - 1)));
}

/// <summary>
/// The root of a growing tree kept in O(log n) memory: the roots of its perfect subtrees, largest
/// first. Lets the trail and its verifier fold millions of entries without holding their hashes.
/// </summary>
public sealed class CompactRange
{
    private readonly List<(long Size, byte[] Hash)> _peaks = [];

    public long Size { get; private set; }

    public void Append(byte[] leafHash)
    {
        _peaks.Add((1, leafHash));
        Size++;
        while (_peaks.Count >= 2 && _peaks[^1].Size == _peaks[^2].Size)
        {
            var right = _peaks[^1];
            var left = _peaks[^2];
            _peaks.RemoveRange(_peaks.Count - 2, 2);
            _peaks.Add((left.Size * 2, Merkle.NodeHash(left.Hash, right.Hash)));
        }
    }

    public byte[] Root()
    {
        if (_peaks.Count == 0)
        {
            return Merkle.EmptyRoot();
        }

        var root = _peaks[^1].Hash;
        for (var i = _peaks.Count - 2; i >= 0; i--)
        {
            root = Merkle.NodeHash(_peaks[i].Hash, root);
        }

        return root;
    }

    public void Clear()
    {
        _peaks.Clear();
        Size = 0;
    }
}
