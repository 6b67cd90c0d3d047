using Warden.Storage.Gateway;

namespace Warden.Storage.Engines;

/// <summary>A store's schema as this build sees it: the steps it had, and those still to apply.</summary>
public sealed record StoreSchema(string Component, IReadOnlyList<Migration> Known, IReadOnlyList<Migration> Pending);

/// <summary>
/// <c>warden db migrate</c> and <c>warden db status</c>: every store this build keeps in a
/// database, brought to this build's schema or reported, on either engine.
/// </summary>
public static class StoreMigrations
{
    /// <summary>The stores kept at a location, in the order they are migrated.</summary>
    public static IReadOnlyList<string> Components { get; } = [GatewayStore.Component, Audit.AuditStore.Component];

    /// <summary>Applies every pending step of every store at the location; returns the steps applied, per store.</summary>
    /// <exception cref="InvalidOperationException">It cannot be reached, is ahead of this build, or a step failed (rolled back, and named).</exception>
    public static IReadOnlyList<(string Component, IReadOnlyList<Migration> Applied)> Apply(StoreLocation location)
    {
        ArgumentNullException.ThrowIfNull(location);
        using var database = OpenDatabase(location, "store");
        return [.. Kept(database.Engine).Select(c => (c, c switch
        {
            GatewayStore.Component => GatewayStore.Migrate(database),
            _ => Migrations.Apply(database, c, DateTimeOffset.UtcNow),
        }))];
    }

    /// <summary>
    /// A system's own schema in the PostgreSQL store replicas share (<c>warden_ENV_SYSTEM_HASH</c>),
    /// created and brought to this build's steps of <paramref name="component"/> (one replica at a
    /// time); returns the location whose connections use that schema.
    /// </summary>
    public static StoreLocation SharedSchema(StoreLocation location, string environment, string system, string component)
    {
        SystemStores.OpenShared(location, environment, system, component).Dispose();
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(location.Connection) { SearchPath = SystemStores.Schema(environment, system) };
        return StoreLocation.Postgres(builder.ConnectionString);
    }

    /// <summary>Where each store at the location stands, changing nothing.</summary>
    /// <exception cref="InvalidOperationException">It cannot be reached, or is ahead of this build.</exception>
    public static IReadOnlyList<StoreSchema> Read(StoreLocation location)
    {
        ArgumentNullException.ThrowIfNull(location);
        if (location.Engine == StoreEngine.Sqlite && !File.Exists(location.Connection))
        {
            return [.. Kept(StoreEngine.Sqlite).Select(c => new StoreSchema(c, Migrations.Known(StoreEngine.Sqlite, c), Migrations.Known(StoreEngine.Sqlite, c)))];
        }

        using var database = OpenDatabase(location, "store");
        return [.. Kept(database.Engine).Select(c => new StoreSchema(c, Migrations.Known(database.Engine, c), Migrations.Pending(database, c)))];
    }

    /// <summary>
    /// The stores an engine keeps through migrations. The SQLite trail is its own file, with its own
    /// layout check (it predates them); on PostgreSQL it shares the database.
    /// </summary>
    private static IEnumerable<string> Kept(StoreEngine engine) => Components.Where(c => Migrations.Known(engine, c).Count > 0);

    internal static StoreDatabase OpenDatabase(StoreLocation location, string what) => location.Engine == StoreEngine.Sqlite
        ? SqliteStoreDatabase.Open(location.Connection, what)
        : PostgresStoreDatabase.Open(location);
}
