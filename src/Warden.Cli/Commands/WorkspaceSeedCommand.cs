using System.CommandLine;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Spectre.Console;
using Warden.Workspace;
using Warden.Workspace.Seeding;

namespace Warden.Cli.Commands;

/// <summary><c>warden workspace seed --contacts N --seed S [--workspace PATH | --store REF [--environment ENV]] [--replace]</c>: fill a sandbox workspace with synthetic data.</summary>
internal static class WorkspaceSeedCommand
{
    public const string DefaultPath = ".warden/workspace.db";

    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        // Numbers are read as text and checked here, so that every bad value gets the same kind of
        // one-sentence error and exit code 2 instead of System.CommandLine's parse error.
        var contacts = new Option<string?>("--contacts") { Description = $"How many contacts to create, 1 to {SeedOptions.MaxContacts:N0}; companies, lists, campaigns and the rest scale with it.", HelpName = "N" };
        var seed = new Option<string?>("--seed") { Description = "The random seed: the same seed and count always give the same data.", HelpName = "S" };
        var workspace = new Option<string>("--workspace") { Description = "The workspace database file.", HelpName = "PATH", DefaultValueFactory = _ => DefaultPath };
        var replace = new Option<bool>("--replace") { Description = "Delete everything the workspace holds and seed it again." };
        var store = new Option<string?>("--store")
        {
            Description = "The workspace replicas share, in their PostgreSQL store, instead of a file: env:NAME or file:/path holding the connection string (as `warden serve --store`).",
            HelpName = "REF",
        };
        var environment = new Option<string>("--environment") { Description = "With --store: whose workspace it is.", HelpName = "ENV", DefaultValueFactory = _ => "sandbox" };
        var command = new Command("seed", "Fill a workspace with deterministic synthetic marketing data (contacts, companies, lists, campaigns, rules).")
        {
            contacts, seed, workspace, replace, store, environment,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(store) is not { } reference)
            {
                return Execute(parse.GetValue(contacts), parse.GetValue(seed), parse.GetValue(workspace) ?? DefaultPath, parse.GetValue(replace), console, clock);
            }

            if (parse.GetResult(workspace) is { Implicit: false })
            {
                console.MarkupLine("[red]error:[/] --store names the workspace: give it without --workspace.");
                return ExitCodes.Usage;
            }

