using Warden.Core.Diagnostics;
using Warden.Core.Yaml;

namespace Warden.Core.Policies;

/// <summary>
/// Reads the YAML tree into <see cref="PolicySyntax"/>: the shape of the file (known fields, types,
/// values from fixed sets). Names and references are checked afterwards by the validator.
/// </summary>
internal static class PolicyBinder
{
    private static readonly string[] TopFields =
        ["version", "id", "description", "environments", "owners", "groups", "data_classes", "use_cases", "agents", "systems", "rules", "exceptions", "budgets", "breakers", "destinations"];

    public static PolicySyntax Bind(YamlNode root, string source, string text, DiagnosticBag diagnostics)
    {
        var policy = new PolicySyntax { Source = source, Text = text };
        var top = new MappingReader(root, "the policy", diagnostics, TopFields);
        if (!top.IsValid)
        {
            return policy;
        }

        policy.Version = top.Integer("version", 1, 1, required: true);
        policy.Id = top.Id("id");
        policy.Description = top.Text("description");
        policy.Environments.AddRange(top.Strings("environments"));

        Each(top, "owners", "owner", diagnostics, (item, what) =>
        {
            var r = new MappingReader(item, what, diagnostics, ["id", "name", "email", "roles", "auth"]);
            if (r.Id() is not { } id)
            {
                return;
            }

            var roles = r.Choices("roles", Names.Roles, "a role");

            var email = r.String("email", required: true);
            if (email is { } e && !e.Value.Contains('@', StringComparison.Ordinal))
            {
                diagnostics.Error(DiagnosticCode.InvalidValue, e.At, $"'{e.Value}' is not an email address");
            }

            // A person's token is optional: only people who approve or operate through the API need one.
            Located<string>? token = null;
            if (r.Mapping("auth") is { } auth)
            {
                token = new MappingReader(auth, $"the auth of owner '{id.Value}'", diagnostics, ["token"]).String("token", required: true,
                    hint: "name where the token is kept, e.g. token: env:WARDEN_TOKEN_SAM");
            }

            policy.Owners.Add(new OwnerSyntax(id, r.String("name")?.Value ?? id.Value, email?.Value ?? "", roles, token));
        });

        Each(top, "groups", "group", diagnostics, (item, what) =>
        {
            var r = new MappingReader(item, what, diagnostics, ["id", "members"]);
            if (r.Id() is { } id)
            {
                policy.Groups.Add(new GroupSyntax(id, r.Strings("members", required: true)));
            }
        });

        if (top.Mapping("data_classes") is { } classes)
        {
            foreach (var (name, patterns) in classes.Entries)
            {
                var r = new MappingReader(new YamlMapping(name.Start, [new(name, patterns)]), "data_classes", diagnostics, [name.Value]);
                policy.DataClasses.Add(new DataClassSyntax(new(name.Value, name.Start), r.Strings(name.Value, required: true)));
            }
        }

        Each(top, "use_cases", "use case", diagnostics, (item, what) => BindUseCase(policy, item, what, diagnostics));
        Each(top, "agents", "agent", diagnostics, (item, what) =>
        {
            var r = new MappingReader(item, what, diagnostics, ["id", "description", "use_case", "environments", "auth", "sees"]);
            if (r.Id() is not { } id)
            {
                return;
            }

            Located<string>? token = null;
            if (r.Mapping("auth", required: true) is { } auth)
            {
                token = new MappingReader(auth, $"the auth of agent '{id.Value}'", diagnostics, ["token"]).String("token", required: true,
                    hint: "name where the token is kept, e.g. token: env:WARDEN_TOKEN_QA");
            }

            policy.Agents.Add(new AgentSyntax(id, r.Text("description"), r.String("use_case", required: true),
                r.Strings("environments", required: true), token, r.Has("sees") ? r.Strings("sees", required: true) : [], r.At));
        });

        Each(top, "systems", "system", diagnostics, (item, what) => BindSystem(policy, item, what, diagnostics));
        Each(top, "rules", "rule", diagnostics, (item, what) => BindRule(policy, item, what, diagnostics));
        Each(top, "exceptions", "exception", diagnostics, (item, what) =>
        {
            var r = new MappingReader(item, what, diagnostics, ["id", "agent", "rule", "effect", "when", "until", "granted_by", "reason"]);
            if (r.Id() is not { } id)
            {
                return;
            }

            var effect = r.Has("effect") ? r.Choice("effect", Names.Effects) : new Located<Effect>(Effect.Allow, r.At);
            var reason = r.String("reason", required: true, hint: "say why the exception was granted; auditors will ask");
            policy.Exceptions.Add(new ExceptionSyntax(id, r.String("agent", required: true), r.String("rule", required: true),
                effect ?? new(Effect.Allow, r.At), Condition(r), r.Time("until", required: true), r.String("granted_by", required: true),
                reason?.Value ?? "", r.At));
        });

        Each(top, "budgets", "budget", diagnostics, (item, what) =>
        {
            var r = new MappingReader(item, what, diagnostics, ["id", "agent", "use_case", "per_person", "metric", "limit", "per"]);
            if (r.Id() is { } id)
            {
                policy.Budgets.Add(new BudgetSyntax(id, r.String("agent"), r.String("use_case"), r.Boolean("per_person")?.Value ?? false,
                    r.Choice("metric", Names.Metrics, required: true), r.Integer("limit", 0, long.MaxValue, required: true), r.Duration("per", required: true), r.At));
            }
        });

        Each(top, "breakers", "breaker", diagnostics, (item, what) =>
        {
            var r = new MappingReader(item, what, diagnostics, ["id", "agent", "use_case", "metric", "over", "within", "then"]);
            if (r.Id() is { } id)
            {
                var then = r.Has("then") ? r.Choice("then", Names.BreakerActions)?.Value ?? BreakerAction.Freeze : BreakerAction.Freeze;
                policy.Breakers.Add(new BreakerSyntax(id, r.String("agent"), r.String("use_case"), r.Choice("metric", Names.Metrics, required: true),
                    r.Integer("over", 0, long.MaxValue, required: true), r.Duration("within", required: true), then, r.At));
            }
        });

        Each(top, "destinations", "destination", diagnostics, (item, what) =>
        {
            var r = new MappingReader(item, what, diagnostics, ["id", "description"]);
            if (r.String("id", required: true, hint: "name the destination as the sync tool does, e.g. id: linkedin:matched-audience-42") is { } id)
            {
                policy.Destinations.Add(new DestinationSyntax(id, r.Text("description")));
            }
        });

        return policy;
    }

