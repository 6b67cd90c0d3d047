using System.Globalization;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Warden.Workspace.Seeding;

/// <summary>Fills a workspace with deterministic synthetic marketing data: the sandbox agents are tried against.</summary>
public static class WorkspaceSeeder
{
    // Every table a seed writes or makes stale. The journal and actions go too: they describe
    // changes to records that a replace deletes.
    private static readonly string[] Cleared = [.. SyntheticWorkspace.Tables, "actions", "journal", "unsubscribed_addresses"];

    // Tables whose secondary indexes are dropped for the bulk load and built once at the end:
    // sorting a finished table is cheaper than keeping nine indexes ordered row by row (a
    // million contacts: about 25 s this way, 66 s with the indexes kept).
    private static readonly string[] BulkTables = ["contacts", "list_members", "suppression", "campaign_events"];

    /// <summary>
    /// Seeds the workspace in one transaction: either all of it is written, or (on an error or
    /// cancellation) nothing is. A workspace that already holds data is refused with
    /// <see cref="WorkspaceNotEmptyException"/> unless <see cref="SeedOptions.Replace"/> is set; then its
    /// data is deleted first, in the same transaction.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The options are out of range.</exception>
    /// <exception cref="WorkspaceNotEmptyException">The workspace holds data and Replace is not set.</exception>
    public static SeedSummary Seed(WorkspaceStore store, SeedOptions options, IProgress<SeedProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        cancellationToken.ThrowIfCancellationRequested();

        var workspace = new SyntheticWorkspace(options);
        if (store.Shared)
        {
            return SeedShared(store, workspace, options, progress, cancellationToken);
        }

        using var connection = (SqliteConnection)store.Connect();
        var leftWal = false;
        try
        {
            // A rollback journal instead of the write-ahead log while seeding: the log would take
            // every page of a bulk load once and then copy it into the database again at the
            // checkpoint, which made a million-contact seed about a fifth slower. The switch only
            // succeeds when no other connection has the workspace open; otherwise the seed simply
            // runs in WAL mode. (The page cache stays at SQLite's default: 64 and 256 MB caches
            // measured no faster, with the operating system caching the file anyway.)
            leftWal = TrySetJournalMode(connection, "delete");
            using var transaction = connection.BeginTransaction();
            var contacts = Scalar(connection, transaction, "SELECT COUNT(*) FROM contacts");
            if (!options.Replace && (contacts > 0 || HoldsData(connection, transaction)))
            {
                throw new WorkspaceNotEmptyException(store.Path, contacts);
            }

            foreach (var table in Cleared)
            {
                Execute(connection, transaction, $"DELETE FROM {table};");
            }

            Execute(connection, transaction, "DELETE FROM workspace_info WHERE key LIKE 'seed.%';");
            var indexes = options.KeepIndexes ? [] : DropIndexes(connection, transaction);
            // The ledger of unsubscribed addresses is filled once after the load rather than by a trigger per row.
            Execute(connection, transaction, "DROP TRIGGER IF EXISTS contacts_unsubscribe_insert;");
            var rows = workspace.Write(connection, transaction, progress, cancellationToken);
            ConsentLedger.Fill(connection, transaction);
            Execute(connection, transaction, ConsentLedger.InsertTrigger);
            foreach (var (key, value) in workspace.Info(options))
            {
                using var info = connection.CreateCommand();
                info.Transaction = transaction;
                info.CommandText = "INSERT INTO workspace_info (key, value) VALUES (@key, @value)";
                info.Bind("@key", key);
                info.Bind("@value", value);
                info.ExecuteNonQuery();
            }

            for (var i = 0; i < indexes.Count; i++)
            {
                progress?.Report(new SeedProgress("indexes", i, indexes.Count));
                cancellationToken.ThrowIfCancellationRequested();
                Execute(connection, transaction, indexes[i]);
            }

            progress?.Report(new SeedProgress("indexes", indexes.Count, indexes.Count));
            progress?.Report(new SeedProgress("committing", 0, 1));
            transaction.Commit();
            // When the seed ran in WAL mode, move the committed pages from the log into the database
            // file now, so the file is complete on its own and the log does not stay as large as the data.
            Execute(connection, null, "PRAGMA wal_checkpoint(TRUNCATE);");
            progress?.Report(new SeedProgress("committing", 1, 1));
            return new SeedSummary(store.Path, rows);
        }
        finally
        {
            // Written outside the write lease: a read planned before the seed's commit reads again.
            store.Wrote();
            if (leftWal)
            {
                RestoreWal(connection);
            }
        }
    }

