using System.CommandLine;
using Spectre.Console;
using Warden.Cli.Output;
using Warden.Core;

namespace Warden.Cli.Commands;

/// <summary><c>warden policy tools FILE [--agent A --env E]</c>: the tools a policy knows, or what one agent may be granted.</summary>
internal static class PolicyToolsCommand
{
    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        var file = new Argument<string>("file") { Description = "The policy file (YAML)." };
        var agent = new Option<string?>("--agent") { Description = "Show only what this agent can ever be granted." };
        var environment = new Option<string?>("--env") { Description = "With --agent: the environment (default: the policy's first)." };
        var command = new Command("tools", "List the tools the policy knows: kind, reversibility, reach; or what one agent may be granted.") { file, agent, environment };
        command.SetAction(parse => Execute(parse.GetValue(file)!, parse.GetValue(agent), parse.GetValue(environment), console, clock));
        return command;
    }

    public static int Execute(string path, string? agentId, string? environment, IAnsiConsole console, TimeProvider clock)
    {
        var policy = PolicyFile.Load(path, console, clock, out var loaded, quiet: true);
        if (policy is null)
        {
            return loaded is null ? ExitCodes.Usage : ExitCodes.Findings;
        }

        var table = new Table().Border(TableBorder.Rounded).AddColumn("system").AddColumn("tool").AddColumn("kind").AddColumn("undo").AddColumn("reach");
        if (agentId is null)
        {
            foreach (var tool in policy.Tools)
            {
                table.AddRow(Row(tool));
            }

            console.Write(table);
            return ExitCodes.Ok;
        }

        var agent = policy.FindAgent(agentId);
        if (agent is null)
        {
            console.MarkupLine($"[red]error:[/] the policy has no agent '{Markup.Escape(agentId)}'");
            return ExitCodes.Usage;
        }

        environment ??= agent.Environments[0];
        table.AddColumn("at best");
        var grants = policy.Grants(agentId, environment);
        foreach (var (tool, best) in grants.Select(g => (g.Tool, g.BestCase)))
        {
            table.AddRow([.. Row(tool), best == Effect.Allow ? "[green]allowed[/]" : "[yellow]with approval[/]"]);
        }

        console.MarkupLine($"What [bold]{Markup.Escape(agentId)}[/] can ever be granted in [bold]{Markup.Escape(environment)}[/] ({DiagnosticsView.Count(grants.Count, "tool")}); everything else is denied:");
        console.Write(table);
        return ExitCodes.Ok;
    }

    private static string[] Row(ToolDefinition tool) =>
    [
        Markup.Escape(tool.System), Markup.Escape(tool.Name), tool.Kind.ToString().ToLowerInvariant(),
        tool.Reversibility.ToString().ToLowerInvariant(), tool.External ? "[red]external[/]" : "internal",
    ];
}