    private static void Each(MappingReader top, string key, string noun, DiagnosticBag diagnostics, Action<YamlNode, string> bind)
    {
        if (top.Sequence(key) is not { } items)
        {
            return;
        }

        foreach (var item in items.Items)
        {
            // Name the entry by its id in messages when it has one: "rule 'bulk-updates'".
            var id = item is YamlMapping m && m["id"] is YamlScalar s ? s.Value : item is YamlMapping n && n["name"] is YamlScalar t ? t.Value : null;
            bind(item, id is null ? $"this {noun}" : $"{noun} '{id}'");
        }
    }

    private static void BindUseCase(PolicySyntax policy, YamlNode item, string what, DiagnosticBag diagnostics)
    {
        var r = new MappingReader(item, what, diagnostics, ["id", "description", "classification", "owners", "escalation", "review"]);
        if (r.Id() is not { } id)
        {
            return;
        }

        Classification? classification = null;
        if (r.Mapping("classification", required: true) is { } axesNode)
        {
            var axes = new MappingReader(axesNode, $"the classification of {what}", diagnostics,
                ["access", "autonomy", "data_sensitivity", "customer_impact", "compliance_exposure", "reversibility"]);
            Rating? Axis(string name) => axes.Choice(name, Names.Ratings, required: true)?.Value;
            var values = new[] { Axis("access"), Axis("autonomy"), Axis("data_sensitivity"), Axis("customer_impact"), Axis("compliance_exposure"), Axis("reversibility") };
            if (values.All(v => v is not null))
            {
                classification = new Classification(values[0]!.Value, values[1]!.Value, values[2]!.Value, values[3]!.Value, values[4]!.Value, values[5]!.Value);
            }
        }

        Located<string>? business = null, technical = null, data = null, risk = null;
        if (r.Mapping("owners") is { } ownersNode)
        {
            var owners = new MappingReader(ownersNode, $"the owners of {what}", diagnostics, Names.OwnerSlots);
            business = owners.String("business");
            technical = owners.String("technical");
            data = owners.String("data");
            risk = owners.String("risk");
        }

        var cadence = ReviewCadence.Quarterly;
        Located<DateOnly>? last = null;
        if (r.Mapping("review") is { } reviewNode)
        {
            var review = new MappingReader(reviewNode, $"the review of {what}", diagnostics, ["cadence", "last"]);
            cadence = review.Choice("cadence", Names.Cadences, required: true)?.Value ?? cadence;
            last = review.Date("last");
        }

        policy.UseCases.Add(new UseCaseSyntax(id, r.Text("description"), classification, business, technical, data, risk,
            r.String("escalation", required: true, hint: "name the person to call when a guard trips"), cadence, last, r.At));
    }

