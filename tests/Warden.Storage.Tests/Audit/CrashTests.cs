using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Warden.Storage.Audit;

namespace Warden.Storage.Tests.Audit;

/// <summary>
/// A crash at any point loses no entry a caller was told about and leaves a chain that verifies:
/// a real writer process (Warden.Storage.CrashPeer, 16 concurrent writers, a checkpoint every 7
/// entries) is killed with SIGKILL at a random moment, five times over on the same trail.
/// </summary>
public sealed class CrashTests : IDisposable
{
    private const int Rounds = 5;

    // Kills land at different moments: after a few hundred acknowledgements, then 0–300 ms more.
    private const int FewestAcks = 200;
    private const int MostAcks = 600;
    private const int LongestDelayMs = 300;

    private static readonly string PeerDll = Path.Combine(AppContext.BaseDirectory, "Warden.Storage.CrashPeer.dll");

    private readonly TrailFixture _trail = new();

    public void Dispose() => _trail.Dispose();

    [Fact]
    public async Task A_killed_writer_loses_no_acknowledged_entry_and_the_chain_verifies()
    {
        var seed = Random.Shared.Next();
        var random = new Random(seed);
        var acknowledged = new Dictionary<long, string>();
        for (var round = 1; round <= Rounds; round++)
        {
            var wanted = random.Next(FewestAcks, MostAcks + 1);
            var delay = random.Next(0, LongestDelayMs + 1);
            var context = $"seed {seed}, round {round} (killed {delay} ms after {wanted} acks)";
            var run = await RunUntilKilled(wanted, TimeSpan.FromMilliseconds(delay), context);
            TestContext.Current.TestOutputHelper?.WriteLine($"{context}: opened at entry {run.OpenedAt}, {run.Acks.Count} acks, last {run.Acks[^1].Seq}");

            // Reopening (which checks the trail) found every entry acknowledged before the last kill.
            var before = acknowledged.Count == 0 ? 0 : acknowledged.Keys.Max();
            Assert.True(run.OpenedAt >= before, $"{context}: the trail reopened at entry {run.OpenedAt}, but entry {before} had been acknowledged");
            foreach (var (seq, hash) in run.Acks)
            {
                Assert.True(seq > run.OpenedAt, $"{context}: entry {seq} was acknowledged again after the trail reopened at entry {run.OpenedAt}");
                Assert.True(acknowledged.TryAdd(seq, hash), $"{context}: entry {seq} was acknowledged twice");
            }

            var verification = AuditVerifier.Verify(_trail.Path);
            Assert.True(verification.Finding is null, $"{context}: the trail does not verify: {verification.Finding?.Code} at {verification.Finding?.Seq}: {verification.Finding?.Message}");
            Assert.True(verification.Checkpoints > 0, $"{context}: no checkpoint was written");

            var stored = StoredHashes();
            foreach (var (seq, hash) in acknowledged)
            {
                Assert.True(stored.TryGetValue(seq, out var found), $"{context}: acknowledged entry {seq} is not in the trail ({stored.Count} entries)");
                Assert.True(found == hash, $"{context}: acknowledged entry {seq} has hash {found} in the trail, but {hash} was acknowledged");
            }
        }
    }

    private async Task<PeerRun> RunUntilKilled(int wanted, TimeSpan delay, string context)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            // Standard input stays open while the peer should run; it stops when the pipe closes.
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(PeerDll);
        start.ArgumentList.Add(_trail.Path);
        start.ArgumentList.Add("7");

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {PeerDll}");
        var errors = process.StandardError.ReadToEndAsync(CancellationToken.None);
        var acks = new List<(long Seq, string Hash)>();
        var openedAt = -1L;
        var lines = new List<string>();
        var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reading = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync(CancellationToken.None).ConfigureAwait(false) is { } line)
            {
                lines.Add(line);
                var parts = line.Split(' ');
                if (parts is ["acked", var seq, var hash] && long.TryParse(seq, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && hash.Length == 64)
                {
                    acks.Add((n, hash));
                }
                else if (parts is ["opened", var last] && long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var m))
                {
                    openedAt = m;
                }

                if (acks.Count >= wanted)
                {
                    enough.TrySetResult();
                }
            }

            enough.TrySetResult(); // the peer ended by itself; reported below
        });

        var stoppedByItself = false;
        var tooSlow = false;
        try
        {
            try
            {
                await enough.Task.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
            }
            catch (TimeoutException)
            {
                tooSlow = true;
            }

            stoppedByItself = process.HasExited;
            if (!stoppedByItself && !tooSlow)
            {
                await Task.Delay(delay, TestContext.Current.CancellationToken);
            }
        }
        finally
        {
            process.Kill(); // SIGKILL on Linux: no finally blocks, no disposal, no flush in the peer
            await process.WaitForExitAsync(CancellationToken.None);
        }

        // Every line the peer wrote before it died is still in the pipes: read them all.
        await reading;
        var stderr = await errors;
        Assert.False(stoppedByItself, $"{context}: the writer stopped by itself (exit {process.ExitCode}): {stderr}");
        Assert.False(tooSlow, $"{context}: only {acks.Count} acks in 20 s: {stderr}");
        Assert.True(process.ExitCode == 128 + 9, $"{context}: the writer was not killed by SIGKILL (exit {process.ExitCode}): {stderr}");
        Assert.True(openedAt >= 0, $"{context}: the writer never opened the trail: {stderr}");

        // Only the last line can have been cut by the kill; a cut ack is not an ack.
        var malformed = lines.SkipLast(1).FirstOrDefault(l => !l.StartsWith("acked ", StringComparison.Ordinal) && !l.StartsWith("opened ", StringComparison.Ordinal));
        Assert.True(malformed is null, $"{context}: the writer printed '{malformed}'");
        Assert.True(acks.Count >= wanted, $"{context}: {acks.Count} acks before the kill, expected at least {wanted}");
        return new PeerRun(openedAt, acks);
    }

    private Dictionary<long, string> StoredHashes()
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _trail.Path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, hash FROM audit_entries";
        using var reader = command.ExecuteReader();
        var hashes = new Dictionary<long, string>();
        while (reader.Read())
        {
            hashes[reader.GetInt64(0)] = reader.GetString(1);
        }

        return hashes;
    }

    private sealed record PeerRun(long OpenedAt, List<(long Seq, string Hash)> Acks);
}
