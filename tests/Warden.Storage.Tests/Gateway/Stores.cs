using Microsoft.Data.Sqlite;
using Warden.Storage.Engines;
using Warden.Storage.Gateway;
using Warden.Tests;

namespace Warden.Storage.Tests.Gateway;

/// <summary>The engines every gateway store test runs on: a parameter, not a copy.</summary>
public static class EngineCases
{
    public static TheoryData<string> Both => new("sqlite", "postgres");
}

/// <summary>
/// Gateway stores for one test on the engine it runs on: a SQLite file in a folder of its own, or a
/// fresh database on the test run's PostgreSQL (which two stores, as two replicas, may share).
/// </summary>
public sealed class GatewayStores(PostgresServer postgres) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("warden-store-").FullName;
    private readonly List<GatewayStore> _opened = [];

    /// <summary>A new, empty place for a store on the engine.</summary>
    public async Task<StoreLocation> PlaceAsync(string engine) => engine switch
    {
        "sqlite" => StoreLocation.Sqlite(Path.Combine(_directory, $"gateway-{_opened.Count}-{Guid.NewGuid():N}.db")),
        "postgres" => StoreLocation.Postgres(postgres.AdminConnection(await postgres.CreateDatabaseAsync())),
        _ => throw new ArgumentException($"no engine '{engine}'", nameof(engine)),
    };

    /// <summary>A store at a new place, migrated; closed with the test.</summary>
    public async Task<GatewayStore> OpenAsync(string engine) => Open(await PlaceAsync(engine));

    /// <summary>Another store at the same place (another replica, or a restart); closed with the test.</summary>
    public GatewayStore Open(StoreLocation location)
    {
        var store = GatewayStore.Open(location, migrate: true);
        _opened.Add(store);
        return store;
    }

    public void Dispose()
    {
        _opened.ForEach(s => s.Dispose());
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
