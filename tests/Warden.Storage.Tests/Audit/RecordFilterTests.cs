using System.Security.Cryptography;
using System.Text;
using Warden.Storage.Audit;

namespace Warden.Storage.Tests.Audit;

/// <summary>The Bloom filter over a checkpoint's record ids: no id it holds is ever missed, few it does not hold get through, and its bytes never change meaning.</summary>
public sealed class RecordFilterTests
{
    private static readonly string[] Ids = [.. Enumerable.Range(0, 20_000).Select(i => $"c-{i * 7:D7}")];

    [Fact]
    public void Every_id_in_the_filter_may_be_there()
    {
        var filter = AuditRecordFilter.Build(Ids);
        Assert.All(Ids, id => Assert.True(AuditRecordFilter.MayContain(filter, id)));
    }

    [Fact]
    public void Few_ids_outside_the_filter_get_through()
    {
        var filter = AuditRecordFilter.Build(Ids);
        var through = Enumerable.Range(0, 100_000).Count(i => AuditRecordFilter.MayContain(filter, $"other-{i}"));
        Assert.InRange(through, 0, 200); // 16 bits and 8 probes an id: about 0.06% expected
    }

    [Fact]
    public void The_filter_is_sized_to_sixteen_bits_an_id_rounded_up_to_a_power_of_two()
    {
        Assert.Equal(8, AuditRecordFilter.Build([]).Length);
        Assert.Equal(65_536, AuditRecordFilter.Build(Ids).Length);
    }

    [Fact]
    public void The_same_ids_give_the_same_bytes_on_every_machine_and_version()
    {
        // Verify rebuilds filters and compares bytes: a change to the hashing would make every
        // stored trail fail. This pins XXH3-64 and the probe sequence.
        var filter = AuditRecordFilter.Build(Ids[..1000]);
        Assert.Equal("68e6c8f99575a84a5cfbeb18181d3240b40f8c0d79e1d87d081fb81fe0b1bcd1", Convert.ToHexStringLower(SHA256.HashData(filter)));
    }

    [Fact]
    public void Bytes_that_are_not_a_filter_rule_nothing_out()
    {
        Assert.True(AuditRecordFilter.MayContain([1, 2, 3], "c-1"));
        Assert.True(AuditRecordFilter.MayContain([], "c-1"));
    }

    [Fact]
    public void Ids_beyond_the_stack_buffer_are_hashed_too()
    {
        var long1 = new string('x', 1000) + "1";
        var filter = AuditRecordFilter.Build([long1]);
        Assert.True(AuditRecordFilter.MayContain(filter, long1));
        Assert.False(AuditRecordFilter.MayContain(filter, Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(new string('x', 1000) + "2"))));
    }
}
