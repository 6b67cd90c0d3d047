using System.Diagnostics;
using System.Text.Json;
using Warden.Workspace;
using Warden.Workspace.Seeding;
using Warden.Core;

namespace Warden.Benchmarks;

/// <summary>
/// The workspace on a million contacts: plan, apply (with journal), rollback preview and rollback
/// of an update over a filter matching about 100,000 contacts, and point reads. Each step is timed over several
/// rounds (plan → apply → rollback returns the data to its content) and the median reported, with
/// the managed memory allocated and the process's peak working set.
/// </summary>
internal static class WorkspaceProbe
{
    public static int Run(string[] args)
    {
        var contacts = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000;
        var path = Path.Combine(Path.GetTempPath(), $"warden-bench-{contacts}.db");
        var store = WorkspaceStore.Open(path);
        var seeding = Stopwatch.StartNew();
        try
        {
            WorkspaceSeeder.Seed(store, new SeedOptions { Contacts = contacts, Seed = 1 });
            Console.WriteLine($"seeded {contacts:N0} contacts in {seeding.Elapsed.TotalSeconds:0.0} s into {path}");
        }
        catch (WorkspaceNotEmptyException)
        {
            Console.WriteLine($"reusing {path}");
        }

        var workspace = new MarketingWorkspace(store);
        var filter = args.Length > 1 ? args[1] : "country == 'DE' && lifecycle_stage in ['lead', 'mql']";
        // Seconds to let the kernel write back what a checkpoint left dirty before the next step.
        var settle = TimeSpan.FromSeconds(args.Length > 2 ? double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 0);
        var roundCount = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 5;
        var call = new ToolCall("contacts.update", JsonDocument.Parse(JsonSerializer.Serialize(new { filter, set = new { lead_source = "benchmark" } })).RootElement, "bench-bot", "sandbox");
        var plans = new List<double>();
        var applies = new List<double>();
        var previews = new List<double>();
        var rollbacks = new List<double>();
        long records = 0;
        long allocated = 0;
        for (var round = 0; round < roundCount; round++)
        {
            store.WaitForCheckpoint();
            Thread.Sleep(settle);
            var before = GC.GetTotalAllocatedBytes(precise: true);
            var timer = Stopwatch.StartNew();
            var plan = workspace.Plan(call).Get();
            plans.Add(timer.Elapsed.TotalMilliseconds);
            records = plan.Records;

            timer.Restart();
            var applied = workspace.Apply(plan).Get();
            applies.Add(timer.Elapsed.TotalMilliseconds);

            // The checkpoint the write scheduled runs in the background; each step is timed on its own.
            store.WaitForCheckpoint();
            Thread.Sleep(settle);
            timer.Restart();
            var preview = workspace.PlanRollback(new RollbackRequest(applied.ActionId)).Get();
            previews.Add(timer.Elapsed.TotalMilliseconds);
            if (preview.Restorable != records || preview.Conflicts.Count != 0)
            {
                throw new InvalidOperationException($"the preview restores {preview.Restorable} of {records}");
            }

            timer.Restart();
            var undone = workspace.RollBack(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "bench").Get();
            rollbacks.Add(timer.Elapsed.TotalMilliseconds);
            if (undone.Restored != records || undone.Skipped.Count != 0)
            {
                throw new InvalidOperationException($"rollback restored {undone.Restored} of {records}");
            }

            allocated = Math.Max(allocated, GC.GetTotalAllocatedBytes(precise: true) - before);
        }

        var reads = new List<double>();
        var random = new Random(3);
        while (reads.Count < 2_000)
        {
            var id = $"c-{random.Next(1, contacts + 1):D7}";
            var timer = Stopwatch.StartNew();
            var plan = workspace.Plan(new ToolCall("contacts.get", JsonDocument.Parse($$"""{"id": "{{id}}"}""").RootElement, "bench-bot", "sandbox"));
            if (!plan.Succeeded)
            {
                continue; // a soft-deleted contact (about 1%)
            }

            workspace.Apply(plan.Value!).Get();
            reads.Add(timer.Elapsed.TotalMilliseconds);
        }

        Console.WriteLine($"update over '{filter}': {records:N0} contacts");
        Console.WriteLine($"plan      median {Median(plans),8:0} ms   (rounds: {string.Join(", ", plans.Select(p => p.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))})");
        Console.WriteLine($"apply     median {Median(applies),8:0} ms   (rounds: {string.Join(", ", applies.Select(p => p.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))})");
        Console.WriteLine($"preview   median {Median(previews),8:0} ms   (rounds: {string.Join(", ", previews.Select(p => p.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))})");
        Console.WriteLine($"rollback  median {Median(rollbacks),8:0} ms   (rounds: {string.Join(", ", rollbacks.Select(p => p.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))})");
        Console.WriteLine($"point read (plan + apply of contacts.get) median {Median(reads):0.000} ms, p99 {Percentile(reads, 0.99):0.000} ms over {reads.Count:N0}");
        Console.WriteLine($"managed memory allocated per plan+apply+preview+rollback round: {allocated / (1024.0 * 1024.0):0} MB; peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0):0} MB");
        return 0;
    }

    private static double Median(List<double> values) => Percentile(values, 0.5);

    private static double Percentile(List<double> values, double q)
    {
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Min(sorted.Count - 1, q * sorted.Count)];
    }
}
