using Warden.Core.Audit;
using Warden.Storage.Audit;

namespace Warden.Storage.Tests.Audit;

/// <summary>Appending: numbered, linked, durable before the caller hears back, checkpointed.</summary>
public sealed class AppendTests : IDisposable
{
    private readonly TrailFixture _trail = new();

    public void Dispose() => _trail.Dispose();

    [Fact]
    public async Task Entries_are_numbered_in_order_and_each_links_to_the_one_before()
    {
        await using var trail = _trail.Open();
        var first = await trail.AppendAsync(TrailFixture.Call(1), TestContext.Current.CancellationToken);
        var second = await trail.AppendAsync(TrailFixture.Call(2), TestContext.Current.CancellationToken);
        Assert.Equal(1, first.Seq);
        Assert.Equal(2, second.Seq);
        var text = (string)_trail.Scalar("SELECT entry FROM audit_entries WHERE seq = 2")!;
        Assert.True(AuditText.TryReadFrame(text, out var frame));
        Assert.Equal(first.Hash, frame.Prev);
        Assert.Equal(second.Hash, AuditText.Hash(text));
    }

    [Fact]
    public void A_fresh_trail_verifies()
    {
        _trail.Fill(25);
        var result = AuditVerifier.Verify(_trail.Path);
        Assert.Null(result.Finding);
        Assert.Equal(25, result.Entries);
        Assert.Equal(3, result.Checkpoints);
    }

    [Fact]
    public async Task Concurrent_appends_share_commits_and_all_land_in_one_chain()
    {
        await using (var trail = _trail.Open(new AuditTrailOptions { CheckpointEvery = 100 }))
        {
            var appends = Enumerable.Range(1, 500).Select(i => Task.Run(() => trail.AppendAsync(TrailFixture.Call(i)).AsTask())).ToArray();
            var results = await Task.WhenAll(appends);
            Assert.Equal(Enumerable.Range(1, 500).Select(i => (long)i), results.Select(r => r.Seq).Order());
        }

        var verified = AuditVerifier.Verify(_trail.Path);
        Assert.Null(verified.Finding);
        Assert.Equal(500, verified.Entries);
    }

    [Fact]
    public async Task Lone_appends_from_several_threads_form_one_chain_with_its_checkpoints()
    {
        await using (var trail = _trail.Open(new AuditTrailOptions { CheckpointEvery = 7 }))
        {
            // Sequences of lone appends on several threads: some meet an idle writer, some queue behind another.
            await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
            {
                for (var i = 1; i <= 40; i++)
                {
                    await trail.AppendAsync(TrailFixture.Call((t * 100) + i));
                }
            })));
        }

        var verified = AuditVerifier.Verify(_trail.Path);
        Assert.Null(verified.Finding);
        Assert.Equal(320, verified.Entries);
        Assert.InRange(verified.Checkpoints, 2, 46); // a checkpoint every 7 entries or more: a batch may pass the mark
    }

    [Fact]
    public async Task An_append_that_finds_the_writer_asleep_wakes_it_whether_the_pool_is_idle_or_busy()
    {
        // Each append here is alone, so the writer has gone to sleep before most of them: a wake
        // lost in the race with its going to sleep would leave the append waiting for good. Every
        // other one is made while the thread pool has work queued, when the wake waits its turn there.
        const int appends = 600;
        await using (var trail = _trail.Open(new AuditTrailOptions { CheckpointEvery = 50 }))
        {
            for (var i = 1; i <= appends; i++)
            {
                if (i % 2 == 0)
                {
                    for (var w = 0; w < 4; w++)
                    {
                        ThreadPool.UnsafeQueueUserWorkItem(static _ => Thread.SpinWait(2_000), null);
                    }
                }

                var appended = await trail.AppendAsync(TrailFixture.Call(i), TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
                Assert.Equal(i, appended.Seq);
            }
        }

        var verified = AuditVerifier.Verify(_trail.Path);
        Assert.Null(verified.Finding);
        Assert.Equal(appends, verified.Entries);
    }

    [Fact]
    public async Task A_checkpoint_that_cannot_be_written_is_reported_every_time_and_the_entries_stay_durable()
    {
        var survived = new System.Collections.Concurrent.ConcurrentQueue<(string What, Exception Error)>();
        await using var trail = _trail.Open(new AuditTrailOptions { CheckpointEvery = 2, Survived = (what, error) => survived.Enqueue((what, error)) });
        // Something outside Warden stops checkpoints from being stored (a full disk would do the same).
        _trail.Tamper("CREATE TRIGGER no_checkpoints BEFORE INSERT ON audit_checkpoints BEGIN SELECT RAISE(ABORT, 'the disk is full'); END");

        for (var i = 1; i <= 6; i++)
        {
            await trail.AppendAsync(TrailFixture.Call(i), TestContext.Current.CancellationToken);
        }

        Assert.Equal(6L, _trail.Scalar("SELECT count(*) FROM audit_entries"));
        Assert.True(survived.Count >= 2, $"{survived.Count} reports");
        Assert.All(survived, s => Assert.Contains("could not be signed and written", s.What, StringComparison.Ordinal));
        Assert.All(survived, s => Assert.Contains("the disk is full", s.What, StringComparison.Ordinal));
        Assert.Contains("in a row", survived.Last().What, StringComparison.Ordinal);
        Assert.True(trail.CheckpointFailures >= 2);
    }
}
