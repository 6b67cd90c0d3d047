using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Warden.Storage.Engines;

/// <summary>
/// Where a governed system's own store is (a database's journal; an upstream's pins and journal):
/// in SQLite, its own file in the data folder (DATA/systems/ENV/ID.db); in PostgreSQL, its own
/// schema in the database the replicas share, so that the same SQL reads and writes either, and
/// one system's tables never meet another's.
/// </summary>
internal static class SystemStores
{
    /// <summary>The system's own SQLite file, brought to this build's schema; every commit synced to the disk.</summary>
    public static StoreDatabase OpenFile(string path, string component)
    {
        var database = SqliteStoreDatabase.Open(path, $"{component.Replace('_', ' ')} store", fullSync: true);
        return Migrated(database, component);
    }

    /// <summary>The system's own schema in the shared PostgreSQL database, created and brought to this build's schema.</summary>
    public static StoreDatabase OpenShared(StoreLocation location, string environment, string system, string component)
    {
        ArgumentNullException.ThrowIfNull(location);
        if (location.Engine != StoreEngine.Postgres)
        {
            throw new ArgumentException("a shared system store is in PostgreSQL", nameof(location));
        }

        var schema = Schema(environment, system);
        using (var shared = PostgresStoreDatabase.Open(location))
        {
            shared.Transaction(session =>
            {
                // Replicas starting together: one creates it, the others wait and find it.
                Migrations.Serialize(shared, session);
                return session.Execute($"CREATE SCHEMA IF NOT EXISTS {schema}");
            }, serializable: false);
        }

        var builder = new NpgsqlConnectionStringBuilder(location.Connection) { SearchPath = schema };
        var database = PostgresStoreDatabase.Open(StoreLocation.Postgres(builder.ConnectionString));
        return Migrated(database, component);
    }

    /// <summary>
    /// The schema of a system: its environment and id in lower case, with anything but letters,
    /// digits and _ replaced, and a short hash of the exact pair so that two ids that read alike
    /// (<c>crm-eu</c>, <c>crm_eu</c>) never share one.
    /// </summary>
    public static string Schema(string environment, string system)
    {
        static string Clean(string text) => new([.. text.ToLowerInvariant().Select(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' ? c : '_')]);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(environment + "\n" + system)))[..8];
        var name = $"warden_{Clean(environment)}_{Clean(system)}";
        return (name.Length > 50 ? name[..50] : name) + "_" + hash;
    }

    private static StoreDatabase Migrated(StoreDatabase database, string component)
    {
        try
        {
            Migrations.Apply(database, component, DateTimeOffset.UtcNow);
            return database;
        }
        catch
        {
            database.Dispose();
            throw;
        }
    }
}
