using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using System.Text.Json;
using Warden.Core;
using Warden.Storage.Gateway;
using Warden.Workspace;

namespace Warden.Gateway.Guards;

/// <summary>
/// The guard state decisions read, and the counting behind it: which agents are frozen, how much
/// of each budget is used, what a call used once it ran, and the breakers that trip on it. The
/// decision stays pure: this takes a snapshot before it and counts after it.
/// </summary>
internal sealed class Guards : IDisposable
{
    private readonly GatewayStore _store;
    private readonly TimeProvider _clock;
    private readonly Func<TimeSpan> _keep;
    private readonly ILogger _log;
    private ITimer? _forget;

    /// <param name="store">Where usage is counted.</param>
    /// <param name="clock">The gateway's clock.</param>
    /// <param name="keep">The longest window anything counts over under the policy in force; older usage is forgotten every ten minutes.</param>
    /// <param name="log">Where a failed round of forgetting is reported.</param>
    public Guards(GatewayStore store, TimeProvider clock, Func<TimeSpan> keep, ILogger? log = null)
    {
        _log = log ?? NullLogger.Instance;
        _store = store;
        _clock = clock;
        _keep = keep;
    }

    /// <summary>Starts forgetting old usage every ten minutes; called once the gateway has opened, so a failed open leaves no timer running.</summary>
    public void Start() => _forget ??= _clock.CreateTimer(_ => Forget(), null, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10));

    /// <summary>The longest window a budget, a breaker or the repeated-denials guard of <paramref name="policy"/> counts over.</summary>
    public static TimeSpan LongestWindow(Policy policy) =>
        policy.Budgets.Select(b => b.Window).Concat(policy.Breakers.Select(b => b.Within)).Append(KillSwitch.DenialWindow).Max();

    /// <summary>Drops usage older than any window counts, so that the table stays the size of its longest window.</summary>
    public void Forget()
    {
        var keep = _keep();
        try
        {
            _store.Usage.Forget(_clock.GetUtcNow() - keep);
        }
#pragma warning disable CA1031 // housekeeping on a timer thread: a failure (the gateway stopping, a busy file) waits for the next round rather than ending the process
        catch (Exception e)
#pragma warning restore CA1031
        {
            // tried again in ten minutes
            _log.LogWarning(e, "Forgetting usage older than {Keep} failed; trying again in ten minutes", keep);
        }
    }

    public void Dispose() => _forget?.Dispose();

    // A lock per budget (per budget and person for one per person) and per breaker, so that
    // concurrent calls cannot all spend the same remaining budget, while calls that share no budget
    // never wait for each other (a data-hygiene read with its read budget does not queue behind a
    // send). A budget's lock is held from the decision until the call's use is reserved (counted
    // before it runs, taken back if it does not), so calls sharing a budget queue only for their
    // decisions. A breaker's is held until the call has run and been counted: a breaker trips on
    // what calls did, and the next call must see the freeze. The store holds the locks: in this
    // gateway, and across replicas when they share PostgreSQL.

    /// <summary>
    /// Taken before the decision for a call that some budget or breaker counts, so that concurrent
    /// calls (on any replica) cannot all spend the same remaining budget or trip one breaker twice;
    /// for other calls, nothing.
    /// </summary>
    public async Task<GuardHold> EnterAsync(Policy policy, Agent agent, Plan plan, string? onBehalfOf)
    {
        var breakers = policy.Breakers.Where(b => b.Covers(agent) && AddsTo(plan, b.Metric) > 0).Select(b => $"breaker {b.Id}").ToList();
        var keys = Counting(policy, agent, plan, onBehalfOf)
            .Select(b => b.PerPerson ? $"budget {b.Id} for {onBehalfOf}" : $"budget {b.Id}")
            .Concat(breakers)
            .Order(StringComparer.Ordinal) // always taken in one order: two calls cannot each hold what the other waits for
            .ToList();
        // One hold for all of them: a call waiting for a second hold while holding a first could
        // wait for ever once every holder's place (a connection each, on PostgreSQL) is taken.
        return keys.Count == 0 ? GuardHold.None : new GuardHold(await _store.HoldAsync(keys).ConfigureAwait(false), untilCounted: breakers.Count > 0);
    }

    /// <summary>
    /// Counts, before the call runs and under the budgets' lock, what it will use against every
    /// metric some budget or breaker counts (and against the person it is done for), and lets the
    /// budgets' lock go unless a breaker needs it until the count; returns the reservation to
    /// take back (<see cref="Unreserve"/>) if the call does not run, or null when nothing is counted.
    /// A gateway that stops before it takes it back leaves it counted: a budget is never exceeded.
    /// </summary>
    public string? Reserve(Policy policy, Agent agent, string? onBehalfOf, Plan plan, GuardHold hold)
    {
        var used = Amounts(plan).Where(a => a.Amount > 0 && Counted(policy, agent, a.Metric)).ToList();
        string? reservation = null;
        if (used.Count > 0)
        {
            reservation = Guid.NewGuid().ToString("N");
            _store.Usage.Use(agent.Id, agent.UseCase, onBehalfOf, _clock.GetUtcNow(), used.Select(a => (PolicyWords.Of(a.Metric), a.Amount)), reservation);
        }

        hold.Reserved();
        return reservation;
    }

    /// <summary>Takes back what a call reserved and then did not use (it was refused by its system, or stopped before it changed anything).</summary>
    public void Unreserve(string? reservation)
    {
        if (reservation is not null)
        {
            _store.Usage.Release(reservation);
        }
    }

    /// <summary>
    /// Checks the breakers over the agent once a call it reserved for has run: the ones that tripped
    /// (their metric went over within their window) are returned.
    /// </summary>
    public IReadOnlyList<Breaker> Tripped(Policy policy, Agent agent, Plan plan)
    {
        var now = _clock.GetUtcNow();
        var tripped = new List<Breaker>();
        foreach (var breaker in policy.Breakers)
        {
            if (breaker.Covers(agent) && AddsTo(plan, breaker.Metric) > 0
                && _store.Usage.Used(PolicyWords.Of(breaker.Metric), breaker.Agent, breaker.UseCase, null, now - breaker.Within) > breaker.Over)
            {
                tripped.Add(breaker);
            }
        }

        return tripped;
    }

    /// <summary>
    /// Decides a call on the policy and the guard state as it is now: the call's plan when it has
    /// one (null before planning), and the person the agent acts for, whose own budgets count too.
    /// </summary>
    public Decision Decide(Policy policy, string environment, Agent agent, string tool, JsonElement arguments, Plan? plan, string? onBehalfOf)
    {
        var now = _clock.GetUtcNow();
        // Tool names are unique across the systems governed here: the tool says its system.
        var system = plan?.Tool.System ?? policy.Tools.FirstOrDefault(t => t.Name == tool)?.System ?? ToolDefinition.WorkspaceSystem;
        var request = new DecisionRequest(agent.Id, tool, environment, arguments, plan?.Facts ?? PlanFacts.None, now) { OnBehalfOf = onBehalfOf, System = system };
        return policy.Decide(request, Snapshot(policy, agent, onBehalfOf, now, plan));
    }

    /// <summary>
    /// What the decision for a call by <paramref name="agent"/> needs to know, read now: the frozen
    /// agents, and the use of the budgets the call adds to (all of them without a plan).
    /// </summary>
    public GuardSnapshot Snapshot(Policy policy, Agent agent, string? onBehalfOf, DateTimeOffset now, Plan? plan = null)
    {
        var frozen = _store.Freezes.Frozen();
        var usage = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var budget in Counting(policy, agent, plan, onBehalfOf))
        {
            usage[budget.Id] = _store.Usage.Used(PolicyWords.Of(budget.Metric), budget.Agent, budget.UseCase, budget.PerPerson ? onBehalfOf : null, now - budget.Window);
        }

        return new GuardSnapshot { FrozenAgents = frozen, AllFrozen = frozen.Contains("*"), Usage = usage };
    }

    /// <summary>
    /// The budgets that count a call by <paramref name="agent"/>: those over it that the call adds to
    /// (every one over it without a plan), and one per person only when the call is for someone.
    /// </summary>
    private static IEnumerable<Budget> Counting(Policy policy, Agent agent, Plan? plan, string? onBehalfOf) =>
        policy.Budgets.Where(b => b.Covers(agent) && (plan is null || AddsTo(plan, b.Metric) > 0) && (!b.PerPerson || onBehalfOf is not null));

    /// <summary>What a call adds to a metric (<see cref="GuardAmounts"/>).</summary>
    private static long AddsTo(Plan plan, GuardMetric metric) => GuardAmounts.Of(metric, GuardAmounts.Effective(plan.Tool.Kind, plan.Facts), plan.Facts);

    /// <summary>What a call adds to each metric.</summary>
    private static IEnumerable<(GuardMetric Metric, long Amount)> Amounts(Plan plan) => Metrics.Select(metric => (metric, AddsTo(plan, metric)));

    private static readonly GuardMetric[] Metrics = Enum.GetValues<GuardMetric>();

    private static bool Counted(Policy policy, Agent agent, GuardMetric metric) =>
        policy.Budgets.Any(b => b.Metric == metric && b.Covers(agent)) || policy.Breakers.Any(b => b.Metric == metric && b.Covers(agent));
}

/// <summary>
/// The guard locks a call holds: a budget's until the call's use is reserved, a breaker's (and with
/// it the budgets' taken together) until the call has run and been counted. Disposing lets go of
/// whatever is still held.
/// </summary>
internal sealed class GuardHold : IDisposable
{
    private readonly bool _untilCounted;
    private IDisposable? _held;

    public GuardHold(IDisposable? held, bool untilCounted)
    {
        _held = held;
        _untilCounted = untilCounted;
    }

    /// <summary>Nothing held.</summary>
    public static GuardHold None => new(null, untilCounted: false);

    /// <summary>The call's use is reserved: the budgets' lock goes, unless a breaker needs it held until the count.</summary>
    public void Reserved()
    {
        if (!_untilCounted)
        {
            Dispose();
        }
    }

    public void Dispose() => Interlocked.Exchange(ref _held, null)?.Dispose();
}
