using Warden.Core.Audit;

namespace Warden.Core.Tests.Audit;

/// <summary>Merkle roots and inclusion proofs as RFC 6962 / 9162 define them, checked as transparency-dev/merkle checks its own.</summary>
public sealed class MerkleTests
{
    // The test leaves of RFC 6962's reference implementation, and the roots of their prefixes.
    private static readonly byte[][] Leaves =
    [
        [], [0x00], [0x10], [0x20, 0x21], [0x30, 0x31], [0x40, 0x41, 0x42, 0x43],
        [0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57], [.. Enumerable.Range(0x60, 16).Select(b => (byte)b)],
    ];

    public static TheoryData<int, string> Roots => new()
    {
        { 1, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d" },
        { 2, "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" },
        { 3, "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77" },
        { 4, "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" },
        { 5, "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4" },
        { 6, "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef" },
        { 7, "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c" },
        { 8, "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328" },
    };

    [Theory]
    [MemberData(nameof(Roots))]
    public void The_root_matches_the_reference_vectors(int size, string root)
    {
        var hashes = Leaves.Take(size).Select(l => Merkle.LeafHash(l)).ToList();
        Assert.Equal(root, Convert.ToHexStringLower(Merkle.Root(hashes)));
    }

    [Fact]
    public void The_empty_tree_hashes_to_the_hash_of_nothing() =>
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Convert.ToHexStringLower(Merkle.EmptyRoot()));

    [Fact]
    public void A_compact_range_folds_to_the_same_root_as_the_whole_tree()
    {
        var range = new CompactRange();
        var hashes = new List<byte[]>();
        for (var i = 0; i < 130; i++)
        {
            var leaf = Merkle.LeafHash(BitConverter.GetBytes(i));
            hashes.Add(leaf);
            range.Append(leaf);
            Assert.Equal(Merkle.Root(hashes), range.Root());
        }
    }

    [Fact]
    public void Every_leaf_of_every_tree_up_to_40_has_a_proof_that_holds()
    {
        for (var size = 1; size <= 40; size++)
        {
            var hashes = Tree(size);
            var root = Merkle.Root(hashes);
            for (var index = 0; index < size; index++)
            {
                Assert.True(Merkle.VerifyInclusion(index, size, hashes[index], Merkle.InclusionPath(hashes, index), root), $"leaf {index} of {size}");
            }
        }
    }

    [Theory]
    [InlineData(5, 13)]
    [InlineData(0, 1)]
    [InlineData(12, 13)]
    [InlineData(31, 32)]
    public void A_proof_altered_in_any_way_fails(int index, int size)
    {
        var hashes = Tree(size);
        var root = Merkle.Root(hashes);
        var path = Merkle.InclusionPath(hashes, index);
        Assert.True(Merkle.VerifyInclusion(index, size, hashes[index], path, root));

        for (var i = 0; i < path.Count; i++)
        {
            var flipped = path.Select(p => p.ToArray()).ToList();
            flipped[i][0] ^= 1;
            Assert.False(Merkle.VerifyInclusion(index, size, hashes[index], flipped, root), $"flipped bit in node {i}");
        }

        Assert.False(Merkle.VerifyInclusion(index, size, hashes[index], [.. path, hashes[0]], root), "an extra node");
        if (path.Count > 0)
        {
            Assert.False(Merkle.VerifyInclusion(index, size, hashes[index], path.Take(path.Count - 1).ToList(), root), "a missing node");
            // A tree of a different shape; sizes that share the leaf's subtrees are told apart by the
            // checkpoint, which signs the size with the root.
            Assert.False(Merkle.VerifyInclusion(index, size + 16, hashes[index], path, root), "a wrong tree size");
            Assert.False(Merkle.VerifyInclusion(index ^ 1, size, hashes[index], path, root), "a wrong index");
        }

        Assert.False(Merkle.VerifyInclusion(index, size, Merkle.LeafHash([0xFF]), path, root), "another leaf");
        Assert.False(Merkle.VerifyInclusion(size, size, hashes[index], path, root), "an index past the end");
    }

    [Fact]
    public void A_leaf_cannot_pass_for_an_inner_node()
    {
        var hashes = Tree(2);
        var node = Merkle.Root(hashes);
        // The bytes of the two children, hashed as one leaf, do not give the node's hash.
        Assert.NotEqual(node, Merkle.LeafHash([.. hashes[0], .. hashes[1]]));
    }

    private static List<byte[]> Tree(int size) => [.. Enumerable.Range(0, size).Select(i => Merkle.LeafHash(BitConverter.GetBytes(i * 7919)))];
}
