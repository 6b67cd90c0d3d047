using Spectre.Console;
using Warden.Core;

namespace Warden.Cli.Output;

/// <summary>Prints a decision and the trace of rules behind it.</summary>
internal static class DecisionView
{
    public static string Effect(Effect effect) => effect switch
    {
        Core.Effect.Allow => "ALLOW",
        Core.Effect.Approve => "NEEDS APPROVAL",
        _ => "DENY",
    };

    private static string Colour(Effect effect) => effect switch
    {
        Core.Effect.Allow => "green",
        Core.Effect.Approve => "yellow",
        _ => "red",
    };

    public static void Render(IAnsiConsole console, Policy policy, Explanation explanation)
    {
        var decision = explanation.Decision;
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        grid.AddRow("[bold]Decision[/]", $"[{Colour(decision.Effect)} bold]{Effect(decision.Effect)}[/]" +
                                         (decision.Rule is { } r ? $"  (rule [bold]{Markup.Escape(r.Id)}[/])" : ""));
        grid.AddRow("Reason", Markup.Escape(decision.Reason));
        if (decision.Effect == Core.Effect.Deny && decision.Message != decision.Reason)
        {
            grid.AddRow("Agent is told", Markup.Escape(decision.Message));
        }

        foreach (var approval in decision.Approvals)
        {
            var people = policy.EligibleApprovers(approval, decision.Agent)
                .Select(id => policy.FindOwner(id) is { } o ? $"{o.Id} ({o.Name})" : id);
            var show = approval.Show.Count > 0 ? $"; they see: {string.Join(", ", approval.Show)}" : "";
            grid.AddRow("Approval", Markup.Escape($"{approval.Quorum} of {string.Join(", ", people)}, within {approval.Expiry.TotalHours:0.#}h{show}"));
        }

        if (explanation.Agent is { } agent)
        {
            var useCase = explanation.UseCase;
            grid.AddRow("Agent", Markup.Escape($"{agent.Id}: use case {agent.UseCase}" + (useCase is null ? "" : $" ({useCase.Tier.ToString().ToLowerInvariant()} tier)") +
                                                $", acts in {string.Join(", ", agent.Environments)}"));
        }

        var tool = explanation.Tool;
        grid.AddRow("Tool", Markup.Escape(tool is null
            ? $"{decision.System}/{decision.Tool}: not annotated in the policy"
            : $"{tool.System}/{tool.Name}: {tool.Kind.ToString().ToLowerInvariant()}, {tool.Reversibility.ToString().ToLowerInvariant()}, {(tool.External ? "external" : "internal")}"));
        grid.AddRow("Environment", Markup.Escape(decision.Environment));
        if (decision.ShadowRule is { } shadow)
        {
            grid.AddRow("Shadow", Markup.Escape($"rule '{shadow.Id}' matched in shadow mode; enforced, the outcome would be {Effect(decision.ShadowEffect ?? Core.Effect.Deny).ToLowerInvariant()}"));
        }

        console.Write(grid);
        console.WriteLine();

        if (explanation.Rules.Count == 0)
        {
            console.MarkupLine("[grey]No rule of the policy targets this agent and tool.[/]");
        }
        else
        {
            console.MarkupLine("Rules considered, in precedence order (deny, then approve, then allow; file order within each):");
            var table = new Table().Border(TableBorder.Rounded)
                .AddColumn("rule").AddColumn("effect").AddColumn("outcome").AddColumn("detail");
            foreach (var trace in explanation.Rules)
            {
                var deciding = decision.Rule?.Id == trace.Rule.Id && trace.Outcome is RuleOutcome.Matched or RuleOutcome.ExceptionApplied or RuleOutcome.ConditionError;
                var name = Markup.Escape(trace.Rule.Id) + (trace.Rule.Mode == RuleMode.Shadow ? " [grey](shadow)[/]" : "") + (deciding ? " [bold]◀[/]" : "");
                table.AddRow(name, Markup.Escape(trace.Rule.Effect.ToString().ToLowerInvariant()), Outcome(trace.Outcome), Markup.Escape(trace.Detail));
            }

            console.Write(table);
        }

        foreach (var step in explanation.Steps)
        {
            console.MarkupLine($"  • {Markup.Escape(step)}");
        }
    }

    private static string Outcome(RuleOutcome outcome) => outcome switch
    {
        RuleOutcome.Matched => "[green]matched[/]",
        RuleOutcome.NotMatched => "[grey]no match[/]",
        RuleOutcome.ConditionError => "[red]condition error[/]",
        RuleOutcome.OtherEnvironment => "[grey]other environment[/]",
        RuleOutcome.ExceptionApplied => "[green]exception[/]",
        RuleOutcome.ShadowMatched => "[yellow]shadow match[/]",
        _ => "[grey]shadow, no match[/]",
    };
}
