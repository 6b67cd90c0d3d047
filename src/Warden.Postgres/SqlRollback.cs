using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Warden.Core;

namespace Warden.Postgres;

/// <summary>
/// Undoes journaled statements row by row, newest first: a deleted row is inserted again, an
/// updated one set back to its before-image, an inserted one deleted, each only while the row is
/// still as the statement left it (compared with the after-image); a row changed since is a
/// conflict, left alone unless forced. The preview is the same work in a transaction that is
/// rolled back, so it is exact; the rollback itself is captured and journaled, so it can be undone too.
/// </summary>
internal sealed class SqlRollback(PostgresDatabase database, SqlJournal journal, NpgsqlDataSource source, TableCatalogue tables)
{
    public SystemResult<RollbackPlan> Plan(RollbackRequest request)
    {
        var chosen = Choose(request);
        if (!chosen.Succeeded)
        {
            return chosen.Error!;
        }

        var (actions, irreversible) = chosen.Value!;
        using var connection = source.OpenConnection();
        using var transaction = connection.BeginTransaction();
        try
        {
            var (restored, conflicts) = UndoAsync(connection, actions, ConflictResolution.Skip, CancellationToken.None).GetAwaiter().GetResult();
            var summary = $"would restore {restored:N0} row(s) from {actions.Count:N0} action(s)"
                + (conflicts.Count > 0 ? $"; {conflicts.Count:N0} row(s) changed since would be left as they are" : "")
                + (irreversible.Count > 0 ? $"; {irreversible.Count:N0} action(s) cannot be undone" : "");
            return new RollbackPlan(request, [.. actions.Select(a => a.Id)], restored, conflicts, irreversible, summary);
        }
        finally
        {
            transaction.Rollback();
        }
    }

