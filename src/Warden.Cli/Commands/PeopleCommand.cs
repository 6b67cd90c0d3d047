using System.CommandLine;
using Spectre.Console;
using Warden.Gateway.WebConsole;

namespace Warden.Cli.Commands;

/// <summary>
/// <c>warden people set-password PERSON</c>: a person of the policy gets a password for the web
/// console (asked twice at the terminal, or read from standard input with <c>--password-stdin</c>).
/// </summary>
internal static class PeopleCommand
{
    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        var people = new Command("people", "Manage people's access to the web console.");
        people.Add(SetPassword(console, clock));
        return people;
    }

    private static Command SetPassword(IAnsiConsole console, TimeProvider clock)
    {
        var person = new Argument<string>("PERSON") { Description = "The person's id in the policy (owners: ...)." };
        var policy = new Option<string?>("--policy") { Description = $"The policy that names the person (default {ServeCommand.DefaultPolicy}, or the built-in example).", HelpName = "FILE" };
        var data = new Option<string>("--data") { Description = "The gateway's data folder.", HelpName = "DIR", DefaultValueFactory = _ => ".warden" };
        var store = new Option<string?>("--store")
        {
            Description = $"The gateways' shared store: env:NAME or file:/path holding a PostgreSQL connection string (default {DbCommand.StoreVariable}, else the data folder's).",
            HelpName = "REF",
        };
        var stdin = new Option<bool>("--password-stdin") { Description = "Read the password from standard input (its first line) instead of asking." };
        var command = new Command("set-password", $"Set a person's console password (at least {ConsoleAccounts.MinPasswordLength} characters); their sessions end and a lock-out is lifted.")
        {
            person, policy, data, store, stdin,
        };
        command.SetAction(parse =>
        {
            var id = parse.GetValue(person)!;
            if (DbCommand.Locate(parse.GetValue(store), parse.GetValue(data)!, console) is not { } accounts)
            {
                return ExitCodes.Usage;
            }

            var loaded = PolicyFile.LoadServed(parse.GetValue(policy), console, clock);
            if (loaded is null)
            {
                return ExitCodes.Usage;
            }

            if (loaded.FindOwner(id) is null)
            {
                var hint = Core.Diagnostics.Suggest.Hint(id, [.. loaded.Owners.Select(o => o.Id)]);
                console.MarkupLine($"[red]error:[/] the policy names no person '{Markup.Escape(id)}'" + (hint is null ? "" : $"; {Markup.Escape(hint)}"));
                return ExitCodes.Usage;
            }

            string password;
            if (parse.GetValue(stdin))
            {
                password = Console.In.ReadLine() ?? "";
            }
            else
            {
                password = console.Prompt(new TextPrompt<string>($"New password for {Markup.Escape(id)}:").Secret());
                if (console.Prompt(new TextPrompt<string>("Again:").Secret()) != password)
                {
                    console.MarkupLine("[red]error:[/] the two passwords differ; nothing was set");
                    return ExitCodes.Usage;
                }
            }

            string? refused;
            try
            {
                refused = ConsoleAccounts.SetPassword(accounts, id, password, clock);
            }
            catch (InvalidOperationException e)
            {
                refused = e.Message;
            }

            if (refused is not null)
            {
                console.MarkupLine($"[red]error:[/] {Markup.Escape(refused)}; nothing was set");
                return ExitCodes.Usage;
            }

            console.MarkupLine($"[green]set[/] the console password of {Markup.Escape(id)}; sign in at /console of the gateway on {Markup.Escape(accounts.Engine == Warden.Storage.Engines.StoreEngine.Sqlite ? parse.GetValue(data)! : accounts.Shown)}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
