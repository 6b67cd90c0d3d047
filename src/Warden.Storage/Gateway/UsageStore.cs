using Warden.Storage.Engines;

namespace Warden.Storage.Gateway;

/// <summary>What calls used, per metric, agent, use case and person, over time: what budgets and breakers count.</summary>
public sealed class UsageStore
{
    private readonly StoreDatabase _db;

    internal UsageStore(StoreDatabase database) => _db = database;

    /// <summary>
    /// Counts what a call used, metric by metric, in one transaction; <paramref name="person"/> is
    /// whom the agent acted for. With a <paramref name="reservation"/>, counted before the call runs,
    /// and taken back by <see cref="Release"/> if it does not.
    /// </summary>
    public void Use(string agent, string useCase, string? person, DateTimeOffset at, IEnumerable<(string Metric, long Amount)> amounts, string? reservation = null)
    {
        var counted = amounts.Where(a => a.Amount != 0).ToList();
        if (counted.Count == 0)
        {
            return;
        }

        _db.Transaction(session =>
        {
            using var command = session.Command(
                "INSERT INTO usage (at, agent, use_case, person, metric, amount, reservation) VALUES (@at, @agent, @use_case, @person, @metric, @amount, @reservation)",
                ("@at", GatewayStore.Time(at)), ("@agent", agent), ("@use_case", useCase), ("@person", person), ("@metric", ""), ("@amount", 0L), ("@reservation", reservation));
            foreach (var (metric, amount) in counted)
            {
                command.Parameters["@metric"].Value = metric;
                command.Parameters["@amount"].Value = amount;
                command.ExecuteNonQuery();
            }

            return 0;
        });
    }

    /// <summary>
    /// How much of a metric was used since a time: by an agent, or by all agents of a use case, or
    /// (both null) by every agent; with <paramref name="person"/>, only what was done on their behalf.
    /// </summary>
    public long Used(string metric, string? agent, string? useCase, string? person, DateTimeOffset since)
    {
        var scope = agent is not null ? " AND agent = @agent" : useCase is not null ? " AND use_case = @use_case" : "";
        var parameters = new List<(string, object?)> { ("@metric", metric), ("@since", GatewayStore.Time(since)) };
        if (agent is not null)
        {
            parameters.Add(("@agent", agent));
        }
        else if (useCase is not null)
        {
            parameters.Add(("@use_case", useCase));
        }

        if (person is not null)
        {
            parameters.Add(("@person", person));
        }

        return _db.Scalar($"SELECT coalesce(sum(amount), 0) FROM usage WHERE metric = @metric AND at > @since{scope}{(person is null ? "" : " AND person = @person")}", [.. parameters]);
    }

    /// <summary>Takes back what a call reserved (<see cref="Use"/>) and then did not use: it did not run. Returns how many rows went.</summary>
    public int Release(string reservation) => _db.Execute("DELETE FROM usage WHERE reservation = @reservation", ("@reservation", reservation));

    /// <summary>Drops usage counted at or before <paramref name="before"/>; returns how many rows went.</summary>
    public int Forget(DateTimeOffset before) => _db.Execute("DELETE FROM usage WHERE at <= @before", ("@before", GatewayStore.Time(before)));
}
