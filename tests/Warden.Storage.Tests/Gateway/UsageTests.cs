using Microsoft.Data.Sqlite;
using Warden.Storage.Gateway;
using Warden.Tests;

namespace Warden.Storage.Tests.Gateway;

/// <summary>Usage counted against budgets: by agent, use case, every agent, and the person acted for.</summary>
public sealed class UsageTests(PostgresServer postgres) : IDisposable
{
    private readonly GatewayStores _stores = new(postgres);
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Directory.CreateTempSubdirectory("warden-usage-").FullName;

    private string StorePath => Path.Combine(_directory, "gateway.db");

    public void Dispose()
    {
        _stores.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task Usage_per_person_adds_up_every_agent_and_only_that_person(string engine)
    {
        var store = await _stores.OpenAsync(engine);
        store.Usage.Use("tidy-bot", "tidy", "ana", Now, [("changed_records", 5)]);
        store.Usage.Use("nurture-bot", "nurture", "ana", Now, [("changed_records", 7)]);
        store.Usage.Use("tidy-bot", "tidy", "bo", Now, [("changed_records", 11)]);
        store.Usage.Use("tidy-bot", "tidy", null, Now, [("changed_records", 13)]);

        var since = Now.AddHours(-1);
        Assert.Equal(12, store.Usage.Used("changed_records", null, null, "ana", since));
        Assert.Equal(5, store.Usage.Used("changed_records", "tidy-bot", null, "ana", since));
        Assert.Equal(7, store.Usage.Used("changed_records", null, "nurture", "ana", since));
        Assert.Equal(29, store.Usage.Used("changed_records", "tidy-bot", null, null, since));
        Assert.Equal(36, store.Usage.Used("changed_records", null, null, null, since));
    }

    [Fact]
    public void A_store_from_before_budgets_per_person_opens_and_keeps_its_usage_as_on_nobodys_behalf()
    {
        using (var old = new SqliteConnection($"Data Source={StorePath};Pooling=False"))
        {
            old.Open();
            using var command = old.CreateCommand();
            command.CommandText = """
                CREATE TABLE usage (at TEXT NOT NULL, agent TEXT NOT NULL, use_case TEXT NOT NULL, metric TEXT NOT NULL, amount INTEGER NOT NULL);
                INSERT INTO usage VALUES ('2026-12-01T08:30:00.000Z', 'tidy-bot', 'tidy', 'changed_records', 40);
                """;
            command.ExecuteNonQuery();
        }

        using var store = GatewayStore.Open(StorePath);
        store.Usage.Use("tidy-bot", "tidy", "ana", Now, [("changed_records", 2)]);

        var since = Now.AddHours(-1);
        Assert.Equal(42, store.Usage.Used("changed_records", "tidy-bot", null, null, since));
        Assert.Equal(2, store.Usage.Used("changed_records", "tidy-bot", null, "ana", since));
    }
}
