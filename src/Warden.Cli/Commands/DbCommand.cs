using System.CommandLine;
using Spectre.Console;
using Warden.Storage.Engines;

namespace Warden.Cli.Commands;

/// <summary>
/// <c>warden db migrate</c> and <c>warden db status</c>: Warden's own store (the gateway's state),
/// a SQLite file in the data folder or a PostgreSQL database that replicas share, brought to this
/// build's schema or reported. (<c>warden database</c> prepares a database Warden governs.)
/// </summary>
internal static class DbCommand
{
    public const string StoreVariable = "WARDEN_STORE";

    public static Command Create(IAnsiConsole console)
    {
        var db = new Command("db", "Migrate or report Warden's own store: a SQLite file in the data folder, or a PostgreSQL database that gateway replicas share.");
        db.Add(Migrate(console));
        db.Add(Status(console));
        return db;
    }

    /// <summary>The options every <c>db</c> command takes: where the store is.</summary>
    private static (Option<string?> Store, Option<string> Data) StoreOptions() =>
    (
        new Option<string?>("--store")
        {
            Description = $"Where the store is: env:NAME or file:/path holding a PostgreSQL connection string (never the string itself, which would show in the process list), or a SQLite file (default {StoreVariable}, else DATA/gateway.db).",
            HelpName = "REF",
        },
        new Option<string>("--data") { Description = "The data folder whose SQLite store is meant when no --store is given.", HelpName = "DIR", DefaultValueFactory = _ => ".warden" }
    );

    private static Command Migrate(IAnsiConsole console)
    {
        var (store, data) = StoreOptions();
        var command = new Command("migrate", "Apply every schema step this build has and the store has not, in order, each in one transaction; replicas may run it at once.") { store, data };
        command.SetAction(parse =>
        {
            if (Locate(parse.GetValue(store), parse.GetValue(data)!, console) is not { } location)
            {
                return ExitCodes.Usage;
            }

            try
            {
                var applied = StoreMigrations.Apply(location);
                foreach (var (component, steps) in applied)
                {
                    console.MarkupLine(steps.Count == 0
                        ? $"{Markup.Escape(component)}: up to date"
                        : $"{Markup.Escape(component)}: applied {string.Join(", ", steps.Select(s => $"{s.Version:D4} {Markup.Escape(s.Name)}"))}");
                }

                console.MarkupLine($"[green]migrated[/] {Markup.Escape(location.Shown)}");
                return ExitCodes.Ok;
            }
            catch (InvalidOperationException e)
            {
                console.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
                return ExitCodes.Usage;
            }
        });
        return command;
    }

    private static Command Status(IAnsiConsole console)
    {
        var (store, data) = StoreOptions();
        var command = new Command("status", "Show the store's engine, where it is (without its password), and each store's schema steps: applied and pending. Exits 1 when steps are pending.") { store, data };
        command.SetAction(parse =>
        {
            if (Locate(parse.GetValue(store), parse.GetValue(data)!, console) is not { } location)
            {
                return ExitCodes.Usage;
            }

            try
            {
                var schemas = StoreMigrations.Read(location);
                console.MarkupLine($"{Markup.Escape(location.Shown)} ({(location.Engine == StoreEngine.Sqlite ? "SQLite" : "PostgreSQL")})");
                foreach (var schema in schemas)
                {
                    var applied = schema.Known.Count - schema.Pending.Count;
                    console.MarkupLine(schema.Pending.Count == 0
                        ? $"{Markup.Escape(schema.Component)}: at step {schema.Known.LastOrDefault()?.Version ?? 0:D4}, up to date"
                        : $"{Markup.Escape(schema.Component)}: {applied} of {schema.Known.Count} step(s) applied; pending {string.Join(", ", schema.Pending.Select(s => $"{s.Version:D4} {Markup.Escape(s.Name)}"))}");
                }

                return schemas.Any(s => s.Pending.Count > 0) ? ExitCodes.Findings : ExitCodes.Ok;
            }
            catch (InvalidOperationException e)
            {
                console.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
                return ExitCodes.Usage;
            }
        });
        return command;
    }

    /// <summary>
    /// The store a reference names: env:NAME or file:/path holding a connection string (or a path),
    /// a SQLite file's path, or nothing (then WARDEN_STORE, else DATA/gateway.db). Null, having said
    /// why, when the reference is empty, unset or malformed.
    /// </summary>
    public static StoreLocation? Locate(string? reference, string data, IAnsiConsole console)
    {
        string? text;
        var from = reference;
        if (reference is null)
        {
            text = Environment.GetEnvironmentVariable(StoreVariable);
            from = StoreVariable;
            if (string.IsNullOrWhiteSpace(text))
            {
                return StoreLocation.Sqlite(Path.Combine(data, "gateway.db"));
            }
        }
        else if (reference.StartsWith("env:", StringComparison.Ordinal))
        {
            text = Environment.GetEnvironmentVariable(reference[4..]);
        }
        else if (reference.StartsWith("file:", StringComparison.Ordinal))
        {
            text = File.Exists(reference[5..]) ? File.ReadAllText(reference[5..]).Trim() : null;
        }
        else if (reference.Contains("://", StringComparison.Ordinal) || reference.Contains('='))
        {
            console.MarkupLine("[red]error:[/] --store is a reference (env:NAME or file:/path) or a SQLite file, not a connection string, which would show in the process list");
            return null;
        }
        else
        {
            return StoreLocation.Sqlite(reference);
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(from!)} is not set (or the file is missing or empty)");
            return null;
        }

        try
        {
            return StoreLocation.Parse(text.Trim());
        }
        catch (FormatException e)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(from!)}: {Markup.Escape(e.Message)}");
            return null;
        }
    }
}
