using System.Data.Common;
using Warden.Tests;
using Warden.Core;
namespace Warden.Workspace.Tests;

/// <summary>
/// Replicas share one PostgreSQL workspace: what one does must not reach into another's work. A
/// stop meant for one write never cancels another, and a send another replica ended stays ended.
/// </summary>
public sealed class ReplicaTests(PostgresServer server)
{
    private readonly WorkspaceFixture _workspace = new(server);

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_stop_answered_after_its_write_ended_does_not_cancel_the_next_write_on_that_connection()
    {
        var replica = _workspace.Replica(pooled: true);
        // Another program holds c-01, so the first write is still running when the watcher asks whether to stop.
        using var holder = _workspace.Connect();
        var holding = Hold(holder, "c-01");
        var first = replica.Plan(WorkspaceFixture.Call("contacts.update", """{"ids": ["c-01"], "set": {"lead_source": "referral"}}""")).Get();
        using var asked = new ManualResetEventSlim();
        using var answer = new ManualResetEventSlim();
        var calls = 0;
        var stop = new ApplyControl
        {
            Stop = () =>
            {
                if (Interlocked.Increment(ref calls) != 1)
                {
                    return null;
                }

                // The kill switch's answer comes slowly (a busy store): yes, but only after the write ended.
                asked.Set();
                answer.Wait(Patience, TestContext.Current.CancellationToken);
                return "agent hygiene-bot was frozen";
            },
        };
        var firstApply = Task.Run(() => replica.ApplyAsync(first, stop, TestContext.Current.CancellationToken), TestContext.Current.CancellationToken);
        Assert.True(asked.Wait(Patience, TestContext.Current.CancellationToken));
        holding.Commit();
        Assert.True((await firstApply).Succeeded);

        // The next write gets the pooled connection the first one used, and waits on c-02 likewise.
        holding = Hold(holder, "c-02");
        var second = replica.Plan(WorkspaceFixture.Call("contacts.update", """{"ids": ["c-02"], "set": {"lead_source": "referral"}}""")).Get();
        var secondApply = Task.Run(() => replica.ApplyAsync(second, cancellationToken: TestContext.Current.CancellationToken), TestContext.Current.CancellationToken);
        await WaitUntilBlockedBy(holder);
        answer.Set();
        await Task.Delay(TimeSpan.FromMilliseconds(500), TestContext.Current.CancellationToken);
        holding.Commit();

        var applied = await secondApply;
        Assert.True(applied.Succeeded, applied.Error?.Message);
        Assert.Equal("referral", _workspace.Field("c-02", "lead_source"));
    }

    [Fact]
    public void A_send_another_replica_ended_as_stopped_is_not_then_recorded_as_sent()
    {
        var plan = _workspace.Plan("campaigns.send", """{"campaign": "cmp-news"}""", "campaign-qa-bot");
        Assert.True(plan.Records > 4);
        var peer = _workspace.Replica();
        IReadOnlyList<InterruptedSend>? ended = null;
        // Between the first batches, another replica's recovery takes the send for an interrupted one and ends it.
        var applied = _workspace.Workspace.Apply(plan, new ApplyControl
        {
            BatchSize = 2,
            Stop = () =>
            {
                ended ??= peer.StopInterruptedAsync(_workspace.Clock.GetUtcNow().AddMinutes(1)).GetAwaiter().GetResult();
                return null;
            },
        }).Get();

        Assert.Single(ended!);
        Assert.Equal(2L, (long)_workspace.Scalar("SELECT count(*) FROM campaign_sends WHERE campaign_id = 'cmp-news'")!);
        Assert.Equal("stopped", _workspace.Scalar("SELECT status FROM campaigns WHERE id = 'cmp-news'"));
        Assert.Equal(2L, applied.Done);
        Assert.NotNull(applied.Stopped);
    }

    [Fact]
    public async Task Replicas_writing_one_record_at_once_journal_each_change_over_the_one_before()
    {
        var replicas = new[] { _workspace.Workspace, _workspace.Replica(), _workspace.Replica(pooled: true) };
        var writes = replicas.Select((replica, r) => Task.Run(async () =>
        {
            for (var i = 0; i < 15; i++)
            {
                // Each planned on its own snapshot, then applied while the others apply theirs.
                var plan = replica.Plan(WorkspaceFixture.Call("contacts.update", $$$"""{"ids": ["c-01", "c-02"], "set": {"lead_score": {{{100 * r + i}}}, "job_title": "r{{{r}}}-{{{i}}}"}}""")).Get();
                (await replica.ApplyAsync(plan, cancellationToken: TestContext.Current.CancellationToken)).Get();
            }
        }, TestContext.Current.CancellationToken)).ToList();
        await Task.WhenAll(writes);

        // In the order the actions were applied, every before-image is the after-image before it.
        using var connection = _workspace.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT j.record_key, j.before, j.after, a.seq FROM journal j JOIN actions a ON a.id = j.action_id WHERE j.table_name = 'contacts' ORDER BY j.record_key, a.seq";
        using var reader = command.ExecuteReader();
        var last = new Dictionary<string, string>();
        var entries = 0;
        while (reader.Read())
        {
            entries++;
            var (key, before, after) = (reader.GetString(0), Canonical(reader.GetString(1)), Canonical(reader.GetString(2)));
            if (last.TryGetValue(key, out var previous))
            {
                Assert.Equal(Fields(previous), Fields(before));
            }

            last[key] = after;
        }

        Assert.Equal(2 * 45, entries);
        Assert.Equal(45L, _workspace.Scalar("SELECT count(DISTINCT seq) FROM actions"));
        Assert.Equal(Fields(last["c-01"]).Split(';')[0], "lead_score=" + _workspace.Field("c-01", "lead_score"));
    }

    private static string Canonical(string json) => string.Join(";", System.Text.Json.JsonDocument.Parse(json).RootElement.EnumerateObject()
        .Where(p => p.Name is "lead_score" or "job_title").OrderBy(p => p.Name == "job_title").Select(p => $"{p.Name}={p.Value}"));

    private static string Fields(string canonical) => canonical;

    /// <summary>Locks a contact's row in a transaction of the holder's, as another program editing it would.</summary>
    private static DbTransaction Hold(DbConnection holder, string id)
    {
        var transaction = holder.BeginTransaction();
        using var command = holder.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT 1 FROM contacts WHERE id = '{id}' FOR UPDATE";
        command.ExecuteScalar();
        return transaction;
    }

    private async Task WaitUntilBlockedBy(DbConnection holder)
    {
        var until = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < until)
        {
            await using var probe = _workspace.Connect();
            await using var command = probe.CreateCommand();
            command.CommandText = "SELECT count(*) FROM pg_stat_activity WHERE @holder = ANY(pg_blocking_pids(pid))";
            command.Parameters.Add(new Npgsql.NpgsqlParameter("@holder", ((Npgsql.NpgsqlConnection)holder).ProcessID));
            if ((long)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))! > 0)
            {
                return;
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.Fail("the second write never reached the held row");
    }
}
