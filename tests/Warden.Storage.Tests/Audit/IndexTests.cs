using Microsoft.Data.Sqlite;
using Warden.Core.Audit;
using Warden.Storage.Audit;

namespace Warden.Storage.Tests.Audit;

/// <summary>
/// The query index is written one run per checkpoint. Entries after the last checkpoint are found
/// by reading them, so a query gives the same answer before and after they are indexed.
/// </summary>
public sealed class IndexTests : IDisposable
{
    private readonly TrailFixture _trail = new();

    public void Dispose() => _trail.Dispose();

    private static AuditEntry Call(int i) => TrailFixture.Call(i, agent: i % 2 == 0 ? "nurture-bot" : "hygiene-bot") with
    {
        RecordsRead = [$"c-{i % 3}"],
        Tool = i % 4 == 0 ? "lists.add_members" : "contacts.update",
    };

    private AuditTrail OpenWith(int entries)
    {
        var trail = _trail.Open(new AuditTrailOptions { CheckpointEvery = 10 });
        for (var i = 1; i <= entries; i++)
        {
            trail.AppendAsync(Call(i)).AsTask().GetAwaiter().GetResult();
        }

        return trail;
    }

    private IEnumerable<long> Seqs(AuditQuery query) => AuditLog.Query(_trail.Path, query).Entries.Select(e => e.Seq);

    [Fact]
    public void Entries_after_the_last_checkpoint_are_found_before_they_are_indexed()
    {
        using var trail = OpenWith(15);
        Assert.Equal(1L, _trail.Scalar("SELECT max(checkpoint) FROM audit_index"));
        Assert.Equal([14L, 12, 10, 8, 6, 4, 2], Seqs(new AuditQuery { Agent = "nurture-bot" }));
    }

    [Fact]
    public void A_query_answers_the_same_before_and_after_the_tail_is_indexed()
    {
        var queries = new[]
        {
            new AuditQuery { Agent = "nurture-bot" },
            new AuditQuery { RecordId = "c-1" },
            new AuditQuery { RecordId = "c-1", Agent = "hygiene-bot" },
            new AuditQuery { Tool = "lists.add_members", Agent = "nurture-bot", Effect = "allow" },
            new AuditQuery { Agent = "nurture-bot", Limit = 3 },
        };
        List<long[]> before;
        using (OpenWith(15))
        {
            before = [.. queries.Select(q => Seqs(q).ToArray())];
        }

        Assert.Equal(2L, _trail.Scalar("SELECT max(checkpoint) FROM audit_index"));
        Assert.Equal(before, queries.Select(q => Seqs(q).ToArray()));
        Assert.Equal([13L, 7, 1], before[2]);
        Assert.Equal([12L, 8, 4], before[3]);
    }

    [Fact]
    public void A_page_runs_on_from_the_unindexed_entries_into_the_indexed_ones()
    {
        using var trail = OpenWith(15);
        var first = AuditLog.Query(_trail.Path, new AuditQuery { Agent = "hygiene-bot", Limit = 4 });
        Assert.Equal([15L, 13, 11, 9], first.Entries.Select(e => e.Seq));
        Assert.Equal([7L, 5, 3, 1], Seqs(new AuditQuery { Agent = "hygiene-bot", Limit = 4, Before = first.Next }));
    }

    [Fact]
    public void Each_checkpoint_writes_one_run_with_the_lists_and_records_of_the_entries_it_covers()
    {
        using (OpenWith(12))
        {
        }

        Assert.Equal(
            "agent hygiene-bot [11]; agent nurture-bot [12]; effect allow [11,12]; tool contacts.update [11]; tool lists.add_members [12]; use_case data-hygiene [11,12]",
            _trail.Scalar("SELECT group_concat(field || ' ' || value || ' ' || seqs, '; ') FROM (SELECT * FROM audit_index WHERE checkpoint = 2 ORDER BY field, value)"));
        var filter = (byte[])_trail.Scalar("SELECT filter FROM audit_record_filters WHERE checkpoint = 2")!;
        Assert.All(new[] { "c-11", "c-12", "c-2", "c-0" }, id => Assert.True(AuditRecordFilter.MayContain(filter, id), id));
        Assert.False(AuditRecordFilter.MayContain(filter, "c-5"));
    }

    [Fact]
    public void Entries_are_found_by_a_record_in_the_indexed_runs_and_after_them()
    {
        using var trail = OpenWith(15);
        Assert.Equal([14L, 11, 8, 5, 2], Seqs(new AuditQuery { RecordId = "c-2" }));
        Assert.Equal([5L], Seqs(new AuditQuery { RecordId = "c-5" }));
        Assert.Empty(Seqs(new AuditQuery { RecordId = "c-404" }));
    }

    [Fact]
    public async Task Entries_written_before_a_crash_are_indexed_with_the_next_checkpoint()
    {
        // A copy of the files of a trail that is still open is what a crash leaves: five entries
        // committed, no checkpoint and no index run over them.
        var copy = Path.Combine(_trail.Directory, "crashed.db");
        using (OpenWith(5))
        {
            File.Copy(_trail.Path, copy);
            File.Copy(_trail.Path + "-wal", copy + "-wal");
            File.Copy(_trail.Path + ".key", copy + ".key");
        }

        await using (var reopened = AuditTrail.Open(copy, new AuditTrailOptions { CheckpointEvery = 10 }))
        {
            await reopened.AppendAsync(Call(6), TestContext.Current.CancellationToken);
        }

        var result = AuditVerifier.Verify(copy);
        Assert.True(result.Verified, result.Finding?.Message);
        Assert.Equal([6L, 4, 2], AuditLog.Query(copy, new AuditQuery { Agent = "nurture-bot" }).Entries.Select(e => e.Seq));
        SqliteConnection.ClearAllPools();
    }
}
