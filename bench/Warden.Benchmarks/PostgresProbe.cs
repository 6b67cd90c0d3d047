using System.Diagnostics;
using System.Text.Json;
using Npgsql;
using Warden.Core;
using Warden.Postgres;

namespace Warden.Benchmarks;

/// <summary>
/// What governing a PostgreSQL database costs (issue 13): on a table of N rows (default 1,000,000),
/// an UPDATE touching M of them (default 100,000) run directly, against Warden's plan (run in a
/// rolled-back transaction with the rows captured), apply (run again, captured, compared,
/// journaled) and rollback (row by row, compared with the after-images); then a single-row query
/// directly and through Warden (plan and apply). Interleaved rounds; medians and ratios, of the
/// time on the clock and of the CPU time (the server's processes' and the probe's).
/// Usage: <c>postgres CONNECTION [rows] [touched] [rounds]</c>, CONNECTION a superuser's
/// (bench/postgres-cost.sh starts a throwaway cluster and passes it).
/// </summary>
internal static class PostgresProbe
{
    public static int Run(string[] args)
    {
        if (args.Length < 1)
        {
            Console.Error.WriteLine("usage: postgres CONNECTION [rows=1000000] [touched=100000] [rounds=3]");
            return 2;
        }

        var connection = args[0];
        var rows = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000;
        var touched = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        var rounds = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 3;
        return RunAsync(connection, rows, touched, rounds).GetAwaiter().GetResult();
    }

