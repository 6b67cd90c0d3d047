using Warden.Tests;

namespace Warden.Cli.Tests;

/// <summary><c>warden db migrate</c> and <c>warden db status</c>: Warden's own store, on SQLite or PostgreSQL, brought to this build's schema.</summary>
public sealed class DbCommandTests(PostgresServer server)
{
    [Fact]
    public async Task Migrate_brings_a_new_PostgreSQL_store_to_this_builds_schema_and_status_then_says_so()
    {
        var store = "file:" + Cli.Temp("store", server.AdminConnection(await server.CreateDatabaseAsync()));

        var (before, pending) = Cli.Run("db", "status", "--store", store);
        var (exit, output) = Cli.Run("db", "migrate", "--store", store);
        var (after, current) = Cli.Run("db", "status", "--store", store);

        Assert.True((before, exit, after) == (1, 0, 0), pending + output + current);
        Assert.Contains("gateway: 0 of 5 step(s) applied; pending 0001 gateway_tables, 0002 intent_claims, 0003 usage_reservations, 0004 agent_rates, 0005 approval_lease", pending, StringComparison.Ordinal);
        Assert.Contains("audit: 0 of 1 step(s) applied; pending 0001 audit_tables", pending, StringComparison.Ordinal);
        Assert.Contains("gateway: applied 0001 gateway_tables, 0002 intent_claims, 0003 usage_reservations, 0004 agent_rates, 0005 approval_lease", output, StringComparison.Ordinal);
        Assert.Contains("audit: applied 0001 audit_tables", output, StringComparison.Ordinal);
        Assert.Contains($"(PostgreSQL)", current, StringComparison.Ordinal);
        Assert.Contains("gateway: at step 0005, up to date", current, StringComparison.Ordinal);
        Assert.Contains("audit: at step 0001, up to date", current, StringComparison.Ordinal);
        Assert.Equal(["gateway: up to date", "audit: up to date"], Cli.Run("db", "migrate", "--store", store).Output.Split('\n')[..2]);
    }

