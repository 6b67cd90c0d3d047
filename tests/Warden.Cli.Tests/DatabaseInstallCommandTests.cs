using Warden.Tests;

namespace Warden.Cli.Tests;

/// <summary><c>warden database install</c>: the capture trigger on a declared database's tables, installed as their owner.</summary>
public sealed class DatabaseInstallCommandTests(PostgresServer server)
{
    [Fact]
    public async Task Install_puts_the_capture_trigger_on_every_table_the_policy_lists()
    {
        var database = await server.CreateDatabaseAsync();
        await server.ExecuteAsync(database, "CREATE TABLE contacts (id bigint PRIMARY KEY); CREATE TABLE campaign_members (id bigint PRIMARY KEY); CREATE TABLE other (id int)");
        var owner = Cli.Temp("owner", server.AdminConnection(database));

        var (exit, output) = Cli.Run("database", "install", "warehouse", "--policy", Cli.Example("policy.yaml"), "--owner", "file:" + owner);

        Assert.True(exit == 0, output);
        Assert.Contains("installed Warden's capture trigger on contacts, campaign_members (warehouse, sandbox)", output, StringComparison.Ordinal);
        Assert.Equal(6L, await server.ScalarAsync<long>(database, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'warden_capture_%'"));
    }

    [Fact]
    public async Task A_table_the_policy_lists_but_the_database_lacks_is_named()
    {
        var database = await server.CreateDatabaseAsync();
        await server.ExecuteAsync(database, "CREATE TABLE contacts (id bigint PRIMARY KEY)");
        var owner = Cli.Temp("owner", server.AdminConnection(database));

        var (exit, output) = Cli.Run("database", "install", "warehouse", "--policy", Cli.Example("policy.yaml"), "--owner", "file:" + owner);

        Assert.Equal(2, exit);
        Assert.Contains("campaign_members is not in the database", output, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_database_is_an_error_naming_the_declared_ones()
    {
        var (exit, output) = Cli.Run("database", "install", "warehose", "--policy", Cli.Example("policy.yaml"), "--owner", "env:WARDEN_TEST_NOT_SET");
        Assert.Equal(2, exit);
        Assert.Contains("the policy declares no database 'warehose'; it declares warehouse", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_connection_string_on_the_command_line_is_refused()
    {
        var (exit, output) = Cli.Run("database", "install", "warehouse", "--policy", Cli.Example("policy.yaml"), "--owner", "Host=db;Password=secret");
        Assert.Equal(2, exit);
        Assert.Contains("--owner is a reference", output, StringComparison.Ordinal);
    }
}