    private static async Task<int> RunAsync(string connection, int rows, int touched, int rounds)
    {
        Console.WriteLine($"setting up bench_contacts with {rows:N0} rows ...");
        await ExecuteAsync(connection, $"""
            DROP TABLE IF EXISTS bench_contacts;
            CREATE TABLE bench_contacts (id bigint PRIMARY KEY, email text NOT NULL, score numeric(10, 2), last_seen timestamptz, note text);
            INSERT INTO bench_contacts SELECT g, 'person' || g || '@example.com', g % 1000, timestamptz '2026-01-01' + g * interval '1 minute', NULL
            FROM generate_series(1, {rows}) g;
            """);
        await ExecuteAsync(connection, "VACUUM ANALYZE bench_contacts");
        var tables = new[] { new GovernedTable("bench_contacts") };
        await PostgresDatabase.InstallAsync(connection, tables);
        var folder = Path.Combine(Path.GetTempPath(), "warden-pg-bench-" + Guid.NewGuid().ToString("N")[..8]);
        await using var database = await PostgresDatabase.OpenAsync(new PostgresOptions
        {
            Id = "bench",
            ConnectionString = connection,
            Tables = tables,
            JournalPath = Path.Combine(folder, "journal.db"),
            StatementTimeout = TimeSpan.FromMinutes(10),
        });

        var sql = $"UPDATE bench_contacts SET score = score + 1, note = 'touched' WHERE id <= {touched}";
        var call = new ToolCall("bench.execute", JsonSerializer.SerializeToElement(new { sql }), "bench-bot", "sandbox");
        var direct = new List<Cost>();
        var plans = new List<Cost>();
        var applies = new List<Cost>();
        var rollbacks = new List<Cost>();
        int postmaster;
        await using (var c = new NpgsqlConnection(connection))
        {
            await c.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT pg_backend_pid()", c);
            postmaster = Stat((int)(await command.ExecuteScalarAsync())!)!.Value.Parent;
        }

        // Round 0 warms up and is not counted. Every step starts from the same table: vacuumed (the
        // last step's dead rows gone) and checkpointed (no checkpoint's writes land in a step), so
        // none pays for another's.
        for (var round = 0; round <= rounds; round++)
        {
            // The same statement by another session (the trigger is there, and does nothing for it), undone the same way;
            // three times, the median the round's baseline: on a shared host one run swings by half within a round.
            var runs = new List<Cost>();
            for (var k = 0; k < 3; k++)
            {
                await SettleAsync(connection);
                runs.Add(await MeasureAsync(postmaster, () => ExecuteAsync(connection, sql)));
                await ExecuteAsync(connection, $"UPDATE bench_contacts SET score = score - 1, note = NULL WHERE id <= {touched}");
            }

            var d = new Cost(Median(runs.Select(x => x.Wall).ToList()), Median(runs.Select(x => x.Cpu).ToList()));

            await SettleAsync(connection);
            Plan plan = null!;
            var p = await MeasureAsync(postmaster, () => { plan = database.Plan(call).Get(); return Task.CompletedTask; });
            await SettleAsync(connection);
            AppliedAction applied = null!;
            var a = await MeasureAsync(postmaster, async () => applied = (await database.ApplyAsync(plan)).Get());
            await SettleAsync(connection);
            var r = await MeasureAsync(postmaster, async () => (await database.RollBackAsync(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "bench")).Get());
            string Step(string name, Cost c) => $"{name} {c.Wall:N0} ms ({c.Wall / d.Wall:N2}; CPU {c.Cpu:N0} ms, {c.Cpu / d.Cpu:N2})";
            Console.WriteLine($"round {round}{(round == 0 ? " (warm-up)" : "")}: direct {d.Wall:N0} ms (of {string.Join(", ", runs.Select(x => x.Wall.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)))}; CPU {d.Cpu:N0} ms), "
                + $"{Step("plan", p)}, {Step("apply", a)}, {Step("rollback", r)}");
            if (round > 0)
            {
                direct.Add(d);
                plans.Add(p);
                applies.Add(a);
                rollbacks.Add(r);
            }
        }

        // A single-row read: a prepared SELECT on a pooled connection, against Warden's plan and apply of the same.
        var lookups = 2000;
        var directRead = new List<double>();
        var governedRead = new List<double>();
        await using (var source = NpgsqlDataSource.Create(connection))
        {
            for (var i = 0; i < lookups + 200; i++)
            {
                var id = (i * 7919 % rows) + 1;
                var start = Stopwatch.GetTimestamp();
                await using (var c = await source.OpenConnectionAsync())
                await using (var command = new NpgsqlCommand("SELECT * FROM bench_contacts WHERE id = $1", c))
                {
                    command.Parameters.Add(new() { Value = (long)id });
                    await using var reader = await command.ExecuteReaderAsync();
                    while (await reader.ReadAsync())
                    {
                    }
                }

                var directMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                start = Stopwatch.GetTimestamp();
                var read = new ToolCall("bench.query", JsonSerializer.SerializeToElement(new { sql = "SELECT * FROM bench_contacts WHERE id = $1", @params = new[] { id.ToString(System.Globalization.CultureInfo.InvariantCulture) } }), "bench-bot", "sandbox");
                (await database.ApplyAsync(database.Plan(read).Get())).Get();
                var governedMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (i >= 200)
                {
                    directRead.Add(directMs);
                    governedRead.Add(governedMs);
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine($"| {touched:N0} of {rows:N0} rows, median of {rounds} | ms | ratio to direct (median of the rounds') | CPU ms | CPU ratio |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        // The ratio is each round's (a step against the direct statement of its own round), the median of those: the machine's speed drifts between rounds.
        double Ratio(List<Cost> steps, Func<Cost, double> of) => Median(steps.Select((s, i) => of(s) / of(direct[i])).ToList());
        void Line(string name, List<Cost> steps) =>
            Console.WriteLine($"| {name} | {Median(steps.Select(s => s.Wall).ToList()):N0} | {Ratio(steps, s => s.Wall):N2} | {Median(steps.Select(s => s.Cpu).ToList()):N0} | {Ratio(steps, s => s.Cpu):N2} |");
        Line("UPDATE directly (median of three a round)", direct);
        Line("Warden's plan", plans);
        Line("Warden's apply, journaled", applies);
        Line("Warden's rollback", rollbacks);
        Console.WriteLine();
        Console.WriteLine($"single-row query, median of {lookups:N0}: direct {Median(directRead):N3} ms, governed (plan + apply) {Median(governedRead):N3} ms, added {Median(governedRead) - Median(directRead):N3} ms");
        Directory.Delete(folder, recursive: true);
        return 0;
    }

    private static async Task SettleAsync(string connection)
    {
        await ExecuteAsync(connection, "VACUUM bench_contacts");
        await ExecuteAsync(connection, "CHECKPOINT");
    }

    private static async Task ExecuteAsync(string connection, string sql)
    {
        await using var c = new NpgsqlConnection(connection);
        await c.OpenAsync();
        await using var command = new NpgsqlCommand(sql, c) { CommandTimeout = 600 };
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<double> TimeAsync(Func<Task> work)
    {
        var start = Stopwatch.GetTimestamp();
        await work();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    /// <summary>A step's time on the clock and its CPU time, the server's processes' and this one's (in ms).</summary>
    private readonly record struct Cost(double Wall, double Cpu);

    private static async Task<Cost> MeasureAsync(int postmaster, Func<Task> work)
    {
        var cpu = CpuMs(postmaster);
        var wall = await TimeAsync(work);
        return new Cost(wall, CpuMs(postmaster) - cpu);
    }

    /// <summary>
    /// CPU time so far of the cluster's processes (the postmaster's children: backends, WAL writer,
    /// checkpointer) and of this process, in ms. On a shared machine the clock also counts other
    /// tenants' turns; CPU time counts the work (Linux's /proc, in ticks of 10 ms).
    /// </summary>
    private static double CpuMs(int postmaster)
    {
        long ticks = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || Stat(pid) is not { } stat || (stat.Parent != postmaster && pid != postmaster))
            {
                continue;
            }

            ticks += stat.Ticks;
        }

        return ticks * 10.0 + Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds;
    }

    /// <summary>A process's parent and its CPU ticks (user and system), from /proc/PID/stat; null once it is gone.</summary>
    private static (int Parent, long Ticks)? Stat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // Fields after the command's closing parenthesis: state, ppid, ..., utime (14th of the line), stime (15th).
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return (int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture),
            long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture));
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