    private static void BindSystem(PolicySyntax policy, YamlNode item, string what, DiagnosticBag diagnostics)
    {
        var kind = item is YamlMapping km && km["kind"] is YamlScalar ks ? ks.Value : null;
        var r = new MappingReader(item, what, diagnostics, kind == "mcp" ? UpstreamFields : ["id", "description", "kind", "connection", "environment", "connections", "tables", "tools"]);
        if (r.Id() is not { } id)
        {
            return;
        }

        if (kind == "mcp")
        {
            BindUpstream(policy, r, id, diagnostics);
            return;
        }

        var declared0 = r.String("kind");
        if (declared0 is { } declared)
        {
            // A system of a kind Warden knows: its tools come from the kind, not from the policy.
            if (r.Sequence("tools") is not null)
            {
                diagnostics.Error(DiagnosticCode.UnknownField, r.At, $"system '{id.Value}' is of kind {declared.Value}, whose tools Warden knows; it lists no tools",
                    "remove 'tools'; rules name its tools as " + id.Value + ".query, " + id.Value + ".execute, ...");
            }

            // One environment (connection and environment), or a connection per environment.
            var connections = new List<(Located<string>, Located<string>)>();
            if (r.Mapping("connections") is { } perEnvironment)
            {
                var c = new MappingReader(perEnvironment, $"the connections of system '{id.Value}'", diagnostics, perEnvironment.Entries.Select(e => e.Key.Value).ToList());
                foreach (var (key, _) in perEnvironment.Entries)
                {
                    if (c.String(key.Value, required: true) is { } reference)
                    {
                        connections.Add((new Located<string>(key.Value, key.Start), reference));
                    }
                }

                if (r.String("connection") is { } extra)
                {
                    diagnostics.Error(DiagnosticCode.InvalidValue, extra.At, $"system '{id.Value}' gives both 'connection' and 'connections'",
                        "give 'connection' with 'environment' for one environment, or 'connections' with a reference per environment");
                }
            }
            else
            {
                var reference = r.String("connection", required: true, hint: "a reference only Warden resolves: env:NAME, file:/path or secret:NAME");
                var environment = r.String("environment", required: true, hint: "the environment the database belongs to, e.g. sandbox (or 'connections' with one per environment)");
                if (reference is { } rf && environment is { } env)
                {
                    connections.Add((env, rf));
                }
            }

            policy.Systems.Add(new SystemSyntax(id, r.Text("description"), [])
            {
                Kind = declared,
                Connections = connections,
                Tables = r.Strings("tables", required: true),
                At = r.At,
            });
            return;
        }

        policy.Systems.Add(new SystemSyntax(id, r.Text("description"), Tools(r, id, diagnostics)));
    }

    private static readonly string[] UpstreamFields =
        ["id", "description", "kind", "command", "args", "url", "headers", "env", "environment", "connections", "timeout", "sql_connection", "instructions_in_results", "tools"];

    /// <summary>instructions_in_results: flag (false) or withhold (true).</summary>
    private static readonly Dictionary<string, bool> InstructionChoices = new(StringComparer.Ordinal) { ["flag"] = false, ["withhold"] = true };

    private static readonly string[] EndpointFields = ["command", "args", "url", "headers", "env"];

