using Npgsql;
using Warden.Core.Audit;
using Warden.Storage.Audit;
using Warden.Storage.Engines;
using Warden.Tests;

namespace Warden.Storage.Tests.Audit;

/// <summary>
/// The shared trail attacked as replicas and crashes would: bursts from three replicas with
/// checkpoints due everywhere, archives while others append, a connection cut mid-way, clocks that
/// disagree, replicas opening while others write. The chain must stay one, with no fork and no gap,
/// and every caller must hear the truth about its entry.
/// </summary>
public sealed class SharedTrailAttackTests(PostgresServer postgres) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("warden-shared-attack-").FullName;

    private string KeyFile => Path.Combine(_folder, "audit.key");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private async Task<StoreLocation> PlaceAsync() => StoreLocation.Postgres(postgres.AdminConnection(await postgres.CreateDatabaseAsync()));

    /// <summary>The same database, reached under a name this replica's connections carry (so one replica's can be cut alone).</summary>
    private static StoreLocation Named(StoreLocation place, string replica) =>
        StoreLocation.Postgres(new NpgsqlConnectionStringBuilder(place.Connection) { ApplicationName = replica }.ConnectionString);

    private AuditTrail Open(StoreLocation place, int checkpointEvery = 10, TimeProvider? clock = null) =>
        AuditTrail.Open(place, new AuditTrailOptions { CheckpointEvery = checkpointEvery, KeyPath = KeyFile }, clock);

    private static string Database(StoreLocation place) => new NpgsqlConnectionStringBuilder(place.Connection).Database!;

    private static async Task<List<(long Seq, string Time, string Hash)>> EntriesAsync(StoreLocation place)
    {
        await using var connection = new NpgsqlConnection(place.Connection);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("SELECT seq, time, hash FROM audit_entries ORDER BY seq", connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var entries = new List<(long, string, string)>();
        while (await reader.ReadAsync(Ct))
        {
            entries.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2)));
        }

        return entries;
    }

    [Fact]
    public async Task Three_replicas_in_bursts_with_checkpoints_asked_by_several_form_one_chain_with_contiguous_checkpoints()
    {
        var place = await PlaceAsync();
        var replicas = new[] { Open(place, checkpointEvery: 7), Open(place, checkpointEvery: 11), Open(place, checkpointEvery: 3) };
        var appended = new List<AppendedEntry>();
        for (var burst = 0; burst < 6; burst++)
        {
            var appends = Enumerable.Range(0, 60).Select(i => Task.Run(async () => await replicas[i % 3].AppendAsync(TrailFixture.Call(burst * 60 + i), Ct), Ct)).ToList();
            var checkpoints = replicas.Select(r => Task.Run(() => r.CheckpointAsync(Ct), Ct)).ToList();
            appended.AddRange(await Task.WhenAll(appends));
            await Task.WhenAll(checkpoints);
        }

        foreach (var replica in replicas)
        {
            await replica.DisposeAsync();
        }

        Assert.Equal(Enumerable.Range(1, 360).Select(i => (long)i), appended.Select(e => e.Seq).Order());
        var witness = AuditLog.Witness(place);
        Assert.Equal(Enumerable.Range(1, witness.Checkpoints.Count).Select(n => (long)n), witness.Checkpoints.Select(c => c.Number));
        Assert.All(witness.Checkpoints.Zip(witness.Checkpoints.Skip(1)), pair => Assert.Equal(pair.First.LastSeq + 1, pair.Second.FirstSeq));
        Assert.Equal(360, witness.Checkpoints[^1].LastSeq);
        var verified = AuditVerifier.Verify(place, witness);
        Assert.True(verified.Verified, verified.Finding?.Message);
    }

    [Fact]
    public async Task An_archive_and_its_destruction_by_one_replica_while_others_append_leave_one_chain()
    {
        var place = await PlaceAsync();
        await using var a = Open(place, checkpointEvery: 5);
        await using var b = Open(place, checkpointEvery: 5);
        await using var c = Open(place, checkpointEvery: 5);
        for (var i = 1; i <= 20; i++)
        {
            await (i % 2 == 0 ? a : b).AppendAsync(TrailFixture.Call(i), Ct);
        }

        var file = Path.Combine(_folder, "archive-1.jsonl");
        var busy = Enumerable.Range(21, 60).Select(i => Task.Run(async () => await (i % 2 == 0 ? b : c).AppendAsync(TrailFixture.Call(i), Ct), Ct)).ToList();
        var archived = await a.ArchiveAsync(2, file, "maria@example.com", "quarterly", Ct);
        await Task.WhenAll(busy);

        // c never archived: its view of the store is older than the archive.
        var destroyed = await c.DestroyArchiveAsync(file, "maria@example.com", "retention ended", Ct);
        await c.AppendAsync(TrailFixture.Call(99), Ct);
        await b.AppendAsync(TrailFixture.Call(100), Ct);

        Assert.Equal((1L, 10L), (archived.FirstSeq, archived.LastSeq));
        Assert.NotNull(destroyed.Destroyed);
        var entries = await EntriesAsync(place);
        Assert.Equal(Enumerable.Range(11, entries.Count).Select(i => (long)i), entries.Select(e => e.Seq));
        var verified = AuditVerifier.Verify(place, AuditLog.Witness(place));
        Assert.True(verified.Verified, verified.Finding?.Message);
    }

    [Fact]
    public async Task A_replica_whose_connection_was_cut_tells_its_callers_the_truth_and_goes_on_at_the_chains_head()
    {
        var place = await PlaceAsync();
        await using var a = Open(Named(place, "replica-a"), checkpointEvery: 4);
        await using var b = Open(Named(place, "replica-b"), checkpointEvery: 4);
        await a.AppendAsync(TrailFixture.Call(1), Ct);
        await b.AppendAsync(TrailFixture.Call(2), Ct);

        await postgres.ExecuteAsync("postgres", $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{Database(place)}' AND application_name = 'replica-a'");
        await b.AppendAsync(TrailFixture.Call(3), Ct);
        var told = new List<(AppendedEntry? Entry, string? Error)>();
        for (var i = 4; i <= 12; i++)
        {
            try
            {
                told.Add((await (i % 2 == 0 ? a : b).AppendAsync(TrailFixture.Call(i), Ct), null));
            }
            catch (AuditTrailException e)
            {
                told.Add((null, e.Message));
            }
        }

        // At most the first append after the cut may fail (the connection is found dead by using it); then a reconnects.
        Assert.True(told.Skip(1).All(t => t.Error is null), string.Join("; ", told.Select(t => t.Error)));
        var entries = await EntriesAsync(place);
        Assert.Equal(Enumerable.Range(1, entries.Count).Select(i => (long)i), entries.Select(e => e.Seq));
        foreach (var (entry, _) in told.Where(t => t.Entry is not null))
        {
            Assert.Contains((entry!.Value.Seq, entry.Value.Hash), entries.Select(e => (e.Seq, e.Hash)));
        }

        Assert.Equal(3 + told.Count(t => t.Entry is not null), entries.Count); // a failed append left nothing behind
        Assert.NotNull(await a.CheckpointAsync(Ct) ?? await b.CheckpointAsync(Ct));
        var verified = AuditVerifier.Verify(place);
        Assert.True(verified.Verified, verified.Finding?.Message);
    }

    [Fact]
    public async Task Time_never_goes_backwards_in_the_chain_when_one_replicas_clock_runs_behind()
    {
        var place = await PlaceAsync();
        await using var ahead = Open(place, checkpointEvery: 3);
        await using var behind = Open(place, checkpointEvery: 3, clock: new ManualClock(DateTimeOffset.UtcNow.AddHours(-1)));
        for (var i = 1; i <= 20; i++)
        {
            await (i % 3 == 0 ? ahead : behind).AppendAsync(TrailFixture.Call(i), Ct);
        }

        await behind.CheckpointAsync(Ct);
        var times = (await EntriesAsync(place)).Select(e => e.Time).ToList();
        Assert.Equal(times.Order(StringComparer.Ordinal), times);
        var checkpoints = AuditLog.Witness(place).Checkpoints.Select(c => c.Time).ToList();
        Assert.Equal(checkpoints.Order(), checkpoints);
        Assert.True(AuditVerifier.Verify(place).Verified);
    }

    [Fact]
    public async Task Replicas_opened_while_others_append_and_checkpoint_go_on_with_one_chain()
    {
        var place = await PlaceAsync();
        await using var a = Open(place, checkpointEvery: 2);
        await using var b = Open(place, checkpointEvery: 3);
        using var stop = new CancellationTokenSource();
        var writers = new[] { a, b }.Select(r => Task.Run(async () =>
        {
            var i = 0;
            while (!stop.IsCancellationRequested)
            {
                await r.AppendAsync(TrailFixture.Call(++i), Ct);
            }
        }, Ct)).ToList();

        for (var round = 0; round < 25; round++)
        {
            await using var late = Open(place, checkpointEvery: 1);
            await late.AppendAsync(TrailFixture.Call(1000 + round), Ct);
        }

        await stop.CancelAsync();
        await Task.WhenAll(writers);
        await a.CheckpointAsync(Ct);
        var verified = AuditVerifier.Verify(place);
        Assert.True(verified.Verified, verified.Finding?.Message);
    }

    [Fact]
    public async Task Three_replicas_creating_a_new_trail_at_once_with_one_key_file_share_one_identity()
    {
        var place = await PlaceAsync();
        var replicas = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() => Open(place), Ct)));
        try
        {
            Assert.Single(replicas.Select(r => (r.TrailId, r.PublicKey)).Distinct());
            await Task.WhenAll(replicas.Select((r, i) => r.AppendAsync(TrailFixture.Call(i), Ct).AsTask()));
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await replica.DisposeAsync();
            }
        }

        Assert.True(AuditVerifier.Verify(place).Verified);
    }

    [Theory]
    [InlineData("trail_id", "a public key but no trail id")]
    [InlineData("public_key", "a trail id but no public key")]
    public async Task A_trail_whose_identity_is_partial_is_refused_at_open(string removed, string says)
    {
        var place = await PlaceAsync();
        await using (var a = Open(place))
        {
            await a.AppendAsync(TrailFixture.Call(1), Ct);
        }

        await postgres.ExecuteAsync(Database(place), $"DELETE FROM audit_trail WHERE key = '{removed}'");

        var refused = Assert.Throws<AuditTrailException>(() => Open(place));
        Assert.Contains(says, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_trail_with_entries_whose_identity_was_removed_is_refused_not_adopted_by_the_key_file()
    {
        var place = await PlaceAsync();
        await using (var a = Open(place))
        {
            await a.AppendAsync(TrailFixture.Call(1), Ct);
        }

        await postgres.ExecuteAsync(Database(place), "DELETE FROM audit_trail WHERE key IN ('trail_id', 'public_key')");

        var refused = Assert.Throws<AuditTrailException>(() => Open(place));
        Assert.Contains("has entries but no identity", refused.Message, StringComparison.Ordinal);
    }
}
