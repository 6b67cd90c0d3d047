using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using Warden.Core.Cel;
using Warden.Core.Policies;

namespace Warden.Core.Decisions;

/// <summary>
/// The decision as a pure function of (policy, call, plan facts, guard state). Rules are indexed
/// when the policy loads by agent and tool, already in precedence order (deny, then approve, then
/// allow; file order within each), so a decision looks up a short list and evaluates compiled
/// conditions over a stack-allocated activation: no I/O, no locks, no allocation.
/// </summary>
internal sealed class DecisionEngine
{
    private readonly Dictionary<string, AgentEntry> _agents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, ToolSlot>> _systems = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ulong> _environmentBits = new(StringComparer.Ordinal);
    private readonly DataClassMap _dataClasses;
    private readonly HashSet<string> _destinations;

    public DecisionEngine(Policy policy, IReadOnlyList<ResolvedRule> rules, DataClassMap dataClasses)
    {
        _dataClasses = dataClasses;
        _destinations = policy.Destinations.Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < policy.Environments.Count; i++)
        {
            _environmentBits[policy.Environments[i]] = 1UL << i;
        }

        _systems[ToolDefinition.WorkspaceSystem] = new(StringComparer.Ordinal);
        foreach (var system in policy.Systems)
        {
            _systems[system.Id] = new(StringComparer.Ordinal);
        }

        // A governed system's catalogue (a database's) brings its tools whether or not the policy annotates it.
        foreach (var catalogue in policy.Catalogues)
        {
            _systems.TryAdd(catalogue.System, new(StringComparer.Ordinal));
        }

        var toolCount = 0;
        foreach (var tool in policy.Tools)
        {
            _systems[tool.System][tool.Name] = new ToolSlot(tool, toolCount++);
        }

        // Each rule is handed to the agents it resolved to, so building the index is linear in
        // (rules × their agents), not agents × rules.
        var byAgent = policy.Agents.ToDictionary<Agent, Agent, List<CompiledRule>>(a => a, _ => [], ReferenceEqualityComparer.Instance);
        foreach (var rule in rules.Select(r => new CompiledRule(r)))
        {
            foreach (var agent in rule.Resolved.Agents)
            {
                byAgent[agent].Add(rule);
            }
        }