    [Fact]
    public void Migrate_without_a_store_migrates_the_data_folders_SQLite_store()
    {
        var data = Path.Combine(Path.GetTempPath(), "warden-cli-tests", Guid.NewGuid().ToString("N"));

        var (exit, output) = Cli.Run("db", "migrate", "--data", data);

        Assert.True(exit == 0, output);
        Assert.Contains($"migrated {Path.Combine(data, "gateway.db")}", output, StringComparison.Ordinal);
        Assert.Contains("up to date", Cli.Run("db", "status", "--data", data).Output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_connection_string_on_the_command_line_is_refused()
    {
        var (exit, output) = Cli.Run("db", "migrate", "--store", "postgres://warden:secret@db/state");

        Assert.Equal(2, exit);
        Assert.Contains("--store is a reference", output, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unreachable_store_is_named_without_its_password()
    {
        var store = "file:" + Cli.Temp("store", "postgres://warden:s3cret-pass@127.0.0.1:1/state?sslmode=disable");

        var (exit, output) = Cli.Run("db", "migrate", "--store", store);

        Assert.Equal(2, exit);
        Assert.Contains("postgres://warden@127.0.0.1:1/state cannot be reached", output, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-pass", output, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unset_reference_is_named()
    {
        var (exit, output) = Cli.Run("db", "status", "--store", "env:WARDEN_TEST_STORE_NOT_SET");

        Assert.Equal(2, exit);
        Assert.Contains("env:WARDEN_TEST_STORE_NOT_SET is not set", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("host=db.internal port=5432 dbname=state user=warden password=s3cret-pass")] // libpq's keyword/value form
    [InlineData("Server=db.internal;Database=state;User Id=warden;Password=s3cret-pass")] // Npgsql's, with Server for Host
    public void A_connection_string_Warden_does_not_read_is_refused_not_taken_for_a_file_and_printed(string connection)
    {
        var store = "file:" + Cli.Temp("store", connection);

        var (status, shown) = Cli.Run("db", "status", "--store", store);

        Assert.True(status == 2, shown);
        Assert.DoesNotContain("s3cret-pass", shown, StringComparison.Ordinal);
        Assert.DoesNotContain("SQLite", shown, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_on_a_store_behind_this_build_asks_for_a_migration_and_changes_nothing()
    {
        var database = await server.CreateDatabaseAsync();
        var store = "file:" + Cli.Temp("store", server.AdminConnection(database));
        var policy = Cli.Temp("policy.yaml", File.ReadAllText(Cli.Example("policy.yaml")).Split("\nrules:")[0] + "\nrules: []\n");
        var data = Path.Combine(Path.GetTempPath(), "warden-cli-tests", Guid.NewGuid().ToString("N"));

        var (exit, output) = Cli.Run("serve", "--policy", policy, "--data", data, "--port", FreePort(), "--store", store, "--audit-key", Path.Combine(data, "audit.key"));

        Assert.True(exit == 2, output);
        Assert.Contains("warden db migrate", output, StringComparison.Ordinal);
        Assert.Equal(0L, await server.ScalarAsync<long>(database, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("100000")]
    public async Task A_take_over_time_out_of_bounds_is_refused_before_anything_starts(string seconds)
    {
        var database = await server.CreateDatabaseAsync();
        var store = "file:" + Cli.Temp("store", server.AdminConnection(database));
        var policy = Cli.Temp("policy.yaml", File.ReadAllText(Cli.Example("policy.yaml")).Split("\nrules:")[0] + "\nrules: []\n");
        var data = Path.Combine(Path.GetTempPath(), "warden-cli-tests", Guid.NewGuid().ToString("N"));

        var (exit, output) = Cli.Run("serve", "--policy", policy, "--data", data, "--port", FreePort(), "--store", store, "--audit-key", Path.Combine(data, "audit.key"),
            "--migrate", "--take-over-after", seconds);

        Assert.True(exit == 2, output);
        Assert.Contains("taking over a stopped replica's change waits 1 s to 1 day", output, StringComparison.Ordinal);
        Assert.Equal(0L, await server.ScalarAsync<long>(database, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"));
    }

    [Fact]
    public void Audit_key_without_a_shared_store_is_refused()
    {
        var (exit, output) = Cli.Run("serve", "--audit-key", "/tmp/k", "--data", Path.Combine(Path.GetTempPath(), "warden-cli-tests", Guid.NewGuid().ToString("N")));

        Assert.Equal(2, exit);
        Assert.Contains("--audit-key, --migrate and --take-over-after are for a shared store", output, StringComparison.Ordinal);
    }

    private static string FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary><c>warden audit verify --store</c>: the one chain replicas share in PostgreSQL, verified as a file's is.</summary>
public sealed class SharedTrailVerifyTests(PostgresServer server)
{
    private static Core.Audit.AuditEntry Call(int i) => new()
    {
        Kind = Core.Audit.AuditKinds.Call, Environment = "sandbox", Agent = "hygiene-bot", UseCase = "data-hygiene", Tool = "contacts.update",
        Effect = "allow", Outcome = "ok", Reason = $"call {i}",
    };

    private async Task<(string Store, string Database)> SharedTrailAsync(int entries)
    {
        var database = await server.CreateDatabaseAsync();
        var location = Storage.Engines.StoreLocation.Postgres(server.AdminConnection(database));
        Storage.Engines.StoreMigrations.Apply(location);
        var key = Path.Combine(Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "warden-cli-tests", Guid.NewGuid().ToString("N"))).FullName, "audit.key");
        await using (var trail = Storage.Audit.AuditTrail.Open(location, new Storage.Audit.AuditTrailOptions { CheckpointEvery = 4, KeyPath = key }))
        {
            for (var i = 1; i <= entries; i++)
            {
                await trail.AppendAsync(Call(i), TestContext.Current.CancellationToken);
            }
        }

        return ("file:" + Cli.Temp("store", server.AdminConnection(database)), database);
    }

    [Fact]
    public async Task Verify_with_a_store_checks_the_shared_chain_with_its_checkpoints()
    {
        var (store, _) = await SharedTrailAsync(entries: 10);

        var (exit, output) = Cli.Run("audit", "verify", "--store", store);

        Assert.True(exit == 0, output);
        Assert.Contains("verified: 10 entries, 3 checkpoints", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_with_a_store_finds_an_entry_changed_in_the_database()
    {
        var (store, database) = await SharedTrailAsync(entries: 6);
        await server.ExecuteAsync(database, "UPDATE audit_entries SET entry = replace(entry, 'call 3', 'call 33') WHERE seq = 3");

        var (exit, output) = Cli.Run("audit", "verify", "--store", store);

        Assert.Equal(1, exit);
        Assert.Contains("entry 3", output, StringComparison.Ordinal);
        Assert.Contains("does not verify", output, StringComparison.Ordinal);
        Assert.DoesNotContain("postgres-test-only", output, StringComparison.Ordinal); // the test cluster's password
    }

    [Fact]
    public void Verify_refuses_a_store_and_a_trail_at_once()
    {
        var (exit, output) = Cli.Run("audit", "verify", "--store", "env:WARDEN_STORE", "--trail", "audit.db");

        Assert.Equal(2, exit);
        Assert.Contains("--store names the trail", output, StringComparison.Ordinal);
    }
}
