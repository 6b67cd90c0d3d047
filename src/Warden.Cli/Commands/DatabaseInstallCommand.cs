using System.CommandLine;
using Spectre.Console;
using Warden.Postgres;

namespace Warden.Cli.Commands;

/// <summary>
/// <c>warden database install SYSTEM --policy FILE --environment ENV --owner REF</c>: installs
/// Warden's capture trigger on the tables the policy lists for a declared database, connected as
/// their owner. Run once by someone who owns the tables; the gateway's own role needs no more
/// than the rows of those tables, and refuses to start on a table without the trigger.
/// </summary>
internal static class DatabaseInstallCommand
{
    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        var system = new Argument<string>("system") { Description = "The id of a database the policy declares (kind: postgres)." };
        var policyPath = new Option<string>("--policy") { Description = "The policy file.", Required = true };
        var environment = new Option<string>("--environment") { Description = "Whose database: the environment's connection is the one installed (default sandbox).", DefaultValueFactory = _ => "sandbox" };
        var owner = new Option<string>("--owner")
        {
            Description = "Where the owner's connection string is: env:NAME or file:/path (never the string itself, which would show in the process list).",
            Required = true,
        };
        var command = new Command("install", "Install Warden's capture trigger on a declared database's tables, connected as their owner.") { system, policyPath, environment, owner };
        command.SetAction(parse => Execute(parse.GetValue(system)!, parse.GetValue(policyPath)!, parse.GetValue(environment)!, parse.GetValue(owner)!, console, clock));
        return command;
    }

    private static int Execute(string systemId, string policyPath, string environment, string owner, IAnsiConsole console, TimeProvider clock)
    {
        var policy = PolicyFile.Load(policyPath, console, clock, out _);
        if (policy is null)
        {
            return ExitCodes.Usage;
        }

        var declared = policy.Declared.FirstOrDefault(d => d.Id == systemId);
        if (declared is null)
        {
            var known = policy.Declared.Select(d => d.Id).ToList();
            console.MarkupLine($"[red]error:[/] the policy declares no database '{Markup.Escape(systemId)}'" +
                               (known.Count == 0 ? " (it declares none)" : $"; it declares {Markup.Escape(string.Join(", ", known))}"));
            return ExitCodes.Usage;
        }

        if (!declared.Connections.ContainsKey(environment))
        {
            console.MarkupLine($"[red]error:[/] '{Markup.Escape(systemId)}' has no connection in {Markup.Escape(environment)}; it has one in {Markup.Escape(string.Join(", ", declared.Connections.Keys))}");
            return ExitCodes.Usage;
        }

        string? connection;
        if (owner.StartsWith("env:", StringComparison.Ordinal))
        {
            connection = Environment.GetEnvironmentVariable(owner[4..]);
        }
        else if (owner.StartsWith("file:", StringComparison.Ordinal))
        {
            connection = File.Exists(owner[5..]) ? File.ReadAllText(owner[5..]).Trim() : null;
        }
        else
        {
            console.MarkupLine("[red]error:[/] --owner is a reference, env:NAME or file:/path, not the connection string itself");
            return ExitCodes.Usage;
        }

        if (string.IsNullOrWhiteSpace(connection))
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(owner)} is not set");
            return ExitCodes.Usage;
        }

        try
        {
            PostgresDatabase.InstallAsync(connection, [.. declared.Tables.Select(t => new GovernedTable(t))]).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is PostgresSystemException or Npgsql.NpgsqlException or ArgumentException)
        {
            console.MarkupLine($"[red]error:[/] the capture could not be installed on {Markup.Escape(systemId)} in {Markup.Escape(environment)}: {Markup.Escape(e.Message)}");
            return ExitCodes.Usage;
        }

        console.MarkupLine($"[green]installed[/] Warden's capture trigger on {Markup.Escape(string.Join(", ", declared.Tables))} ({Markup.Escape(systemId)}, {Markup.Escape(environment)})");
        return ExitCodes.Ok;
    }
}
