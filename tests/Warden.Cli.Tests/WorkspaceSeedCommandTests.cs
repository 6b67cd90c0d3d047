using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Spectre.Console;

namespace Warden.Cli.Tests;

public sealed class WorkspaceSeedCommandTests
{
    [Fact]
    public void Seeding_prints_the_rows_per_table_and_where_it_wrote_them()
    {
        var path = NewWorkspace();
        var (exit, output) = Cli.Run("workspace", "seed", "--contacts", "500", "--seed", "3", "--workspace", path);
        Assert.Equal(0, exit);
        Assert.Contains("contacts: 500 of 500 (100%)", output);
        Assert.Matches(@"│ contacts\s+│\s+500 │", output);
        Assert.Matches(@"│ campaign_sends\s+│\s+[1-9][\d,]* │", output);
        Assert.Matches($@"Seeded {Escape(path)} with 500 contacts from seed 3 in \d+\.\d s; the file is [\d.]+ (KB|MB)\.", output);
        Assert.Equal(500, Count(path, "contacts"));
    }

    [Fact]
    public void An_interactive_console_gets_a_progress_bar_and_the_same_summary()
    {
        var path = NewWorkspace();
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 200;
        var exit = WardenCli.Run(["workspace", "seed", "--contacts", "300", "--seed", "4", "--workspace", path], console, new FixedClock(Cli.Now));
        var output = writer.ToString();
        Assert.Equal(0, exit);
        Assert.Contains("contacts", output);
        Assert.Contains("100%", output);
        Assert.DoesNotContain("contacts: 300 of 300", output);
        Assert.Contains("with 300 contacts from seed 4", output);
        Assert.Equal(300, Count(path, "contacts"));
    }

