using Warden.Core.Decisions;
using Warden.Core.Policies;

namespace Warden.Core;

/// <summary>A tool an agent can be granted, and whether it can ever run without approval.</summary>
public sealed record ToolGrant(ToolDefinition Tool, Effect BestCase)
{
    /// <summary>The enforced rules that can decide a call of the tool by the agent, in precedence order: why it may do what it may.</summary>
    public IReadOnlyList<Rule> Rules { get; init; } = [];
}

/// <summary>
/// A loaded, checked and compiled policy: the governance model (owners, use cases, agents, rules,
/// exceptions, budgets, breakers) and the decision over it. Immutable and safe to share between
/// threads; a new policy is loaded, never edited in place.
/// </summary>
public sealed class Policy
{
    private readonly DecisionEngine _engine;
    private readonly DataClassMap _dataClassMap;
    private readonly Dictionary<string, Agent> _agents;
    private readonly Dictionary<string, UseCase> _useCases;
    private readonly Dictionary<string, Owner> _owners = new(StringComparer.Ordinal);

    internal Policy(string id, string description, string source, string hash, IReadOnlyList<string> environments, IReadOnlyList<Owner> owners,
        IReadOnlyList<Group> groups, IReadOnlyDictionary<string, IReadOnlyList<string>> dataClasses, IReadOnlyList<UseCase> useCases,
        IReadOnlyList<Agent> agents, IReadOnlyList<UpstreamSystem> systems, IReadOnlyList<SystemCatalogue> catalogues, IReadOnlyList<ToolDefinition> tools, IReadOnlyList<Rule> rules,
        IReadOnlyList<PolicyException> exceptions, IReadOnlyList<Budget> budgets, IReadOnlyList<Breaker> breakers, IReadOnlyList<ResolvedRule> compiledRules,
        IReadOnlyList<Destination> destinations)
    {
        Destinations = destinations;
        Id = id;
        Description = description;
        Source = source;
        Hash = hash;
        Environments = environments;
        Owners = owners;
        Groups = groups;
        DataClasses = dataClasses;
        UseCases = useCases;
        Agents = agents;
        Systems = systems;
        Catalogues = catalogues;
        Tools = tools;
        Rules = rules;
        Exceptions = exceptions;
        Budgets = budgets;
        Breakers = breakers;
        _agents = agents.ToDictionary(a => a.Id, StringComparer.Ordinal);
        _useCases = useCases.ToDictionary(u => u.Id, StringComparer.Ordinal);
        foreach (var owner in owners)
        {
            _owners.TryAdd(owner.Id, owner); // the first of a repeated id, as a search in file order finds
        }
        _dataClassMap = new DataClassMap(dataClasses, catalogues);
        _engine = new DecisionEngine(this, compiledRules, _dataClassMap);
    }

    /// <summary>The policy's id.</summary>
    public string Id { get; }

    /// <summary>What the policy is for.</summary>
    public string Description { get; }

    /// <summary>Where it was loaded from.</summary>
    public string Source { get; }

    /// <summary>sha256 of the file's text: what the audit trail records for a policy load.</summary>
    public string Hash { get; }

    /// <summary>Where audiences may be synced; a sync anywhere else is refused.</summary>
    public IReadOnlyList<Destination> Destinations { get; }

    /// <summary>The environments agents act in, sandbox and production unless the policy says otherwise.</summary>
    public IReadOnlyList<string> Environments { get; }

    /// <summary>The people named in the policy.</summary>
    public IReadOnlyList<Owner> Owners { get; }

    /// <summary>Named groups of people.</summary>
    public IReadOnlyList<Group> Groups { get; }

    /// <summary>Data classes and the field patterns in each.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> DataClasses { get; }

    /// <summary>The use cases, with their classification and owners.</summary>
    public IReadOnlyList<UseCase> UseCases { get; }

    /// <summary>The agents.</summary>
    public IReadOnlyList<Agent> Agents { get; }

    /// <summary>Upstream systems and their annotated tools.</summary>
    public IReadOnlyList<UpstreamSystem> Systems { get; }

