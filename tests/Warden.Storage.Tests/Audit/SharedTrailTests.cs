using Warden.Core.Audit;
using Warden.Storage.Audit;
using Warden.Storage.Engines;
using Warden.Tests;

namespace Warden.Storage.Tests.Audit;

/// <summary>
/// The audit trail in PostgreSQL, written by several replicas at once: one chain, no fork and no
/// gap, checkpoints signed by whichever replica is due and chained into one, and everything a
/// trail in a file answers (verify, queries, proofs) answered the same.
/// </summary>
public sealed class SharedTrailTests(PostgresServer postgres) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("warden-shared-trail-").FullName;

    private string KeyFile => Path.Combine(_folder, "audit.key");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private async Task<StoreLocation> PlaceAsync() => StoreLocation.Postgres(postgres.AdminConnection(await postgres.CreateDatabaseAsync()));

    private AuditTrail Open(StoreLocation place, int checkpointEvery = 10, string? keyFile = null) =>
        AuditTrail.Open(place, new AuditTrailOptions { CheckpointEvery = checkpointEvery, KeyPath = keyFile ?? KeyFile });

    [Fact]
    public async Task Entries_appended_by_two_replicas_at_once_form_one_chain_that_verifies()
    {
        var place = await PlaceAsync();
        var a = Open(place, checkpointEvery: 25);
        var b = Open(place, checkpointEvery: 25);

        var appended = await Task.WhenAll(Enumerable.Range(1, 300).Select(i => Task.Run(async () => await (i % 2 == 0 ? a : b).AppendAsync(TrailFixture.Call(i), Ct), Ct)));
        await a.DisposeAsync();
        await b.DisposeAsync();

        Assert.Equal(Enumerable.Range(1, 300).Select(i => (long)i), appended.Select(e => e.Seq).Order());
        var verified = AuditVerifier.Verify(place);
        Assert.Null(verified.Finding);
        Assert.Equal(300, verified.Entries);
        Assert.True(verified.Checkpoints >= 1, $"{verified.Checkpoints} checkpoints");
    }

    [Fact]
    public async Task Checkpoints_signed_by_either_replica_chain_into_one()
    {
        var place = await PlaceAsync();
        await using (var a = Open(place))
        await using (var b = Open(place))
        {
            for (var i = 1; i <= 45; i++)
            {
                await (i % 3 == 0 ? a : b).AppendAsync(TrailFixture.Call(i), Ct);
            }

            Assert.NotNull(await a.CheckpointAsync(Ct));
            Assert.Null(await b.CheckpointAsync(Ct)); // a signed everything there was
            await b.AppendAsync(TrailFixture.Call(46), Ct);
        }

        var witness = AuditLog.Witness(place);
        Assert.Equal(Enumerable.Range(1, witness.Checkpoints.Count).Select(n => (long)n), witness.Checkpoints.Select(c => c.Number));
        Assert.Equal(46, witness.Checkpoints[^1].LastSeq);
        Assert.Null(AuditVerifier.Verify(place, witness).Finding);
    }

    [Fact]
    public async Task A_replica_reopened_goes_on_with_the_chain_the_others_wrote()
    {
        var place = await PlaceAsync();
        await using var a = Open(place);
        await using (var b = Open(place))
        {
            await b.AppendAsync(TrailFixture.Call(1), Ct);
        }

        await a.AppendAsync(TrailFixture.Call(2), Ct);
        await using (var b = Open(place))
        {
            Assert.Equal(3, (await b.AppendAsync(TrailFixture.Call(3), Ct)).Seq);
        }

        Assert.Equal(4, (await a.AppendAsync(TrailFixture.Call(4), Ct)).Seq);
        Assert.Null(AuditVerifier.Verify(place).Finding);
    }

    [Fact]
    public async Task A_replica_with_another_signing_key_is_refused()
    {
        var place = await PlaceAsync();
        await using var a = Open(place);
        var otherKey = Path.Combine(_folder, "other.key");
        await using (AuditTrail.Open(Path.Combine(_folder, "other.db"), new AuditTrailOptions { KeyPath = otherKey }))
        {
        }

        var refused = Assert.Throws<AuditTrailException>(() => Open(place, keyFile: otherKey));

        Assert.Contains($"the signing key {otherKey}", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_trail_in_PostgreSQL_is_not_opened_without_its_key_file()
    {
        var place = await PlaceAsync();

        var refused = Assert.Throws<AuditTrailException>(() => AuditTrail.Open(place));

        Assert.Contains("needs its signing key's file", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_entry_edited_in_the_database_is_found_by_verify_and_refused_at_open()
    {
        var place = await PlaceAsync();
        await using (var a = Open(place))
        {
            for (var i = 1; i <= 15; i++)
            {
                await a.AppendAsync(TrailFixture.Call(i), Ct);
            }
        }

        var database = new Npgsql.NpgsqlConnectionStringBuilder(place.Connection).Database!;
        await postgres.ExecuteAsync(database, "UPDATE audit_entries SET entry = replace(entry, 'hygiene-small-updates', 'anything-goes') WHERE seq = 12");

        var finding = AuditVerifier.Verify(place).Finding;
        Assert.Equal(("entry_edited", 12L), (finding?.Code, finding?.Seq));
        Assert.Throws<AuditTrailBrokenException>(() => Open(place));
    }

    [Fact]
    public async Task Queries_find_entries_by_field_and_record_before_and_after_a_checkpoint()
    {
        var place = await PlaceAsync();
        await using (var a = Open(place))
        await using (var b = Open(place))
        {
            for (var i = 1; i <= 14; i++)
            {
                await (i % 2 == 0 ? a : b).AppendAsync(TrailFixture.Call(i, agent: i % 3 == 0 ? "nurture-bot" : "hygiene-bot"), Ct);
            }

            await a.AppendAsync(new AuditEntry { Kind = AuditKinds.Rollback, Person = "maria@example.com", RollbackOf = 4, Outcome = "ok" }, Ct);
        }

        Assert.Equal([12L, 9, 6, 3], AuditLog.Query(place, new AuditQuery { Agent = "nurture-bot" }).Entries.Select(e => e.Seq));
        Assert.Equal([13L], AuditLog.Query(place, new AuditQuery { RecordId = "c-13" }).Entries.Select(e => e.Seq));
        Assert.Equal([7L], AuditLog.Query(place, new AuditQuery { RecordId = "c-7", Agent = "hygiene-bot" }).Entries.Select(e => e.Seq));
        Assert.Equal([15L], AuditLog.Query(place, new AuditQuery { Person = "maria@example.com" }).Entries.Select(e => e.Seq));
        Assert.Equal([15L], AuditLog.Query(place, new AuditQuery { Limit = 1 }).Entries.Select(e => e.Seq));
        Assert.Equal([15L], AuditLog.Query(place, new AuditQuery { Before = 5, Limit = 1 }).Entries.Single().RolledBackBy);
        Assert.Contains("nurture-bot", AuditLog.Values(place, "agent"));
    }

    [Fact]
    public async Task Calls_per_day_and_proofs_come_from_the_shared_trail()
    {
        var place = await PlaceAsync();
        await using (var a = Open(place))
        {
            for (var i = 1; i <= 12; i++)
            {
                var call = TrailFixture.Call(i);
                await a.AppendAsync(i % 4 == 0 ? new AuditEntry { Kind = call.Kind, Agent = call.Agent, Tool = call.Tool, Effect = "deny", Outcome = "refused" } : call, Ct);
            }
        }

        var day = Assert.Single(AuditLog.CallsPerDay(place, DateTimeOffset.UtcNow.AddDays(-1)));
        Assert.Equal((12, 3), (day.Calls, day.Refused));
        var proof = AuditLog.Prove(place, 7);
        Assert.Equal(7, proof.Checkpoint.FirstSeq + proof.LeafIndex);
        using var export = new StringWriter();
        Assert.Equal(12, AuditLog.Export(place, export, "jsonl"));
    }
}
