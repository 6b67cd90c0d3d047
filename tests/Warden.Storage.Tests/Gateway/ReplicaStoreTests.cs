using Warden.Storage.Engines;
using Warden.Storage.Gateway;
using Warden.Tests;

namespace Warden.Storage.Tests.Gateway;

/// <summary>
/// Two gateway stores on one PostgreSQL database, as two replicas: what one writes, the other
/// decides on at once, and what must happen once happens once whichever replica gets there.
/// </summary>
public sealed class ReplicaStoreTests(PostgresServer postgres) : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 9, 0, 0, TimeSpan.Zero);
    private readonly GatewayStores _stores = new(postgres);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _stores.Dispose();

    private async Task<(GatewayStore A, GatewayStore B)> ReplicasAsync()
    {
        var place = await _stores.PlaceAsync("postgres");
        return (_stores.Open(place), _stores.Open(place));
    }

    [Fact]
    public async Task An_approval_racing_on_two_replicas_starts_executing_once()
    {
        var (a, b) = await ReplicasAsync();
        a.Approvals.Insert(new ApprovalRecord
        {
            Id = "apr-1", Status = ApprovalStatus.Pending, Agent = "tidy-bot", UseCase = "tidy", Environment = "sandbox", Tool = "contacts.update",
            Arguments = "{}", PlanHash = "sha256:p", AffectedHash = "sha256:a", Plan = "{}", Requirements = "[]", Risk = 1, CreatedAt = Now, ExpiresAt = Now.AddHours(1),
        });

        var claims = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(() => (i % 2 == 0 ? a : b).Approvals.Close("apr-1", ApprovalStatus.Executing, null, Now))));

        Assert.Single(claims, c => c);
    }

    [Fact]
    public async Task Two_approvers_voting_on_two_replicas_count_once_each()
    {
        var (a, b) = await ReplicasAsync();

        var votes = await Task.WhenAll(
            Task.Run(() => a.Approvals.Vote("apr-1", new ApprovalVote("sam", "approve", null, Now))),
            Task.Run(() => b.Approvals.Vote("apr-1", new ApprovalVote("sam", "approve", null, Now))),
            Task.Run(() => b.Approvals.Vote("apr-1", new ApprovalVote("ana", "approve", null, Now))),
            Task.Run(() => a.Approvals.Vote("apr-1", new ApprovalVote("ana", "approve", null, Now))));

        Assert.Equal(2, votes.Count(v => v));
        Assert.Equal(["ana", "sam"], a.Approvals.Votes("apr-1").Select(v => v.Person).Order());
    }

    [Fact]
    public async Task A_freeze_on_one_replica_stops_the_agent_on_the_other_at_once()
    {
        var (a, b) = await ReplicasAsync();
        Assert.DoesNotContain("tidy-bot", b.Freezes.Frozen());

        a.Freezes.Freeze("tidy-bot", "sam", "it went wild", Now);
        Assert.Contains("tidy-bot", b.Freezes.Frozen());

        b.Freezes.Unfreeze("tidy-bot");
        Assert.DoesNotContain("tidy-bot", a.Freezes.Frozen());
    }

    [Fact]
    public async Task A_budget_spent_from_two_replicas_at_once_is_never_exceeded()
    {
        const int Budget = 25;
        var (a, b) = await ReplicasAsync();

        // What the guards do per call: hold the budget's lock, read its use, count the call if it fits.
        async Task<bool> CallAsync(GatewayStore replica)
        {
            using var held = await replica.HoldAsync(["budget changes"], Ct);
            if (replica.Usage.Used("changed_records", "tidy-bot", null, null, Now.AddHours(-1)) + 1 > Budget)
            {
                return false;
            }

            await Task.Delay(5, Ct); // the apply, between the decision and the count
            replica.Usage.Use("tidy-bot", "tidy", null, Now, [("changed_records", 1)]);
            return true;
        }

        var allowed = await Task.WhenAll(Enumerable.Range(0, 80).Select(i => Task.Run(() => CallAsync(i % 2 == 0 ? a : b))));

        Assert.Equal(Budget, allowed.Count(x => x));
        Assert.Equal(Budget, a.Usage.Used("changed_records", "tidy-bot", null, null, Now.AddHours(-1)));
    }

    [Fact]
    public async Task An_agents_request_rate_is_one_rate_across_replicas_taken_from_at_once()
    {
        // 5 a second, 10 at most held: 40 requests at one moment, spread over two replicas, get 10.
        var (a, b) = await ReplicasAsync();

        var taken = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => (i % 2 == 0 ? a : b).Rates!.TryTake("flood-bot", 5, 10, Now), Ct)));

        Assert.Equal(10, taken.Count(t => t));
        Assert.True(b.Rates!.TryTake("other-bot", 5, 10, Now), "another agent's bucket is its own");
    }

    [Fact]
    public async Task An_agents_bucket_refills_with_time_whichever_replica_counts_it_and_a_clock_behind_adds_nothing()
    {
        var (a, b) = await ReplicasAsync();
        for (var i = 0; i < 10; i++)
        {
            Assert.True((i % 2 == 0 ? a : b).Rates!.TryTake("flood-bot", 5, 10, Now));
        }

        Assert.False(b.Rates!.TryTake("flood-bot", 5, 10, Now.AddSeconds(-30)), "a replica whose clock is behind refilled the bucket");
        var second = Enumerable.Range(0, 8).Count(i => (i % 2 == 0 ? a : b).Rates!.TryTake("flood-bot", 5, 10, Now.AddSeconds(1)));
        Assert.Equal(5, second);
    }

    [Fact]
    public async Task A_budget_lock_held_on_one_replica_holds_the_other_until_released()
    {
        var (a, b) = await ReplicasAsync();
        var first = await a.HoldAsync(["budget changes"], Ct);

        var second = b.HoldAsync(["budget changes"], Ct);
        var other = await b.HoldAsync(["budget sends"], Ct); // another budget does not wait

        Assert.False(second.IsCompleted);
        Assert.NotSame(second, await Task.WhenAny(second, Task.Delay(300, Ct)));
        first.Dispose();
        (await second.WaitAsync(TimeSpan.FromSeconds(30), Ct)).Dispose();
        other.Dispose();
    }

    [Fact]
    public async Task A_replica_that_dies_holding_a_budget_lock_lets_it_go()
    {
        var (a, b) = await ReplicasAsync();
        using var held = await a.HoldAsync(["budget changes"], Ct);
        var waiting = b.HoldAsync(["budget changes"], Ct);
        Assert.NotSame(waiting, await Task.WhenAny(waiting, Task.Delay(300, Ct)));

        // The server ends replica A's connections, as it does when the process or its host dies.
        await postgres.ExecuteAsync("postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'warden' AND query LIKE '%pg_advisory_lock%' AND state = 'idle'");

        (await waiting.WaitAsync(TimeSpan.FromSeconds(30), Ct)).Dispose();
    }

    [Fact]
    public async Task An_outbox_message_is_sent_by_one_replica()
    {
        var (a, b) = await ReplicasAsync();
        a.Outbox.Enqueue("approval_requested", ["sam"], "{}", Now);
        var seenByA = Assert.Single(a.Outbox.Due(Now));
        var seenByB = Assert.Single(b.Outbox.Due(Now));

        var claims = await Task.WhenAll(Task.Run(() => a.Outbox.Claim(seenByA, Now.AddMinutes(2))), Task.Run(() => b.Outbox.Claim(seenByB, Now.AddMinutes(2))));

        Assert.Single(claims, c => c);
    }

    [Fact]
    public async Task A_sign_in_link_used_on_two_replicas_at_once_signs_in_once()
    {
        var (a, b) = await ReplicasAsync();
        a.People.IssueLinks([("link", "sam")], Now.AddHours(24));

        var used = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => (i % 2 == 0 ? a : b).People.UseLink("link", Now))));

        Assert.Single(used, u => u == "sam");
    }

    [Fact]
    public async Task Wrong_passwords_sent_to_two_replicas_at_once_lock_the_account_at_the_fifth()
    {
        var (a, b) = await ReplicasAsync();
        a.People.SetPassword("sam", "h", Now);

        var attempts = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() => (i % 2 == 0 ? a : b).People.Attempt("sam", Now, 5, TimeSpan.FromMinutes(15)))));

        Assert.Equal(5, attempts.Count(t => t.Counted));
        Assert.Single(attempts, t => t is { Counted: true, LockedUntil: not null });
        Assert.Equal(5, b.People.Password("sam")!.Failures);
    }

    [Fact]
    public async Task More_budget_holders_than_the_pool_has_connections_all_get_to_count()
    {
        // Each agent its own budget: none waits for another's lock, so every holder asks the pool
        // for the lock's connection, and then for another to read and count its use. Pooled, as a
        // gateway's connections are (24 at most).
        var place = await _stores.PlaceAsync("postgres");
        var a = _stores.Open(StoreLocation.Postgres(place.Connection.Replace("Pooling=False", "Pooling=True", StringComparison.OrdinalIgnoreCase)));

        async Task CallAsync(int agent)
        {
            using var held = await a.HoldAsync([$"budget agent-{agent}"], Ct);
            await Task.Delay(500, Ct); // holders overlap, as calls under load do (the apply)
            a.Usage.Used("changed_records", $"agent-{agent}", null, null, Now.AddHours(-1));
            a.Usage.Use($"agent-{agent}", "tidy", null, Now, [("changed_records", 1)]);
        }

        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => CallAsync(i), Ct))).WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal(40, a.Usage.Used("changed_records", null, null, null, Now.AddHours(-1)));
    }

    [Fact]
    public async Task A_burst_of_wrong_passwords_on_two_replicas_is_counted_without_failing_a_sign_in()
    {
        var (a, b) = await ReplicasAsync();
        a.People.SetPassword("sam", "h", Now);

        var attempts = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(() => (i % 2 == 0 ? a : b).People.Attempt("sam", Now, 50, TimeSpan.FromMinutes(15)), Ct)));

        Assert.Equal(50, attempts.Count(t => t.Counted));
        Assert.Equal(50, b.People.Password("sam")!.Failures);
    }

    [Fact]
    public async Task Many_people_signing_in_on_two_replicas_at_once_all_get_a_session()
    {
        var (a, b) = await ReplicasAsync();
        var people = Enumerable.Range(0, 32).Select(i => $"person-{i}").ToList();
        people.ForEach(p => a.People.SetPassword(p, "h-" + p, Now));

        var started = await Task.WhenAll(people.Select((p, i) => Task.Run(() =>
            (i % 2 == 0 ? a : b).People.StartSession("token-" + p, new ConsoleSession(p, "csrf", Now, Now.AddHours(8)), "h-" + p), Ct)));

        Assert.All(started, Assert.True);
    }
}
