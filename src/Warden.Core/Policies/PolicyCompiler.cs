using System.Text.RegularExpressions;
using Warden.Core.Cel;
using Warden.Core.Decisions;
using Warden.Core.Diagnostics;
using Warden.Core.Yaml;

namespace Warden.Core.Policies;

/// <summary>A rule after its names are resolved: which agents, environments and tools it can ever apply to.</summary>
internal sealed class ResolvedRule
{
    public required Rule Model { get; init; }
    public required RuleSyntax Syntax { get; init; }
    public required int Order { get; init; }
    public required List<Agent> Agents { get; init; }
    public required List<ToolDefinition> Tools { get; init; }
    public required ulong Environments { get; init; }
    public required Glob[] SystemGlobs { get; init; }
    public required Glob[] ToolGlobs { get; init; }
    public required HashSet<ActionKind> Kinds { get; init; }

    /// <summary>True when the rule may also match tools the policy does not annotate (on a declared upstream system).</summary>
    public required bool Open { get; init; }

    public CelCondition? Condition { get; set; }

    public List<ResolvedException> Exceptions { get; } = [];

    public HashSet<Agent> AgentSet => field ??= [.. Agents];

    public HashSet<ToolDefinition> ToolSet => field ??= new HashSet<ToolDefinition>(Tools, ReferenceEqualityComparer.Instance);
}

internal sealed record ResolvedException(PolicyException Model, CelCondition? Condition);

/// <summary>
/// Checks a bound policy against itself: names are unique and resolve, owners are named, conditions
/// type-check, no rule lets an irreversible or external action run without a person, no rule grants
/// beyond its use case's tier, and every rule can match something. Then builds the <see cref="Policy"/>.
/// </summary>
internal sealed class PolicyCompiler
{
    private readonly PolicySyntax _syntax;
    private readonly DiagnosticBag _diagnostics;
    private readonly PolicyLoadOptions _options;

    private readonly Dictionary<string, OwnerSyntax> _owners = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GroupSyntax> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UseCase> _useCases = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Agent> _agents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ResolvedRule> _rules = new(StringComparer.Ordinal);
    private readonly List<string> _environments = [];
    private readonly List<ToolDefinition> _tools = [];
    private readonly HashSet<string> _upstreamSystems = new(StringComparer.Ordinal);
    private readonly List<UpstreamSystem> _systems = [];
    private readonly List<DeclaredSystem> _declared = [];
    private readonly List<SystemCatalogue> _declaredCatalogues = [];
    private readonly Dictionary<string, IReadOnlyList<string>> _dataClasses = new(StringComparer.Ordinal);

    // Conditions over the same tools share one set of typed variables.
    private readonly Dictionary<string, IReadOnlyDictionary<string, CelVariable>> _variables = new(StringComparer.Ordinal);

    private PolicyCompiler(PolicySyntax syntax, DiagnosticBag diagnostics, PolicyLoadOptions options)
    {
        _syntax = syntax;
        _diagnostics = diagnostics;
        _options = options;
        _fields = [.. options.Systems.SelectMany(c => c.FieldNames)];
    }

    // The fields of the built-in systems, as policies name them.
    private readonly List<string> _fields;

    /// <summary>The data classes a policy may name: its own and those the built-in systems give their fields (pii, consent).</summary>
    private List<string> KnownClasses => field ??= [.. _dataClasses.Keys.Concat(_options.Systems.SelectMany(c => c.Fields).SelectMany(f => f.Classes)).Distinct().Order(StringComparer.Ordinal)];

    public static Policy? Compile(PolicySyntax syntax, DiagnosticBag diagnostics, PolicyLoadOptions options, string hash) =>
        new PolicyCompiler(syntax, diagnostics, options).Run(hash);

    private Policy? Run(string hash)
    {
        Environments();
        Owners();
        Groups();
        DataClasses();
        UseCases();
        Agents();
        Systems();
        var rules = Rules();
        var exceptions = Exceptions();
        var budgets = Budgets();
        var breakers = Breakers();
        var destinations = Destinations();
        if (_diagnostics.HasErrors)
        {
            return null;
        }

        return new Policy(
            id: _syntax.Id?.Value ?? "policy",
            description: _syntax.Description,
            source: _syntax.Source,
            hash: hash,
            environments: _environments,
            owners: OwnerModels(),
            groups: GroupModels(),
            dataClasses: _dataClasses,
            useCases: [.. _useCases.Values],
            agents: [.. _agents.Values],
            systems: _systems,
            catalogues: [.. _options.Systems, .. _declaredCatalogues],
            tools: _tools,
            rules: rules,
            exceptions: exceptions,
            budgets: budgets,
            breakers: breakers,
            compiledRules: [.. _rules.Values.OrderBy(r => r.Order)],
            destinations: destinations)
        {
            Declared = _declared,
        };
    }

    /// <summary>The destinations audiences may be synced to, each named once.</summary>
    private List<Destination> Destinations()
    {
        var result = new List<Destination>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var syntax in _syntax.Destinations)
        {
            if (!seen.Add(syntax.Id.Value))
            {
                _diagnostics.Error(DiagnosticCode.DuplicateName, syntax.Id.At, $"destination '{syntax.Id.Value}' is named twice");
                continue;
            }

            result.Add(new Destination(syntax.Id.Value, syntax.Description));
        }

