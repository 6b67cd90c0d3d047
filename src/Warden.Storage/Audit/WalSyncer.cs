namespace Warden.Storage.Audit;

/// <summary>
/// Makes the trail's commits durable off the writer's path, and only then tells their callers.
/// The writer commits with synchronous = NORMAL (its frames reach the write-ahead log, not yet
/// the disk) and hands the acknowledgements here; this thread fsyncs the log and runs them. While
/// it waits for the disk, the writer already links, hashes and inserts the next batch, so a
/// commit's CPU and the previous commit's fsync overlap instead of adding up (PostgreSQL's WAL
/// writer does the same). One fsync covers every commit handed over before it started.
/// SQLite stays consistent on its own in this mode (its checkpoints sync the log before copying
/// it); what this adds is that nobody hears "written" before the bytes are on the disk.
/// </summary>
internal sealed class WalSyncer : IDisposable
{
    private readonly string _walPath;
    private readonly object _gate = new();
    private readonly Thread _thread;
    private List<Action<Exception?>> _waiting = [];
    private List<Action<Exception?>> _running = [];
    private FileStream? _wal;
    private bool _closing;
    private bool _syncing;
    private Exception? _failure;

    public WalSyncer(string databasePath)
    {
        _walPath = databasePath + "-wal";
        _thread = new Thread(Run) { IsBackground = true, Name = "warden audit fsync" };
        _thread.Start();
    }

    /// <summary>Set once an fsync failed: what was written since may not be on the disk, so the trail stops.</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>Runs <paramref name="acknowledge"/> once everything committed so far is on the disk (with null), or with the error when it could not be.</summary>
    public void After(Action<Exception?> acknowledge)
    {
        lock (_gate)
        {
            if (_failure is null && !_closing)
            {
                _waiting.Add(acknowledge);
                Monitor.Pulse(_gate);
                return;
            }
        }

        acknowledge(_failure ?? new ObjectDisposedException(nameof(WalSyncer)));
    }

    /// <summary>
    /// Like <see cref="After"/>, but when this thread is idle the caller (the writer, with nothing
    /// more queued) flushes the log itself and acknowledges: a lone append then wakes one thread
    /// fewer. The same flush, the same failure for good after an error; only the thread differs.
    /// </summary>
    public void SyncHere(Action<Exception?> acknowledge)
    {
        bool idle;
        lock (_gate)
        {
            idle = _failure is null && !_closing && !_syncing && _waiting.Count == 0;
            _syncing |= idle;
        }

        if (!idle)
        {
            // Busy, failed or closing: the usual way, which says which.
            After(acknowledge);
            return;
        }

        Exception? error;
        try
        {
            error = Flush();
        }
        finally
        {
            lock (_gate)
            {
                _syncing = false;
                // The fsync thread waits on this only with work handed to it or when closing; waking
                // it for nothing would put a context switch before the lone caller's acknowledgement.
                if (_waiting.Count > 0 || _closing)
                {
                    Monitor.Pulse(_gate);
                }
            }
        }

        acknowledge(error);
    }

    /// <summary>Syncs and acknowledges what is waiting, then stops.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _closing = true;
            Monitor.Pulse(_gate);
        }

        _thread.Join();
    }

    /// <summary>Closes the log file; after the database connection, which owns the log, has closed.</summary>
    public void CloseFile() => _wal?.Dispose();

    private void Run()
    {
        while (true)
        {
            lock (_gate)
            {
                // While the writer flushes in SyncHere, this waits: one flush at a time.
                while ((_waiting.Count == 0 || _syncing) && !_closing)
                {
                    Monitor.Wait(_gate);
                }

                while (_syncing)
                {
                    Monitor.Wait(_gate);
                }

                if (_waiting.Count == 0)
                {
                    return;
                }

                (_waiting, _running) = (_running, _waiting);
                _syncing = true;
            }

            Exception? error;
            try
            {
                error = Flush();
            }
            finally
            {
                lock (_gate)
                {
                    _syncing = false;
                }
            }

            foreach (var acknowledge in _running)
            {
                acknowledge(error);
            }

            _running.Clear();
        }
    }

    /// <summary>Flushes the log to the disk; the error, for good, when it cannot be (or could not be before).</summary>
    private Exception? Flush()
    {
        var error = Failure;
        try
        {
            if (error is not null)
            {
                throw error;
            }

            // Opened once the writer's first commit has created the log; kept open, since the
            // log file is reused, not replaced, while the writer's connection is open.
            _wal ??= new FileStream(_walPath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
            _wal.Flush(flushToDisk: true);
        }
        catch (Exception e) when (e != error)
        {
            // After a failed fsync the kernel may have dropped the pages it could not write:
            // retrying would report success for data that is gone. Nothing more is written.
            error = new AuditTrailException($"the audit trail's log {_walPath} could not be flushed to the disk ({e.Message.TrimEnd('.')}): entries may not be durable, so the trail stopped writing", e);
            lock (_gate)
            {
                _failure = error;
            }
        }
        catch (Exception)
        {
            // Failed before: everything after is failed too.
        }

        return error;
    }
}
