using Npgsql;
using Warden.Core;
using Warden.Tests;

namespace Warden.Postgres.Tests;

/// <summary>Planning reads the database synchronously, so how many calls plan at once is bounded: the rest wait their turn without a thread.</summary>
public sealed class PlanningTests(PostgresServer server) : IAsyncLifetime
{
    private Warehouse _warehouse = null!;

    public async ValueTask InitializeAsync() => _warehouse = await Warehouse.CreateAsync(server, contacts: 100);

    public ValueTask DisposeAsync() => _warehouse.DisposeAsync();

    [Fact]
    public async Task No_more_calls_plan_at_once_than_the_planning_slots_and_the_others_plan_in_turn()
    {
        var cancel = TestContext.Current.CancellationToken;
        await using var system = await PostgresDatabase.OpenAsync(_warehouse.Options with { PlanningSlots = 2, LockTimeout = TimeSpan.FromSeconds(30) }, cancellationToken: cancel);
        IGovernedSystem governed = system;

        // Someone holds the table: every plan that reaches the database waits on the lock, in a session the server shows.
        await using var holder = new NpgsqlConnection(server.AdminConnection(_warehouse.Database));
        await holder.OpenAsync(cancel);
        await using var transaction = await holder.BeginTransactionAsync(cancel);
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE contacts IN ACCESS EXCLUSIVE MODE", holder, transaction))
        {
            await lockTable.ExecuteNonQueryAsync(cancel);
        }

        var plans = Enumerable.Range(1, 8)
            .Select(i => Task.Run(async () => await governed.PlanAsync(Warehouse.Call("execute", $"UPDATE contacts SET score = {i} WHERE id = {i}"), cancel), cancel))
            .ToList();

        var waiting = 0L;
        for (var round = 0; round < 50 && waiting < 2; round++)
        {
            await Task.Delay(100, cancel);
            waiting = await WaitingOnLockAsync();
        }

        Assert.Equal(2, waiting);
        await Task.Delay(500, cancel);
        Assert.Equal(2, await WaitingOnLockAsync());
        Assert.Equal(2, system.Planning);
        Assert.All(plans, p => Assert.False(p.IsCompleted));

        await transaction.RollbackAsync(cancel);
        var planned = await Task.WhenAll(plans);
        Assert.All(planned, p => Assert.Equal(1, p.Get().Records));
        Assert.Equal(0, system.Planning);
    }

    private Task<long> WaitingOnLockAsync() => server.ScalarAsync<long>(_warehouse.Database,
        $"SELECT count(*) FROM pg_stat_activity WHERE datname = '{_warehouse.Database}' AND application_name = 'warden' AND wait_event_type = 'Lock'");
}
