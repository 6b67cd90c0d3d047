using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Warden.Core.Audit;
using Warden.Storage.Audit;

namespace Warden.Benchmarks;

/// <summary>
/// The audit trail on this machine's disk: the disk's own fsync latency first, since every
/// acknowledged append waits for one; then throughput with 64 concurrent writers, one caller
/// appending alone, and a full verify of a trail of millions of entries (built once through the
/// real trail and cached in /tmp). Every figure is printed beside the fsync latency.
/// </summary>
internal static class AuditProbe
{
    private const int Writers = 64;
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    public static int Run(string[] args)
    {
        var verifyEntries = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 10_000_000;
        var folder = Path.GetTempPath();
        Console.WriteLine($"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, files in {folder}");
        var entries = Entries(4_096, seed: 7);
        Console.WriteLine($"entries: {entries.Length:N0} distinct, body {entries.Average(e => AuditText.Body(e).Length):0} characters on average, of which arguments {entries.Average(e => e.Arguments!.Value.GetRawText().Length):0}");

        var (fsyncMedian, fsyncP99) = FsyncLatency(folder);
        Console.WriteLine($"a) disk: write 4 KB + fsync, 2,000 times: median {fsyncMedian:0.000} ms, p99 {fsyncP99:0.000} ms");

        Throughput(folder, entries, fsyncMedian);
        SingleCaller(folder, entries, fsyncMedian);
        Verify(folder, entries, verifyEntries, fsyncMedian);
        return 0;
    }

