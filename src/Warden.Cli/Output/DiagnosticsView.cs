using Spectre.Console;
using Warden.Core;

namespace Warden.Cli.Output;

/// <summary>
/// Prints findings the way compilers do: the sentence, the place, the line itself with a caret
/// under the column, and the hint. Errors first, then warnings.
/// </summary>
internal static class DiagnosticsView
{
    public static void Render(IAnsiConsole console, IReadOnlyList<Diagnostic> diagnostics, string? text, bool showWarnings = true)
    {
        var lines = text?.Split('\n');
        foreach (var d in diagnostics)
        {
            if (d.Severity == Severity.Warning && !showWarnings)
            {
                continue;
            }

            var label = d.Severity == Severity.Error ? "[red bold]error[/]" : "[yellow bold]warning[/]";
            console.MarkupLine($"{label}: {Markup.Escape(d.Message)}");
            console.MarkupLine($"  [blue]-->[/] {Markup.Escape(d.Location.ToString())}");
            if (lines is not null && d.Location.Line > 0 && d.Location.Line <= lines.Length)
            {
                var line = lines[d.Location.Line - 1].TrimEnd('\r');
                var number = d.Location.Line.ToString(System.Globalization.CultureInfo.InvariantCulture);
                var gutter = new string(' ', number.Length);
                console.MarkupLine($"  [blue]{gutter} |[/]");
                console.MarkupLine($"  [blue]{number} |[/] {Markup.Escape(Clip(line))}");
                var caret = new string(' ', Math.Clamp(d.Location.Column - 1, 0, 200)) + "^";
                console.MarkupLine($"  [blue]{gutter} |[/] [{(d.Severity == Severity.Error ? "red" : "yellow")}]{caret}[/]");
            }

            if (d.Hint is { } hint)
            {
                console.MarkupLine($"  [blue]=[/] hint: {Markup.Escape(hint)}");
            }

            console.WriteLine();
        }
    }

    public static void Summary(IAnsiConsole console, string path, IReadOnlyList<Diagnostic> diagnostics)
    {
        var errors = diagnostics.Count(d => d.Severity == Severity.Error);
        var warnings = diagnostics.Count - errors;
        var colour = errors > 0 ? "red" : warnings > 0 ? "yellow" : "green";
        var verdict = errors > 0 ? "does not load" : "is valid";
        console.MarkupLine($"[{colour}]{Markup.Escape(path)} {verdict}:[/] {Count(errors, "error")}, {Count(warnings, "warning")}");
    }

    public static string Count(int n, string noun) => $"{n} {noun}{(n == 1 ? "" : "s")}";

    private static string Clip(string line) => line.Length <= 160 ? line : line[..157] + "...";
}
