using System.CommandLine;
using Spectre.Console;
using Warden.Cli.Output;
using Warden.Core;

namespace Warden.Cli.Commands;

/// <summary><c>warden policy test FILE CASES</c>: policy unit tests, like <c>opa test</c>.</summary>
internal static class PolicyTestCommand
{
    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        var file = new Argument<string>("file") { Description = "The policy file (YAML)." };
        var cases = new Argument<string>("cases") { Description = "The test cases (YAML): calls and the decisions they must get." };
        var command = new Command("test", "Run policy unit tests: each case is a call and the decision it must get.") { file, cases };
        command.SetAction(parse => Execute(parse.GetValue(file)!, parse.GetValue(cases)!, console, clock));
        return command;
    }

    public static int Execute(string policyPath, string casesPath, IAnsiConsole console, TimeProvider clock)
    {
        var policy = PolicyFile.Load(policyPath, console, clock, out var loaded, quiet: true);
        if (policy is null)
        {
            return loaded is null ? ExitCodes.Usage : ExitCodes.Findings;
        }

        if (!PolicyFile.TryRead(casesPath, console, out var text))
        {
            return ExitCodes.Usage;
        }

        var suite = PolicyTestSuite.Parse(text, casesPath, policy, out var diagnostics, clock);
        if (suite is null)
        {
            DiagnosticsView.Render(console, diagnostics, text);
            DiagnosticsView.Summary(console, casesPath, diagnostics);
            return ExitCodes.Findings;
        }

        var results = suite.Run(policy);
        foreach (var result in results)
        {
            if (result.Passed)
            {
                console.MarkupLine($"[green]PASS[/]  {Markup.Escape(result.Case.Name)}");
                continue;
            }

            console.MarkupLine($"[red bold]FAIL[/]  {Markup.Escape(result.Case.Name)}  [grey]({Markup.Escape(result.Case.At.ToString())})[/]");
            foreach (var mismatch in result.Mismatches)
            {
                console.MarkupLine($"      {Markup.Escape(mismatch)}");
            }

            console.MarkupLine($"      [grey]decided:[/] {Markup.Escape(DecisionView.Effect(result.Decision.Effect))} — {Markup.Escape(result.Decision.Reason)}");
        }

        var failed = results.Count(r => !r.Passed);
        console.WriteLine();
        console.MarkupLine($"[{(failed == 0 ? "green" : "red")}]{results.Count - failed} passed, {failed} failed[/]");
        return failed == 0 ? ExitCodes.Ok : ExitCodes.Findings;
    }
}