        var useCases = policy.UseCases.ToDictionary(u => u.Id, StringComparer.Ordinal);
        foreach (var agent in policy.Agents)
        {
            var useCase = useCases[agent.UseCase];
            var mine = byAgent[agent];
            var byTool = new RuleSet?[toolCount];
            foreach (var system in _systems.Values)
            {
                foreach (var slot in system.Values)
                {
                    var forTool = mine.Where(r => r.Resolved.ToolSet.Contains(slot.Tool)).ToList();
                    if (forTool.Count > 0)
                    {
                        byTool[slot.Index] = new RuleSet(Order(forTool));
                    }
                }
            }

            var open = new RuleSet(Order(mine.Where(r => r.Resolved.Open).ToList()));
            var environments = agent.Environments.Aggregate(0UL, (mask, e) => mask | _environmentBits[e]);
            var budgets = policy.Budgets.Where(b => b.Covers(agent)).ToArray();
            _agents[agent.Id] = new AgentEntry(agent, useCase, environments, string.Join(", ", agent.Environments), byTool, open, budgets);
        }
    }

    private static CompiledRule[] Order(List<CompiledRule> rules) =>
        [.. rules.OrderByDescending(r => r.Effect).ThenBy(r => r.Resolved.Order)];

    public Decision Decide(in DecisionRequest request, IGuardState guards, List<RuleTrace>? trace, List<string>? steps)
    {
        if (!_agents.TryGetValue(request.Agent, out var agent))
        {
            return new Decision(Effect.Deny, DecisionBasis.UnknownAgent, request);
        }

        if (!_environmentBits.TryGetValue(request.Environment, out var environment) || (agent.Environments & environment) == 0)
        {
            return new Decision(Effect.Deny, DecisionBasis.Environment, request, detail: agent.EnvironmentNames);
        }

        if (guards.IsFrozen(request.Agent))
        {
            return new Decision(Effect.Deny, DecisionBasis.Frozen, request);
        }

        if (!_systems.TryGetValue(request.System, out var system))
        {
            return new Decision(Effect.Deny, DecisionBasis.UnknownTool, request);
        }

        ToolDefinition tool;
        RuleSet rules;
        var openMatching = false;
        if (system.TryGetValue(request.Tool, out var slot))
        {
            tool = slot.Tool;
            rules = agent.ByTool[slot.Index] ?? RuleSet.Empty;
        }
        else if (request.System != ToolDefinition.WorkspaceSystem)
        {
            // A tool the upstream server offers but the policy does not annotate: the most dangerous reading.
            tool = UnannotatedTool;
            rules = agent.Open;
            openMatching = true;
        }
        else
        {
            return new Decision(Effect.Deny, DecisionBasis.UnknownTool, request);
        }

        var facts = request.Facts ?? PlanFacts.None;
        // What the plan does decides how the call is governed, not the tool's name: a call that
        // deletes records is a delete for the tier, the budgets and `kind`.
        var kind = GuardAmounts.Effective(tool.Kind, facts);
        if (kind == ActionKind.Sync && (facts.Destination is not { } destination || !_destinations.Contains(destination)))
        {
            // An audience going somewhere the policy does not name is never approved as if it went somewhere it does.
            steps?.Add(facts.Destination is null ? "The sync names no destination." : $"'{facts.Destination}' is not among the policy's destinations.");
            return new Decision(Effect.Deny, DecisionBasis.Destination, request, detail: facts.Destination);
        }

        var external = tool.External || facts.External == true;
        var irreversible = tool.Reversibility == Reversibility.Irreversible || facts.Reversible == false;
        var classes = _dataClasses.Complete(facts.Classes, facts.Fields);
        var input = new ConditionInput(facts, classes, request.Arguments, request.Environment, agent.Agent.Id, agent.Agent.UseCase,
            request.System, request.Tool, Names.KindNames[(int)kind], external, !irreversible, GuardAmounts.Deleted(kind, facts), GuardAmounts.Changed(kind, facts));
        var activation = new CelActivation(input);

        var outcome = Evaluate(rules, environment, includeShadow: false, openMatching, request, ref activation, agent.Agent.Id, trace);
        var decision = Finish(outcome, rules, environment, openMatching, request, agent, tool, kind, external, irreversible, facts, guards, ref activation, steps);

        if (rules.HasShadow)
        {
            var shadow = Evaluate(rules, environment, includeShadow: true, openMatching, request, ref activation, agent.Agent.Id, trace);
            if (shadow.FirstShadow is { } shadowRule)
            {
                decision = decision.WithShadow(shadow.Effect ?? Effect.Deny, shadowRule.Model);
            }
        }

        return decision;
    }

    private static readonly ToolDefinition UnannotatedTool = ToolDefinition.Unannotated("upstream", "unannotated");

    private Decision Finish(in Outcome outcome, RuleSet rules, ulong environment, bool openMatching, in DecisionRequest request, AgentEntry agent,
        ToolDefinition tool, ActionKind kind, bool external, bool irreversible, PlanFacts facts, IGuardState guards, ref CelActivation activation, List<string>? steps)
    {
        if (outcome.Effect is not { } effect)
        {
            return new Decision(Effect.Deny, DecisionBasis.DefaultDeny, request);
        }

        var rule = outcome.Rule!;
        if (effect == Effect.Deny)
        {
            return new Decision(Effect.Deny, DecisionBasis.Rule, request, rule.Model, conditionError: outcome.ConditionError);
        }

        // The tier caps what any grant may reach, even one the checker could not see (an unannotated tool, a plan fact).
        if (TierCaps.Violation(agent.UseCase.Tier, kind, irreversible ? Reversibility.Irreversible : tool.Reversibility, external) is { } violation)
        {
            steps?.Add($"Use case '{agent.UseCase.Id}' is {TierCaps.Name(agent.UseCase.Tier)} tier: {violation}.");
            return new Decision(Effect.Deny, DecisionBasis.TierCap, request, rule.Model,
                detail: $"use case '{agent.UseCase.Id}' is {TierCaps.Name(agent.UseCase.Tier)} tier, and {violation}");
        }

        Decision decision;
        if (effect == Effect.Allow && (irreversible || external))
        {
            // Invariant 2: nothing irreversible or external without a person, whatever a rule says.
            var what = irreversible && external ? "irreversible and external" : irreversible ? "irreversible" : "external";
            steps?.Add($"The call is {what}, so the allow becomes an approval by the use case's risk owner (invariant 2).");
            decision = new Decision(Effect.Approve, DecisionBasis.Invariant, request, rule.Model, agent.Escalation, detail: what);
        }
        else if (effect == Effect.Approve)
        {
            var approvals = outcome.ApproveCount == 1 ? rule.Approvals
                : BitOperations.PopCount(outcome.Approving) == outcome.ApproveCount ? rules.ApprovalsFor(outcome.Approving)
                : CollectApprovals(rules, environment, openMatching, request, ref activation, agent.Agent.Id);
            decision = new Decision(Effect.Approve, DecisionBasis.Rule, request, rule.Model, approvals, conditionError: outcome.ConditionError);
        }
        else
        {
            decision = outcome.Exception is { } exception
                ? new Decision(Effect.Allow, DecisionBasis.Exception, request, rule.Model, exception: exception.Model)
                : new Decision(Effect.Allow, DecisionBasis.Rule, request, rule.Model);
        }

        foreach (var budget in agent.Budgets)
        {
            var amount = GuardAmounts.Of(budget.Metric, kind, facts);
            if (amount == 0 || (budget.PerPerson && request.OnBehalfOf is null))
            {
                continue;
            }

            var used = guards.Used(budget, request.Agent);
            steps?.Add(string.Create(CultureInfo.InvariantCulture,
                $"Budget '{budget.Id}': {used:N0} of {budget.Limit:N0} used; this call adds {amount:N0}{(used + amount > budget.Limit ? ": exceeded" : "")}."));
            if (used + amount > budget.Limit)
            {
                return new Decision(Effect.Deny, DecisionBasis.Budget, request, rule.Model, budget: budget, used: used, amount: amount,
                    detail: budget.PerPerson ? request.OnBehalfOf : null);
            }
        }

        return decision;
    }

    /// <summary>The strongest effect among the rules that match, and the rule (and exception) behind it.</summary>
    /// <remarks><see cref="Approving"/> has bit i set when rule i of the set matched as an approval (for the first 64).</remarks>
    private readonly record struct Outcome(Effect? Effect, CompiledRule? Rule, ResolvedException? Exception, int ApproveCount, ulong Approving,
        string? ConditionError, CompiledRule? FirstShadow);

    private static Outcome Evaluate(RuleSet rules, ulong environment, bool includeShadow, bool openMatching, in DecisionRequest request,
        ref CelActivation activation, string agent, List<RuleTrace>? trace)
    {
        Effect? best = null;
        CompiledRule? bestRule = null;
        ResolvedException? bestException = null;
        string? conditionError = null;
        CompiledRule? firstShadow = null;
        var approvals = 0;
        var approving = 0UL;
        var index = -1;
        foreach (var rule in rules.Rules)
        {
            index++;
            if (rule.Shadow && !includeShadow)
            {
                continue;
            }

            // The shadow pass re-evaluates enforced rules silently; the trace already has them.
            var record = trace is not null && rule.Shadow == includeShadow;
            if (openMatching && !rule.MatchesUnannotated(request.System, request.Tool))
            {
                continue;
            }

            if ((rule.Environments & environment) == 0)
            {
                if (record)
                {
                    trace!.Add(new RuleTrace(rule.Model, RuleOutcome.OtherEnvironment, $"covers {string.Join(", ", rule.Model.Match.Environments)} only"));
                }

                continue;
            }

            // Nothing outranks a deny, and a plain allow cannot improve on an allow: skip, unless
            // tracing or looking for the shadow rules that would have fired.
            if (trace is null && !includeShadow && (best == Effect.Deny || (best is not null && rule.Effect == Effect.Allow && rule.Resolved.Exceptions.Count == 0)))
            {
                if (best == Effect.Deny)
                {
                    break;
                }

                continue;
            }

            var matched = Matches(rule, ref activation, out var error);
            var effect = rule.Effect;
            ResolvedException? exception = null;
            if (matched && rule.Resolved.Exceptions.Count > 0)
            {
                exception = ActiveException(rule, agent, request.Now, ref activation, record ? trace : null);
                if (exception is not null)
                {
                    effect = Effect.Allow;
                }
            }

            if (record)
            {
                var outcome = rule.Shadow ? (matched ? RuleOutcome.ShadowMatched : RuleOutcome.ShadowNotMatched)
                    : error is not null ? RuleOutcome.ConditionError
                    : exception is not null ? RuleOutcome.ExceptionApplied
                    : matched ? RuleOutcome.Matched : RuleOutcome.NotMatched;
                trace!.Add(new RuleTrace(rule.Model, outcome, Detail(rule, matched, error, exception)));
            }

            if (!matched)
            {
                continue;
            }

            if (rule.Shadow)
            {
                firstShadow ??= rule;
            }

            if (best is null || effect > best)
            {
                best = effect;
                bestRule = rule;
                bestException = exception;
                conditionError = error;
                approvals = effect == Effect.Approve ? 1 : 0;
                approving = effect == Effect.Approve ? Bit(index) : 0;
            }
            else if (effect == Effect.Approve && best == Effect.Approve)
            {
                approvals++;
                approving |= Bit(index);
            }
        }

        return new Outcome(best, bestRule, bestException, approvals, approving, conditionError, firstShadow);

        static ulong Bit(int i) => i < 64 ? 1UL << i : 0;
    }

    private static string Detail(CompiledRule rule, bool matched, string? error, ResolvedException? exception)
    {
        if (error is not null)
        {
            return $"condition failed to evaluate ({error}); {(matched ? "applied, failing closed" : "not applied, since it would grant")}";
        }

        if (exception is not null)
        {
            return $"matched; exception '{exception.Model.Id}' (until {exception.Model.Until.UtcDateTime:yyyy-MM-dd HH:mm}Z) makes it an allow";
        }

        if (rule.Condition is null)
        {
            return "matched (no condition)";
        }

        return $"condition {(matched ? "true" : "false")}: {rule.Condition.Text}";
    }

    /// <summary>True when the rule applies. A condition that fails to evaluate fails closed: restricting rules apply, granting rules do not.</summary>
    private static bool Matches(CompiledRule rule, ref CelActivation activation, out string? error)
    {
        error = null;
        if (rule.Condition is null)
        {
            return true;
        }

        var value = rule.Condition.Evaluate(ref activation);
        if (value.Kind == CelKind.Bool)
        {
            return value.AsBool;
        }

        error = value.IsError ? value.Error.Message : "the condition is not true or false";
        return rule.Effect != Effect.Allow;
    }

    private static ResolvedException? ActiveException(CompiledRule rule, string agent, DateTimeOffset now, ref CelActivation activation, List<RuleTrace>? trace)
    {
        foreach (var exception in rule.Resolved.Exceptions)
        {
            if (!string.Equals(exception.Model.Agent, agent, StringComparison.Ordinal))
            {
                continue;
            }

            if (!exception.Model.IsActive(now))
            {
                trace?.Add(new RuleTrace(rule.Model, RuleOutcome.NotMatched, $"exception '{exception.Model.Id}' expired at {exception.Model.Until.UtcDateTime:yyyy-MM-dd HH:mm}Z"));
                continue;
            }

            if (exception.Condition is null || exception.Condition.Evaluate(ref activation).IsTrue)
            {
                return exception;
            }
        }

        return null;
    }

    private static IReadOnlyList<ApprovalRequirement> CollectApprovals(RuleSet rules, ulong environment, bool openMatching, in DecisionRequest request,
        ref CelActivation activation, string agent)
    {
        // Several approving rules matched beyond the first 64 of the set: every one must be satisfied.
        var approvals = new List<ApprovalRequirement>();
        foreach (var rule in rules.Rules)
        {
            if (rule.Shadow || rule.Effect != Effect.Approve || (rule.Environments & environment) == 0
                || (openMatching && !rule.MatchesUnannotated(request.System, request.Tool)))
            {
                continue;
            }

            if (Matches(rule, ref activation, out _) && (rule.Resolved.Exceptions.Count == 0 || ActiveException(rule, agent, request.Now, ref activation, null) is null))
            {
                approvals.AddRange(rule.Approvals);
            }
        }

        return approvals;
    }

    public IEnumerable<ToolGrant> Grants(string agentId, string environment)
    {
        if (!_agents.TryGetValue(agentId, out var agent) || !_environmentBits.TryGetValue(environment, out var bit) || (agent.Environments & bit) == 0)
        {
            yield break;
        }

        foreach (var slot in _systems.Values.SelectMany(s => s.Values).OrderBy(s => s.Index))
        {
            var rules = agent.ByTool[slot.Index];
            if (rules is null || TierCaps.Violation(agent.UseCase.Tier, slot.Tool) is not null)
            {
                continue;
            }

            // What the best call could get: an exception for this agent turns its rule into an allow;
            // an unconditional deny (without one) closes the tool; an unconditional approval holds it.
            var enforced = rules.Rules.Where(r => !r.Shadow && (r.Environments & bit) != 0).ToList();
            bool Excepted(CompiledRule r) => r.Resolved.Exceptions.Any(e => e.Model.Agent == agentId);
            if (enforced.Any(r => r.Effect == Effect.Deny && r.Condition is null && !Excepted(r)))
            {
                continue;
            }

            var allows = enforced.Any(r => r.Effect == Effect.Allow || Excepted(r));
            var approves = enforced.Any(r => r.Effect == Effect.Approve);
            if (!allows && !approves)
            {
                continue;
            }

            var held = slot.Tool.AlwaysNeedsPerson || !allows || enforced.Any(r => r.Effect == Effect.Approve && r.Condition is null && !Excepted(r));
            yield return new ToolGrant(slot.Tool, held ? Effect.Approve : Effect.Allow) { Rules = [.. enforced.Select(r => r.Resolved.Model)] };
        }
    }

    /// <summary>
    /// What an agent could get for a tool an upstream server offers that the policy does not
    /// annotate (governed as destructive, irreversible and external): the rules that match such
    /// tools, under the same test as <see cref="Grants"/>; always held for a person.
    /// </summary>
    public ToolGrant? GrantUnannotated(string agentId, string environment, ToolDefinition tool)
    {
        if (!_agents.TryGetValue(agentId, out var agent) || !_environmentBits.TryGetValue(environment, out var bit) || (agent.Environments & bit) == 0
            || tool.Annotated || !_systems.ContainsKey(tool.System) || TierCaps.Violation(agent.UseCase.Tier, tool) is not null)
        {
            return null;
        }

        var enforced = agent.Open.Rules.Where(r => !r.Shadow && (r.Environments & bit) != 0 && r.MatchesUnannotated(tool.System, tool.Name)).ToList();
        bool Excepted(CompiledRule r) => r.Resolved.Exceptions.Any(e => e.Model.Agent == agentId);
        if (enforced.Any(r => r.Effect == Effect.Deny && r.Condition is null && !Excepted(r)) || !enforced.Any(r => r.Effect != Effect.Deny || Excepted(r)))
        {
            return null;
        }

        return new ToolGrant(tool, Effect.Approve) { Rules = [.. enforced.Select(r => r.Resolved.Model)] };
    }

    private sealed record ToolSlot(ToolDefinition Tool, int Index);

    private sealed record AgentEntry(Agent Agent, UseCase UseCase, ulong Environments, string EnvironmentNames, RuleSet?[] ByTool, RuleSet Open, Budget[] Budgets)
    {
        /// <summary>Who approves when an allow is raised by invariant 2: the use case's risk owner.</summary>
        public ApprovalRequirement[] Escalation { get; } = [new(["owner:risk"], 1, TimeSpan.FromHours(24), ApprovalRequirement.ShowChoices)];
    }

    private sealed class RuleSet(CompiledRule[] rules)
    {
        private const int MaxCachedCombinations = 256;
        private ConcurrentDictionary<ulong, ApprovalRequirement[]>? _approvals;

        public static readonly RuleSet Empty = new([]);

        public CompiledRule[] Rules { get; } = rules;

        public bool HasShadow { get; } = rules.Any(r => r.Shadow);

        /// <summary>
        /// The requirements of several approving rules together, cached by which rules they are, so
        /// that a held call allocates nothing once its combination has been seen.
        /// </summary>
        public IReadOnlyList<ApprovalRequirement> ApprovalsFor(ulong approving)
        {
            return _approvals is not null && _approvals.TryGetValue(approving, out var cached) ? cached : Build(approving);
        }

        // Apart from the lookup: a lambda capturing 'approving' would allocate on every call, hit or miss.
        private ApprovalRequirement[] Build(ulong approving)
        {
            var requirements = Enumerable.Range(0, Math.Min(64, Rules.Length))
                .Where(i => (approving & (1UL << i)) != 0)
                .SelectMany(i => Rules[i].Approvals)
                .ToArray();
            // Created on first use: most rule sets never see two approvals at once.
            var cache = LazyInitializer.EnsureInitialized(ref _approvals, () => new ConcurrentDictionary<ulong, ApprovalRequirement[]>());
            if (cache.Count < MaxCachedCombinations)
            {
                cache.TryAdd(approving, requirements);
            }

            return requirements;
        }
    }

    private sealed class CompiledRule(ResolvedRule resolved)
    {
        public ResolvedRule Resolved { get; } = resolved;

        public Rule Model { get; } = resolved.Model;

        public Effect Effect { get; } = resolved.Model.Effect;

        public bool Shadow { get; } = resolved.Model.Mode == RuleMode.Shadow;

        public ulong Environments { get; } = resolved.Environments;

        public CelCondition? Condition { get; } = resolved.Condition;

        public ApprovalRequirement[] Approvals { get; } = resolved.Model.Approval is { } a ? [a] : [];

        public bool MatchesUnannotated(string system, string tool) =>
            Resolved.Open && Glob.AnyMatch(Resolved.SystemGlobs, system) && Glob.AnyMatch(Resolved.ToolGlobs, tool);
    }
}