    public async Task<SystemResult<RollbackResult>> RunAsync(RollbackRequest request, ConflictResolution resolution, string actor, CancellationToken cancellationToken)
    {
        var chosen = Choose(request);
        if (!chosen.Succeeded)
        {
            return chosen.Error!;
        }

        var (actions, _) = chosen.Value!;
        if (actions.Count == 0)
        {
            return SystemError.NotFound("there is nothing to undo: every action chosen is undone already or cannot be undone");
        }

        var id = database.NewActionId();
        await using var connection = await source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var (restored, conflicts) = await UndoAsync(connection, actions, resolution, cancellationToken).ConfigureAwait(false);
        using var images = await Capture.ImagesAsync(connection, database.GovernedNames, database.Options.MaxJournaledBytes, cancellationToken).ConfigureAwait(false);
        if (images is null)
        {
            throw new RollbackRefusedException($"the rows it restores are more than {database.Options.MaxJournaledBytes:N0} bytes of images, more than Warden journals for one action; roll back fewer actions at once");
        }
        long txid;
        await using (var current = new NpgsqlCommand("SELECT txid_current()", connection))
        {
            txid = (long)(await current.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        var undone = actions.Select(a => a.Id).ToList();
        journal.Begin(id, actor, "rollback", "rollback", $"rollback of {string.Join(", ", undone)}", "", txid, database.Now, reversible: true, images,
            rollsBack: JsonSerializer.Serialize(undone));
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        journal.Settle(id);
        return resolution == ConflictResolution.Force
            ? new RollbackResult(id, undone, restored, [], conflicts)
            : new RollbackResult(id, undone, restored, conflicts, []);
    }

    /// <summary>The actions a request names that can be undone (newest first), and those it names that cannot.</summary>
    private SystemResult<Chosen> Choose(RollbackRequest request)
    {
        List<JournaledAction> named;
        if (request.ActionId is { } actionId)
        {
            var action = journal.Action(actionId);
            if (action is null)
            {
                return SystemError.NotFound($"there is no action '{actionId}' on {database.Options.Id}");
            }

            if (action.RolledBackBy is { } by)
            {
                return SystemError.Refused($"action {actionId} was rolled back already, by {by}; roll that back to restore it");
            }

            named = [action];
        }
        else if (request.Agent is { } agent)
        {
            named = [.. journal.ActionsOf(agent, request.From, request.To).Where(a => a.RolledBackBy is null)];
        }
        else
        {
            return SystemError.InvalidArguments("name an action, or an agent and a time window");
        }

        return new Chosen(named.Where(a => a.Reversible).ToList(), named.Where(a => !a.Reversible).Select(a => a.Id).ToList());
    }

    private sealed record Chosen(List<JournaledAction> Actions, List<string> Irreversible);

    private async Task<(long Restored, List<RollbackConflict> Conflicts)> UndoAsync(NpgsqlConnection connection, IReadOnlyList<JournaledAction> actions, ConflictResolution resolution,
        CancellationToken cancellationToken)
    {
        await using (var prepare = new NpgsqlCommand(Capture.BeginSql(Capture.Mode.Rows) + $"SET LOCAL lock_timeout = {(int)database.Options.LockTimeout.TotalMilliseconds}; SET LOCAL extra_float_digits = 1;", connection))
        {
            await prepare.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        long restored = 0;
        var conflicts = new List<RollbackConflict>();
        foreach (var action in actions.OrderByDescending(a => a.Seq))
        {
            // Newest first. A delete that cascaded is the exception: the rows its foreign keys
            // deleted were captured after their parents, so newest first puts them back before
            // the rows they point at. When that fails on a foreign key, the action is undone again
            // from the savepoint with its deletes undone first, oldest first (parents first), then
            // the rest newest first (this also puts back a key change that cascaded); that order
            // is taken only if every row goes back, else the foreign key's refusal stands.
            IReadOnlyList<CapturedRow> images = await RecordImages.JsonAsync(connection, journal.Images(action.Seq), cancellationToken).ConfigureAwait(false);
            var mark = await LastCapturedAsync(connection, cancellationToken).ConfigureAwait(false);
            await Sql(connection, "SAVEPOINT warden_undo_action", cancellationToken).ConfigureAwait(false);
            (long Restored, List<RollbackConflict> Conflicts) undone;
            try
            {
                undone = await UndoImagesAsync(connection, action, [.. images.Reverse()], resolution, cancellationToken).ConfigureAwait(false);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ForeignKeyViolation)
            {
                await Sql(connection, "ROLLBACK TO SAVEPOINT warden_undo_action", cancellationToken).ConfigureAwait(false);
                undone = await UndoImagesAsync(connection, action, [.. images.Where(i => i.Operation == "DELETE"), .. images.Where(i => i.Operation != "DELETE").Reverse()],
                    resolution, cancellationToken).ConfigureAwait(false);
                if (undone.Conflicts.Count > 0)
                {
                    throw;
                }
            }

            // Every row the undo wrote is captured: one more than it restored is a row it reached
            // by a cascade or a trigger (another's row deleted with the one it points at), which
            // the preview would not have shown and nothing could put back.
            var written = await CapturedSinceAsync(connection, mark, cancellationToken).ConfigureAwait(false);
            if (written != undone.Restored)
            {
                throw new RollbackRefusedException(
                    $"undoing action {action.Id} would change {written - undone.Restored:N0} row(s) beyond the {undone.Restored:N0} it restores (through a cascading foreign key or a trigger), which nothing could put back");
            }

            await Sql(connection, "RELEASE SAVEPOINT warden_undo_action", cancellationToken).ConfigureAwait(false);
            restored += undone.Restored;
            conflicts.AddRange(undone.Conflicts);
        }

        return (restored, conflicts);
    }

    /// <summary>
    /// Undoes an action's images in the order given, in runs of one table and one operation: a run
    /// whose keys are all different (one statement changes a row once) by a few set-based
    /// statements; anything else row by row.
    /// </summary>
    private async Task<(long Restored, List<RollbackConflict> Conflicts)> UndoImagesAsync(NpgsqlConnection connection, JournaledAction action, List<CapturedRow> images,
        ConflictResolution resolution, CancellationToken cancellationToken)
    {
        long restored = 0;
        var conflicts = new List<RollbackConflict>();
        for (var start = 0; start < images.Count;)
        {
            var end = start;
            while (end + 1 < images.Count && images[end + 1].Table == images[start].Table && images[end + 1].Operation == images[start].Operation)
            {
                end++;
            }

            var run = images.GetRange(start, end - start + 1);
            var table = TableOf(action, run[0]);
            var keys = run.Select(i => KeyText(table, i.After ?? i.Before!)).ToList();
            var (done, found) = run.Count >= SetBasedFrom && keys.Distinct(StringComparer.Ordinal).Count() == keys.Count
                ? await UndoRunAsync(connection, action, table, run[0].Operation, run, keys, resolution, cancellationToken).ConfigureAwait(false)
                : await UndoRowsAsync(connection, action, table, run, resolution, cancellationToken).ConfigureAwait(false);
            restored += done;
            conflicts.AddRange(found);
            start = end + 1;
        }

        return (restored, conflicts);
    }

    /// <summary>The last row the capture copied in this transaction (0 for none).</summary>
    private static async Task<long> LastCapturedAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT coalesce(max(seq), 0) FROM pg_temp.warden_rows", connection);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>How many rows of governed tables the capture copied after <paramref name="mark"/> (an update whose key moved counts once).</summary>
    private async Task<long> CapturedSinceAsync(NpgsqlConnection connection, long mark, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT count(*) - count(*) FILTER (WHERE moved AND op = 'INSERT') FROM pg_temp.warden_rows WHERE seq > $1 AND tbl = ANY($2)", connection);
        command.Parameters.Add(new() { Value = mark });
        command.Parameters.Add(new() { Value = database.GovernedNames });
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>Runs shorter than this are undone row by row (a few round trips beat loading a temporary table).</summary>
    private const int SetBasedFrom = 20;

    private TableShape TableOf(JournaledAction action, CapturedRow image)
    {
        return tables.ByQualifiedName(image.Table)
            ?? throw new PostgresSystemException($"action {action.Id} changed {image.Table}, which is no longer governed");
    }

    /// <summary>Undoes images one at a time, in the order given.</summary>
    private static async Task<(long Restored, List<RollbackConflict> Conflicts)> UndoRowsAsync(NpgsqlConnection connection, JournaledAction action, TableShape table,
        IReadOnlyList<CapturedRow> images, ConflictResolution resolution, CancellationToken cancellationToken)
    {
        long restored = 0;
        var conflicts = new List<RollbackConflict>();
        foreach (var image in images)
        {
            var keyImage = image.After ?? image.Before!;
            var state = await StateAsync(connection, table, keyImage, image.After, cancellationToken).ConfigureAwait(false);
            var key = KeyText(table, keyImage);
            switch (image.Operation)
            {
                case "DELETE" when state == RowState.Missing:
                    await InsertAsync(connection, table, image.Before!, cancellationToken).ConfigureAwait(false);
                    restored++;
                    break;
                case "DELETE":
                    conflicts.Add(new RollbackConflict(action.Id, table.Declared, key, AddedSince));
                    if (resolution == ConflictResolution.Force)
                    {
                        await UpdateAsync(connection, table, image.Before!, image.Before!, cancellationToken).ConfigureAwait(false);
                        restored++;
                    }

                    break;
                case "UPDATE" when state == RowState.AsLeft:
                    await UpdateAsync(connection, table, image.After!, image.Before!, cancellationToken).ConfigureAwait(false);
                    restored++;
                    break;
                case "UPDATE":
                    conflicts.Add(new RollbackConflict(action.Id, table.Declared, key, state == RowState.Missing ? "deleted since" : "changed since"));
                    if (resolution == ConflictResolution.Force)
                    {
                        if (state == RowState.Missing)
                        {
                            await InsertAsync(connection, table, image.Before!, cancellationToken).ConfigureAwait(false);
                        }
                        else
                        {
                            await UpdateAsync(connection, table, image.After!, image.Before!, cancellationToken).ConfigureAwait(false);
                        }

                        restored++;
                    }

                    break;
                case "INSERT" when state == RowState.AsLeft:
                    await DeleteAsync(connection, table, image.After!, cancellationToken).ConfigureAwait(false);
                    restored++;
                    break;
                case "INSERT" when state == RowState.Missing:
                    break; // gone already: nothing to undo
                case "INSERT":
                    conflicts.Add(new RollbackConflict(action.Id, table.Declared, key, InsertedChanged));
                    if (resolution == ConflictResolution.Force)
                    {
                        await DeleteAsync(connection, table, image.After!, cancellationToken).ConfigureAwait(false);
                        restored++;
                    }

                    break;
            }
        }

        return (restored, conflicts);
    }

    private const string AddedSince = "a row with this key was added since it was deleted";
    private const string InsertedChanged = "changed since it was inserted";

    /// <summary>
    /// Undoes a run of one table and one operation whose keys are all different, by sets: the
    /// images go into a temporary table in one statement, each row's state (missing, as the action
    /// left it, changed since) is found by one join on the key, with the rows locked, and the
    /// restores are one INSERT, UPDATE or DELETE each. The same decisions as row by row.
    /// </summary>
    private static async Task<(long Restored, List<RollbackConflict> Conflicts)> UndoRunAsync(NpgsqlConnection connection, JournaledAction action, TableShape table,
        string operation, IReadOnlyList<CapturedRow> images, IReadOnlyList<string> keys, ConflictResolution resolution, CancellationToken cancellationToken)
    {
        var t = table.Quoted;
        var keyOf = (string alias) => $"({string.Join(", ", table.Key.Select(k => alias + "." + TableShape.Quote(k)))})";
        var writable = string.Join(", ", table.Writable.Select(c => TableShape.Quote(c.Name)));
        var settable = table.Settable.Select(c => TableShape.Quote(c.Name)).ToList();
        var set = $"({string.Join(", ", settable)}) = ROW({string.Join(", ", settable.Select(c => "b." + c))})";

        await Sql(connection, """
            CREATE TEMP TABLE IF NOT EXISTS warden_undo (n int PRIMARY KEY, before jsonb, after jsonb, state text) ON COMMIT DROP;
            TRUNCATE pg_temp.warden_undo;
            """, cancellationToken).ConfigureAwait(false);
        await using (var load = new NpgsqlCommand("INSERT INTO pg_temp.warden_undo (n, before, after) SELECT * FROM unnest($1::int[], $2::jsonb[], $3::jsonb[])", connection))
        {
            load.Parameters.Add(new() { Value = Enumerable.Range(0, images.Count).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
            load.Parameters.Add(new() { Value = images.Select(i => i.Before).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            load.Parameters.Add(new() { Value = images.Select(i => i.After).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            await load.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        // Each image's row, found by the key of its after-image (its before-image for a delete), locked.
        await Sql(connection, $"""
            UPDATE pg_temp.warden_undo u SET state = coalesce(s.state, 'missing')
            FROM pg_temp.warden_undo v
            LEFT JOIN LATERAL (
              SELECT CASE WHEN to_jsonb(t.*) = v.after THEN 'as_left' ELSE 'changed' END AS state
              FROM {t} t, jsonb_populate_record(NULL::{t}, coalesce(v.after, v.before)) k
              WHERE {keyOf("t")} = {keyOf("k")}
              FOR UPDATE OF t
            ) s ON true
            WHERE u.n = v.n;
            """, cancellationToken).ConfigureAwait(false);

        var conflicts = new List<RollbackConflict>();
        await using (var read = new NpgsqlCommand("SELECT n, state FROM pg_temp.warden_undo WHERE state <> $1 ORDER BY n", connection))
        {
            read.Parameters.Add(new() { Value = operation == "DELETE" ? "missing" : "as_left" });
            await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var (n, state) = (reader.GetInt32(0), reader.GetString(1));
                if (operation == "INSERT" && state == "missing")
                {
                    continue; // gone already: nothing to undo
                }

                conflicts.Add(new RollbackConflict(action.Id, table.Declared, keys[n], operation switch
                {
                    "DELETE" => AddedSince,
                    "UPDATE" => state == "missing" ? "deleted since" : "changed since",
                    _ => InsertedChanged,
                }));
            }
        }

        var force = resolution == ConflictResolution.Force;
        long restored = 0;
        switch (operation)
        {
            case "DELETE":
                restored += await Sql(connection, $"""
                    INSERT INTO {t} ({writable}) OVERRIDING SYSTEM VALUE
                    SELECT {string.Join(", ", table.Writable.Select(c => "b." + TableShape.Quote(c.Name)))}
                    FROM pg_temp.warden_undo u, jsonb_populate_record(NULL::{t}, u.before) b WHERE u.state = 'missing'
                    """, cancellationToken).ConfigureAwait(false);
                if (force)
                {
                    restored += await Sql(connection, $"""
                        UPDATE {t} t SET {set}
                        FROM pg_temp.warden_undo u, jsonb_populate_record(NULL::{t}, u.before) b
                        WHERE u.state <> 'missing' AND {keyOf("t")} = {keyOf("b")}
                        """, cancellationToken).ConfigureAwait(false);
                }

                break;
            case "UPDATE":
                restored += await Sql(connection, $"""
                    UPDATE {t} t SET {set}
                    FROM pg_temp.warden_undo u, jsonb_populate_record(NULL::{t}, u.before) b, jsonb_populate_record(NULL::{t}, u.after) a
                    WHERE u.state {(force ? "<> 'missing'" : "= 'as_left'")} AND {keyOf("t")} = {keyOf("a")}
                    """, cancellationToken).ConfigureAwait(false);
                if (force)
                {
                    restored += await Sql(connection, $"""
                        INSERT INTO {t} ({writable}) OVERRIDING SYSTEM VALUE
                        SELECT {string.Join(", ", table.Writable.Select(c => "b." + TableShape.Quote(c.Name)))}
                        FROM pg_temp.warden_undo u, jsonb_populate_record(NULL::{t}, u.before) b WHERE u.state = 'missing'
                        """, cancellationToken).ConfigureAwait(false);
                }

                break;
            default:
                restored += await Sql(connection, $"""
                    DELETE FROM {t} t USING pg_temp.warden_undo u, jsonb_populate_record(NULL::{t}, u.after) a
                    WHERE u.state {(force ? "<> 'missing'" : "= 'as_left'")} AND {keyOf("t")} = {keyOf("a")}
                    """, cancellationToken).ConfigureAwait(false);
                break;
        }

        return (restored, conflicts);
    }

    private static async Task<int> Sql(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private enum RowState
    {
        Missing,
        AsLeft,
        Changed,
    }

    private static string KeyMatch(TableShape table) =>
        $"({string.Join(", ", table.Key.Select(k => "t." + TableShape.Quote(k)))}) = (SELECT {string.Join(", ", table.Key.Select(k => "p." + TableShape.Quote(k)))} FROM jsonb_populate_record(NULL::{table.Quoted}, $1::jsonb) p)";

    private static string KeyText(TableShape table, string image)
    {
        using var document = JsonDocument.Parse(image, RowJson.Images);
        return string.Join(",", table.Key.Select(k => document.RootElement.TryGetProperty(k, out var v) ? (v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText()) : ""));
    }

    /// <summary>Whether the row with the image's key is missing, as the statement left it (<paramref name="after"/>), or changed since.</summary>
    private static async Task<RowState> StateAsync(NpgsqlConnection connection, TableShape table, string keyImage, string? after, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT to_jsonb(t.*) = $2::jsonb FROM {table.Quoted} t WHERE {KeyMatch(table)} FOR UPDATE", connection);
        command.Parameters.Add(new() { Value = keyImage, NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new() { Value = (object?)after ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Jsonb });
        var result = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return result switch
        {
            null => RowState.Missing,
            true => RowState.AsLeft,
            _ => RowState.Changed,
        };
    }

    private static async Task InsertAsync(NpgsqlConnection connection, TableShape table, string image, CancellationToken cancellationToken)
    {
        var columns = string.Join(", ", table.Writable.Select(c => TableShape.Quote(c.Name)));
        await using var command = new NpgsqlCommand(
            $"INSERT INTO {table.Quoted} ({columns}) OVERRIDING SYSTEM VALUE SELECT {columns} FROM jsonb_populate_record(NULL::{table.Quoted}, $1::jsonb)", connection);
        command.Parameters.Add(new() { Value = image, NpgsqlDbType = NpgsqlDbType.Jsonb });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sets the row found by <paramref name="keyImage"/>'s key to <paramref name="image"/>.</summary>
    private static async Task UpdateAsync(NpgsqlConnection connection, TableShape table, string keyImage, string image, CancellationToken cancellationToken)
    {
        var columns = string.Join(", ", table.Settable.Select(c => TableShape.Quote(c.Name)));
        await using var command = new NpgsqlCommand(
            $"UPDATE {table.Quoted} t SET ({columns}) = (SELECT {string.Join(", ", table.Settable.Select(c => "p." + TableShape.Quote(c.Name)))} FROM jsonb_populate_record(NULL::{table.Quoted}, $2::jsonb) p) WHERE {KeyMatch(table)}", connection);
        command.Parameters.Add(new() { Value = keyImage, NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new() { Value = image, NpgsqlDbType = NpgsqlDbType.Jsonb });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task DeleteAsync(NpgsqlConnection connection, TableShape table, string keyImage, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"DELETE FROM {table.Quoted} t WHERE {KeyMatch(table)}", connection);
        command.Parameters.Add(new() { Value = keyImage, NpgsqlDbType = NpgsqlDbType.Jsonb });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>A rollback Warden will not finish, for a reason of its own (not the database's): its transaction rolled back, nothing restored.</summary>
internal sealed class RollbackRefusedException(string message) : Exception(message);
