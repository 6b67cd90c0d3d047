using Microsoft.Data.Sqlite;

namespace Warden.Gateway.Tests;

/// <summary>A data folder a test starts gateways on one after another; deleted, with SQLite's pooled connections closed, when disposed.</summary>
internal sealed class DataFolder : IDisposable
{
    public string Path { get; } = GatewayFixture.NewDirectory();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
