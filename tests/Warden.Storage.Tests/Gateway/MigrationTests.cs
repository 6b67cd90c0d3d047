using Microsoft.Data.Sqlite;
using Warden.Storage.Engines;
using Warden.Storage.Gateway;
using Warden.Tests;

namespace Warden.Storage.Tests.Gateway;

/// <summary>Versioned migrations, one mechanism for both engines: applied once, in order, and refused when the store and the build disagree.</summary>
public sealed class MigrationTests(PostgresServer postgres) : IDisposable
{
    private readonly GatewayStores _stores = new(postgres);

    public void Dispose() => _stores.Dispose();

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task A_new_store_gets_every_step_and_opening_it_again_applies_none(string engine)
    {
        var place = await _stores.PlaceAsync(engine);
        using (GatewayStore.Open(place, migrate: true))
        {
        }

        using var database = Open(place);
        Assert.NotEmpty(Migrations.Known(database.Engine, GatewayStore.Component));
        Assert.Empty(Migrations.Pending(database, GatewayStore.Component));
        Assert.Empty(Migrations.Apply(database, GatewayStore.Component, DateTimeOffset.UtcNow));
        Assert.Equal(Migrations.Known(database.Engine, GatewayStore.Component).Count,
            database.Scalar("SELECT count(*) FROM warden_migrations WHERE component = 'gateway'"));
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task A_store_migrated_by_a_newer_Warden_is_refused_naming_the_step(string engine)
    {
        var place = await _stores.PlaceAsync(engine);
        GatewayStore.Open(place, migrate: true).Dispose();
        using (var database = Open(place))
        {
            database.Execute("INSERT INTO warden_migrations (component, version, name, checksum, applied_at) VALUES ('gateway', 9999, 'from_the_future', 'x', '2027-01-01T00:00:00.000Z')");
        }

        var refused = Assert.Throws<InvalidOperationException>(() => GatewayStore.Open(place, migrate: true));
        Assert.Contains("newer Warden", refused.Message);
        Assert.Contains("9999 from_the_future", refused.Message);
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task A_step_applied_as_written_differently_is_refused(string engine)
    {
        var place = await _stores.PlaceAsync(engine);
        GatewayStore.Open(place, migrate: true).Dispose();
        using (var database = Open(place))
        {
            database.Execute("UPDATE warden_migrations SET checksum = 'edited' WHERE component = 'gateway' AND version = 1");
        }

        var refused = Assert.Throws<InvalidOperationException>(() => GatewayStore.Open(place, migrate: true));
        Assert.Contains("step 0001 (gateway_tables) applied as written differently", refused.Message);
    }

    [Fact]
    public async Task A_PostgreSQL_store_behind_this_build_is_not_migrated_without_leave()
    {
        var place = await _stores.PlaceAsync("postgres");

        var refused = Assert.Throws<InvalidOperationException>(() => GatewayStore.Open(place, migrate: false));

        Assert.Contains("warden db migrate", refused.Message);
        using var database = Open(place);
        Assert.Equal(0, database.Scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"));
    }

    [Fact]
    public async Task Replicas_that_start_together_apply_each_step_once()
    {
        var place = await _stores.PlaceAsync("postgres");

        var opened = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => GatewayStore.Open(place, migrate: true))));

        foreach (var store in opened)
        {
            store.Dispose();
        }

        using var database = Open(place);
        Assert.Equal(Migrations.Known(StoreEngine.Postgres, GatewayStore.Component).Count,
            database.Scalar("SELECT count(*) FROM warden_migrations WHERE component = 'gateway'"));
    }

    [Fact]
    public void A_step_that_fails_is_rolled_back_and_named()
    {
        var path = Path.Combine(Path.GetTempPath(), $"warden-broken-{Guid.NewGuid():N}.db");
        try
        {
            // A table of the same name but another shape: the step's index on it cannot be made.
            using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
            {
                connection.Open();
                using var command = connection.CreateCommand();
                command.CommandText = "CREATE TABLE approvals (id TEXT PRIMARY KEY)";
                command.ExecuteNonQuery();
            }

            var refused = Assert.Throws<InvalidOperationException>(() => GatewayStore.Open(path));

            Assert.Contains("step 0001 (gateway_tables) failed", refused.Message);
            using var database = SqliteStoreDatabase.Open(path, "gateway store");
            Assert.Equal(0, database.Scalar("SELECT count(*) FROM sqlite_master WHERE name = 'usage'"));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            File.Delete(path);
        }
    }

    [Fact]
    public void An_unreachable_PostgreSQL_store_is_named_without_its_password()
    {
        var place = StoreLocation.Postgres("postgres://warden:s3cret-pass@127.0.0.1:1/gateway?sslmode=disable");

        var refused = Assert.Throws<InvalidOperationException>(() => GatewayStore.Open(place, migrate: true));

        Assert.Contains("postgres://warden@127.0.0.1:1/gateway cannot be reached", refused.Message);
        Assert.DoesNotContain("s3cret-pass", refused.Message);
    }

    [Theory]
    [InlineData("postgres://warden:pw@db.internal:6432/state?sslmode=require", "postgres://warden@db.internal:6432/state")]
    [InlineData("postgresql://warden@db.internal/state", "postgres://warden@db.internal:5432/state")]
    [InlineData("Host=db.internal;Port=5433;Username=warden;Password=pw;Database=state", "postgres://warden@db.internal:5433/state")]
    public void A_connection_string_or_URL_names_a_PostgreSQL_store(string text, string shown)
    {
        var place = StoreLocation.Parse(text);

        Assert.Equal((StoreEngine.Postgres, shown), (place.Engine, place.Shown));
    }

    [Theory]
    [InlineData("postgres://warden@db.internal", "names no database")]
    [InlineData("postgres://warden@db.internal/state?sslmode=sometimes", "sslmode 'sometimes'")]
    [InlineData("Host=db.internal;Database=state;Bogus Key=1", "does not read")]
    public void A_malformed_PostgreSQL_location_is_refused_saying_what(string text, string says)
    {
        var refused = Assert.Throws<FormatException>(() => StoreLocation.Parse(text));

        Assert.Contains(says, refused.Message);
    }

    [Fact]
    public void A_path_is_a_SQLite_store()
    {
        Assert.Equal(StoreEngine.Sqlite, StoreLocation.Parse(".warden/gateway.db").Engine);
    }

    private static StoreDatabase Open(StoreLocation place) => place.Engine == StoreEngine.Sqlite
        ? SqliteStoreDatabase.Open(place.Connection, "gateway store")
        : PostgresStoreDatabase.Open(place);

    [Fact]
    public async Task Replicas_migrating_fresh_databases_together_never_fail()
    {
        // Starting together is a race on the first statement too (the ledger's own table): try it often.
        for (var round = 0; round < 12; round++)
        {
            var place = await _stores.PlaceAsync("postgres");

            var migrated = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => StoreMigrations.Apply(place), TestContext.Current.CancellationToken)));

            // Every step of every store applied once, by one replica or another.
            Assert.Equal(StoreMigrations.Components.Sum(c => Migrations.Known(StoreEngine.Postgres, c).Count), migrated.SelectMany(m => m).Sum(c => c.Applied.Count));
        }
    }
}
