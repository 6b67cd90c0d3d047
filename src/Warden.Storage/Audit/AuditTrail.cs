using System.Data.Common;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Warden.Storage.Engines;
using Warden.Core.Audit;

namespace Warden.Storage.Audit;

/// <summary>
/// The audit trail in a SQLite file: entries hash-chained, checkpointed under an Ed25519 key,
/// durable (fsync'd) before <see cref="AppendAsync"/> returns. Appends from many callers share
/// commits: one writer takes whatever has queued since its last commit and commits it at once,
/// so a burst of callers pays for one fsync, not one each. Entries are never updated or deleted.
/// </summary>
public sealed class AuditTrail : IAsyncDisposable, IDisposable
{
    private const int MaxBatch = 4096;

    private readonly Channel<Pending> _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(65_536) { SingleReader = true });
    private readonly DbConnection _connection;
    private readonly FileStream? _writerLock;
    private readonly AuditKey _key;
    private readonly AuditTrailOptions _options;
    private readonly TimeProvider _clock;
    private readonly CompactRange _sinceCheckpoint = new();

    // The index of the entries since the last checkpoint: written with the next one.
    private readonly AuditIndexRun _unindexed = new();
    private readonly AuditEntryComposer _composer = new();
    private readonly Task _writer;
    private readonly WalSyncer? _syncer;

    // On PostgreSQL, replicas append to one chain: each commit takes this lock and reads what the
    // others appended (and checkpointed) since, in the same transaction, before it links its own.
    private readonly bool _shared;
    private const string ChainLock = "SELECT pg_advisory_xact_lock(hashtextextended('warden audit chain', 0))";
    private long _lastSeq;
    private string _lastHash;
    private DateTimeOffset _lastTime;
    private long _checkpointNumber;
    private string _checkpointHash;
    private DateTimeOffset _checkpointTime;
    private long _checkpointFailures;
    private int _disposed;

    private AuditTrail(StoreLocation location, FileStream? writerLock, DbConnection connection, string trailId, AuditKey key, AuditTrailOptions options, TimeProvider clock)
    {
        Location = location;
        Path = location.Shown;
        _shared = location.Engine == StoreEngine.Postgres;
        _writerLock = writerLock;
        _connection = connection;
        TrailId = trailId;
        _key = key;
        _options = options;
        _clock = clock;
        _lastHash = AuditText.Genesis(trailId);
        _checkpointHash = _lastHash;
        if (_shared)
        {
            // Its reads (head, last checkpoint, entries since) in one state of the chain: a checkpoint
            // another replica committed between them would leave covered entries counted as unsigned.
            using var reading = _connection.BeginTransaction();
            AuditStore.Scalar(_connection, ChainLock);
            LoadState();
            reading.Commit();
        }
        else
        {
            LoadState();
        }
        _checkpointTime = _clock.GetUtcNow();
        _syncer = _shared ? null : new WalSyncer(location.Connection);
        _writer = Task.Factory.StartNew(WriteLoop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>How many checkpoints in a row could not be written (0 when the last one was): the entries since are durable but unsigned.</summary>
    public long CheckpointFailures => Interlocked.Read(ref _checkpointFailures);

    /// <summary>Where the trail is, as messages show it: the SQLite file, or the PostgreSQL database without its password.</summary>
    public string Path { get; }

    /// <summary>Where the trail is: what queries and verify open.</summary>
    public StoreLocation Location { get; }

    /// <summary>The trail's identity: in every checkpoint and in the link of its first entry.</summary>
    public string TrailId { get; }

    /// <summary>The public key checkpoints are signed with (base64).</summary>
    public string PublicKey => _key.PublicKeyText;

    /// <summary>The sequence number of the newest entry (0 when empty).</summary>
    public long LastSeq => Interlocked.Read(ref _lastSeq);

    /// <summary>
    /// Opens the trail at <paramref name="location"/> (a SQLite file, or a PostgreSQL database that
    /// replicas share, whose key file every replica is given), creating it and its signing key when
    /// neither exists. The trail (with its -wal and -shm files), its key and a folder it creates are readable
    /// by their owner only, from the start; files an earlier version left looser are tightened. Checks the trail first (<see cref="AuditVerifier.CheckOnOpen"/>): a trail that does
    /// not verify is refused with <see cref="AuditTrailBrokenException"/>, unless
    /// <see cref="AuditTrailOptions.AcceptBrokenTrailBy"/> names who decided to go on; that
    /// decision is then the first entry written.
    /// </summary>
    /// <exception cref="AuditTrailException">The file or its key cannot be used; the message says why.</exception>
    public static AuditTrail Open(StoreLocation location, AuditTrailOptions? options = null, TimeProvider? clock = null) => OpenAt(location, options, clock);

    /// <summary>As <see cref="Open(StoreLocation, AuditTrailOptions?, TimeProvider?)"/>, the SQLite trail at <paramref name="path"/>.</summary>
    public static AuditTrail Open(string path, AuditTrailOptions? options = null, TimeProvider? clock = null) => OpenAt(StoreLocation.Sqlite(path), options, clock);

    private static AuditTrail OpenAt(StoreLocation location, AuditTrailOptions? options, TimeProvider? clock)
    {
        ArgumentNullException.ThrowIfNull(location);
        options ??= new AuditTrailOptions();
        options.Validate();
        clock ??= TimeProvider.System;
        var shared = location.Engine == StoreEngine.Postgres;
        var path = location.Shown;
        if (shared && options.KeyPath is null)
        {
            throw new AuditTrailException($"the audit trail in {path} needs its signing key's file (the same file on every replica): none was given");
        }

        var keyPath = options.KeyPath ?? location.Connection + ".key";
        var directory = shared ? null : System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(location.Connection));
        if (!string.IsNullOrEmpty(directory))
        {
            OwnerOnly.CreateFolder(directory);
        }

        // The key may be from an earlier version, created before it was kept to its owner.
        OwnerOnly.Tighten(keyPath);
        var existed = shared || File.Exists(location.Connection) && new FileInfo(location.Connection).Length > 0;
        // One writer per SQLite trail; on PostgreSQL, replicas share the chain under its lock.
        var writerLock = shared ? null : LockForWriting(location.Connection);
        DbConnection connection;
        try
        {
            connection = AuditStore.OpenWriter(location);
        }
        catch
        {
            writerLock?.Dispose();
            throw;
        }

        try
        {
            DbTransaction? identifying = null;
            if (shared)
            {
                // Replicas opening a new trail together: the first writes its identity, the others read it.
                identifying = connection.BeginTransaction();
                AuditStore.Scalar(connection, ChainLock);
            }

            var (trailId, publicKey) = AuditStore.ReadIdentity(connection, path);
            AuditKey key;
            if (trailId is null)
            {
                if (existed && AuditStore.HasEntries(connection))
                {
                    throw new AuditTrailException($"the audit trail {path} has entries but no identity (trail id and public key): it was not written by Warden, or was altered");
                }

                // A key without an identity row is a first open that died between the two writes:
                // finish it with that key rather than refuse the trail for ever.
                (trailId, key) = File.Exists(keyPath) ? AuditKeyFile.LoadOrphan(keyPath) : NewIdentity(keyPath);
                AuditStore.WriteIdentity(connection, trailId, key.PublicKeyText);
            }
            else
            {
                key = AuditKeyFile.Load(keyPath, trailId);
                if (key.PublicKeyText != publicKey)
                {
                    throw new AuditTrailException($"the signing key {keyPath} is not the key of the audit trail {path} (its public key is {key.KeyId}, the trail's {AuditKey.IdOf(publicKey!)})");
                }
            }

            identifying?.Commit();
            identifying?.Dispose();
            var finding = AuditVerifier.CheckOnOpen(connection);
            if (finding is not null && options.AcceptBrokenTrailBy is null)
            {
                throw new AuditTrailBrokenException(path, finding);
            }

            var trail = new AuditTrail(location, writerLock, connection, trailId, key, options, clock);
            if (finding is not null)
            {
                trail.AppendAsync(new AuditEntry
                {
                    Kind = AuditKinds.TrailAccepted,
                    Person = options.AcceptBrokenTrailBy,
                    Detail = $"started on a trail that does not verify: {finding.Message}",
                    Outcome = "ok",
                }).AsTask().GetAwaiter().GetResult();
            }

            return trail;
        }
        catch
        {
            connection.Dispose();
            writerLock?.Dispose();
            throw;
        }
    }

    private static (string TrailId, AuditKey Key) NewIdentity(string keyPath)
    {
        var trailId = Guid.NewGuid().ToString("N");
        return (trailId, AuditKeyFile.Create(keyPath, trailId));
    }

    /// <summary>
    /// One writer per trail: two would hand out the same sequence numbers and fork the chain. An
    /// exclusive lock on a file beside the trail, which the operating system releases if the
    /// process dies, so a crash never leaves the trail locked.
    /// </summary>
    private static FileStream LockForWriting(string path)
    {
        try
        {
            var writerLock = new FileStream(path + ".lock", OwnerOnly.Create(FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            OwnerOnly.Tighten(path + ".lock");
            return writerLock;
        }
        catch (IOException e)
        {
            throw new AuditTrailException($"the audit trail {path} is open for writing elsewhere (another gateway or command holds {path}.lock); a trail has one writer", e);
        }
    }

    /// <summary>
    /// Appends an entry and returns once it is on disk (fsync'd), with its sequence number and
    /// hash. Serialising happens on the caller's thread; the shared writer only links, hashes and
    /// inserts.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The trail is closed.</exception>
    public ValueTask<AppendedEntry> AppendAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (string.IsNullOrWhiteSpace(entry.Kind))
        {
            throw new ArgumentException("an audit entry needs a kind", nameof(entry));
        }

        var pending = new Pending(entry, AuditText.BodyUtf8(entry));
        return Enqueue(pending, cancellationToken);
    }

    /// <summary>
    /// Moves the entries not yet archived, through checkpoint <paramref name="throughCheckpoint"/>,
    /// into <paramref name="file"/> (see <see cref="AuditArchive"/>), on the word of the person
    /// <paramref name="by"/>. The file is written (readable by its owner only), fsync'd and verified
    /// first; then one transaction removes the entries, moves the store's archive marker, records
    /// the archive in the store and appends the entry that says the same (range, SHA-256 of the
    /// file, its full path, who and why), so a crash leaves either all of it or none. Runs on the
    /// writer: appends wait meanwhile.
    /// </summary>
    /// <returns>What the trail now records of the archive.</returns>
    /// <exception cref="ArgumentException">No file, or no person named.</exception>
    /// <exception cref="AuditTrailException">No such checkpoint, already archived, the file exists, or the written file did not verify (then nothing moved).</exception>
    public async Task<ArchiveRecord> ArchiveAsync(long throughCheckpoint, string file, string by, string? reason = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(file);
        if (string.IsNullOrWhiteSpace(by))
        {
            throw new ArgumentException("an archive names the person who makes it", nameof(by));
        }

        reason = string.IsNullOrWhiteSpace(reason) ? null : reason;
        var pending = new Pending(null, null)
        {
            Work = () =>
            {
                var written = AuditArchive.Write(_connection, TrailId, PublicKey, throughCheckpoint, file);
                ArchiveRecord? archived = null;
                var entry = new Pending(new AuditEntry
                {
                    Kind = AuditKinds.Archive,
                    Person = by,
                    Reason = reason,
                    ArchivedFrom = written.FirstSeq,
                    ArchivedThrough = written.LastSeq,
                    ArchiveFile = written.File,
                    ArchiveSha256 = written.Sha256,
                    Detail = $"entries {written.FirstSeq}–{written.LastSeq} moved to {written.File} (sha256 {written.Sha256})",
                    Outcome = "ok",
                }, null);
                Commit([entry], (transaction, seq, time) =>
                {
                    archived = new ArchiveRecord(written.FirstSeq, written.LastSeq, written.Sha256, written.File, by, time, seq) { Reason = reason };
                    AuditArchive.Remove(_connection, transaction, archived, written.Head);
                });
                if (entry.Done.Task.IsFaulted)
                {
                    throw new AuditTrailException($"{written.File} was written but nothing left the store: {entry.Done.Task.Exception!.InnerException!.Message}");
                }

                return archived!;
            },
        };
        await Enqueue(pending, cancellationToken).ConfigureAwait(false);
        return pending.WorkResult as ArchiveRecord ?? throw pending.WorkError!;
    }

    /// <summary>
    /// Records that the person <paramref name="by"/> destroyed the archive <paramref name="file"/>
    /// (its path as recorded, or where it is now), for <paramref name="reason"/> (a retention
    /// period that ended, say), and then deletes the file. The decision is an entry of the trail
    /// and a note in the store, written in one transaction and on the disk before the file goes,
    /// so verify reports those entries as destroyed on the record instead of missing. A file that
    /// is not there is declared destroyed all the same (it was lost); a file whose bytes are not
    /// the archive's is refused. Archives are destroyed oldest first, so what is gone is always
    /// the start of the trail.
    /// </summary>
    /// <returns>What the trail now records of the archive, with its destruction.</returns>
    /// <exception cref="ArgumentException">No file, person or reason given.</exception>
    /// <exception cref="AuditTrailException">No such archive, destroyed already, an older one is kept, the file is not the archive, or it could not be deleted (then the destruction is recorded, and the message says so).</exception>
    public async Task<ArchiveRecord> DestroyArchiveAsync(string file, string by, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(file);
        if (string.IsNullOrWhiteSpace(by))
        {
            throw new ArgumentException("destroying an archive names the person who decides it", nameof(by));
        }

        if (string.IsNullOrWhiteSpace(reason))
        {
            throw new ArgumentException("destroying an archive says why", nameof(reason));
        }

        var at = System.IO.Path.GetFullPath(file);
        string? delete = null;
        var pending = new Pending(null, null)
        {
            Work = () =>
            {
                var records = AuditStore.ArchiveRecords(_connection);
                var header = AuditArchive.ReadHeader(at);
                var record = records.FirstOrDefault(r => header is null ? r.File == at : r.FirstSeq == header.FirstSeq && r.LastSeq == header.LastSeq && header.Trail == TrailId);
                if (record is null)
                {
                    var known = records.Count == 0 ? "it records none" : "it records " + string.Join("; ", records.Select(r => $"entries {r.FirstSeq}–{r.LastSeq} at {r.File}"));
                    throw new AuditTrailException(header is null && !File.Exists(at)
                        ? $"the trail records no archive written to {at} ({known}); nothing was destroyed"
                        : $"{at} is not an archive the trail records ({known}); nothing was destroyed");
                }

                if (record.Destroyed is { } done)
                {
                    throw new AuditTrailException($"the archive of entries {record.FirstSeq}–{record.LastSeq} was destroyed already, by {done.By} at {done.Time} (entry {done.Entry})");
                }

                if (records.First(r => r.Destroyed is null) is var oldest && oldest != record)
                {
                    throw new AuditTrailException($"archives are destroyed oldest first, and the archive of entries {oldest.FirstSeq}–{oldest.LastSeq} is kept; nothing was destroyed");
                }

                var digest = AuditArchive.Digest(at);
                if (digest is not null && digest != record.Sha256)
                {
                    throw new AuditTrailException($"{at} is not the archive of {record.Describe()}: its SHA-256 is {digest}, the trail recorded {record.Sha256}; nothing was destroyed");
                }

        ArchiveDestruction? destruction = null;
                var entry = new Pending(new AuditEntry
                {
                    Kind = AuditKinds.ArchiveDestroyed,
                    Person = by,
                    Reason = reason,
                    ArchivedFrom = record.FirstSeq,
                    ArchivedThrough = record.LastSeq,
                    ArchiveFile = record.File,
                    ArchiveSha256 = record.Sha256,
                    Detail = digest is null
                        ? $"the archive of entries {record.FirstSeq}–{record.LastSeq} (sha256 {record.Sha256}) was not at {at}: declared destroyed"
                        : $"the archive of entries {record.FirstSeq}–{record.LastSeq} at {at} (sha256 {record.Sha256}) destroyed",
                    Outcome = "ok",
                }, null);
                Commit([entry], (transaction, seq, time) =>
                {
                    destruction = new ArchiveDestruction(by, reason, time, seq);
                    AuditStore.RecordDestruction(_connection, transaction, record.FirstSeq, destruction);
                });
                if (entry.Done.Task.IsFaulted)
                {
                    throw new AuditTrailException($"the destruction could not be recorded, so nothing was destroyed: {entry.Done.Task.Exception!.InnerException!.Message}");
                }

                delete = digest is null ? null : at;
                return record with { Destroyed = destruction };
            },
        };

        // Returns once the entry is on the disk: only then may the file go.
        await Enqueue(pending, cancellationToken).ConfigureAwait(false);
        var destroyed = pending.WorkResult as ArchiveRecord ?? throw pending.WorkError!;
        if (delete is not null)
        {
            try
            {
                File.Delete(delete);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new AuditTrailException($"the destruction of the archive of entries {destroyed.FirstSeq}–{destroyed.LastSeq} is recorded (entry {destroyed.Destroyed!.Entry}), but {delete} could not be deleted ({e.Message.TrimEnd('.')}): delete it yourself", e);
            }
        }

        return destroyed;
    }

    /// <summary>Signs a checkpoint over the entries since the last one now, instead of waiting for the next one due; null when there are none.</summary>
    public async Task<Checkpoint?> CheckpointAsync(CancellationToken cancellationToken = default)
    {
        var pending = new Pending(null, null);
        await Enqueue(pending, cancellationToken).ConfigureAwait(false);
        return pending.Checkpoint;
    }

    private async ValueTask<AppendedEntry> Enqueue(Pending pending, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        try
        {
            if (!_queue.Writer.TryWrite(pending))
            {
                // Full (or closed, which throws): wait for room.
                await _queue.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (ChannelClosedException e)
        {
            throw e.InnerException as AuditTrailException ?? (Exception)new ObjectDisposedException(nameof(AuditTrail));
        }

        WakeWriter();
        return await pending.Done.Task.ConfigureAwait(false);
    }

    private void WriteLoop()
    {
        try
        {
            WriteAll();
        }
        catch (Exception e)
        {
            // A bug or a dead disk: nothing more can be written. Everyone waiting hears so, and
            // later appends are refused instead of hanging.
            var error = new AuditTrailException($"the audit trail {Path} stopped writing: {e.Message}", e);
            _queue.Writer.TryComplete(error);
            while (_queue.Reader.TryRead(out var pending))
            {
                pending.Done.TrySetException(error);
            }

            foreach (var pending in _inFlight)
            {
                pending.Done.TrySetException(error);
            }
        }
    }

    private List<Pending> _inFlight = [];
    private AuditEntryInsert? _insertEntry;

    // The writer sleeps on _wake when nothing is queued, and an append wakes it itself. (Waiting on
    // the channel instead, its waiter is completed through a thread-pool item first, and only that
    // item wakes the writer: one more hand-off on a lone call's path.) _sleeping is 1 while the
    // writer may be asleep; whoever sets it back to 0 wakes it. The event is never disposed: a
    // timer's or a late append's Set may come after the trail has closed.
    private readonly ManualResetEventSlim _wake = new(initialState: false);
    private int _sleeping;

    // The clock's timer that wakes the idle writer when the entries since the last checkpoint are
    // due one, and the checkpoint it was set after; _timerRang once it has fired.
    private ITimer? _checkpointTimer;
    private DateTimeOffset _timerSetFor;
    private volatile bool _timerRang;

    private void WakeWriter()
    {
        if (Interlocked.CompareExchange(ref _sleeping, 0, 1) != 1)
        {
            return;
        }

        if (ThreadPool.PendingWorkItemCount == 0)
        {
            _wake.Set(); // a lone append: at once
        }
        else
        {
            // Under load the wake waits its turn behind the work already queued (other callers on
            // their way to append): the writer then takes them in the same commit and fsync.
            ThreadPool.UnsafeQueueUserWorkItem(static wake => wake.Set(), _wake, preferLocal: false);
        }
    }

    /// <summary>
    /// The writer's loop, on its own thread: it blocks while there is nothing to write instead of
    /// awaiting, so that it never queues behind the callers' continuations on the thread pool.
    /// </summary>
    private void WriteAll()
    {
        var batch = new List<Pending>(MaxBatch);
        _inFlight = batch;
        var reader = _queue.Reader;
        try
        {
            while (true)
            {
                if (!reader.TryPeek(out _))
                {
                    // Reset before the checkpoint's timer is looked at or set: a timer that rings
                    // from here on wakes the wait below instead of being wiped out.
                    _wake.Reset();
                    if (_sinceCheckpoint.Size > 0 && CheckpointDue())
                    {
                        WriteCheckpoint();
                        continue;
                    }

                    Interlocked.Exchange(ref _sleeping, 1);
                    // Checked again after saying so: an append that came before it is seen here, and one after it wakes the writer.
                    if (!reader.TryPeek(out _) && !reader.Completion.IsCompleted)
                    {
                        _wake.Wait();
                    }

                    Interlocked.Exchange(ref _sleeping, 0);
                    if (!reader.TryPeek(out _))
                    {
                        if (reader.Completion.IsCompleted)
                        {
                            break;
                        }

                        continue; // the checkpoint's timer
                    }
                }

                if (_syncer?.Failure is { } failure)
                {
                    throw failure;
                }

                batch.Clear();
                while (batch.Count < MaxBatch && reader.TryRead(out var item))
                {
                    batch.Add(item);
                }

                Commit(batch);
            }

            if (_sinceCheckpoint.Size > 0)
            {
                WriteCheckpoint();
            }
        }
        finally
        {
            _checkpointTimer?.Dispose();
        }
    }

    /// <summary>
    /// Whether the entries since the last checkpoint are due one by now; if not, the clock's timer
    /// is set (once per checkpoint) to wake the idle writer when they are.
    /// </summary>
    private bool CheckpointDue()
    {
        var due = _checkpointTime + _options.CheckpointInterval - _clock.GetUtcNow();
        if (due <= TimeSpan.Zero)
        {
            return true;
        }

        if (_checkpointTimer is null || _timerSetFor != _checkpointTime || _timerRang)
        {
            // A timer may ring a little early by this clock: it is set again for what is left.
            _checkpointTimer?.Dispose();
            _timerRang = false;
            _timerSetFor = _checkpointTime;
            _checkpointTimer = _clock.CreateTimer(_ =>
            {
                _timerRang = true;
                _wake.Set();
            }, null, due, Timeout.InfiniteTimeSpan);
        }

        return false;
    }

    /// <param name="batch">What to write; items that are not entries (checkpoint requests, work) are handled after the commit.</param>
    /// <param name="inside">More writing that must commit or fail with these entries (an archive's removal), given the first entry's seq and time.</param>
    private void Commit(List<Pending> batch, Action<DbTransaction, long, string>? inside = null)
    {
        var results = new List<(Pending Pending, AppendedEntry Result, byte[] Leaf)>(batch.Count);
        long seq;
        string hash;
        DateTimeOffset time;
        try
        {
            using var transaction = BeginOnChain();
            seq = _lastSeq;
            hash = _lastHash;
            time = _clock.GetUtcNow();
            if (time < _lastTime)
            {
                time = _lastTime; // sequence numbers follow time, even if the clock steps back (or another replica's runs ahead)
            }

            var timeText = AuditText.Time(time);
            inside?.Invoke(transaction, seq + 1, timeText);
            // Prepared once and reused: compiling the statement per commit cost more than the inserts.
            var insert = _insertEntry ??= AuditEntryInsert.For(_connection);
            foreach (var pending in batch)
            {
                if (pending.Entry is null)
                {
                    continue;
                }

                seq++;
                _composer.Compose(pending.Body!, hash, seq, timeText);
                var leaf = _composer.Hash();
                hash = Convert.ToHexStringLower(leaf);
                insert.Insert(seq, timeText, pending.Entry.RollbackOf, _composer.Text, hash);
                results.Add((pending, new AppendedEntry(seq, hash), leaf));
            }

            transaction.Commit();
        }
        catch (Exception e)
        {
            // Nothing of the batch is on disk: every caller in it hears so, and the chain goes on
            // from the last committed entry.
            foreach (var pending in batch)
            {
                pending.Done.TrySetException(new AuditTrailException($"the audit entry could not be written to {Path}: {e.Message}", e));
            }

            return;
        }

        _lastHash = hash;
        _lastTime = time;
        Interlocked.Exchange(ref _lastSeq, seq);
        foreach (var (pending, result, leaf) in results)
        {
            _sinceCheckpoint.Append(leaf);
            _unindexed.Add(pending.Entry!, result.Seq);
        }

        var wantsCheckpoint = batch.Any(p => p.Entry is null && p.Work is null);
        if (_sinceCheckpoint.Size >= _options.CheckpointEvery || (wantsCheckpoint && _sinceCheckpoint.Size > 0))
        {
            var checkpoint = WriteCheckpoint();
            foreach (var pending in batch.Where(p => p.Entry is null && p.Work is null))
            {
                pending.Checkpoint = checkpoint;
            }
        }

        foreach (var pending in batch.Where(p => p.Work is not null))
        {
            try
            {
                pending.WorkResult = pending.Work!();
            }
            catch (Exception e)
            {
                // Whatever went wrong belongs to the one who asked; the writer goes on.
                pending.WorkError = e is AuditTrailException ? e : new AuditTrailException($"{e.Message.TrimEnd('.')} ({e.GetType().Name})", e);
            }
        }

        // Callers hear back once the commit is on the disk; meanwhile the writer goes on.
        var requests = batch.Where(p => p.Entry is null).ToList();
        void Acknowledge(Exception? error)
        {
            foreach (var (pending, result, _) in results)
            {
                Tell(pending, result, error);
            }

            foreach (var pending in requests)
            {
                Tell(pending, default, error);
            }
        }

        // Nothing more to write: no next batch to overlap with the flush, so the writer flushes
        // itself rather than wake the fsync thread for it (a lone call's hand-off). With more
        // queued, the fsync thread flushes while the writer goes on.
        if (_syncer is null)
        {
            Acknowledge(null); // PostgreSQL: durable when the commit returned
        }
        else if (_queue.Reader.TryPeek(out _))
        {
            _syncer.After(Acknowledge);
        }
        else
        {
            _syncer.SyncHere(Acknowledge);
        }
    }

    private static void Tell(Pending pending, AppendedEntry result, Exception? error)
    {
        if (error is null)
        {
            pending.Done.TrySetResult(result);
        }
        else
        {
            pending.Done.TrySetException(error);
        }
    }

    private Checkpoint? WriteCheckpoint()
    {
        var (number, first) = (_checkpointNumber + 1, _lastSeq - _sinceCheckpoint.Size + 1);
        Checkpoint checkpoint;
        try
        {
            // The checkpoint and the index run of the entries it covers commit together.
            using var transaction = BeginOnChain();
            if (_shared)
            {
                // Another replica may have appended, or checkpointed, since: sign what the chain is now.
                if (_sinceCheckpoint.Size == 0)
                {
                    _checkpointTime = _clock.GetUtcNow();
                    return null;
                }

                (number, first) = (_checkpointNumber + 1, _lastSeq - _sinceCheckpoint.Size + 1);
            }

            checkpoint = Checkpoint.Sign(_key, TrailId, number, first, _lastSeq, _lastHash, Convert.ToHexStringLower(_sinceCheckpoint.Root()), _checkpointHash, _lastTime);
            AuditStore.InsertCheckpoint(_connection, transaction, checkpoint);
            _unindexed.Write(_connection, transaction, checkpoint.Number);
            transaction.Commit();
        }
        catch (Exception e)
        {
            // The entries are committed and their callers are told so; the checkpoint (signing and
            // storing it) is tried again when the next one is due. Said every time: unsigned
            // entries pile up meanwhile.
            _checkpointTime = _clock.GetUtcNow();
            var failures = Interlocked.Increment(ref _checkpointFailures);
            _options.Survived?.Invoke(
                $"checkpoint {number} of the audit trail {Path} (entries {first}–{_lastSeq}) could not be signed and written: {e.Message.TrimEnd('.')}; "
                + $"{failures} in a row; the entries are durable but not yet signed, and the checkpoint is tried again when the next is due", e);
            return null;
        }

        Interlocked.Exchange(ref _checkpointFailures, 0);

        _checkpointNumber = checkpoint.Number;
        _checkpointHash = checkpoint.Hash();
        _checkpointTime = _clock.GetUtcNow();
        _sinceCheckpoint.Clear();
        _unindexed.Clear();
        return checkpoint;
    }

    /// <summary>
    /// On PostgreSQL, a connection cut under the trail (a server restart, a failover, an
    /// administrator) is opened again before the next write: the write that found it cut failed and
    /// its callers heard so; the chain's lock and <see cref="CatchUp"/> then put this replica back
    /// at the chain's head. Without this, one cut connection stopped the replica's trail for good.
    /// </summary>
    /// <summary>
    /// The transaction every write runs in: on PostgreSQL, on a live connection, holding the chain's
    /// lock, with what other replicas committed since taken in.
    /// </summary>
    private DbTransaction BeginOnChain()
    {
        Reconnect();
        var transaction = _connection.BeginTransaction();
        try
        {
            if (_shared)
            {
                AuditStore.Scalar(_connection, ChainLock);
                CatchUp();
            }

            return transaction;
        }
        catch
        {
            transaction.Dispose();
            throw;
        }
    }

    private void Reconnect()
    {
        if (_shared && _connection.State != System.Data.ConnectionState.Open)
        {
            _connection.Close();
            _connection.Open();
        }
    }

    private void LoadState()
    {
        var (archivedThrough, archivedHead) = AuditStore.Archived(_connection);
        if (archivedHead is not null)
        {
            _lastSeq = archivedThrough;
            _lastHash = archivedHead;
        }

        if (AuditStore.LastEntry(_connection) is { } last)
        {
            _lastSeq = last.Seq;
            _lastHash = last.Hash;
            // A trail opened on a person's word may hold garbage here; the clock then starts from now.
            _lastTime = DateTimeOffset.TryParse(last.Time, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var time)
                ? time
                : _clock.GetUtcNow();
        }

        var lastCovered = archivedThrough;
        if (AuditStore.LastCheckpoint(_connection) is { } stored)
        {
            // Numbered after the highest stored, even if that one is unreadable (a trail accepted
            // broken): a number taken twice would make every later checkpoint fail to store.
            _checkpointNumber = stored.Number;
            if (stored.Checkpoint is { } checkpoint)
            {
                _checkpointHash = checkpoint.Hash();
                lastCovered = Math.Max(lastCovered, checkpoint.LastSeq);
            }
            else
            {
                _checkpointHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(stored.Text)));
                lastCovered = Math.Max(lastCovered, stored.LastSeq);
            }
        }

        foreach (var (seq, text, hash) in AuditStore.EntriesAfter(_connection, lastCovered))
        {
            Absorb(seq, text, hash);
        }
    }

    /// <summary>An entry committed since the last checkpoint: its leaf and its index keys wait for the next one.</summary>
    private void Absorb(long seq, string text, string hash)
    {
        _sinceCheckpoint.Append(Convert.FromHexString(hash));
        try
        {
            using var document = JsonDocument.Parse(text);
            _unindexed.Add(document.RootElement.GetProperty("body"), seq);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            // Only in a trail a person accepted broken; verify names that entry.
        }
    }

    /// <summary>
    /// On PostgreSQL, under the chain's lock: takes in what other replicas committed since this one
    /// last wrote (their entries, and a checkpoint one of them signed), so that the next entry links
    /// to the chain's real head and the next checkpoint follows the last one signed.
    /// </summary>
    private void CatchUp()
    {
        if (AuditStore.LastCheckpoint(_connection) is { } stored && stored.Number > _checkpointNumber)
        {
            _checkpointNumber = stored.Number;
            _checkpointHash = stored.Checkpoint is { } signed
                ? signed.Hash()
                : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(stored.Text)));
            _checkpointTime = _clock.GetUtcNow();
            _sinceCheckpoint.Clear();
            _unindexed.Clear();
            foreach (var (seq, text, hash) in AuditStore.EntriesAfter(_connection, stored.Checkpoint?.LastSeq ?? stored.LastSeq))
            {
                Absorb(seq, text, hash);
            }
        }
        else if (AuditStore.LastEntry(_connection) is { } newest && newest.Seq > _lastSeq)
        {
            foreach (var (seq, text, hash) in AuditStore.EntriesAfter(_connection, _lastSeq))
            {
                Absorb(seq, text, hash);
            }
        }
        else
        {
            return;
        }

        if (AuditStore.LastEntry(_connection) is { } last)
        {
            Interlocked.Exchange(ref _lastSeq, last.Seq);
            _lastHash = last.Hash;
            if (DateTimeOffset.TryParse(last.Time, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var time) && time > _lastTime)
            {
                _lastTime = time;
            }
        }
    }

    /// <summary>Waits for queued appends to be written, writes a checkpoint over the last ones, and closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _queue.Writer.TryComplete();
        _wake.Set();
        try
        {
            await _writer.ConfigureAwait(false);
        }
        finally
        {
            _syncer?.Dispose();
            _insertEntry?.Dispose();
            _connection.Dispose();
            _syncer?.CloseFile();
            if (_writerLock is not null)
            {
                await _writerLock.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private sealed class Pending(AuditEntry? entry, byte[]? body)
    {
        public AuditEntry? Entry { get; } = entry;

        /// <summary>The entry's canonical body as UTF-8, serialised on the caller's thread.</summary>
        public byte[]? Body { get; } = body ?? (entry is null ? null : AuditText.BodyUtf8(entry));

        /// <summary>Something to run on the writer after the batch commits (an archive); its result or error is kept here.</summary>
        public Func<object>? Work { get; init; }

        public object? WorkResult { get; set; }

        public Exception? WorkError { get; set; }

        public Checkpoint? Checkpoint { get; set; }

        public TaskCompletionSource<AppendedEntry> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>An entry once it is on disk: its place in the trail and its hash.</summary>
public readonly record struct AppendedEntry(long Seq, string Hash);

/// <summary>How the trail checkpoints and where its key is.</summary>
public sealed class AuditTrailOptions
{
    /// <summary>A checkpoint after this many entries (default 10,000).</summary>
    public int CheckpointEvery { get; init; } = 10_000;

    /// <summary>And at least this often while entries come in (default one minute).</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The signing key's file; by default the trail's path with ".key" added.</summary>
    public string? KeyPath { get; init; }

    /// <summary>
    /// Who decided to open a trail that does not verify. Null (the default) refuses such a trail;
    /// a name opens it and records that person's decision in the trail.
    /// </summary>
    public string? AcceptBrokenTrailBy { get; init; }

    /// <summary>
    /// Hears what the trail survived without failing a caller (a checkpoint that could not be
    /// written, tried again when the next is due): a sentence and the error. The gateway logs it.
    /// </summary>
    public Action<string, Exception>? Survived { get; init; }

    internal void Validate()
    {
        var errors = new List<string>();
        if (CheckpointEvery < 1)
        {
            errors.Add($"CheckpointEvery must be at least 1 (was {CheckpointEvery})");
        }

        if (CheckpointInterval <= TimeSpan.Zero)
        {
            errors.Add($"CheckpointInterval must be positive (was {CheckpointInterval})");
        }

        if (AcceptBrokenTrailBy is { } who && string.IsNullOrWhiteSpace(who))
        {
            errors.Add("AcceptBrokenTrailBy must name a person");
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("invalid audit trail options: " + string.Join("; ", errors));
        }
    }
}

/// <summary>The trail cannot be used: an unreadable file, a missing or foreign key. The message says which.</summary>
public class AuditTrailException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The trail does not verify; the finding says where it breaks.</summary>
public sealed class AuditTrailBrokenException(string path, AuditFinding finding)
    : AuditTrailException($"the audit trail {path} does not verify: {finding.Message}. Start anyway only if you know why, and it will be recorded.")
{
    public AuditFinding Finding { get; } = finding;
}