    /// <summary>
    /// An upstream MCP server (kind: mcp): its tools' annotations, and how Warden reaches it, in one
    /// environment (the endpoint's fields with environment) or in each (connections: ENV: endpoint).
    /// </summary>
    private static void BindUpstream(PolicySyntax policy, MappingReader r, Located<string> id, DiagnosticBag diagnostics)
    {
        var kind = r.String("kind")!;
        var endpoints = new List<(Located<string>, EndpointSyntax)>();
        if (r.Mapping("connections") is { } perEnvironment)
        {
            if (EndpointFields.FirstOrDefault(r.Has) is { } extra)
            {
                diagnostics.Error(DiagnosticCode.InvalidValue, r.Node(extra)!.Start, $"system '{id.Value}' gives both '{extra}' and 'connections'",
                    "give the endpoint (command or url) with 'environment' for one environment, or 'connections' with an endpoint per environment");
            }

            foreach (var (key, node) in perEnvironment.Entries)
            {
                var e = new MappingReader(node, $"the connection of system '{id.Value}' in {key.Value}", diagnostics, EndpointFields);
                if (e.IsValid && Endpoint(e, id, diagnostics) is { } endpoint)
                {
                    endpoints.Add((new Located<string>(key.Value, key.Start), endpoint));
                }
            }
        }
        else if (r.Has("command") || r.Has("url"))
        {
            var environment = r.String("environment", required: true, hint: "the environment this server belongs to, e.g. sandbox (or 'connections' with an endpoint per environment)");
            if (Endpoint(r, id, diagnostics) is { } endpoint && environment is { } env)
            {
                endpoints.Add((env, endpoint));
            }
        }
        else
        {
            diagnostics.Error(DiagnosticCode.MissingField, r.At, $"system '{id.Value}' is of kind mcp but says neither how to start it nor where it is",
                "give command: [program, args...] (stdio) or url: https://... (Streamable HTTP), with environment: NAME");
        }

        policy.Systems.Add(new SystemSyntax(id, r.Text("description"), Tools(r, id, diagnostics))
        {
            Kind = kind,
            Endpoints = endpoints,
            Timeout = r.Duration("timeout"),
            SqlConnection = r.String("sql_connection"),
            InstructionsInResults = r.Choice("instructions_in_results", InstructionChoices),
            At = r.At,
        });
    }

    private static EndpointSyntax? Endpoint(MappingReader r, Located<string> id, DiagnosticBag diagnostics)
    {
        var command = r.Strings("command");
        command.AddRange(r.Strings("args"));
        var url = r.String("url");
        if (command.Count > 0 && url is not null)
        {
            diagnostics.Error(DiagnosticCode.InvalidValue, url.Value.At, $"system '{id.Value}' gives both a command and a url",
                "a server is either started by Warden (command, over stdio) or reached at a url (Streamable HTTP), not both");
            return null;
        }

        if (command.Count == 0 && url is null)
        {
            diagnostics.Error(DiagnosticCode.MissingField, r.At, $"{r.What} says neither how to start the server nor where it is",
                "give command: [program, args...] or url: https://...");
            return null;
        }

        if (r.Has("args") && !r.Has("command"))
        {
            diagnostics.Error(DiagnosticCode.MissingField, r.Node("args")!.Start, $"{r.What} has args but no command");
        }

        return new EndpointSyntax(command, url, References(r, "headers", id, diagnostics), References(r, "env", id, diagnostics), r.At);
    }

    private static List<(Located<string>, Located<string>)> References(MappingReader r, string key, Located<string> id, DiagnosticBag diagnostics)
    {
        var result = new List<(Located<string>, Located<string>)>();
        if (r.Mapping(key) is { } map)
        {
            var m = new MappingReader(map, $"the {key} of system '{id.Value}'", diagnostics, map.Entries.Select(e => e.Key.Value).ToList());
            foreach (var (name, _) in map.Entries)
            {
                if (m.String(name.Value, required: true) is { } reference)
                {
                    result.Add((new Located<string>(name.Value, name.Start), reference));
                }
            }
        }

        return result;
    }

    /// <summary>The annotations of an upstream system's tools.</summary>
    private static List<ToolSyntax> Tools(MappingReader r, Located<string> id, DiagnosticBag diagnostics)
    {
        var tools = new List<ToolSyntax>();
        foreach (var toolNode in r.Sequence("tools")?.Items ?? [])
        {
            var name = toolNode is YamlMapping m && m["name"] is YamlScalar s ? s.Value : null;
            var t = new MappingReader(toolNode, name is null ? $"a tool of system '{id.Value}'" : $"tool '{name}' of system '{id.Value}'",
                diagnostics, ["name", "description", "kind", "reversibility", "external", "arguments", "result", "records", "preview", "undo", "sql", "argument_classes", "pin"]);
            if (t.Id("name") is not { } toolName)
            {
                continue;
            }

            List<ToolArgument>? arguments = null;
            if (t.Mapping("arguments") is { } argumentsNode)
            {
                arguments = [];
                var argumentReader = new MappingReader(argumentsNode, $"the arguments of tool '{toolName.Value}'", diagnostics,
                    argumentsNode.Entries.Select(e => e.Key.Value).ToList());
                foreach (var (key, _) in argumentsNode.Entries)
                {
                    if (argumentReader.Choice(key.Value, Names.ArgumentTypes) is { } type)
                    {
                        arguments.Add(new ToolArgument(key.Value, type.Value, ""));
                    }
                }
            }

            // result: { "$.records[*].email": pii } — the classes of what a path in the result holds; argument_classes: the same of the arguments.
            var result = PathClasses(t, "result", $"the result of tool '{toolName.Value}'", diagnostics);
            var argumentClasses = PathClasses(t, "argument_classes", $"the argument classes of tool '{toolName.Value}'", diagnostics);

            tools.Add(new ToolSyntax(toolName, t.Text("description"), t.Choice("kind", Names.Kinds), t.Choice("reversibility", Names.Reversibilities),
                t.Boolean("external"), arguments, t.At)
            {
                Result = result, ArgumentClasses = argumentClasses, Records = t.Scalar("records") is { } count ? new ConditionSyntax(count.Value, count) : null,
                Preview = ProxiedCall(t, "preview", toolName.Value, diagnostics), Undo = ProxiedCall(t, "undo", toolName.Value, diagnostics),
                Sql = t.Node("sql"),
                Pin = t.String("pin"),
            });
        }

        return tools;
    }