    /// <summary>What a commit costs the disk here: a 4 KB append and an fsync, as a WAL commit does.</summary>
    private static (double Median, double P99) FsyncLatency(string folder)
    {
        var path = Path.Combine(folder, $"warden-audit-bench-fsync-{Guid.NewGuid():N}.tmp");
        var block = new byte[4096];
        Random.Shared.NextBytes(block);
        var samples = new List<double>(2_000);
        try
        {
            using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
            for (var i = 0; i < 2_100; i++)
            {
                var start = Stopwatch.GetTimestamp();
                file.Write(block);
                file.Flush(flushToDisk: true);
                if (i >= 100)
                {
                    samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
            }
        }
        finally
        {
            File.Delete(path);
        }

        return (Percentile(samples, 0.5), Percentile(samples, 0.99));
    }

    /// <summary>64 callers appending as fast as they are acknowledged: 2 s warm-up, then 10 s counted.</summary>
    private static void Throughput(string folder, AuditEntry[] entries, double fsync)
    {
        var path = Path.Combine(folder, $"warden-audit-bench-{Guid.NewGuid():N}.db");
        try
        {
            var trail = AuditTrail.Open(path);
            var begin = Stopwatch.GetTimestamp();
            var from = begin + (long)(WarmUp.TotalSeconds * Stopwatch.Frequency);
            var to = from + (long)(Window.TotalSeconds * Stopwatch.Frequency);
            var latencies = new List<double>[Writers];
            var counted = new long[Writers];
            var allocated = 0L;
            var workers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
            {
                var mine = latencies[w] = new List<double>(200_000);
                for (var i = w; ; i += Writers)
                {
                    var start = Stopwatch.GetTimestamp();
                    if (start >= to)
                    {
                        break;
                    }

                    await trail.AppendAsync(entries[i % entries.Length]);
                    var end = Stopwatch.GetTimestamp();
                    if (start >= from && end < to)
                    {
                        mine.Add((end - start) * 1000.0 / Stopwatch.Frequency);
                    }

                    if (end >= from && end < to)
                    {
                        counted[w]++;
                    }
                }
            })).ToArray();

            // Allocation over the counted window only, read at its edges.
            Thread.Sleep(WarmUp);
            var allocatedFrom = GC.GetTotalAllocatedBytes();
            var seqFrom = trail.LastSeq;
            Thread.Sleep(Window);
            allocated = GC.GetTotalAllocatedBytes() - allocatedFrom;
            var seqTo = trail.LastSeq;
            Task.WaitAll(workers);
            trail.Dispose();

            var all = latencies.SelectMany(l => l).ToList();
            var appends = counted.Sum();
            Console.WriteLine($"b) {Writers} writers, {Window.TotalSeconds:0} s after {WarmUp.TotalSeconds:0} s warm-up: {appends / Window.TotalSeconds:N0} appends/s " +
                              $"({(seqTo - seqFrom) / Window.TotalSeconds:N0}/s by sequence number), latency median {Percentile(all, 0.5):0.00} ms, p99 {Percentile(all, 0.99):0.00} ms " +
                              $"(fsync median {fsync:0.000} ms); managed allocation {allocated / (double)Math.Max(1, seqTo - seqFrom):N0} B per append; file {new FileInfo(path).Length / 1048576.0:0} MB");
        }
        finally
        {
            Delete(path);
        }
    }

    /// <summary>One caller alone, each append awaited before the next: the latency of a quiet gateway.</summary>
    private static void SingleCaller(string folder, AuditEntry[] entries, double fsync)
    {
        var path = Path.Combine(folder, $"warden-audit-bench-{Guid.NewGuid():N}.db");
        try
        {
            using var trail = AuditTrail.Open(path);
            for (var i = 0; i < 200; i++)
            {
                trail.AppendAsync(entries[i % entries.Length]).AsTask().GetAwaiter().GetResult();
            }

            var samples = new List<double>(5_000);
            for (var i = 0; i < 5_000; i++)
            {
                var start = Stopwatch.GetTimestamp();
                trail.AppendAsync(entries[i % entries.Length]).AsTask().GetAwaiter().GetResult();
                samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }

            Console.WriteLine($"c) one caller, 5,000 appends in sequence: median {Percentile(samples, 0.5):0.000} ms, p99 {Percentile(samples, 0.99):0.000} ms, " +
                              $"max {samples.Max():0.0} ms (fsync median {fsync:0.000} ms, p99 from a); {5_000 / samples.Sum() * 1000:N0} appends/s");
        }
        finally
        {
            Delete(path);
        }
    }

    /// <summary>A full verify of a large trail, with the time it takes and the memory it holds.</summary>
    private static void Verify(string folder, AuditEntry[] entries, long count, double fsync)
    {
        var path = Path.Combine(folder, count == 10_000_000 ? "warden-audit-bench-10m.db" : $"warden-audit-bench-{count}.db");
        Build(path, entries, count);
        var size = new FileInfo(path).Length + (File.Exists(path + "-wal") ? new FileInfo(path + "-wal").Length : 0);

        // What building the trail held is not verify's: start the peak counters afresh.
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        ResetPeakResidentSet();
        var residentBefore = ResidentSet("VmRSS");
        var heapPeak = 0L;
        var sampling = true;
        var sampler = new Thread(() =>
        {
            while (Volatile.Read(ref sampling))
            {
                heapPeak = Math.Max(heapPeak, GC.GetTotalMemory(forceFullCollection: false));
                Thread.Sleep(20);
            }
        }) { IsBackground = true };
        sampler.Start();
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var gen2 = GC.CollectionCount(2);
        var timer = Stopwatch.StartNew();
        var result = AuditVerifier.Verify(path, progress: new Progress(timer));
        timer.Stop();
        Volatile.Write(ref sampling, false);
        sampler.Join();
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        Console.WriteLine();
        if (!result.Verified)
        {
            throw new InvalidOperationException($"the benchmark trail does not verify: {result.Finding}");
        }

        Console.WriteLine($"d) verify of {result.Entries:N0} entries and {result.Checkpoints:N0} checkpoints ({size / 1048576.0:N0} MB): {timer.Elapsed.TotalSeconds:0.0} s, " +
                          $"{result.Entries / timer.Elapsed.TotalSeconds:N0} entries/s; peak working set {ResidentSet("VmHWM") / 1024.0:0} MB (before verify {residentBefore / 1024.0:0} MB), " +
                          $"peak managed heap {heapPeak / 1048576.0:0} MB, {allocated / (double)Math.Max(1, result.Entries):N0} B allocated per entry, {GC.CollectionCount(2) - gen2} gen-2 collections " +
                          $"(fsync median {fsync:0.000} ms)");
    }

    /// <summary>Fills the trail at <paramref name="path"/> up to <paramref name="count"/> entries through the real trail; reuses (and resumes) a cached one.</summary>
    private static void Build(string path, AuditEntry[] entries, long count)
    {
        // Counted read-only first: opening the trail for writing runs the full verify, which is
        // what is being measured, and a complete cached trail needs no writer.
        if (Count(path) is var cached and > 0 && cached >= count)
        {
            Console.WriteLine($"reusing {path} ({cached:N0} entries)");
            return;
        }

        using var trail = AuditTrail.Open(path);
        var missing = count - trail.LastSeq;

        Console.WriteLine($"building {path}: {trail.LastSeq:N0} entries, {missing:N0} to go, {Writers} writers");
        var timer = Stopwatch.StartNew();
        var issued = 0L;
        var workers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            long i;
            while ((i = Interlocked.Increment(ref issued)) <= missing)
            {
                await trail.AppendAsync(entries[i % entries.Length]);
            }
        })).ToArray();
        while (!Task.WaitAll(workers, TimeSpan.FromSeconds(30)))
        {
            var done = Math.Min(missing, Interlocked.Read(ref issued)) - Writers;
            Console.WriteLine($"  {timer.Elapsed.TotalSeconds:0} s: {trail.LastSeq:N0} entries, {done / timer.Elapsed.TotalSeconds:N0}/s");
        }

        Console.WriteLine($"built in {timer.Elapsed.TotalSeconds:0} s ({missing / timer.Elapsed.TotalSeconds:N0} appends/s)");
    }

    /// <summary>
    /// Realistic calls: 40 agents over 8 use cases, 12 tools, arguments of about 200 bytes of JSON,
    /// mostly allowed, some approved or denied, 1–3 records changed, the odd error.
    /// </summary>
    private static AuditEntry[] Entries(int count, int seed)
    {
        var random = new Random(seed);
        string[] useCases = ["data-hygiene", "lead-routing", "campaign-ops", "enrichment", "gdpr-requests", "reporting", "deal-desk", "onboarding"];
        string[] tools = ["contacts.update", "contacts.get", "contacts.search", "contacts.merge", "companies.update", "companies.get", "deals.update", "deals.create", "lists.add", "lists.remove", "emails.send", "notes.create"];
        string[] stages = ["lead", "mql", "sql", "opportunity", "customer"];
        string[] sources = ["web", "webinar-2026-q4", "partner-referral", "trade-show", "paid-search"];
        var result = new AuditEntry[count];
        for (var i = 0; i < count; i++)
        {
            var changed = Enumerable.Range(0, random.Next(1, 4)).Select(_ => $"c-{random.Next(1, 1_000_000):D7}").ToList();
            var arguments = JsonSerializer.SerializeToElement(new
            {
                ids = changed,
                filter = $"country == '{(random.Next(2) == 0 ? "DE" : "FR")}' && lifecycle_stage in ['{stages[random.Next(stages.Length)]}']",
                set = new { lead_source = sources[random.Next(sources.Length)], lifecycle_stage = stages[random.Next(stages.Length)] },
                limit = random.Next(1, 500),
                dry_run = false,
            });
            var roll = random.Next(100);
            var effect = roll < 80 ? "allow" : roll < 92 ? "approve" : "deny";
            var useCase = useCases[random.Next(useCases.Length)];
            result[i] = new AuditEntry
            {
                Kind = AuditKinds.Call,
                Environment = random.Next(4) == 0 ? "production" : "sandbox",
                Agent = $"{useCase}-bot-{random.Next(5)}",
                UseCase = useCase,
                Tool = tools[random.Next(tools.Length)],
                Arguments = arguments,
                Effect = effect,
                Rule = $"{useCase}-{effect}-{random.Next(30)}",
                RecordsChanged = effect == "deny" ? [] : changed,
                Outcome = effect == "deny" ? "refused" : effect == "approve" ? "pending" : random.Next(50) == 0 ? "error" : "ok",
                PolicyHash = "sha256:9f2c1e4b7a8d3f6e0b5c2a9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f",
            };
        }

        return result;
    }

    private static long Count(string path)
    {
        if (!File.Exists(path))
        {
            return 0;
        }

        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT coalesce(max(seq), 0) FROM audit_entries";
        return (long)command.ExecuteScalar()!;
    }

    private static void ResetPeakResidentSet()
    {
        try
        {
            // Linux ≥ 4.0: writing 5 to clear_refs resets the peak resident set size (VmHWM).
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.WriteLine($"(could not reset the peak working set: {e.Message}; the peak below includes building the trail)");
        }
    }

    /// <summary>A line of /proc/self/status in kB (VmRSS now, VmHWM the peak); falls back to the process counters.</summary>
    private static long ResidentSet(string field)
    {
        foreach (var line in File.Exists("/proc/self/status") ? File.ReadLines("/proc/self/status") : Enumerable.Empty<string>())
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        using var process = Process.GetCurrentProcess();
        return (field == "VmHWM" ? process.PeakWorkingSet64 : process.WorkingSet64) / 1024;
    }

    private static void Delete(string path)
    {
        foreach (var file in new[] { path, path + "-wal", path + "-shm", path + ".key", path + ".lock" })
        {
            File.Delete(file);
        }
    }

    private static double Percentile(List<double> values, double q)
    {
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Min(sorted.Count - 1, q * sorted.Count)];
    }

    /// <summary>Verify's progress on one line, synchronously (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class Progress(Stopwatch timer) : IProgress<long>
    {
        private TimeSpan _shown;

        public void Report(long value)
        {
            if (timer.Elapsed - _shown >= TimeSpan.FromSeconds(5))
            {
                _shown = timer.Elapsed;
                Console.Write($"\r  verifying: {value:N0} entries in {timer.Elapsed.TotalSeconds:0} s");
            }
        }
    }
}
