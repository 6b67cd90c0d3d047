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

    // A lock per budget (per budget and person for one per person) and per breaker: a call holds
    // the locks of everything that counts it, from the decision to the count, so that concurrent
    // calls cannot all spend the same remaining budget, while calls that share no budget never wait
    // for each other (a data-hygiene read with its read budget does not queue behind a send). The
    // store holds them: in this gateway, and across replicas when they share PostgreSQL.

    /// <summary>
    /// Held from the decision to the count for a call that some budget or breaker counts, so that
    /// concurrent calls (on any replica) cannot all spend the same remaining budget or trip one
    /// breaker twice; for other calls, nothing.
    /// </summary>
    public async Task<IDisposable> EnterAsync(Policy policy, Agent agent, Plan plan, string? onBehalfOf)
    {
        var keys = Counting(policy, agent, plan, onBehalfOf)
            .Select(b => b.PerPerson ? $"budget {b.Id} for {onBehalfOf}" : $"budget {b.Id}")
            .Concat(policy.Breakers.Where(b => b.Covers(agent) && AddsTo(plan, b.Metric) > 0).Select(b => $"breaker {b.Id}"))
            .Order(StringComparer.Ordinal) // always taken in one order: two calls cannot each hold what the other waits for
            .ToList();
        return keys.Count == 0 ? Nothing.Held : await _store.HoldAsync(keys).ConfigureAwait(false);
    }

    /// <summary>No lock held.</summary>
    private sealed class Nothing : IDisposable
    {
        public static readonly Nothing Held = new();

        public void Dispose()
        {
        }
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
    /// Counts what an applied call used against every metric (and against the person it was done
    /// for), then checks the breakers over the agent: the ones that tripped (their metric went over
    /// within their window) are returned. Only metrics some budget or breaker of the policy counts
    /// are stored.
    /// </summary>
    public IReadOnlyList<Breaker> Count(Policy policy, Agent agent, string? onBehalfOf, Plan plan)
    {
        var now = _clock.GetUtcNow();
        var used = Amounts(plan).Where(a => a.Amount > 0 && Counted(policy, agent, a.Metric)).ToList();
        if (used.Count == 0)
        {
            return [];
        }

        _store.Usage.Use(agent.Id, agent.UseCase, onBehalfOf, now, used.Select(a => (PolicyWords.Of(a.Metric), a.Amount)));
        var tripped = new List<Breaker>();
        foreach (var breaker in policy.Breakers)
        {
            if (breaker.Covers(agent) && used.Any(a => a.Metric == breaker.Metric)
                && _store.Usage.Used(PolicyWords.Of(breaker.Metric), breaker.Agent, breaker.UseCase, null, now - breaker.Within) > breaker.Over)
            {
                tripped.Add(breaker);
            }
        }

        return tripped;
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
