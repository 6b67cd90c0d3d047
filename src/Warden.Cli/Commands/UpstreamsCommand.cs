using System.CommandLine;
using Spectre.Console;
using Warden.Core.Audit;
using Warden.Storage.Audit;
using Warden.Upstreams;

namespace Warden.Cli.Commands;

/// <summary>
/// <c>warden upstreams list SYSTEM</c> and <c>warden upstreams accept SYSTEM TOOL --by PERSON</c>:
/// the pins of an upstream MCP server's tools in a gateway's data folder, and an owner's acceptance
/// of a tool that changed (blocked until then), shown as the difference and recorded in the trail.
/// </summary>
internal static class UpstreamsCommand
{
    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        var upstreams = new Command("upstreams", "Review the tools of the upstream MCP servers Warden governs, and accept a tool that changed.");
        upstreams.Add(List(console));
        upstreams.Add(Accept(console, clock));
        return upstreams;
    }

    private static Option<string> Data() => new("--data") { Description = "The gateway's data folder.", DefaultValueFactory = _ => ".warden" };

    private static Option<string> Environment() => new("--environment") { Description = "The gateway's environment (default sandbox).", DefaultValueFactory = _ => "sandbox" };

    private static Command List(IAnsiConsole console)
    {
        var system = new Argument<string>("system") { Description = "The upstream's id in the policy." };
        var data = Data();
        var environment = Environment();
        var command = new Command("list", "List an upstream's pinned tools: the server's own hints, and which changed and are blocked.") { system, data, environment };
        command.SetAction(parse =>
        {
            if (Open(parse.GetValue(system)!, parse.GetValue(data)!, parse.GetValue(environment)!, console) is not { } opened)
            {
                return ExitCodes.Usage;
            }

            using var pins = opened;

            // The version is what a policy writes to pin a tool itself (pin: sha256:...).
            var table = new Table().AddColumns("tool", "version", "pinned", "by", "server's hints (not trusted)", "state");
            foreach (var tool in pins.All())
            {
                table.AddRow(Markup.Escape(tool.Tool), tool.Pinned.Hash, tool.PinnedAt.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(tool.PinnedBy),
                    Markup.Escape(tool.Pinned.Hints), tool.Changed is null ? "[green]pinned[/]" : $"[red]changed {tool.ChangedAt:yyyy-MM-dd HH:mm}: blocked[/]");
            }

            console.Write(table);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Accept(IAnsiConsole console, TimeProvider clock)
    {
        var system = new Argument<string>("system") { Description = "The upstream's id in the policy." };
        var tool = new Argument<string>("tool") { Description = "The tool, as the server names it (search) or as agents see it (crm.search)." };
        var by = new Option<string>("--by") { Description = "Who reviewed the change and accepts it: recorded in the trail.", Required = true };
        var data = Data();
        var environment = Environment();
        var command = new Command("accept", "Show how a blocked tool changed and accept the new version, so that calls to it run again.") { system, tool, by, data, environment };
        command.SetAction(parse =>
        {
            var id = parse.GetValue(system)!;
            if (Open(id, parse.GetValue(data)!, parse.GetValue(environment)!, console) is not { } opened)
            {
                return ExitCodes.Usage;
            }

            using var pins = opened;

            var name = parse.GetValue(tool)!;
            var full = name.StartsWith(id + ".", StringComparison.Ordinal) ? name : $"{id}.{name}";
            if (pins.Find(full) is not { } pin)
            {
                console.MarkupLine($"[red]error:[/] upstream '{Markup.Escape(id)}' has no tool {Markup.Escape(full)}; it has {Markup.Escape(string.Join(", ", pins.All().Select(p => p.Tool)))}");
                return ExitCodes.Usage;
            }

            if (pin.Changed is not { } changed)
            {
                console.MarkupLine($"{Markup.Escape(full)} has not changed since it was pinned on {pin.PinnedAt:yyyy-MM-dd}; nothing to accept");
                return ExitCodes.Ok;
            }

            console.MarkupLine($"[bold]{Markup.Escape(full)}[/] changed on {pin.ChangedAt:yyyy-MM-dd HH:mm}, after it was pinned on {pin.PinnedAt:yyyy-MM-dd} by {Markup.Escape(pin.PinnedBy)}:");
            Difference(console, "description", pin.Pinned.Description, changed.Description);
            Difference(console, "input schema", pin.Pinned.Schema, changed.Schema);
            Difference(console, "server's hints", pin.Pinned.Hints, changed.Hints);
            var person = parse.GetValue(by)!;
            var now = clock.GetUtcNow();
            if (!pins.Accept(full, changed.Hash, person, now))
            {
                console.MarkupLine("[red]error:[/] the tool changed again meanwhile; run the command again to see it");
                return ExitCodes.Findings;
            }

            var trail = Path.Combine(parse.GetValue(data)!, "audit.db");
            if (File.Exists(trail))
            {
                using var audit = AuditTrail.Open(trail, clock: clock);
                audit.AppendAsync(new AuditEntry
                {
                    Kind = AuditKinds.Upstream,
                    Environment = parse.GetValue(environment)!,
                    Tool = full,
                    Detail = $"upstream '{id}': {person} accepted the changed {full} ({changed.Hash})",
                    Outcome = "accepted",
                }).AsTask().GetAwaiter().GetResult();
            }

            console.MarkupLine($"[green]accepted[/] {Markup.Escape(full)} as changed; calls to it run again");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void Difference(IAnsiConsole console, string what, string before, string after)
    {
        if (before == after)
        {
            return;
        }

        console.MarkupLine($"  {what}:");
        console.MarkupLine($"    [red]- {Markup.Escape(before)}[/]");
        console.MarkupLine($"    [green]+ {Markup.Escape(after)}[/]");
    }

    private static PinnedTools? Open(string id, string data, string environment, IAnsiConsole console)
    {
        var path = Path.Combine(data, "systems", environment, id + ".db");
        if (!File.Exists(path))
        {
            console.MarkupLine($"[red]error:[/] there are no pins of upstream '{Markup.Escape(id)}' in {Markup.Escape(environment)} at {Markup.Escape(path)}: has a gateway in {Markup.Escape(environment)} listed its tools?");
            return null;
        }

        return PinnedTools.Open(path);
    }
}
