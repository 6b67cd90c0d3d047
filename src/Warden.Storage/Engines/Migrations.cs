using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace Warden.Storage.Engines;

/// <summary>One schema step of one store (the gateway's, the trail's, the workspace's) for one engine, as shipped in this build.</summary>
public sealed record Migration(string Component, int Version, string Name, string Sql)
{
    /// <summary>The SHA-256 of its SQL (line ends as \n): a step that was applied and then edited is noticed.</summary>
    public string Checksum { get; } = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Sql.ReplaceLineEndings("\n"))));
}

/// <summary>
/// Versioned schema migrations, one mechanism for both engines: numbered SQL files per engine and
/// store (<c>Migrations/ENGINE/STORE/0001_name.sql</c>), applied in order, each in its own
/// transaction, and recorded in <c>warden_migrations</c> with their checksum. On PostgreSQL an
/// advisory lock makes replicas that start together migrate one after the other. A store that a
/// newer Warden migrated, or whose recorded step differs from this build's, is refused, saying so.
/// </summary>
internal static class Migrations
{
    private const string Ledger = """
        CREATE TABLE IF NOT EXISTS warden_migrations (
            component TEXT NOT NULL,
            version INTEGER NOT NULL,
            name TEXT NOT NULL,
            checksum TEXT NOT NULL,
            applied_at TEXT NOT NULL,
            PRIMARY KEY (component, version)
        )
        """;

    private static readonly IReadOnlyList<Migration> Sqlite = Load("sqlite");
    private static readonly IReadOnlyList<Migration> Postgres = Load("postgres");

    /// <summary>This build's steps for a store on an engine, in order.</summary>
    public static IReadOnlyList<Migration> Known(StoreEngine engine, string component) =>
        [.. (engine == StoreEngine.Sqlite ? Sqlite : Postgres).Where(m => m.Component == component)];

    /// <summary>The steps this build has and the store has not had yet.</summary>
    /// <exception cref="InvalidOperationException">The store is newer than this build, or a step it had differs from this build's.</exception>
    public static IReadOnlyList<Migration> Pending(StoreDatabase database, string component) =>
        database.Use(session => PendingIn(database, session, component, ledgerMayBeMissing: true));

    /// <summary>Applies every pending step; returns those applied (none when the store was current).</summary>
    /// <exception cref="InvalidOperationException">As <see cref="Pending"/>, or a step failed (it is rolled back; the message names it).</exception>
    public static IReadOnlyList<Migration> Apply(StoreDatabase database, string component, DateTimeOffset now)
    {
        // Under the same lock as the steps: CREATE TABLE IF NOT EXISTS run by two replicas at once
        // fails in one of them on PostgreSQL (the table's type is created twice).
        database.Transaction(session =>
        {
            Serialize(database, session);
            return session.Execute(Ledger);
        }, serializable: false);
        var applied = new List<Migration>();
        foreach (var step in Known(database.Engine, component))
        {
            var ran = database.Transaction(session =>
            {
                // Replicas started together: the second waits here, then sees the step done.
                Serialize(database, session);

                if (!PendingIn(database, session, component, ledgerMayBeMissing: false).Contains(step))
                {
                    return false;
                }

                try
                {
                    session.Execute(step.Sql);
                }
                catch (Exception e) when (e is System.Data.Common.DbException)
                {
                    throw new InvalidOperationException($"the {component} store {database.Shown} could not be migrated: step {step.Version:D4} ({step.Name}) failed: {e.Message.Split('\n')[0]}", e);
                }

                session.Execute("INSERT INTO warden_migrations (component, version, name, checksum, applied_at) VALUES (@component, @version, @name, @checksum, @at)",
                    ("@component", component), ("@version", step.Version), ("@name", step.Name), ("@checksum", step.Checksum), ("@at", StoreDatabase.Time(now)));
                return true;
            }, serializable: false);
            if (ran)
            {
                applied.Add(step);
            }
        }

        return applied;
    }

    /// <summary>Holds, until the transaction ends, the lock every schema change of Warden's takes on PostgreSQL: replicas change the schema one at a time.</summary>
    internal static void Serialize(StoreDatabase database, StoreSession session)
    {
        if (database.Engine == StoreEngine.Postgres)
        {
            session.Execute("SELECT pg_advisory_xact_lock(hashtextextended('warden migrations', 0))");
        }
    }

    private static List<Migration> PendingIn(StoreDatabase database, StoreSession session, string component, bool ledgerMayBeMissing)
    {
        var known = Known(database.Engine, component);
        var had = ledgerMayBeMissing && !HasLedger(database, session)
            ? []
            : session.Query("SELECT version, name, checksum FROM warden_migrations WHERE component = @component ORDER BY version",
                r => (Version: Convert.ToInt32(r.GetValue(0), System.Globalization.CultureInfo.InvariantCulture), Name: r.GetString(1), Checksum: r.GetString(2)), ("@component", component));
        foreach (var step in had)
        {
            var mine = known.FirstOrDefault(k => k.Version == step.Version);
            if (mine is null)
            {
                throw new InvalidOperationException(
                    $"the {component} store {database.Shown} was migrated by a newer Warden (it has step {step.Version:D4} {step.Name}; this build knows up to {known.LastOrDefault()?.Version ?? 0:D4}): run that version, or a newer one");
            }

            if (mine.Checksum != step.Checksum)
            {
                throw new InvalidOperationException(
                    $"the {component} store {database.Shown} had step {step.Version:D4} ({step.Name}) applied as written differently from this build's: the store and this build disagree about its schema");
            }
        }

        return [.. known.Where(k => had.All(h => h.Version != k.Version))];
    }

    private static bool HasLedger(StoreDatabase database, StoreSession session) => database.Engine == StoreEngine.Sqlite
        ? session.Scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'warden_migrations'") == 1
        : session.Scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 'warden_migrations' AND table_schema = current_schema()") == 1;

    private static List<Migration> Load(string engine)
    {
        var assembly = Assembly.GetExecutingAssembly();
        var prefix = $"migrations/{engine}/";
        var steps = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var name = resource.Replace('\\', '/');
            if (!name.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            // migrations/ENGINE/STORE/0001_name.sql
            var parts = name[prefix.Length..].Split('/');
            var file = Path.GetFileNameWithoutExtension(parts[1]);
            var version = int.Parse(file[..4], System.Globalization.CultureInfo.InvariantCulture);
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            steps.Add(new Migration(parts[0], version, file[5..], reader.ReadToEnd()));
        }

        return [.. steps.OrderBy(s => s.Component, StringComparer.Ordinal).ThenBy(s => s.Version)];
    }
}