        return result;
    }

    private List<Owner> OwnerModels() =>
        [.. _owners.Values.Select(o => new Owner(o.Id.Value, o.Name, o.Email, o.Roles.Select(r => r.Value).Distinct().ToList()) { TokenReference = o.Token?.Value })];

    // Who holds which token reference: one identity per token, people and agents alike.
    private readonly Dictionary<string, string> _tokens = new(StringComparer.Ordinal);

    /// <summary>Checks a token reference: a reference, not a value, and nobody else's.</summary>
    private void Token(Located<string> token, string what)
    {
        if (!Regex.IsMatch(token.Value, @"^(env|file|secret):\S+$"))
        {
            _diagnostics.Error(DiagnosticCode.SecretInPolicy, token.At, $"the token of {what} must be a reference, not a value",
                "keep the token elsewhere and write where: env:NAME, file:/path or secret:NAME");
        }
        else if (_tokens.TryGetValue(token.Value, out var other))
        {
            _diagnostics.Error(DiagnosticCode.DuplicateName, token.At, $"{what} and {other} use the same token ({token.Value})",
                "each agent and person needs their own identity, or the trail cannot tell them apart");
        }
        else
        {
            _tokens[token.Value] = what;
        }
    }

    private List<Group> GroupModels() =>
        [.. _groups.Values.Select(g => new Group(g.Id.Value, g.Members.Select(m => m.Value).ToList()))];

    // ---- names ----

    private readonly Dictionary<string, Dictionary<string, SourceLocation>> _names = new(StringComparer.Ordinal);

    /// <summary>Records a declared name; reports it (with where the first one is) when the noun already has it.</summary>
    private bool Unique(string noun, Located<string> id)
    {
        if (!_names.TryGetValue(noun, out var seen))
        {
            _names[noun] = seen = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
        }

        if (seen.TryGetValue(id.Value, out var first))
        {
            _diagnostics.Error(DiagnosticCode.DuplicateName, id.At, $"there are two {noun}s named '{id.Value}'",
                first.Line > 0 ? $"the first is at line {first.Line}" : null);
            return false;
        }

        seen[id.Value] = id.At;
        return true;
    }

    private void Environments()
    {
        var declared = _syntax.Environments.Count > 0
            ? _syntax.Environments
            : Names.DefaultEnvironments.Select(e => new Located<string>(e, SourceLocation.File(_syntax.Source))).ToList();
        foreach (var environment in declared)
        {
            if (!Regex.IsMatch(environment.Value, "^[a-z][a-z0-9_-]{0,39}$"))
            {
                _diagnostics.Error(DiagnosticCode.InvalidValue, environment.At, $"'{environment.Value}' is not a valid environment name",
                    "use lower-case letters, digits, '-' and '_'");
                continue;
            }

            if (Unique("environment", environment))
            {
                _environments.Add(environment.Value);
            }
        }

        if (_environments.Count > 64)
        {
            _diagnostics.Error(DiagnosticCode.InvalidValue, declared[64].At, "a policy may declare at most 64 environments");
            _environments.RemoveRange(64, _environments.Count - 64);
        }
    }

    private ulong EnvironmentBit(string name) => (ulong)1 << _environments.IndexOf(name);

    private bool KnownEnvironment(Located<string> environment, string where)
    {
        if (_environments.Contains(environment.Value))
        {
            return true;
        }

        _diagnostics.Error(DiagnosticCode.UnknownReference, environment.At, $"{where} names the environment '{environment.Value}', which the policy does not declare",
            Suggest.HintOrChoices(environment.Value, _environments));
        return false;
    }

    private void Owners()
    {
        foreach (var owner in _syntax.Owners)
        {
            if (Unique("owner", owner.Id))
            {
                _owners[owner.Id.Value] = owner;
                if (owner.Token is { } token)
                {
                    Token(token, $"owner '{owner.Id.Value}'");
                }
            }
        }
    }

    private void Groups()
    {
        foreach (var group in _syntax.Groups)
        {
            if (_owners.ContainsKey(group.Id.Value))
            {
                _diagnostics.Error(DiagnosticCode.DuplicateName, group.Id.At, $"'{group.Id.Value}' names both an owner and a group", "rename one of them");
            }

            if (Unique("group", group.Id))
            {
                _groups[group.Id.Value] = group;
            }
        }

        foreach (var group in _syntax.Groups)
        {
            foreach (var member in group.Members)
            {
                if (!_owners.ContainsKey(member.Value) && !_groups.ContainsKey(member.Value))
                {
                    _diagnostics.Error(DiagnosticCode.UnknownReference, member.At, $"group '{group.Id.Value}' lists '{member.Value}', who is neither an owner nor a group",
                        Suggest.Hint(member.Value, _owners.Keys.Concat(_groups.Keys)));
                }
            }
        }

        if (FindCycle() is { } cycle)
        {
            _diagnostics.Error(DiagnosticCode.Cycle, _groups[cycle[0]].Id.At, "groups contain each other in a circle: " + string.Join(" → ", cycle),
                "a group may list people and other groups, but never itself through them");
        }
    }

    /// <summary>
    /// Depth-first search for a group that contains itself through other groups, with an explicit
    /// stack: a long chain of groups must not overflow the call stack.
    /// </summary>
    private List<string>? FindCycle()
    {
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 = on the path, 2 = done
        foreach (var start in _groups.Keys)
        {
            if (state.ContainsKey(start))
            {
                continue;
            }

            var path = new List<string> { start };
            var pending = new Stack<IEnumerator<string>>();
            state[start] = 1;
            pending.Push(SubGroups(start).GetEnumerator());
            while (pending.Count > 0)
            {
                var next = pending.Peek();
                if (!next.MoveNext())
                {
                    pending.Pop();
                    state[path[^1]] = 2;
                    path.RemoveAt(path.Count - 1);
                    continue;
                }

                var member = next.Current;
                if (state.TryGetValue(member, out var seen))
                {
                    if (seen == 1)
                    {
                        return [.. path.Skip(path.IndexOf(member)), member];
                    }

                    continue;
                }

                state[member] = 1;
                path.Add(member);
                pending.Push(SubGroups(member).GetEnumerator());
            }
        }

        return null;
    }

    private IEnumerable<string> SubGroups(string group) =>
        _groups[group].Members.Select(m => m.Value).Where(_groups.ContainsKey);

    private void DataClasses()
    {
        foreach (var dataClass in _syntax.DataClasses)
        {
            if (!Unique("data class", dataClass.Name))
            {
                continue;
            }

            foreach (var pattern in dataClass.Patterns)
            {
                var glob = new Glob(pattern.Value);
                var system = pattern.Value.Split('.')[0];
                if (!_fields.Any(glob.Matches) && !_syntax.Systems.Any(s => s.Id.Value == system))
                {
                    _diagnostics.Warning(DiagnosticCode.UnmatchedPattern, pattern.At,
                        $"'{pattern.Value}' in data class '{dataClass.Name.Value}' matches no workspace field",
                        Suggest.Hint(pattern.Value, _fields) ?? "workspace fields are written table.field, e.g. contacts.email");
                }
            }

            _dataClasses[dataClass.Name.Value] = dataClass.Patterns.Select(p => p.Value).ToList();
        }
    }

    private void UseCases()
    {
        foreach (var useCase in _syntax.UseCases)
        {
            if (!Unique("use case", useCase.Id))
            {
                continue;
            }

            var what = $"use case '{useCase.Id.Value}'";
            string Owner(Located<string>? reference, string slot)
            {
                if (reference is not { } r)
                {
                    _diagnostics.Error(DiagnosticCode.MissingOwner, useCase.At, $"{what} names no {slot} owner",
                        "every use case names its business, technical, data and risk owners (one person may hold several)");
                    return "";
                }

                OwnerReference(r, what);
                return r.Value;
            }

            var owners = new UseCaseOwners(Owner(useCase.Business, "business"), Owner(useCase.Technical, "technical"),
                Owner(useCase.Data, "data"), Owner(useCase.Risk, "risk"));
            if (useCase.Escalation is { } escalation)
            {
                OwnerReference(escalation, what);
            }

            if (useCase.LastReviewed is { } last)
            {
                var model = new UseCase("", "", new Classification(Rating.Low, Rating.Low, Rating.Low, Rating.Low, Rating.Low, Rating.Low), owners, "", useCase.Review, last.Value);
                var today = DateOnly.FromDateTime(_options.Now.UtcDateTime);
                if (model.ReviewDue < today)
                {
                    _diagnostics.Warning(DiagnosticCode.ReviewOverdue, last.At, $"{what} was last reviewed on {last.Value:yyyy-MM-dd}; its {useCase.Review.ToString().ToLowerInvariant()} review was due on {model.ReviewDue:yyyy-MM-dd}",
                        "review it with its owners and update 'last'");
                }
            }

            if (useCase.Classification is { } classification)
            {
                _useCases[useCase.Id.Value] = new UseCase(useCase.Id.Value, useCase.Description, classification, owners,
                    useCase.Escalation?.Value ?? "", useCase.Review, useCase.LastReviewed?.Value);
            }
        }
    }

    private bool OwnerReference(Located<string> reference, string where)
    {
        if (_owners.ContainsKey(reference.Value))
        {
            return true;
        }

        _diagnostics.Error(DiagnosticCode.UnknownReference, reference.At, $"{where} names '{reference.Value}', who is not among the owners",
            Suggest.HintOrChoices(reference.Value, _owners.Keys.ToList()));
        return false;
    }

    private void Agents()
    {
        foreach (var agent in _syntax.Agents)
        {
            if (!Unique("agent", agent.Id))
            {
                continue;
            }

            var what = $"agent '{agent.Id.Value}'";
            var ok = true;
            if (agent.UseCase is { } useCase && !_useCases.ContainsKey(useCase.Value))
            {
                ok = false;
                if (!_syntax.UseCases.Any(u => u.Id.Value == useCase.Value))
                {
                    _diagnostics.Error(DiagnosticCode.UnknownReference, useCase.At, $"{what} serves the use case '{useCase.Value}', which is not declared",
                        Suggest.HintOrChoices(useCase.Value, _syntax.UseCases.Select(u => u.Id.Value).ToList()));
                }
            }

            if (agent.Environments.Count == 0)
            {
                ok = false;
            }

            foreach (var environment in agent.Environments)
            {
                ok &= KnownEnvironment(environment, what);
            }

            if (agent.Token is { } token)
            {
                Token(token, what);
            }

            foreach (var dataClass in agent.Sees)
            {
                if (!KnownClasses.Contains(dataClass.Value))
                {
                    _diagnostics.Error(DiagnosticCode.UnknownReference, dataClass.At, $"{what} sees the data class '{dataClass.Value}', which is not declared",
                        Suggest.HintOrChoices(dataClass.Value, [.. KnownClasses]));
                }
            }

            if (ok && agent.UseCase is { } u)
            {
                _agents[agent.Id.Value] = new Agent(agent.Id.Value, agent.Description, u.Value,
                    agent.Environments.Select(e => e.Value).Distinct().ToList(), agent.Token?.Value ?? "")
                {
                    Sees = [.. agent.Sees.Select(c => c.Value).Distinct()],
                };
            }
        }
    }

    private void Systems()
    {
        _tools.AddRange(_options.Systems.SelectMany(c => c.Tools));
        var reads = new List<(string System, string Name, SourceLocation At)>();
        foreach (var system in _syntax.Systems)
        {
            if (_options.Systems.Any(c => c.System == system.Id.Value))
            {
                _diagnostics.Error(DiagnosticCode.DuplicateName, system.Id.At, $"'{system.Id.Value}' is a built-in system; an upstream system needs another name");
                continue;
            }

            if (!Unique("system", system.Id))
            {
                continue;
            }

            if (system.Kind is { Value: "mcp" })
            {
                DeclareUpstream(system, reads);
                continue;
            }

            if (system.Kind is { } kind)
            {
                Declare(system, kind);
                continue;
            }

            _upstreamSystems.Add(system.Id.Value);
            var tools = new List<ToolDefinition>();
            foreach (var tool in system.Tools)
            {
                if (!Unique($"tool of system '{system.Id.Value}'", tool.Name))
                {
                    continue;
                }

                tools.Add(Annotate(system.Id.Value, tool));
                if (tool.Kind is { Value: ActionKind.Read } read)
                {
                    reads.Add((system.Id.Value, tool.Name.Value, read.At));
                }
            }

            _tools.AddRange(tools);
            _systems.Add(new UpstreamSystem(system.Id.Value, system.Description, tools));
        }

        ReadsThatWrite(reads);
        SharedToolNames();
    }

    /// <summary>
    /// A declared database's tools carry its id (warehouse.execute) and a call reaches them by that
    /// name alone, so no other system may offer a tool of the same name: an upstream annotation
    /// named warehouse.execute would otherwise be decided, listed or tested as the database's.
    /// (An upstream read sharing a bare name with a workspace read stays allowed: rules name the
    /// upstream's system.)
    /// </summary>
    private void SharedToolNames()
    {
        var governed = _declared.Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var shared in _tools.GroupBy(t => t.Name).Where(g => g.Select(t => t.System).Distinct().Count() > 1 && g.Any(t => governed.Contains(t.System))))
        {
            var systems = shared.Select(t => t.System).Distinct().ToList();
            var other = _syntax.Systems.FirstOrDefault(s => systems.Contains(s.Id.Value) && s.Kind is null) ?? _syntax.Systems.FirstOrDefault(s => systems.Contains(s.Id.Value));
            _diagnostics.Error(DiagnosticCode.DuplicateName, other?.Id.At ?? default, $"the tool name '{shared.Key}' is offered by {string.Join(" and ", systems.Select(s => $"'{s}'"))}",
                "a declared database's tool is reached by its name alone: give the other tool another name");
        }
    }

    /// <summary>
    /// An upstream MCP server (kind: mcp): its endpoints checked (a command or a URL per environment,
    /// credentials only as references), its annotated tools named by its id (files.read_file), so
    /// that no server can offer a tool under another system's name.
    /// </summary>
    private void DeclareUpstream(SystemSyntax system, List<(string System, string Name, SourceLocation At)> reads)
    {
        var id = system.Id.Value;
        var what = $"system '{id}'";
        if (id.Contains('.', StringComparison.Ordinal))
        {
            _diagnostics.Error(DiagnosticCode.InvalidValue, system.Id.At, $"the id of {what} has a '.'",
                "an upstream's tools are named ID.TOOL, so its id cannot have a '.': use '-' or '_'");
            return;
        }

        // The workspace's tools are named table.verb: a server with the id 'contacts' would offer contacts.update.
        if (_tools.FirstOrDefault(t => t.System != id && t.Name.StartsWith(id + ".", StringComparison.Ordinal)) is { } taken)
        {
            _diagnostics.Error(DiagnosticCode.DuplicateName, system.Id.At, $"{what} would name its tools {id}.TOOL, as {(taken.System == ToolDefinition.WorkspaceSystem ? "the workspace" : $"system '{taken.System}'")} names {taken.Name}",
                "give the upstream another id: no server may offer a tool under another system's name");
            return;
        }

        var endpoints = new Dictionary<string, UpstreamEndpoint>(StringComparer.Ordinal);
        foreach (var (environment, endpoint) in system.Endpoints)
        {
            if (!_environments.Contains(environment.Value))
            {
                _diagnostics.Error(DiagnosticCode.UnknownReference, environment.At, $"{what} is declared in environment '{environment.Value}', which the policy does not have",
                    Suggest.HintOrChoices(environment.Value, _environments));
                continue;
            }

            if (endpoint.Url is { } url && !UpstreamUrl(url, what))
            {
                continue;
            }

            var headers = Secrets(endpoint.Headers, what, "header");
            var variables = Secrets(endpoint.Environment, what, "environment variable");
            if (endpoint.Url is not null && variables.Count > 0)
            {
                _diagnostics.Error(DiagnosticCode.InvalidValue, endpoint.Environment[0].Name.At, $"{what} is reached at a url, so it has no environment variables to set",
                    "give its credentials as headers: (Authorization: env:NAME)");
            }
            else if (endpoint.Url is null && headers.Count > 0)
            {
                _diagnostics.Error(DiagnosticCode.InvalidValue, endpoint.Headers[0].Name.At, $"{what} is started by Warden over stdio, so it has no headers to send",
                    "give its credentials as env: (NAME: env:NAME)");
            }

            endpoints[environment.Value] = new UpstreamEndpoint([.. endpoint.Command.Select(c => c.Value)], endpoint.Url?.Value, headers, variables);
        }

        if (system.Timeout is { } timeout && (timeout.Value <= TimeSpan.Zero || timeout.Value > TimeSpan.FromHours(1)))
        {
            _diagnostics.Error(DiagnosticCode.InvalidValue, timeout.At, $"the timeout of {what} must be more than nothing and at most 1h");
        }

        var tools = new List<ToolDefinition>();
        foreach (var tool in system.Tools)
        {
            if (!Unique($"tool of system '{id}'", tool.Name))
            {
                continue;
            }

            var annotated = Annotate(id, tool);
            annotated = annotated with
            {
                Name = $"{id}.{tool.Name.Value}",
                ResultClasses = PathClasses(tool.Result, "the result", $"tool '{tool.Name.Value}' of {what}", "$.records[*].email"),
                ArgumentClasses = PathClasses(tool.ArgumentClasses, "the argument classes", $"tool '{tool.Name.Value}' of {what}", "$.fields.email"),
            };
            if (tool.Records is { } records)
            {
                annotated = annotated with { Records = records.Text, RecordsCount = CompileRecords(records, annotated, $"tool '{tool.Name.Value}' of {what}") };
            }

            if (tool.Pin is { } pin)
            {
                if (Regex.IsMatch(pin.Value, "^sha256:[0-9a-f]{64}$"))
                {
                    annotated = annotated with { Pin = pin.Value };
                }
                else
                {
                    _diagnostics.Error(DiagnosticCode.InvalidValue, pin.At, $"the pin of tool '{tool.Name.Value}' of {what} is not a tool version: '{pin.Value}'",
                        "copy the version `warden upstreams list` shows for the tool: sha256: and 64 hexadecimal digits");
                }
            }

            tools.Add(annotated);
            if (tool.Kind is { Value: ActionKind.Read } read)
            {
                reads.Add((id, tool.Name.Value, read.At)); // compared by its bare name, as the server names it
            }
        }

        // Previews and undos name other tools of the same server, so they are read once all are known.
        var takeSql = system.Tools.Where(t => t.Sql is not null).Select(t => $"{id}.{t.Name.Value}").ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < tools.Count; i++)
        {
            var syntax = system.Tools.First(t => $"{id}.{t.Name.Value}" == tools[i].Name);
            tools[i] = ProxiedWrites(syntax, tools[i], tools, takeSql, $"tool '{syntax.Name.Value}' of {what}");
        }

        // A SQL tool's statement is classified with a connection Warden holds: a reference, like any credential.
        if (system.SqlConnection is { } sqlConnection && !Regex.IsMatch(sqlConnection.Value, @"^(env|file|secret):\S+$"))
        {
            _diagnostics.Error(DiagnosticCode.SecretInPolicy, sqlConnection.At, $"the sql_connection of {what} is written in the policy",
                "name where Warden finds it instead: env:NAME, file:/path or secret:NAME; a policy is kept as code and read by many");
        }

        for (var i = 0; i < tools.Count; i++)
        {
            var syntax = system.Tools.First(t => $"{id}.{t.Name.Value}" == tools[i].Name);
            if (syntax.Sql is not { } sql)
            {
                continue;
            }

            var toolWhat = $"tool '{syntax.Name.Value}' of {what}";
            if (system.SqlConnection is null)
            {
                _diagnostics.Error(DiagnosticCode.MissingField, sql.Start, $"{toolWhat} takes SQL, but {what} has no sql_connection to classify it with",
                    "add sql_connection: env:NAME to the system: a connection to the same database, which Warden uses only to classify statements");
                continue;
            }

            var problems = new List<ArgumentTemplate.Problem>();
            if (ArgumentTemplate.Compile(sql, _syntax.Text, ["args"], problems) is { } template)
            {
                tools[i] = tools[i] with { Sql = new ToolSql(template, sql is Yaml.YamlScalar scalar ? scalar.Value : "sql") };
            }

            foreach (var problem in problems)
            {
                _diagnostics.Error(DiagnosticCode.ConditionSyntax, problem.At, $"in the sql of {toolWhat}: {problem.Message}", problem.Hint);
            }
        }

        var connections = endpoints.ToDictionary(e => e.Key, e => e.Value.ToString(), StringComparer.Ordinal);
        var declared = new DeclaredSystem(id, "mcp", system.Description, connections, [])
        {
            Endpoints = endpoints,
            Timeout = system.Timeout?.Value,
            SqlConnection = system.SqlConnection?.Value,
            WithholdInstructions = system.InstructionsInResults?.Value == true,
        };
        _declared.Add(declared);
        _declaredCatalogues.Add(new SystemCatalogue(id, tools, []));
        _upstreamSystems.Add(id);
        _mcpSystems.Add(id);
        _tools.AddRange(tools);
        _systems.Add(new UpstreamSystem(id, system.Description, tools));
    }

    private readonly HashSet<string> _mcpSystems = new(StringComparer.Ordinal);

    /// <summary>
    /// A proxied tool's preview (a read tool of the same server) and undo (any annotated tool of it),
    /// with their arguments' templates. A write with an undo is compensable; one without is
    /// irreversible, whatever else the policy says, because Warden could not undo it.
    /// </summary>
    private ToolDefinition ProxiedWrites(ToolSyntax syntax, ToolDefinition tool, List<ToolDefinition> tools, IReadOnlySet<string> takeSql, string what)
    {
        ToolPreview? preview = null;
        if (syntax.Preview is { } p && Sibling(p, tools, what, "preview") is { } read)
        {
            if (takeSql.Contains(read.Name))
            {
                // Warden classifies a SQL tool's statement only when an agent calls it: a preview is sent as it is built.
                _diagnostics.Error(DiagnosticCode.InvalidValue, p.Tool.At, $"the preview of {what} is {read.Name}, which takes SQL that Warden would send unclassified",
                    "name a read tool that takes no SQL, such as one that reads records by id");
            }
            else if (read.Kind != ActionKind.Read)
            {
                _diagnostics.Error(DiagnosticCode.InvalidValue, p.Tool.At, $"the preview of {what} is {read.Name}, which is not annotated as a read",
                    "a preview only reads: name a tool with kind: read, so that previewing changes nothing");
            }
            else if (p.Records is { } records && JsonPath.Problem(records.Value) is { } problem)
            {
                _diagnostics.Error(DiagnosticCode.InvalidValue, records.At, $"'{records.Value}' in the preview of {what} is not a JSON path Warden follows: {problem}",
                    "name the affected records in the read's result, e.g. $.records[*]");
            }
            else if (Template(p, ["args"], what, "preview") is { } template)
            {
                preview = new ToolPreview(read.Name, template, p.Records?.Value);
            }
        }

        ToolUndo? undo = null;
        if (syntax.Undo is { } u && Sibling(u, tools, what, "undo") is { } reverse)
        {
            if (syntax.Preview is null)
            {
                _diagnostics.Error(DiagnosticCode.MissingField, u.At, $"{what} has an undo but no preview, so Warden would not know what to restore",
                    "add a preview: a read tool of the same server that returns the records before the call");
            }
            else if (tool.Kind == ActionKind.Read)
            {
                _diagnostics.Error(DiagnosticCode.InvalidValue, u.At, $"{what} is a read: there is nothing to undo");
            }
            else if (reverse.External || reverse.Kind is ActionKind.Send or ActionKind.Sync || takeSql.Contains(reverse.Name))
            {
                // A rollback runs its undo calls without a person: an undo that sends or syncs would be a send no one approved.
                _diagnostics.Error(DiagnosticCode.InvalidValue, u.Tool.At,
                    $"the undo of {what} is {reverse.Name}, which {(takeSql.Contains(reverse.Name) ? "takes SQL that Warden would send unclassified" : "reaches outside (a send, a sync or external)")}",
                    "a rollback runs its undo without a person: name a tool that stays inside and takes no SQL");
            }
            else if (syntax.Reversibility is { Value: Reversibility.Irreversible } irreversible)
            {
                _diagnostics.Error(DiagnosticCode.InvalidValue, irreversible.At, $"{what} is declared irreversible and has an undo",
                    "remove one: with an undo Warden reverses it, so it is compensable");
            }
            else if (Template(u, p: syntax.Preview, what) is { } template)
            {
                undo = new ToolUndo(reverse.Name, template);
            }
        }

        if (tool.Kind != ActionKind.Read && tool.Annotated && syntax.Undo is null && syntax.Reversibility is { Value: not Reversibility.Irreversible } claimed)
        {
            _diagnostics.Warning(DiagnosticCode.InvalidValue, claimed.At, $"{what} is declared {claimed.Value.ToString().ToLowerInvariant()}, but Warden cannot undo it without an undo call",
                "it is governed as irreversible; declare undo: { tool, arguments } (with a preview) to make it reversible through Warden");
        }

        var reversibility = tool.Kind == ActionKind.Read ? tool.Reversibility : undo is not null ? Reversibility.Compensable : Reversibility.Irreversible;
        return tool with { Preview = preview, Undo = undo, Reversibility = tool.Annotated ? reversibility : tool.Reversibility };
    }

    private ArgumentTemplate? Template(ProxiedCallSyntax call, ProxiedCallSyntax? p, string what) =>
        Template(call, p?.Records is null ? ["args", "before"] : ["args", "before", "record"], what, "undo");

    /// <summary>A tool of the same server that a preview or undo names, annotated in the policy; null (and said) when there is none.</summary>
    private ToolDefinition? Sibling(ProxiedCallSyntax call, List<ToolDefinition> tools, string what, string role)
    {
        var system = tools.Count > 0 ? tools[0].System : "";
        var found = tools.FirstOrDefault(t => t.Name == $"{system}.{call.Tool.Value}");
        if (found is null)
        {
            _diagnostics.Error(DiagnosticCode.UnknownReference, call.Tool.At, $"the {role} of {what} is '{call.Tool.Value}', which is not a tool annotated here",
                Suggest.HintOrChoices(call.Tool.Value, [.. tools.Select(t => t.Name[(system.Length + 1)..])]) ?? "annotate the tool it names, on the same server");
        }

        return found;
    }

    private ArgumentTemplate? Template(ProxiedCallSyntax call, string[] variables, string what, string role)
    {
        if (call.Arguments is not { } node)
        {
            _diagnostics.Error(DiagnosticCode.MissingField, call.At, $"the {role} of {what} has no arguments", "write how each is built: { id: args.id }");
            return null;
        }

        var problems = new List<ArgumentTemplate.Problem>();
        var template = ArgumentTemplate.Compile(node, _syntax.Text, variables, problems);
        foreach (var problem in problems)
        {
            _diagnostics.Error(DiagnosticCode.ConditionSyntax, problem.At, $"in the {role} of {what}: {problem.Message}", problem.Hint);
        }

        return template;
    }

    /// <summary>A tool's records: a whole-number CEL expression over its arguments alone (typed by them when the policy lists them).</summary>
    private CelCondition? CompileRecords(ConditionSyntax records, ToolDefinition tool, string what)
    {
        var variables = new Dictionary<string, CelVariable> { ["args"] = ConditionVariables.ForTools([tool], tool.Arguments is not null)["args"] };
        var compiled = CelCondition.CompileCount(records.Text, variables, out var problems, out var syntaxError);
        foreach (var problem in problems)
        {
            _diagnostics.Error(syntaxError ? DiagnosticCode.ConditionSyntax : DiagnosticCode.ConditionType, ScalarPositions.Locate(records.Node, _syntax.Text, problem.Start, problem.End),
                $"in the records of {what}: {problem.Message}", problem.Hint);
        }

        return compiled;
    }

    /// <summary>A url Warden can call, with no credential in it (user:password@ belongs in a header reference).</summary>
    private bool UpstreamUrl(Located<string> url, string what)
    {
        if (!Uri.TryCreate(url.Value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            _diagnostics.Error(DiagnosticCode.InvalidValue, url.At, $"the url of {what} is not an http or https address: '{url.Value}'",
                "write the server's Streamable HTTP endpoint, e.g. https://crm.example.com/mcp");
            return false;
        }

        if (uri.UserInfo.Length > 0)
        {
            _diagnostics.Error(DiagnosticCode.SecretInPolicy, url.At, $"the url of {what} has a user and password in it",
                "keep credentials out of the policy: headers: { Authorization: env:NAME }");
            return false;
        }

        return true;
    }

    /// <summary>Headers or environment variables: each a reference Warden resolves, never a value.</summary>
    private Dictionary<string, string> Secrets(List<(Located<string> Name, Located<string> Reference)> given, string what, string noun)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, reference) in given)
        {
            if (!Regex.IsMatch(reference.Value, @"^(env|file|secret):\S+$"))
            {
                _diagnostics.Error(DiagnosticCode.SecretInPolicy, reference.At, $"the {noun} {name.Value} of {what} is written in the policy",
                    "name where Warden finds it instead: env:NAME, file:/path or secret:NAME; a policy is kept as code and read by many");
                continue;
            }

            result[name.Value] = reference.Value;
        }

        return result;
    }

    /// <summary>The classes of a tool's result or arguments by JSON path: each path one Warden can follow, each class declared.</summary>
    private Dictionary<string, IReadOnlyList<string>> PathClasses(List<(Located<string> Path, List<Located<string>> Classes)> paths, string part, string what, string example)
    {
        var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var (path, classes) in paths)
        {
            if (JsonPath.Problem(path.Value) is { } problem)
            {
                _diagnostics.Error(DiagnosticCode.InvalidValue, path.At, $"'{path.Value}' in {part} of {what} is not a JSON path Warden follows: {problem}",
                    $"write $ then .name, [n], [*] or .* steps, e.g. {example}");
                continue;
            }

            foreach (var dataClass in classes.Where(c => !KnownClasses.Contains(c.Value)))
            {
                _diagnostics.Error(DiagnosticCode.UnknownReference, dataClass.At, $"{part} of {what} names the data class '{dataClass.Value}', which is not declared",
                    Suggest.HintOrChoices(dataClass.Value, [.. KnownClasses]));
            }

            result[path.Value] = [.. classes.Select(c => c.Value).Distinct()];
        }

        return result;
    }

    /// <summary>A system of a kind Warden knows: its reference, environment and tables checked, its catalogue from its kind.</summary>
    private void Declare(SystemSyntax system, Located<string> kind)
    {
        var what = $"system '{system.Id.Value}'";
        if (!_options.Kinds.TryGetValue(kind.Value, out var catalogueOf))
        {
            _diagnostics.Error(DiagnosticCode.InvalidValue, kind.At, $"{what} is of kind '{kind.Value}', which Warden does not know here",
                Suggest.HintOrChoices(kind.Value, ["mcp", .. _options.Kinds.Keys]));
            return;
        }

        var connections = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (environment, connection) in system.Connections)
        {
            if (!(connection.Value.StartsWith("env:", StringComparison.Ordinal)
                || connection.Value.StartsWith("file:", StringComparison.Ordinal) || connection.Value.StartsWith("secret:", StringComparison.Ordinal)))
            {
                _diagnostics.Error(DiagnosticCode.SecretInPolicy, connection.At, $"the connection of {what} in {environment.Value} is written in the policy",
                    "name where Warden finds it instead: env:NAME, file:/path or secret:NAME; a policy is kept as code and read by many");
            }

            if (!_environments.Contains(environment.Value))
            {
                _diagnostics.Error(DiagnosticCode.UnknownReference, environment.At, $"{what} has a connection in environment '{environment.Value}', which the policy does not have",
                    Suggest.HintOrChoices(environment.Value, _environments));
            }

            connections[environment.Value] = connection.Value;
        }

        if (system.Tables.Count == 0)
        {
            _diagnostics.Error(DiagnosticCode.MissingField, system.At, $"{what} lists no tables", "list the tables an agent may reach; every other one is invisible");
        }

        if (connections.Count == 0 || system.Tables.Count == 0)
        {
            return;
        }

        var declared = new DeclaredSystem(system.Id.Value, kind.Value, system.Description, connections,
            [.. system.Tables.Select(t => t.Value).Distinct(StringComparer.Ordinal)]);
        var catalogue = catalogueOf(declared);
        _declared.Add(declared);
        _declaredCatalogues.Add(catalogue);
        _upstreamSystems.Add(declared.Id);
        _tools.AddRange(catalogue.Tools);
        _fields.AddRange(catalogue.FieldNames);
    }

    /// <summary>
    /// A tool annotated read under a name another system (or the workspace) uses for a change is
    /// suspicious: a proxied server that re-exposes a write, or a copy-pasted annotation, would let
    /// rules for reads ("every agent may read") grant it. Names are compared bare: without their
    /// own system's prefix (crm.update, crm_update) and case.
    /// </summary>
    private void ReadsThatWrite(List<(string System, string Name, SourceLocation At)> reads)
    {
        if (reads.Count == 0)
        {
            return;
        }

        var changes = _tools.Where(t => t.Kind != ActionKind.Read).ToLookup(t => BareName(t.System, t.Name), StringComparer.Ordinal);
        foreach (var (system, name, at) in reads)
        {
            if (changes[BareName(system, name)].FirstOrDefault(t => t.System != system) is { } other)
            {
                var where = other.System == ToolDefinition.WorkspaceSystem ? "the workspace" : $"system '{other.System}'";
                _diagnostics.Warning(DiagnosticCode.InvalidValue, at,
                    $"tool '{name}' of system '{system}' is annotated read, but {where} has a tool '{other.Name}' that is a {Names.Of(other.Kind)}",
                    "if it changes anything, annotate its kind (write, delete, send, sync or configure): rules that grant reads would grant it");
            }
        }
    }

    private static string BareName(string system, string name)
    {
        foreach (var separator in new[] { ".", "__", "_", "/", "-" })
        {
            if (name.Length > system.Length + separator.Length && name.StartsWith(system + separator, StringComparison.OrdinalIgnoreCase))
            {
                name = name[(system.Length + separator.Length)..];
                break;
            }
        }

        return name.ToLowerInvariant();
    }

    private ToolDefinition Annotate(string system, ToolSyntax tool)
    {
        var name = tool.Name.Value;
        if (tool.Kind is not { } kind)
        {
            _diagnostics.Warning(DiagnosticCode.MissingField, tool.At, $"tool '{name}' of system '{system}' has no kind",
                "it is treated as destructive, irreversible and external until annotated");
            return ToolDefinition.Unannotated(system, name) with { Description = tool.Description.Length > 0 ? tool.Description : ToolDefinition.Unannotated(system, name).Description, Arguments = tool.Arguments };
        }

        var reversibility = tool.Reversibility?.Value;
        if (reversibility is null && kind.Value != ActionKind.Read && tool.Undo is null)
        {
            _diagnostics.Warning(DiagnosticCode.MissingField, tool.At, $"tool '{name}' of system '{system}' does not say whether it can be undone",
                "it is treated as irreversible; add reversibility: reversible, compensable or irreversible");
        }

        var external = tool.External?.Value ?? kind.Value is ActionKind.Send or ActionKind.Sync;
        return new ToolDefinition(system, name, kind.Value, reversibility ?? (kind.Value == ActionKind.Read ? Reversibility.Reversible : Reversibility.Irreversible),
            external, tool.Description, tool.Arguments);
    }

    // ---- rules ----

    private List<Rule> Rules()
    {
        var result = new List<Rule>();
        for (var order = 0; order < _syntax.Rules.Count; order++)
        {
            var syntax = _syntax.Rules[order];
            if (!Unique("rule", syntax.Id))
            {
                continue;
            }

            if (ResolveRule(syntax, order) is { } rule)
            {
                _rules[syntax.Id.Value] = rule;
                result.Add(rule.Model);
            }
        }

        WarnOutranked();
        return result;
    }

    /// <summary>
    /// A rule is dead weight when a stronger enforced rule without a condition covers every agent,
    /// tool and environment it does: it can never decide. (An exception over the stronger rule turns
    /// it into an allow, which still comes first unless the weaker rule is earlier in the file.)
    /// Usually a mistake in precedence, so it is pointed out.
    /// </summary>
    private void WarnOutranked()
    {
        // Only enforced rules without a condition can outrank; index them by tool so that large
        // policies compare each rule with a handful of candidates, not with every other rule.
        var unconditional = new Dictionary<ToolDefinition, List<ResolvedRule>>(ReferenceEqualityComparer.Instance);
        foreach (var rule in _rules.Values.Where(r => r.Model.Mode == RuleMode.Enforce && r.Condition is null && r.Model.Effect != Effect.Allow))
        {
            foreach (var tool in rule.Tools)
            {
                (unconditional.TryGetValue(tool, out var list) ? list : unconditional[tool] = []).Add(rule);
            }
        }

        var withExceptions = _syntax.Exceptions.Select(e => e.Rule?.Value).ToHashSet();
        foreach (var weaker in _rules.Values.OrderBy(r => r.Order).Where(r => r.Model.Mode == RuleMode.Enforce && r.Model.Effect != Effect.Deny && !r.Open && r.Tools.Count > 0))
        {
            if (!unconditional.TryGetValue(weaker.Tools[0], out var candidates))
            {
                continue;
            }

            var stronger = candidates.FirstOrDefault(s => s != weaker && s.Model.Effect > weaker.Model.Effect
                && (weaker.Order > s.Order || !withExceptions.Contains(s.Model.Id)) && (weaker.Environments & ~s.Environments) == 0
                && weaker.Tools.All(s.ToolSet.Contains) && weaker.Agents.All(s.AgentSet.Contains));
            if (stronger is not null)
            {
                _diagnostics.Warning(DiagnosticCode.RuleOutranked, weaker.Syntax.Id.At,
                    $"rule '{weaker.Model.Id}' never decides: rule '{stronger.Model.Id}' ({Names.Of(stronger.Model.Effect)}, no condition) covers every call it matches",
                    "deny beats approve beats allow; give the stronger rule a condition, or remove this one");
            }
        }
    }

    private ResolvedRule? ResolveRule(RuleSyntax syntax, int order)
    {
        var what = $"rule '{syntax.Id.Value}'";
        var errorsBefore = _diagnostics.ErrorCount;

        var agents = ResolveAgents(syntax, what);
        ulong environments = 0;
        foreach (var environment in syntax.Environments)
        {
            if (KnownEnvironment(environment, what))
            {
                environments |= EnvironmentBit(environment.Value);
            }
        }

        if (syntax.Environments.Count == 0)
        {
            environments = ulong.MaxValue;
        }

        var (tools, open, systemGlobs, toolGlobs) = ResolveTools(syntax, what);
        var approval = ResolveApproval(syntax, what, agents);

        if (syntax.Effect.Value == Effect.Deny && syntax.Message is null)
        {
            _diagnostics.Warning(DiagnosticCode.MissingMessage, syntax.At, $"{what} denies without a message",
                "add message: to tell the agent (and the person behind it) why, and what to do instead");
        }

        if (_diagnostics.ErrorCount > errorsBefore)
        {
            return null;
        }

        var model = new Rule(syntax.Id.Value, syntax.Description,
            new RuleMatch(syntax.Agents.Select(a => a.Value).ToList(), syntax.UseCases.Select(u => u.Value).ToList(),
                syntax.Environments.Select(e => e.Value).ToList(), syntax.Systems.Select(s => s.Value).ToList(),
                syntax.Tools.Select(t => t.Value).ToList(), syntax.Kinds.Select(k => k.Value).Distinct().ToList()),
            syntax.Condition?.Text, syntax.Effect.Value, syntax.Message?.Value, approval, syntax.Mode);
        var rule = new ResolvedRule
        {
            Model = model,
            Syntax = syntax,
            Order = order,
            Agents = agents,
            Tools = tools,
            Environments = environments,
            SystemGlobs = systemGlobs,
            ToolGlobs = toolGlobs,
            Kinds = syntax.Kinds.Select(k => k.Value).ToHashSet(),
            Open = open,
        };

        if (syntax.Condition is { } condition)
        {
            rule.Condition = CompileCondition(condition, what, tools, open);
            if (rule.Condition is null || !ConditionNames(rule.Condition, condition, what, rule, rule.Agents))
            {
                return null;
            }
        }

        if (!CanMatch(rule, what))
        {
            return null;
        }

        CheckGrant(rule, what, syntax.Effect.Value, syntax.Effect.At, exception: null);
        return rule;
    }

    private List<Agent> ResolveAgents(RuleSyntax syntax, string what)
    {
        // Exact names are looked up, not scanned: a large policy names one agent per rule.
        IEnumerable<Agent> candidates = _agents.Values;
        if (syntax.Agents.Count > 0)
        {
            var matched = new HashSet<Agent>(ReferenceEqualityComparer.Instance);
            foreach (var pattern in syntax.Agents)
            {
                var glob = new Glob(pattern.Value);
                if (!glob.IsWildcard)
                {
                    if (_agents.TryGetValue(pattern.Value, out var agent))
                    {
                        matched.Add(agent);
                    }
                    else if (!_syntax.Agents.Any(a => a.Id.Value == pattern.Value))
                    {
                        _diagnostics.Error(DiagnosticCode.UnknownReference, pattern.At, $"{what} names the agent '{pattern.Value}', which is not declared",
                            Suggest.HintOrChoices(pattern.Value, _syntax.Agents.Select(a => a.Id.Value).ToList()));
                    }

                    continue;
                }

                var before = matched.Count;
                matched.UnionWith(_agents.Values.Where(a => glob.Matches(a.Id)));
                if (matched.Count == before && !_agents.Values.Any(a => glob.Matches(a.Id)))
                {
                    _diagnostics.Error(DiagnosticCode.RuleNeverMatches, pattern.At, $"{what} can never match: no agent's name matches '{pattern.Value}'");
                }
            }

            candidates = matched.Count == 1 ? matched : _agents.Values.Where(matched.Contains);
        }

        if (syntax.UseCases.Count > 0)
        {
            var useCases = new List<Glob>();
            foreach (var useCase in syntax.UseCases)
            {
                var glob = new Glob(useCase.Value);
                if (!glob.IsWildcard && !_syntax.UseCases.Any(u => u.Id.Value == useCase.Value))
                {
                    _diagnostics.Error(DiagnosticCode.UnknownReference, useCase.At, $"{what} names the use case '{useCase.Value}', which is not declared",
                        Suggest.HintOrChoices(useCase.Value, _syntax.UseCases.Select(u => u.Id.Value).ToList()));
                }

                useCases.Add(glob);
            }

            candidates = candidates.Where(a => useCases.Any(g => g.Matches(a.UseCase)));
        }

        return [.. candidates];
    }

    private (List<ToolDefinition> Tools, bool Open, Glob[] Systems, Glob[] Tools2) ResolveTools(RuleSyntax syntax, string what)
    {
        var systemGlobs = syntax.Systems.Select(s => new Glob(s.Value)).ToArray();
        foreach (var system in syntax.Systems)
        {
            if (!system.Value.Contains('*', StringComparison.Ordinal) && system.Value != ToolDefinition.WorkspaceSystem && !_upstreamSystems.Contains(system.Value))
            {
                _diagnostics.Error(DiagnosticCode.UnknownReference, system.At, $"{what} names the system '{system.Value}', which is not declared",
                    Suggest.HintOrChoices(system.Value, [ToolDefinition.WorkspaceSystem, .. _upstreamSystems]));
            }
        }

        // An upstream's tools are named by its id (files.read_file), as rules must name them: a bare
        // name would match nothing it offers and protect nothing.
        var mcp = _mcpSystems.Where(s => Glob.AnyMatch(systemGlobs, s)).ToList();
        var bare = new HashSet<string>(StringComparer.Ordinal);
        if (syntax.Systems.Count > 0 && mcp.Count > 0)
        {
            // (a name another system in scope annotates, a kind-less upstream's bare name, is left to it)
            foreach (var tool in syntax.Tools.Where(t => !t.Value.Contains('*', StringComparison.Ordinal) && !mcp.Any(s => t.Value.StartsWith(s + ".", StringComparison.Ordinal))
                                                         && !_tools.Any(x => x.Name == t.Value && Glob.AnyMatch(systemGlobs, x.System))))
            {
                bare.Add(tool.Value);
                _diagnostics.Error(DiagnosticCode.UnknownReference, tool.At, $"{what} names the tool '{tool.Value}', but the tools of {string.Join(" and ", mcp)} are named by their system",
                    $"did you mean '{mcp[0]}.{tool.Value}'?");
            }
        }

        var toolGlobs = syntax.Tools.Select(t => new Glob(t.Value)).ToArray();
        var inSystems = _tools.Where(t => Glob.AnyMatch(systemGlobs, t.System)).ToList();
        var upstream = _upstreamSystems.Where(s => Glob.AnyMatch(systemGlobs, s)).ToList();
        foreach (var tool in syntax.Tools)
        {
            var glob = new Glob(tool.Value);
            if (inSystems.Any(t => glob.Matches(t.Name)) || bare.Contains(tool.Value))
            {
                continue; // (a bare name of an upstream's tool is reported above)
            }

            // A name no declared tool has protects nothing: a deny over 'contacts.purg' would load
            // and refuse nothing. It may still be meant for a tool an upstream server offers that
            // the policy does not annotate, but only a rule that names that system says so, and
            // not with a near miss of a tool the system annotates (annotate it if it really
            // exists); then it is pointed out, since such a tool counts as destructive,
            // irreversible and external.
            var hint = Suggest.Hint(tool.Value, inSystems.Select(t => t.Name));
            if (upstream.Count > 0 && syntax.Systems.Count > 0 && !glob.IsWildcard && hint is not null)
            {
                _diagnostics.Error(DiagnosticCode.UnknownReference, tool.At,
                    $"{what} names the tool '{tool.Value}', which {string.Join(" and ", upstream)} {(upstream.Count == 1 ? "does" : "do")} not annotate",
                    $"{hint} (if the server really offers a tool of this name, annotate it under systems:)");
            }
            else if (upstream.Count > 0 && syntax.Systems.Count > 0 && !glob.IsWildcard)
            {
                _diagnostics.Warning(DiagnosticCode.UnknownReference, tool.At,
                    $"{what} names the tool '{tool.Value}', which {string.Join(" and ", upstream)} {(upstream.Count == 1 ? "does" : "do")} not annotate: it matches only a tool the server offers unannotated, which counts as destructive, irreversible and external",
                    hint ?? "annotate the tool under systems: with its kind, so that the rule and the checker know what it does");
            }
            else if (glob.IsWildcard && upstream.Count > 0)
            {
                _diagnostics.Warning(DiagnosticCode.UnknownReference, tool.At,
                    $"{what}: no declared tool's name matches '{tool.Value}'; it matches only tools an upstream server offers unannotated, which count as destructive, irreversible and external",
                    hint ?? "'warden policy tools FILE' lists the tools");
            }
            else if (glob.IsWildcard)
            {
                _diagnostics.Error(DiagnosticCode.RuleNeverMatches, tool.At, $"{what} can never match '{tool.Value}': no tool's name matches it",
                    hint ?? "'warden policy tools FILE' lists the tools");
            }
            else
            {
                _diagnostics.Error(DiagnosticCode.UnknownReference, tool.At, $"{what} names the tool '{tool.Value}', which no system declares",
                    hint ?? (upstream.Count > 0
                        ? "'warden policy tools FILE' lists the tools; a tool an upstream server offers unannotated is named with its system (system: NAME)"
                        : "'warden policy tools FILE' lists the tools; an upstream tool needs system: too"));
            }
        }

        var kinds = syntax.Kinds.Select(k => k.Value).ToHashSet();
        var tools = inSystems.Where(t => Glob.AnyMatch(toolGlobs, t.Name) && (kinds.Count == 0 || kinds.Contains(t.Kind))).ToList();

        // Open: an upstream system in scope may offer a matching tool that the policy does not
        // annotate there. A rule that names no system means its exact tool names wherever they are
        // annotated; only names annotated nowhere (and wildcards) reach the unannotated. Such tools
        // count as delete, so kinds that exclude delete close the rule.
        bool Unannotated(Glob g, string? system) => g.IsWildcard || !_tools.Any(t => (system is null || t.System == system) && g.Matches(t.Name));
        var open = upstream.Count > 0
                   && (toolGlobs.Length == 0 || (syntax.Systems.Count == 0
                       ? toolGlobs.Any(g => Unannotated(g, null))
                       : upstream.Any(system => toolGlobs.Any(g => Unannotated(g, system)))))
                   && (kinds.Count == 0 || kinds.Contains(ActionKind.Delete));
        return (tools, open, systemGlobs, toolGlobs);
    }

    private ApprovalRequirement? ResolveApproval(RuleSyntax syntax, string what, List<Agent> agents)
    {
        if (syntax.Approval is not { } approval)
        {
            if (syntax.Effect.Value == Effect.Approve)
            {
                _diagnostics.Error(DiagnosticCode.MissingField, syntax.Effect.At, $"{what} needs approval but does not say who approves",
                    "add approval: { approvers: [...], quorum: 1, expires: 24h }");
            }

            return null;
        }

        if (syntax.Effect.Value != Effect.Approve)
        {
            _diagnostics.Error(DiagnosticCode.InvalidValue, approval.At, $"{what} has an approval block, but its effect is {Names.Of(syntax.Effect.Value)}",
                "approval goes with effect: approve");
            return null;
        }

        foreach (var show in approval.Show)
        {
            if (!ApprovalRequirement.ShowChoices.Contains(show.Value))
            {
                _diagnostics.Error(DiagnosticCode.InvalidValue, show.At, $"'{show.Value}' is not something an approver can be shown",
                    Suggest.HintOrChoices(show.Value, ApprovalRequirement.ShowChoices.ToList()));
            }
        }

        var quorum = (int)(approval.Quorum?.Value ?? 1);
        if (approval.Approvers.Count == 0)
        {
            return null;
        }

        var resolvable = approval.Approvers.All(a => ApproverReference(a, what));
        if (resolvable && approval.Approvers.Count > 0)
        {
            foreach (var useCase in agents.Select(a => _useCases[a.UseCase]).Distinct())
            {
                var people = Approvers.Resolve(approval.Approvers.Select(a => a.Value), useCase, OwnerModels(), GroupModels());
                if (people.Count < quorum)
                {
                    _diagnostics.Error(DiagnosticCode.ApprovalUnsatisfiable, approval.Quorum?.At ?? approval.At,
                        $"{what} needs {quorum} approvers for use case '{useCase.Id}', but only {people.Count} {(people.Count == 1 ? "person" : "people")} can approve ({string.Join(", ", people)})",
                        "name more approvers or lower the quorum");
                    break;
                }
            }
        }

        return new ApprovalRequirement(approval.Approvers.Select(a => a.Value).ToList(), quorum,
            approval.Expiry?.Value ?? TimeSpan.FromHours(24), approval.Show.Select(s => s.Value).Distinct().ToList()) { Rule = syntax.Id.Value };
    }

    private bool ApproverReference(Located<string> reference, string where)
    {
        var value = reference.Value;
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        var (prefix, name) = colon < 0 ? ("", value) : (value[..colon], value[(colon + 1)..]);
        switch (prefix)
        {
            case "":
                return OwnerReference(reference, where);
            case "role":
                if (!Names.Roles.TryGetValue(name, out var role))
                {
                    _diagnostics.Error(DiagnosticCode.UnknownReference, reference.At, $"'{name}' is not a role", Suggest.HintOrChoices(name, Names.Roles.Keys.ToList()));
                    return false;
                }

                if (!_syntax.Owners.Any(o => o.Roles.Any(r => r.Value == role)))
                {
                    _diagnostics.Error(DiagnosticCode.ApprovalUnsatisfiable, reference.At, $"{where} asks anyone with the role {name} to approve, but nobody has it");
                    return false;
                }

                return true;
            case "group":
                if (_groups.ContainsKey(name))
                {
                    return true;
                }

                _diagnostics.Error(DiagnosticCode.UnknownReference, reference.At, $"{where} names the group '{name}', which is not declared",
                    Suggest.HintOrChoices(name, _groups.Keys.ToList()));
                return false;
            case "owner":
                if (Names.OwnerSlots.Contains(name))
                {
                    return true;
                }

                _diagnostics.Error(DiagnosticCode.UnknownReference, reference.At, $"'{name}' is not an owner of a use case", Suggest.HintOrChoices(name, Names.OwnerSlots));
                return false;
            default:
                _diagnostics.Error(DiagnosticCode.InvalidValue, reference.At, $"'{value}' is not an approver",
                    "write a person's id, role:NAME, group:NAME, or owner:business|technical|data|risk");
                return false;
        }
    }

    private CelCondition? CompileCondition(ConditionSyntax condition, string what, List<ToolDefinition> tools, bool open)
    {
        var allKnown = !open && tools.All(t => t.Annotated);
        var key = (allKnown ? "k:" : "u:") + string.Join('\n', tools.Select(t => t.System + "/" + t.Name));
        if (!_variables.TryGetValue(key, out var variables))
        {
            _variables[key] = variables = ConditionVariables.ForTools(tools, allKnown);
        }

        var compiled = CelCondition.Compile(condition.Text, variables, out var problems, out var syntaxError);
        foreach (var problem in problems)
        {
            var at = ScalarPositions.Locate(condition.Node, _syntax.Text, problem.Start, problem.End);
            _diagnostics.Error(syntaxError ? DiagnosticCode.ConditionSyntax : DiagnosticCode.ConditionType, at,
                $"in the condition of {what}: {problem.Message}", problem.Hint);
        }

        return compiled;
    }

    /// <summary>
    /// The names a condition compares the call with (<c>tool == 'contacts.merge'</c>, <c>'pii' in
    /// classes</c>) must exist: a misspelt one makes a test that is silently never true, so an
    /// exception exempts nothing or a deny refuses nothing. One that exists but cannot occur where
    /// the condition applies (a tool the rule does not cover) is a warning. Returns false on an error.
    /// </summary>
    private bool ConditionNames(CelCondition condition, ConditionSyntax syntax, string what, ResolvedRule rule, IReadOnlyList<Agent> agents)
    {
        var errors = _diagnostics.ErrorCount;
        var subject = what.StartsWith("exception", StringComparison.Ordinal) ? $"{what} (for agent '{agents[0].Id}', over rule '{rule.Model.Id}')" : what;
        foreach (var name in condition.Names())
        {
            var at = ScalarPositions.Locate(syntax.Node, _syntax.Text, name.Start, name.End);
            var value = name.Value;
            IReadOnlyCollection<string> declared;
            IEnumerable<string>? here;
            string missing;
            switch (name.Variable)
            {
                case "tool":
                    declared = _tools.Select(t => t.Name).Distinct().ToList();
                    here = rule.Tools.Select(t => t.Name);
                    missing = $"no system declares a tool '{value}'";
                    if (rule.Open && !declared.Contains(value))
                    {
                        // Perhaps an unannotated upstream tool: as for a rule's tool: names, only a
                        // rule that names its systems may mean one, and not with a near miss.
                        if (rule.Syntax.Systems.Count > 0 && Suggest.Hint(value, declared) is null)
                        {
                            _diagnostics.Warning(DiagnosticCode.UnknownReference, at,
                                $"in the condition of {what}: no system annotates a tool '{value}'; it can only be one an upstream server offers unannotated",
                                "annotate the tool under systems: with its kind");
                            continue;
                        }
                    }
                    else if (rule.Open)
                    {
                        continue;
                    }

                    break;
                case "agent":
                    declared = _syntax.Agents.Select(a => a.Id.Value).ToList();
                    here = agents.Select(a => a.Id);
                    missing = $"no agent '{value}' is declared";
                    break;
                case "use_case":
                    declared = _syntax.UseCases.Select(u => u.Id.Value).ToList();
                    here = agents.Select(a => a.UseCase);
                    missing = $"no use case '{value}' is declared";
                    break;
                case "system":
                    declared = [ToolDefinition.WorkspaceSystem, .. _upstreamSystems];
                    here = rule.Open ? null : rule.Tools.Select(t => t.System);
                    missing = $"no system '{value}' is declared";
                    break;
                case "environment":
                    declared = _environments;
                    here = _environments.Where(e => (rule.Environments & EnvironmentBit(e)) != 0 && agents.Any(a => a.Environments.Contains(e)));
                    missing = $"'{value}' is not an environment of the policy";
                    break;
                case "kind":
                    declared = Names.KindNames;
                    here = rule.Open ? null : rule.Tools.Select(t => Names.Of(t.Kind));
                    missing = $"'{value}' is not an action kind";
                    break;
                case "classes":
                    // The policy's classes and those the built-in systems give their fields (pii, consent).
                    declared = KnownClasses;
                    here = null;
                    missing = $"no data class '{value}' is declared";

                    // A class the policy does not declare is in a call only when its plan reports
                    // it (an upstream system's might): pointed out, and refused when it is a near
                    // miss of a declared one ('pi' for 'pii').
                    if (!declared.Contains(value) && Suggest.Hint(value, declared) is null)
                    {
                        _diagnostics.Warning(DiagnosticCode.UnknownReference, at,
                            $"in the condition of {what}: no data class '{value}' is declared; a workspace call is never in it, only one whose plan reports it",
                            "declare it under data_classes: with the fields it covers");
                        continue;
                    }

                    break;
                default:
                    // Fields of an upstream system are whatever its plan reports; the workspace's are known.
                    var dot = value.IndexOf('.', StringComparison.Ordinal);
                    if (dot > 0 && _upstreamSystems.Contains(value[..dot]))
                    {
                        continue;
                    }

                    declared = _fields;
                    here = null;
                    missing = dot < 0 ? $"'{value}' is not a field: fields are written table.field, e.g. contacts.email" : $"'{value}' is not a field of the workspace";
                    break;
            }

            if (!declared.Contains(value))
            {
                _diagnostics.Error(DiagnosticCode.UnknownReference, at, $"in the condition of {what}: {missing}", Suggest.HintOrChoices(value, declared));
            }
            else if (here?.Distinct().ToList() is { } possible && !possible.Contains(value))
            {
                var noun = name.Variable.Replace('_', ' ');
                _diagnostics.Warning(DiagnosticCode.RuleNeverMatches, at,
                    $"in the condition of {what}: the {noun} is never '{value}' there, since {subject} applies only to {Few(possible)}",
                    "a comparison with it is always false (==) or always true (!=); check the name, or the rule it is in");
            }
        }

        return _diagnostics.ErrorCount == errors;
    }

    private bool CanMatch(ResolvedRule rule, string what)
    {
        var syntax = rule.Syntax;
        string? reason = null;
        if (rule.Agents.Count == 0)
        {
            reason = syntax.Agents.Count > 0 && syntax.UseCases.Count > 0
                ? "none of its agents serves its use cases"
                : _agents.Count == 0 ? "the policy declares no agents" : "no agent fits it";
        }
        else if (!rule.Agents.Any(a => a.Environments.Any(e => (rule.Environments & EnvironmentBit(e)) != 0)))
        {
            reason = $"its agents act only in {string.Join(", ", rule.Agents.SelectMany(a => a.Environments).Distinct())}";
        }
        else if (rule.Tools.Count == 0 && !rule.Open)
        {
            reason = syntax.Kinds.Count > 0 && syntax.Tools.Count > 0
                ? $"none of its tools is a {string.Join(" or ", syntax.Kinds.Select(k => Names.Of(k.Value)))}"
                : "no tool fits it";
        }
        else if (rule.Condition?.NeverTrueReason() is { } never)
        {
            reason = $"its condition can never be true: {never}";
        }

        if (reason is null)
        {
            return true;
        }

        var at = reason.StartsWith("its condition", StringComparison.Ordinal) && syntax.Condition is { } c ? c.Node.Start : syntax.Id.At;
        _diagnostics.Error(DiagnosticCode.RuleNeverMatches, at, $"{what} can never match: {reason}");
        return false;
    }

    /// <summary>Invariant 2 and the tier caps, for a rule's grant or an exception over it.</summary>
    private void CheckGrant(ResolvedRule rule, string what, Effect effect, SourceLocation at, string? exception)
    {
        if (effect == Effect.Deny)
        {
            return;
        }

        var subject = exception is null ? what : $"exception '{exception}' over {what}";
        if (effect == Effect.Allow)
        {
            var dangerous = rule.Tools.FirstOrDefault(t => t.AlwaysNeedsPerson);
            if (dangerous is not null)
            {
                _diagnostics.Error(DiagnosticCode.IrreversibleWithoutApproval, at,
                    $"{subject} would allow {dangerous.Name}, which is {Danger(dangerous)}; such actions always need a person",
                    exception is null ? "use effect: approve, or narrow the rule with kind: or tool:" : "an exception can only allow what can be undone");
            }
            else if (rule.Open)
            {
                _diagnostics.Error(DiagnosticCode.IrreversibleWithoutApproval, at,
                    $"{subject} would allow tools of {string.Join(", ", _upstreamSystems.Where(s => Glob.AnyMatch(rule.SystemGlobs, s)))} that the policy does not annotate, which count as irreversible",
                    "annotate the upstream tools, or narrow the rule with tool: or kind:");
            }
        }

        var agents = exception is null ? rule.Agents : rule.Agents.Where(a => _syntax.Exceptions.Any(e => e.Id.Value == exception && e.Agent?.Value == a.Id)).ToList();
        foreach (var useCase in agents.Select(a => _useCases[a.UseCase]).Distinct())
        {
            var over = rule.Tools.Where(t => TierCaps.Violation(useCase.Tier, t) is not null).Select(t => t.Name).ToList();
            if (rule.Open && TierCaps.Describe(useCase.Tier) is not null)
            {
                over.Add("unannotated upstream tools");
            }

            if (over.Count > 0)
            {
                _diagnostics.Error(DiagnosticCode.TierCapExceeded, at,
                    $"{subject} grants use case '{useCase.Id}' ({TierCaps.Name(useCase.Tier)} tier) {Few(over)}; {TierCaps.Describe(useCase.Tier)}",
                    "narrow the rule with kind: or tool:, or reclassify the use case if it really needs this");
            }
        }
    }

    private static string Danger(ToolDefinition tool) =>
        tool.Reversibility == Reversibility.Irreversible && tool.External ? "irreversible and external"
        : tool.External ? "external" : "irreversible";

    private static string Few(List<string> names) =>
        names.Count <= 3 ? string.Join(", ", names) : $"{string.Join(", ", names.Take(3))} and {names.Count - 3} more";

    // ---- exceptions, budgets, breakers ----

    private List<PolicyException> Exceptions()
    {
        var result = new List<PolicyException>();
        foreach (var syntax in _syntax.Exceptions)
        {
            if (!Unique("exception", syntax.Id))
            {
                continue;
            }

            var what = $"exception '{syntax.Id.Value}'";
            if (syntax.Effect.Value != Effect.Allow)
            {
                _diagnostics.Error(DiagnosticCode.InvalidValue, syntax.Effect.At, $"{what} has effect {Names.Of(syntax.Effect.Value)}; an exception grants, so its effect is allow");
                continue;
            }

            if (syntax.Agent is not { } agentName || syntax.Rule is not { } ruleName || syntax.Until is not { } until || syntax.GrantedBy is not { } grantedBy)
            {
                continue;
            }

            var agent = _agents.GetValueOrDefault(agentName.Value);
            if (agent is null && !_syntax.Agents.Any(a => a.Id.Value == agentName.Value))
            {
                _diagnostics.Error(DiagnosticCode.UnknownReference, agentName.At, $"{what} is for the agent '{agentName.Value}', which is not declared",
                    Suggest.HintOrChoices(agentName.Value, _agents.Keys.ToList()));
            }

            var rule = _rules.GetValueOrDefault(ruleName.Value);
            if (rule is null && !_syntax.Rules.Any(r => r.Id.Value == ruleName.Value))
            {
                _diagnostics.Error(DiagnosticCode.UnknownReference, ruleName.At, $"{what} is over the rule '{ruleName.Value}', which is not declared",
                    Suggest.HintOrChoices(ruleName.Value, _syntax.Rules.Select(r => r.Id.Value).ToList()));
            }

            if (OwnerReference(grantedBy, what) && agent is not null && _useCases.TryGetValue(agent.UseCase, out var useCase))
            {
                var owner = _owners[grantedBy.Value];
                if (useCase.Owners.Risk != grantedBy.Value && !owner.Roles.Any(r => r.Value == OwnerRole.RiskOwner))
                {
                    _diagnostics.Error(DiagnosticCode.ExceptionProblem, grantedBy.At,
                        $"{what} is granted by '{grantedBy.Value}', who is not a risk owner",
                        $"exceptions are granted by the use case's risk owner ({useCase.Owners.Risk}) or someone with the risk_owner role");
                }
            }

            if (until.Value <= _options.Now)
            {
                _diagnostics.Warning(DiagnosticCode.ExceptionProblem, until.At, $"{what} expired on {until.Value:yyyy-MM-dd HH:mm}Z and no longer applies", "remove it");
            }
            else if (until.Value - _options.Now > TimeSpan.FromDays(90))
            {
                _diagnostics.Warning(DiagnosticCode.ExceptionProblem, until.At, $"{what} runs until {until.Value:yyyy-MM-dd}, more than 90 days away",
                    "exceptions are meant to be short; if the grant is lasting, make it a rule");
            }

            if (agent is null || rule is null)
            {
                continue;
            }

            if (!rule.Agents.Contains(agent))
            {
                _diagnostics.Error(DiagnosticCode.ExceptionProblem, agentName.At, $"{what} is for agent '{agent.Id}', but rule '{rule.Model.Id}' never applies to that agent");
                continue;
            }

            CelCondition? condition = null;
            if (syntax.Condition is { } c && ((condition = CompileCondition(c, what, rule.Tools, rule.Open)) is null || !ConditionNames(condition, c, what, rule, [agent])))
            {
                continue;
            }

            var errors = _diagnostics.ErrorCount;
            CheckGrant(rule, $"rule '{rule.Model.Id}'", Effect.Allow, syntax.Id.At, syntax.Id.Value);
            if (_diagnostics.ErrorCount > errors)
            {
                continue;
            }

            var model = new PolicyException(syntax.Id.Value, agent.Id, rule.Model.Id, Effect.Allow, syntax.Condition?.Text, until.Value, grantedBy.Value, syntax.Reason);
            rule.Exceptions.Add(new ResolvedException(model, condition));
            result.Add(model);
        }

        return result;
    }

    private (string? Agent, string? UseCase)? Scope(Located<string>? agent, Located<string>? useCase, SourceLocation at, string what)
    {
        if ((agent is null) == (useCase is null))
        {
            _diagnostics.Error(DiagnosticCode.InvalidValue, at, $"{what} must name either an agent or a use case", "write agent: NAME or use_case: NAME");
            return null;
        }

        if (agent is { } a && !_syntax.Agents.Any(x => x.Id.Value == a.Value))
        {
            _diagnostics.Error(DiagnosticCode.UnknownReference, a.At, $"{what} names the agent '{a.Value}', which is not declared",
                Suggest.HintOrChoices(a.Value, _syntax.Agents.Select(x => x.Id.Value).ToList()));
            return null;
        }

        if (useCase is { } u && !_syntax.UseCases.Any(x => x.Id.Value == u.Value))
        {
            _diagnostics.Error(DiagnosticCode.UnknownReference, u.At, $"{what} names the use case '{u.Value}', which is not declared",
                Suggest.HintOrChoices(u.Value, _syntax.UseCases.Select(x => x.Id.Value).ToList()));
            return null;
        }

        return (agent?.Value, useCase?.Value);
    }

    private List<Budget> Budgets()
    {
        var result = new List<Budget>();
        foreach (var syntax in _syntax.Budgets)
        {
            // A budget per person may leave out the scope: each person's limit then spans every agent.
            var everyAgent = syntax.PerPerson && syntax.Agent is null && syntax.UseCase is null;
            if (Unique("budget", syntax.Id)
                && (everyAgent ? (null, null) : Scope(syntax.Agent, syntax.UseCase, syntax.At, $"budget '{syntax.Id.Value}'")) is { } scope
                && syntax.Metric is { } metric && syntax.Limit is { } limit && syntax.Window is { } window)
            {
                result.Add(new Budget(syntax.Id.Value, scope.Agent, scope.UseCase, metric.Value, limit.Value, window.Value) { PerPerson = syntax.PerPerson });
            }
        }

        return result;
    }

    private List<Breaker> Breakers()
    {
        var result = new List<Breaker>();
        foreach (var syntax in _syntax.Breakers)
        {
            if (Unique("breaker", syntax.Id)
                && Scope(syntax.Agent, syntax.UseCase, syntax.At, $"breaker '{syntax.Id.Value}'") is { } scope
                && syntax.Metric is { } metric && syntax.Over is { } over && syntax.Within is { } within)
            {
                result.Add(new Breaker(syntax.Id.Value, scope.Agent, scope.UseCase, metric.Value, over.Value, within.Value, syntax.Then));
            }
        }

        return result;
    }
}