    [Fact]
    public void Without_a_count_the_command_asks_for_one()
    {
        var (exit, output) = Cli.Run("workspace", "seed", "--seed", "1", "--workspace", NewWorkspace());
        Assert.Equal(2, exit);
        Assert.Contains("error: say how many contacts to create, e.g. --contacts 10000.", output);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    [InlineData("50000001")]
    [InlineData("99999999999")]
    [InlineData("lots")]
    public void A_count_below_one_above_fifty_million_or_not_a_number_is_refused(string contacts)
    {
        var path = NewWorkspace();
        var (exit, output) = Cli.Run("workspace", "seed", "--contacts", contacts, "--seed", "1", "--workspace", path);
        Assert.Equal(2, exit);
        Assert.Contains($"error: --contacts must be a whole number from 1 to 50,000,000, not '{contacts}'.", output);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void A_seed_that_is_not_a_whole_number_is_refused()
    {
        var (exit, output) = Cli.Run("workspace", "seed", "--contacts", "10", "--seed", "1.5", "--workspace", NewWorkspace());
        Assert.Equal(2, exit);
        Assert.Contains("error: --seed must be a whole number from -2,147,483,648 to 2,147,483,647, not '1.5'.", output);
    }

    [Fact]
    public void A_path_that_cannot_be_written_gets_one_sentence_and_no_stack_trace()
    {
        var blocker = Cli.Temp("blocker", "a file where a directory should be");
        var path = Path.Combine(blocker, "workspace.db");
        var (exit, output) = Cli.Run("workspace", "seed", "--contacts", "10", "--seed", "1", "--workspace", path);
        Assert.Equal(2, exit);
        Assert.Contains($"error: cannot write the workspace at {path}: ", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public void An_empty_workspace_path_is_refused()
    {
        var (exit, output) = Cli.Run("workspace", "seed", "--contacts", "10", "--seed", "1", "--workspace", "");
        Assert.Equal(2, exit);
        Assert.Contains("error: --workspace needs a file path, e.g. --workspace .warden/workspace.db.", output);
    }

    [Fact]
    public void A_file_that_is_not_a_database_is_refused()
    {
        var path = Cli.Temp("notes.db", "these are notes, not a workspace\n");
        var (exit, output) = Cli.Run("workspace", "seed", "--contacts", "10", "--seed", "1", "--workspace", path);
        Assert.Equal(2, exit);
        Assert.Contains($"error: cannot write the workspace at {path}: the file is not a SQLite database.", output);
        Assert.Equal("these are notes, not a workspace\n", File.ReadAllText(path));
    }

    [Fact]
    public void A_workspace_with_data_is_not_seeded_again_without_replace()
    {
        var path = NewWorkspace();
        Assert.Equal(0, Cli.Run("workspace", "seed", "--contacts", "200", "--seed", "1", "--workspace", path).ExitCode);
        var (exit, output) = Cli.Run("workspace", "seed", "--contacts", "300", "--seed", "2", "--workspace", path);
        Assert.Equal(2, exit);
        Assert.Contains($"error: the workspace {path} already holds data (200 contacts); pass --replace to delete it and seed again.", output);
        Assert.Equal(200, Count(path, "contacts"));
    }

    [Fact]
    public void Replace_seeds_a_workspace_with_data_again()
    {
        var path = NewWorkspace();
        Assert.Equal(0, Cli.Run("workspace", "seed", "--contacts", "200", "--seed", "1", "--workspace", path).ExitCode);
        var (exit, output) = Cli.Run("workspace", "seed", "--contacts", "300", "--seed", "2", "--workspace", path, "--replace");
        Assert.Equal(0, exit);
        Assert.Contains("with 300 contacts from seed 2", output);
        Assert.Equal(300, Count(path, "contacts"));
    }

    [Fact]
    public async Task The_real_program_seeds_the_default_path_under_the_current_directory()
    {
        var directory = Path.GetDirectoryName(NewWorkspace())!;
        Directory.CreateDirectory(directory);
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "warden.dll"), "workspace", "seed", "--contacts", "100", "--seed", "5" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        Assert.Equal(0, process.ExitCode);
        Assert.Equal("", await error);
        Assert.Contains("Seeded .warden/workspace.db with 100 contacts from seed 5", await output);
        Assert.Equal(100, Count(Path.Combine(directory, ".warden", "workspace.db"), "contacts"));
    }

    private static string NewWorkspace() =>
        Path.Combine(Path.GetTempPath(), "warden-cli-tests", Guid.NewGuid().ToString("N"), "workspace.db");

    private static string Escape(string text) => System.Text.RegularExpressions.Regex.Escape(text);

    private static long Count(string path, string table)
    {
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM {table}";
        return (long)command.ExecuteScalar()!;
    }
}

/// <summary><c>warden workspace seed --store</c>: the workspace replicas share, in their PostgreSQL store.</summary>
public sealed class SharedWorkspaceSeedTests(Warden.Tests.PostgresServer server)
{
    [Fact]
    public async Task Seeding_a_store_fills_the_environments_shared_workspace_and_refuses_to_seed_it_twice()
    {
        var database = await server.CreateDatabaseAsync();
        var store = "file:" + Cli.Temp("store", server.AdminConnection(database));

        var (exit, output) = Cli.Run("workspace", "seed", "--contacts", "300", "--seed", "5", "--store", store);
        var (again, refused) = Cli.Run("workspace", "seed", "--contacts", "300", "--seed", "5", "--store", store);

        Assert.True(exit == 0, output);
        Assert.Contains("with 300 contacts from seed 5", output, StringComparison.Ordinal);
        Assert.Contains("(the sandbox workspace)", output, StringComparison.Ordinal);
        Assert.DoesNotContain("postgres-test-only", output, StringComparison.Ordinal); // the test cluster's password
        using var workspace = Warden.Workspace.WorkspaceStore.Open(Storage.Engines.StoreLocation.Postgres(server.AdminConnection(database)), "sandbox");
        Assert.False(workspace.IsEmpty);
        Assert.Equal(2, again);
        Assert.Contains("already holds data (300 contacts)", refused, StringComparison.Ordinal);
    }

    [Fact]
    public void A_store_and_a_workspace_file_at_once_are_refused()
    {
        var (exit, output) = Cli.Run("workspace", "seed", "--store", "env:WARDEN_STORE", "--workspace", "w.db");

        Assert.Equal(2, exit);
        Assert.Contains("--store names the workspace", output, StringComparison.Ordinal);
    }
}