    /// <summary>
    /// The seed of a workspace in PostgreSQL: the same rows in one transaction under the workspace's
    /// writer lock, inserted in batches (the ledger's trigger keeps unsubscribed mailboxes as
    /// they go); the indexes stay, as other replicas may be reading.
    /// </summary>
    private static SeedSummary SeedShared(WorkspaceStore store, SyntheticWorkspace workspace, SeedOptions options, IProgress<SeedProgress>? progress, CancellationToken cancellationToken)
    {
        using var connection = store.Connect();
        using var transaction = WorkspaceStore.BeginWrite(connection);
        try
        {
            var contacts = Scalar(connection, transaction, "SELECT COUNT(*) FROM contacts");
            if (!options.Replace && (contacts > 0 || HoldsData(connection, transaction)))
            {
                throw new WorkspaceNotEmptyException(store.Path, contacts);
            }

            Execute(connection, transaction, string.Concat(Cleared.Select(table => $"DELETE FROM {table};")) + "DELETE FROM workspace_info WHERE key LIKE 'seed.%';");
            var rows = workspace.Write(connection, transaction, progress, cancellationToken);
            foreach (var (key, value) in workspace.Info(options))
            {
                using var info = Tools.ToolContext.Command(connection, transaction, "INSERT INTO workspace_info (key, value) VALUES (@key, @value)", [new("@key", key), new("@value", value)]);
                info.ExecuteNonQuery();
            }

            progress?.Report(new SeedProgress("committing", 0, 1));
            transaction.Commit();
            progress?.Report(new SeedProgress("committing", 1, 1));
            return new SeedSummary(store.Path, rows);
        }
        finally
        {
            store.Wrote();
        }
    }

    private static bool HoldsData(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction)
    {
        foreach (var table in Cleared)
        {
            if (Scalar(connection, transaction, $"SELECT EXISTS (SELECT 1 FROM {table})") != 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Drops the bulk tables' own indexes and returns the statements that build them again, exactly as the schema wrote them.</summary>
    private static List<string> DropIndexes(SqliteConnection connection, SqliteTransaction transaction)
    {
        var indexes = new List<(string Name, string Sql)>();
        using (var query = connection.CreateCommand())
        {
            query.Transaction = transaction;
            var tables = string.Join(", ", BulkTables.Select(t => $"'{t}'"));
            // sql is NULL for the automatic indexes behind PRIMARY KEY; those stay.
            query.CommandText = $"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({tables}) ORDER BY name";
            using var reader = query.ExecuteReader();
            while (reader.Read())
            {
                indexes.Add((reader.GetString(0), reader.GetString(1)));
            }
        }

        foreach (var (name, _) in indexes)
        {
            Execute(connection, transaction, $"DROP INDEX \"{name}\";");
        }

        return [.. indexes.Select(i => i.Sql)];
    }

    private static void RestoreWal(SqliteConnection connection)
    {
        // Best effort: every connection the store opens asks for WAL again.
        TrySetJournalMode(connection, "wal");
    }

    /// <summary>
    /// Switches the journal mode if no other connection is in the way, without waiting: through
    /// the native handle with no busy timeout, because a busy ADO.NET command retries for its
    /// whole command timeout (30 s) before it gives up.
    /// </summary>
    private static bool TrySetJournalMode(SqliteConnection connection, string mode)
    {
        var timeout = Pragma(connection, "PRAGMA busy_timeout;");
        Execute(connection, null, "PRAGMA busy_timeout = 0;");
        try
        {
            var database = connection.Handle!;
            if (raw.sqlite3_prepare_v2(database, $"PRAGMA journal_mode = {mode};", out var statement) != raw.SQLITE_OK)
            {
                return false;
            }

            using (statement)
            {
                return raw.sqlite3_step(statement) == raw.SQLITE_ROW && raw.sqlite3_column_text(statement, 0).utf8_to_string() == mode;
            }
        }
        finally
        {
            Execute(connection, null, $"PRAGMA busy_timeout = {timeout};");
        }
    }

    private static string Pragma(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture) ?? "";
    }

    private static void Execute(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction? transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static long Scalar(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }
}