            return DbCommand.Locate(reference, ".warden", console) is { } location
                ? Execute(parse.GetValue(contacts), parse.GetValue(seed), location, parse.GetValue(environment) ?? "sandbox", parse.GetValue(replace), console, clock)
                : ExitCodes.Usage;
        });
        return command;
    }

    public static int Execute(string? contactsText, string? seedText, string path, bool replace, IAnsiConsole console, TimeProvider clock)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            console.MarkupLine($"[red]error:[/] --workspace needs a file path, e.g. --workspace {DefaultPath}.");
            return ExitCodes.Usage;
        }

        return Execute(contactsText, seedText, Warden.Storage.Engines.StoreLocation.Sqlite(path), "sandbox", replace, console, clock);
    }

    /// <summary>Seeds the workspace at a location: a SQLite file, or an environment's workspace in the PostgreSQL store replicas share.</summary>
    public static int Execute(string? contactsText, string? seedText, Warden.Storage.Engines.StoreLocation location, string environment, bool replace, IAnsiConsole console, TimeProvider clock)
    {
        var path = location.Shown;
        if (!TryReadContacts(contactsText, console, out var contacts) || !TryReadSeed(seedText, console, out var seed))
        {
            return ExitCodes.Usage;
        }

        var options = new SeedOptions { Contacts = contacts, Seed = seed, Replace = replace };
        var started = clock.GetTimestamp();
        SeedSummary summary;
        try
        {
            using var store = WorkspaceStore.Open(location, environment);
            summary = console.Profile.Capabilities.Interactive ? SeedWithBar(store, options, console) : SeedWithLines(store, options, console);
        }
        catch (WorkspaceNotEmptyException e)
        {
            console.MarkupLine($"[red]error:[/] the workspace {Markup.Escape(path)} already holds data ({e.Contacts:N0} contacts); pass --replace to delete it and seed again.");
            return ExitCodes.Usage;
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException or Npgsql.NpgsqlException or InvalidOperationException)
        {
            console.MarkupLine($"[red]error:[/] cannot write the workspace at {Markup.Escape(path)}: {Markup.Escape(Reason(e))}.");
            return ExitCodes.Usage;
        }

        var elapsed = clock.GetElapsedTime(started);
        var table = new Table().Border(TableBorder.Rounded).AddColumn("table").AddColumn(new TableColumn("rows").RightAligned());
        foreach (var (name, rows) in summary.Rows)
        {
            table.AddRow(name, rows.ToString("N0", CultureInfo.InvariantCulture));
        }

        console.Write(table);
        console.MarkupLine($"[green]Seeded {Markup.Escape(summary.Path)}[/] with {summary.Contacts:N0} contacts from seed {seed} in {elapsed.TotalSeconds:0.0} s"
                           + (location.Engine == Warden.Storage.Engines.StoreEngine.Sqlite ? $"; the file is {Size(summary.Path)}." : $" (the {Markup.Escape(environment)} workspace)."));
        return ExitCodes.Ok;
    }

    private static SeedSummary SeedWithBar(WorkspaceStore store, SeedOptions options, IAnsiConsole console)
    {
        SeedSummary? summary = null;
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var tasks = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                var progress = new Reporter(p =>
                {
                    if (!tasks.TryGetValue(p.Phase, out var task))
                    {
                        task = context.AddTask(p.Phase);
                        tasks[p.Phase] = task;
                    }

                    task.MaxValue = Math.Max(1, p.Total);
                    task.Value = p.Done;
                });
                summary = WorkspaceSeeder.Seed(store, options, progress);
            });
        return summary!;
    }

    private static SeedSummary SeedWithLines(WorkspaceStore store, SeedOptions options, IAnsiConsole console)
    {
        var lastTenth = -1L;
        var progress = new Reporter(p =>
        {
            switch (p.Phase)
            {
                case "contacts":
                    // One line per tenth: enough to see it move in a CI log without flooding it.
                    var tenth = p.Total == 0 ? 10 : p.Done * 10 / p.Total;
                    if (tenth != lastTenth)
                    {
                        lastTenth = tenth;
                        console.WriteLine($"contacts: {p.Done:N0} of {p.Total:N0} ({tenth * 10}%)");
                    }

                    break;
                case "committing" when p.Done == 0:
                    console.WriteLine("committing");
                    break;
                case "committing":
                    break;
                default:
                    if (p.Done == p.Total)
                    {
                        console.WriteLine($"{p.Phase}: {p.Done:N0} {(p.Phase == "indexes" ? "built" : "written")}");
                    }

                    break;
            }
        });
        return WorkspaceSeeder.Seed(store, options, progress);
    }

    private static bool TryReadContacts(string? text, IAnsiConsole console, out int contacts)
    {
        contacts = 0;
        if (text is null)
        {
            console.MarkupLine("[red]error:[/] say how many contacts to create, e.g. --contacts 10000.");
            return false;
        }

        if (!long.TryParse(text, NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out var n) || n < 1 || n > SeedOptions.MaxContacts)
        {
            console.MarkupLine($"[red]error:[/] --contacts must be a whole number from 1 to {SeedOptions.MaxContacts:N0}, not '{Markup.Escape(text)}'.");
            return false;
        }

        contacts = (int)n;
        return true;
    }

    private static bool TryReadSeed(string? text, IAnsiConsole console, out int seed)
    {
        seed = 0;
        if (text is null)
        {
            console.MarkupLine("[red]error:[/] say which random seed to use, e.g. --seed 1; the same seed gives the same data.");
            return false;
        }

        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out seed))
        {
            console.MarkupLine($"[red]error:[/] --seed must be a whole number from {int.MinValue:N0} to {int.MaxValue:N0}, not '{Markup.Escape(text)}'.");
            return false;
        }

        return true;
    }

    private static string Reason(Exception e) => e switch
    {
        SqliteException { SqliteErrorCode: 14 } => "the file cannot be created or opened there",
        SqliteException { SqliteErrorCode: 8 } => "the file is read-only",
        SqliteException { SqliteErrorCode: 13 } => "the disk is full",
        SqliteException { SqliteErrorCode: 26 } => "the file is not a SQLite database",
        SqliteException { SqliteErrorCode: 5 or 6 } => "another process is writing to it",
        _ => e.Message.TrimEnd('.'),
    };

    private static string Size(string path)
    {
        var bytes = new FileInfo(path).Length;
        return bytes >= 1024 * 1024 ? $"{bytes / (1024.0 * 1024.0):0.0} MB" : $"{bytes / 1024.0:0.0} KB";
    }

    /// <summary>Reports on the seeding thread; <see cref="Progress{T}"/> would post to the thread pool and print out of order.</summary>
    private sealed class Reporter(Action<SeedProgress> report) : IProgress<SeedProgress>
    {
        public void Report(SeedProgress value) => report(value);
    }
}
