using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using Warden.Cli.Output;
using Warden.Core;

namespace Warden.Cli.Commands;

/// <summary><c>warden policy explain FILE --agent A --tool T --args JSON [--facts JSON]</c>: the decision and why.</summary>
internal static class PolicyExplainCommand
{
    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        var file = new Argument<string>("file") { Description = "The policy file (YAML)." };
        var agent = new Option<string>("--agent") { Description = "The calling agent's id.", Required = true };
        var tool = new Option<string>("--tool") { Description = "The tool, e.g. contacts.update.", Required = true };
        var system = new Option<string>("--system") { Description = "The tool's system.", DefaultValueFactory = _ => ToolDefinition.WorkspaceSystem };
        var environment = new Option<string?>("--env") { Description = "The environment (default: the policy's first, usually sandbox)." };
        var args = new Option<string>("--args") { Description = "The call's arguments as a JSON object.", DefaultValueFactory = _ => "{}" };
        var facts = new Option<string>("--facts") { Description = "Plan facts as JSON: records, recipients, fields, classes, external, reversible.", DefaultValueFactory = _ => "{}" };
        var at = new Option<string?>("--at") { Description = "Decide as of this time (RFC 3339), e.g. to see an exception expire." };
        var frozen = new Option<bool>("--frozen") { Description = "Decide as if the agent were frozen." };
        var usage = new Option<string[]>("--usage") { Description = "Budget usage so far, as BUDGET=AMOUNT (repeatable).", AllowMultipleArgumentsPerToken = true };
        var onBehalfOf = new Option<string?>("--on-behalf-of") { Description = "The person the agent acts for: budgets per person count against them.", HelpName = "PERSON" };
        var command = new Command("explain", "Decide one call and show every rule considered and why.")
        {
            file, agent, tool, system, environment, args, facts, at, frozen, usage, onBehalfOf,
        };
        command.SetAction(parse => Execute(new Request(
            parse.GetValue(file)!, parse.GetValue(agent)!, parse.GetValue(tool)!, parse.GetValue(system)!, parse.GetValue(environment),
            parse.GetValue(args)!, parse.GetValue(facts)!, parse.GetValue(at), parse.GetValue(frozen), parse.GetValue(usage) ?? [])
        {
            OnBehalfOf = parse.GetValue(onBehalfOf),
        }, console, clock));
        return command;
    }

    internal sealed record Request(string File, string Agent, string Tool, string System, string? Environment, string Args, string Facts,
        string? At, bool Frozen, string[] Usage)
    {
        public string? OnBehalfOf { get; init; }
    }

    public static int Execute(Request request, IAnsiConsole console, TimeProvider clock)
    {
        if (!StrictJson.TryParseObject(request.Args, out var arguments, out var argsError))
        {
            return Fail(console, $"--args: {argsError}");
        }

        if (!StrictJson.TryParse(request.Facts, out var factsJson, out var factsError) || !StrictJson.TryReadFacts(factsJson, out var facts, out factsError))
        {
            return Fail(console, $"--facts: {factsError}");
        }

        var now = clock.GetUtcNow();
        if (request.At is { } at && !DateTimeOffset.TryParse(at, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out now))
        {
            return Fail(console, $"--at: '{at}' is not a time; write it like 2026-11-27T18:00:00Z");
        }

        var usage = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var entry in request.Usage)
        {
            var parts = entry.Split('=', 2);
            if (parts.Length != 2 || !long.TryParse(parts[1], out var used) || used < 0)
            {
                return Fail(console, $"--usage: '{entry}' should be BUDGET=AMOUNT, e.g. hygiene-hourly-changes=19500");
            }

            usage[parts[0]] = used;
        }

        var policy = PolicyFile.Load(request.File, console, clock, out var loaded, quiet: true);
        if (policy is null)
        {
            return loaded is null ? ExitCodes.Usage : ExitCodes.Findings;
        }

        // An explanation for an agent or tool the policy does not have would answer DENY, true and useless: a typo says so instead.
        if (policy.FindAgent(request.Agent) is null)
        {
            return Fail(console, $"--agent: the policy has no agent '{request.Agent}'" + Hint(request.Agent, policy.Agents.Select(a => a.Id)));
        }

        if (policy.Tools.All(t => t.System != request.System))
        {
            return Fail(console, $"--system: the policy has no system '{request.System}'" + Hint(request.System, policy.Tools.Select(t => t.System).Distinct()));
        }

        if (policy.FindTool(request.System, request.Tool) is null)
        {
            return Fail(console, $"--tool: system '{request.System}' has no tool '{request.Tool}'" + Hint(request.Tool, policy.Tools.Where(t => t.System == request.System).Select(t => t.Name)));
        }

        foreach (var budget in usage.Keys.Where(b => policy.Budgets.All(x => x.Id != b)))
        {
            return Fail(console, $"--usage: the policy has no budget '{budget}'");
        }

        if (request.OnBehalfOf is null && policy.Budgets.FirstOrDefault(b => b.PerPerson && usage.ContainsKey(b.Id)) is { } perPerson)
        {
            return Fail(console, $"--usage: '{perPerson.Id}' is a budget per person; say whose with --on-behalf-of PERSON, or it counts nothing");
        }

        if (request.OnBehalfOf is { } person && policy.FindOwner(person) is null)
        {
            return Fail(console, $"--on-behalf-of: '{person}' is not a person of the policy" +
                                 (Core.Diagnostics.Suggest.Hint(person, policy.Owners.Select(o => o.Id)) is { } hint ? $"; {hint}" : ""));
        }

        var decisionRequest = new DecisionRequest(request.Agent, request.Tool, request.Environment ?? policy.Environments[0], arguments, facts, now)
        {
            System = request.System,
            OnBehalfOf = request.OnBehalfOf,
        };
        var guards = new GuardSnapshot
        {
            Usage = usage,
            FrozenAgents = request.Frozen ? new HashSet<string> { request.Agent } : new HashSet<string>(),
        };
        DecisionView.Render(console, policy, policy.Explain(decisionRequest, guards));
        return ExitCodes.Ok;
    }

    private static int Fail(IAnsiConsole console, string message)
    {
        console.MarkupLine($"[red]error:[/] {Markup.Escape(message)}");
        return ExitCodes.Usage;
    }

    private static string Hint(string value, IEnumerable<string> known) =>
        Core.Diagnostics.Suggest.Hint(value, [.. known]) is { } hint ? $"; {hint}" : "";
}
