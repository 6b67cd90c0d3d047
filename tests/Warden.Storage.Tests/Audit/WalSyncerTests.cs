using Warden.Storage.Audit;

namespace Warden.Storage.Tests.Audit;

/// <summary>Callers hear back once the log is on the disk; a log that cannot be flushed stops the trail for good.</summary>
public sealed class WalSyncerTests : IDisposable
{
    private readonly TrailFixture _files = new();

    public void Dispose() => _files.Dispose();

    private static Exception? Acknowledged(WalSyncer syncer)
    {
        var told = new TaskCompletionSource<Exception?>();
        syncer.After(error => told.SetResult(error));
        Assert.True(told.Task.Wait(TimeSpan.FromSeconds(10)), "no acknowledgement");
        return told.Task.Result;
    }

    [Fact]
    public void Acknowledgements_come_after_the_log_is_flushed()
    {
        File.WriteAllBytes(_files.Path + "-wal", new byte[4096]);
        using var syncer = new WalSyncer(_files.Path);
        Assert.Null(Acknowledged(syncer));
        Assert.Null(Acknowledged(syncer));
        syncer.CloseFile();
    }

    [Fact]
    public void A_log_that_cannot_be_flushed_fails_the_callers_waiting_and_every_one_after()
    {
        using var syncer = new WalSyncer(_files.Path); // no log file: the flush fails
        var first = Acknowledged(syncer);
        Assert.IsType<AuditTrailException>(first);
        Assert.Contains("could not be flushed to the disk", first!.Message, StringComparison.Ordinal);
        Assert.Contains("the trail stopped writing", first.Message, StringComparison.Ordinal);
        Assert.Same(first, syncer.Failure);
        File.WriteAllBytes(_files.Path + "-wal", new byte[4096]);
        Assert.Same(first, Acknowledged(syncer)); // never "durable" again after a failed fsync
    }

    [Fact]
    public void A_flush_on_the_callers_thread_fails_for_good_as_the_fsync_thread_s_does()
    {
        // The writer flushes a lone commit itself: the same rule holds, no "durable" after a failed fsync.
        using var syncer = new WalSyncer(_files.Path); // no log file: the flush fails
        Exception? first = null;
        syncer.SyncHere(error => first = error);
        Assert.IsType<AuditTrailException>(first);
        Assert.Same(first, syncer.Failure);
        File.WriteAllBytes(_files.Path + "-wal", new byte[4096]);
        Exception? second = null;
        syncer.SyncHere(error => second = error);
        Assert.Same(first, second);
        Assert.Same(first, Acknowledged(syncer));
    }

    [Fact]
    public void A_flush_on_the_callers_thread_acknowledges_before_it_returns()
    {
        File.WriteAllBytes(_files.Path + "-wal", new byte[4096]);
        using var syncer = new WalSyncer(_files.Path);
        var told = false;
        syncer.SyncHere(error => told = error is null);
        Assert.True(told);
        Assert.Null(Acknowledged(syncer)); // and the fsync thread still answers after it
        syncer.CloseFile();
    }

    [Fact]
    public void Closing_acknowledges_what_was_waiting_and_refuses_what_comes_after()
    {
        File.WriteAllBytes(_files.Path + "-wal", new byte[4096]);
        var syncer = new WalSyncer(_files.Path);
        Exception? waiting = new InvalidOperationException("not told");
        syncer.After(error => waiting = error);
        syncer.Dispose();
        Assert.Null(waiting);
        Assert.IsType<ObjectDisposedException>(Acknowledged(syncer));
        syncer.CloseFile();
    }
}
