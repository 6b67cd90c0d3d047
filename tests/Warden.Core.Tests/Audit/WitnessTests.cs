using Warden.Core.Audit;

namespace Warden.Core.Tests.Audit;

/// <summary>The witness file: what it holds of the trail's archives is read back whole, or the file is refused.</summary>
public sealed class WitnessTests
{
    private static readonly AuditKey Key = AuditKey.Generate();

    private static Witness WithArchive() => new("t1", Key.PublicKeyText, [Checkpoint.Sign(Key, "t1", 1, 1, 10, "00", "11", "22", DateTimeOffset.UnixEpoch)])
    {
        Archives =
        [
            new ArchiveRecord(1, 10, "ab", "/archive/a.jsonl", "alice", "2026-11-25T12:00:00.000Z", 11) { Reason = "size" },
            new ArchiveRecord(11, 20, "cd", "/archive/b.jsonl", "alice", "2026-11-26T12:00:00.000Z", 21)
            {
                Destroyed = new ArchiveDestruction("bob", "retention ended", "2033-01-01T00:00:00.000Z", 40),
            },
        ],
    };

    private static string Text(Witness witness)
    {
        var writer = new StringWriter();
        witness.Write(writer);
        return writer.ToString();
    }

    [Fact]
    public void The_archives_a_witness_holds_read_back_as_written()
    {
        Assert.True(Witness.TryRead(Text(WithArchive()), out var read, out var error), error);
        Assert.Equal(WithArchive().Archives, read!.Archives);
    }

    [Fact]
    public void A_witness_that_lost_an_archive_line_is_refused()
    {
        var lines = Text(WithArchive()).Split('\n');
        var cut = string.Join('\n', lines.Where((_, i) => i != 2)); // the first archive line
        Assert.False(Witness.TryRead(cut, out _, out var error));
        Assert.Equal("the witness file was cut or altered: its header says 2 archives, it holds 1", error);
    }

    [Fact]
    public void A_witness_of_a_trail_never_archived_is_written_as_before()
    {
        var text = Text(WithArchive() with { Archives = [] });
        Assert.StartsWith("""{"format":"warden-audit-witness","version":1,""", text, StringComparison.Ordinal);
        Assert.DoesNotContain("archive", text, StringComparison.Ordinal);
        Assert.True(Witness.TryRead(text, out var read, out _));
        Assert.Empty(read!.Archives);
    }

    [Fact]
    public void An_archive_line_missing_its_digest_is_refused_with_its_line()
    {
        var text = Text(WithArchive()).Replace("\"sha256\":\"ab\",", "", StringComparison.Ordinal);
        Assert.False(Witness.TryRead(text, out _, out var error));
        Assert.Equal("line 3 of the witness is not an archive record: its field 'sha256' is missing or not text", error);
    }
}
