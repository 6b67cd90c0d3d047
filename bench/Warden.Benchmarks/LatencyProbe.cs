using System.Diagnostics;
using Warden.Core;

namespace Warden.Benchmarks;

/// <summary>
/// Per-call latency: times every single decision with the high-resolution clock and reports
/// percentiles (BenchmarkDotNet reports means over batches, which hide the tail). The clock read
/// itself costs a few tens of nanoseconds; it is measured and printed beside the figures.
/// </summary>
internal static class LatencyProbe
{
    public static int Run(string[] args)
    {
        var sizes = args.Length > 0 ? args.Select(int.Parse).ToArray() : [10, 100, 1_000, 10_000];
        const int calls = 2_000_000;
        Console.WriteLine($"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
        Console.WriteLine($"clock read overhead (median of back-to-back reads): {ClockOverheadNs():0} ns");
        Console.WriteLine("rules | load ms | median ns | p90 ns | p99 ns | p99.9 ns | max µs | bytes/call");
        foreach (var size in sizes)
        {
            var text = PolicyGenerator.Generate(size);
            var load = Stopwatch.StartNew();
            var policy = PolicyLoader.Load(text, "generated.yaml", PolicyGenerator.Options).Policy ?? throw new InvalidOperationException("generated policy did not load");
            load.Stop();
            var requests = PolicyGenerator.Calls(policy, 1024);
            for (var i = 0; i < 200_000; i++)
            {
                policy.Decide(requests[i & 1023]);
            }

            var samples = new long[calls];
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < calls; i++)
            {
                var start = Stopwatch.GetTimestamp();
                policy.Decide(requests[i & 1023]);
                samples[i] = Stopwatch.GetTimestamp() - start;
            }

            allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
            Array.Sort(samples);
            double Ns(double q) => samples[(int)Math.Min(samples.Length - 1, q * samples.Length)] * 1e9 / Stopwatch.Frequency;
            Console.WriteLine($"{size,6} | {load.Elapsed.TotalMilliseconds,7:0} | {Ns(0.5),9:0} | {Ns(0.9),6:0} | {Ns(0.99),6:0} | {Ns(0.999),8:0} | {Ns(1) / 1000,6:0.0} | {allocated / (double)calls:0.0}");
        }

        return 0;
    }

    private static double ClockOverheadNs()
    {
        var samples = new long[100_000];
        for (var i = 0; i < samples.Length; i++)
        {
            var start = Stopwatch.GetTimestamp();
            samples[i] = Stopwatch.GetTimestamp() - start;
        }

        Array.Sort(samples);
        return samples[samples.Length / 2] * 1e9 / Stopwatch.Frequency;
    }
}