    /// <summary>Data classes by JSON path: { "$.records[*].email": [pii] }.</summary>
    private static List<(Located<string>, List<Located<string>>)> PathClasses(MappingReader t, string key, string what, DiagnosticBag diagnostics)
    {
        var result = new List<(Located<string>, List<Located<string>>)>();
        if (t.Mapping(key) is { } node)
        {
            var reader = new MappingReader(node, what, diagnostics, node.Entries.Select(e => e.Key.Value).ToList());
            foreach (var (path, _) in node.Entries)
            {
                result.Add((new Located<string>(path.Value, path.Start), reader.Strings(path.Value, required: true)));
            }
        }

        return result;
    }

    /// <summary>A tool's preview: { tool, arguments, records }, or undo: { tool, arguments }.</summary>
    private static ProxiedCallSyntax? ProxiedCall(MappingReader t, string key, string tool, DiagnosticBag diagnostics)
    {
        if (t.Mapping(key) is not { } node)
        {
            return null;
        }

        var r = new MappingReader(node, $"the {key} of tool '{tool}'", diagnostics, key == "preview" ? ["tool", "arguments", "records"] : ["tool", "arguments"]);
        if (r.Id("tool") is not { } name)
        {
            return null;
        }

        var arguments = r.Node("arguments");
        if (arguments is not (null or YamlMapping))
        {
            diagnostics.Error(DiagnosticCode.InvalidValue, arguments.Start, $"the arguments of the {key} of tool '{tool}' must be a mapping, not {arguments.Describe}",
                "write each argument and how it is built: { id: args.id }");
            arguments = null;
        }

        return new ProxiedCallSyntax(name, arguments, r.String("records"), node.Start);
    }

    private static void BindRule(PolicySyntax policy, YamlNode item, string what, DiagnosticBag diagnostics)
    {
        var r = new MappingReader(item, what, diagnostics,
            ["id", "description", "agent", "use_case", "environment", "system", "tool", "kind", "when", "effect", "message", "approval", "mode"]);
        if (r.Id() is not { } id)
        {
            return;
        }

        var kinds = r.Choices("kind", Names.Kinds, "an action kind");

        var effect = r.Choice("effect", Names.Effects, required: true);
        ApprovalSyntax? approval = null;
        if (r.Mapping("approval") is { } approvalNode)
        {
            var a = new MappingReader(approvalNode, $"the approval of {what}", diagnostics, ["approvers", "quorum", "expires", "show"]);
            approval = new ApprovalSyntax(a.Strings("approvers", required: true), a.Integer("quorum", 1, 100), a.Duration("expires"), a.Strings("show"), a.At);
        }

        var mode = r.Has("mode") ? r.Choice("mode", Names.Modes)?.Value ?? RuleMode.Enforce : RuleMode.Enforce;
        policy.Rules.Add(new RuleSyntax(id, r.Text("description"), r.Strings("agent"), r.Strings("use_case"), r.Strings("environment"),
            r.Strings("system"), r.Strings("tool"), kinds, Condition(r), effect ?? new(Effect.Deny, r.At), r.String("message"), approval, mode, r.At));
    }

    private static ConditionSyntax? Condition(MappingReader r) =>
        r.Scalar("when") is { } s ? new ConditionSyntax(s.Value, s) : null;
}
