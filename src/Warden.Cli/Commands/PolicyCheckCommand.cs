using System.CommandLine;
using Spectre.Console;
using Warden.Cli.Output;
using Warden.Core;

namespace Warden.Cli.Commands;

/// <summary><c>warden policy check FILE</c>: every error and warning, with file, line and column.</summary>
internal static class PolicyCheckCommand
{
    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        var file = new Argument<string>("file") { Description = "The policy file (YAML)." };
        var command = new Command("check", "Check a policy file: report every error and warning with its line and column.") { file };
        command.SetAction(parse => Execute(parse.GetValue(file)!, console, clock));
        return command;
    }

    public static int Execute(string path, IAnsiConsole console, TimeProvider clock)
    {
        var policy = PolicyFile.Load(path, console, clock, out var result);
        if (result is null)
        {
            return ExitCodes.Usage;
        }

        if (policy is null)
        {
            return ExitCodes.Findings;
        }

        var tiers = string.Join(", ", policy.UseCases.Select(u => $"{u.Id} ({u.Tier.ToString().ToLowerInvariant()})"));
        console.MarkupLine($"[green]{Markup.Escape(path)} is valid:[/] {DiagnosticsView.Count(result.Errors.Count(), "error")}, {DiagnosticsView.Count(result.Warnings.Count(), "warning")}");
        console.MarkupLine($"  policy [bold]{Markup.Escape(policy.Id)}[/] ({Markup.Escape(policy.Hash[..19])}…): " +
                           $"{DiagnosticsView.Count(policy.Agents.Count, "agent")}, {DiagnosticsView.Count(policy.Rules.Count, "rule")}, " +
                           $"{DiagnosticsView.Count(policy.Exceptions.Count, "exception")}, {DiagnosticsView.Count(policy.Budgets.Count, "budget")}, " +
                           $"{DiagnosticsView.Count(policy.Breakers.Count, "breaker")}");
        console.MarkupLine($"  use cases: {Markup.Escape(tiers)}");
        return ExitCodes.Ok;
    }
}