    /// <summary>The systems of a kind Warden knows (a PostgreSQL database) the policy declares, with how to reach them.</summary>
    public IReadOnlyList<DeclaredSystem> Declared { get; init; } = [];

    /// <summary>The catalogues of the built-in systems the policy was loaded with: their tools and fields, with the classes the systems give them.</summary>
    public IReadOnlyList<SystemCatalogue> Catalogues { get; }

    /// <summary>Every tool known to the policy: the workspace catalogue and the annotated upstream tools.</summary>
    public IReadOnlyList<ToolDefinition> Tools { get; }

    /// <summary>The rules, in file order.</summary>
    public IReadOnlyList<Rule> Rules { get; }

    /// <summary>Time-bound exceptions.</summary>
    public IReadOnlyList<PolicyException> Exceptions { get; }

    /// <summary>Budgets.</summary>
    public IReadOnlyList<Budget> Budgets { get; }

    /// <summary>Breakers.</summary>
    public IReadOnlyList<Breaker> Breakers { get; }

    /// <summary>
    /// Decides one call. Pure: the same policy, request and guard state give the same decision.
    /// Never throws; a failure inside is a deny (fail closed).
    /// </summary>
    public Decision Decide(in DecisionRequest request, IGuardState? guards = null)
    {
        try
        {
            return _engine.Decide(request, guards ?? GuardSnapshot.Empty, trace: null, steps: null);
        }
        catch (Exception e)
        {
            return new Decision(Effect.Deny, DecisionBasis.EvaluationFailed, request, detail: e.Message);
        }
    }

    /// <summary>Decides one call and reports every rule considered and every step taken.</summary>
    public Explanation Explain(in DecisionRequest request, IGuardState? guards = null)
    {
        var trace = new List<RuleTrace>();
        var steps = new List<string>();
        var decision = _engine.Decide(request, guards ?? GuardSnapshot.Empty, trace, steps);
        var agent = FindAgent(request.Agent);
        var useCase = agent is null ? null : FindUseCase(agent.UseCase);
        return new Explanation(decision, agent, useCase, FindTool(request.System, request.Tool), trace, steps);
    }

    /// <summary>The agent with this id, if the policy has it.</summary>
    public Agent? FindAgent(string id) => _agents.GetValueOrDefault(id);

    /// <summary>The person with this id, if the policy has them.</summary>
    public Owner? FindOwner(string id) => _owners.GetValueOrDefault(id);

    /// <summary>The use case with this id, if the policy has it.</summary>
    public UseCase? FindUseCase(string id) => _useCases.GetValueOrDefault(id);

    /// <summary>The tool, if the policy knows it.</summary>
    public ToolDefinition? FindTool(string system, string name) => Tools.FirstOrDefault(t => t.System == system && t.Name == name);

    /// <summary>The people who may meet an approval requirement for a call by this agent.</summary>
    public IReadOnlyList<string> EligibleApprovers(ApprovalRequirement requirement, string agent) =>
        FindAgent(agent) is { } a && FindUseCase(a.UseCase) is { } useCase
            ? Approvers.Resolve(requirement.Approvers, useCase, Owners, Groups)
            : [];

    /// <summary>The data classes a field belongs to, e.g. contacts.email → pii.</summary>
    public IReadOnlyList<string> ClassesOf(string field) => _dataClassMap.ClassesOf(field);

    /// <summary>The tools this agent can ever be granted in this environment, and whether they can run without approval.</summary>
    public IReadOnlyList<ToolGrant> Grants(string agent, string environment) => [.. _engine.Grants(agent, environment)];

    /// <summary>
    /// Whether this agent can ever be granted, here, a tool an upstream server offers that the
    /// policy does not annotate (<see cref="ToolDefinition.Annotated"/> false): null when not; held
    /// for a person when so, since such a tool counts as destructive, irreversible and external.
    /// </summary>
    public ToolGrant? GrantUnannotated(string agent, string environment, ToolDefinition tool) => _engine.GrantUnannotated(agent, environment, tool);
}
