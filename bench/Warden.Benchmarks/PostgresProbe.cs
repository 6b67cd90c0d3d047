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
/// directly and through Warden (plan and apply). Interleaved rounds; medians and ratios.
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
        var direct = new List<double>();
        var plans = new List<double>();
        var applies = new List<double>();
        var rollbacks = new List<double>();
        // Round 0 warms up and is not counted. Every step starts from the same table: vacuumed (the
        // last step's dead rows gone) and checkpointed (no checkpoint's writes land in a step), so
        // none pays for another's.
        for (var round = 0; round <= rounds; round++)
        {
            // The same statement by another session (the trigger is there, and does nothing for it), undone the same way.
            await SettleAsync(connection);
            var d = await TimeAsync(() => ExecuteAsync(connection, sql));
            await ExecuteAsync(connection, $"UPDATE bench_contacts SET score = score - 1, note = NULL WHERE id <= {touched}");

            await SettleAsync(connection);
            Plan plan = null!;
            var p = await TimeAsync(() => { plan = database.Plan(call).Get(); return Task.CompletedTask; });
            await SettleAsync(connection);
            AppliedAction applied = null!;
            var a = await TimeAsync(async () => applied = (await database.ApplyAsync(plan)).Get());
            await SettleAsync(connection);
            var r = await TimeAsync(async () => (await database.RollBackAsync(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "bench")).Get());
            Console.WriteLine($"round {round}{(round == 0 ? " (warm-up)" : "")}: direct {d:N0} ms, plan {p:N0} ms ({p / d:N2}), apply {a:N0} ms ({a / d:N2}), rollback {r:N0} ms ({r / d:N2})");
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
        Console.WriteLine($"| {touched:N0} of {rows:N0} rows, median of {rounds} | ms | ratio to direct (median of the rounds') |");
        Console.WriteLine("|---|---:|---:|");
        // The ratio is each round's (a step against the direct statement of its own round), the median of those: the machine's speed drifts between rounds.
        var median = Median(direct);
        double Ratio(List<double> steps) => Median(steps.Select((s, i) => s / direct[i]).ToList());
        Console.WriteLine($"| UPDATE directly | {median:N0} | 1.00 |");
        Console.WriteLine($"| Warden's plan | {Median(plans):N0} | {Ratio(plans):N2} |");
        Console.WriteLine($"| Warden's apply, journaled | {Median(applies):N0} | {Ratio(applies):N2} |");
        Console.WriteLine($"| Warden's rollback | {Median(rollbacks):N0} | {Ratio(rollbacks):N2} |");
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

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
