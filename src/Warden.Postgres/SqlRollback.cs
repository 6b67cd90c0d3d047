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
        var rows = await Capture.ReadAsync(connection, database.ReadCapture, cancellationToken).ConfigureAwait(false);
        long txid;
        await using (var current = new NpgsqlCommand("SELECT txid_current()", connection))
        {
            txid = (long)(await current.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        var undone = actions.Select(a => a.Id).ToList();
        journal.Begin(id, actor, "rollback", "rollback", $"rollback of {string.Join(", ", undone)}", "", txid, database.Now, reversible: true, rows,
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
        await using (var prepare = new NpgsqlCommand(Capture.BeginSql + $"SET LOCAL lock_timeout = {(int)database.Options.LockTimeout.TotalMilliseconds};", connection))
        {
            await prepare.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        long restored = 0;
        var conflicts = new List<RollbackConflict>();
        foreach (var action in actions.OrderByDescending(a => a.Seq))
        {
            foreach (var image in journal.Images(action.Seq).Reverse())
            {
                var dot = image.Table.IndexOf('.', StringComparison.Ordinal);
                var table = tables.ByName(image.Table[..dot], image.Table[(dot + 1)..])
                    ?? throw new PostgresSystemException($"action {action.Id} changed {image.Table}, which is no longer governed");
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
                        conflicts.Add(new RollbackConflict(action.Id, table.Declared, key, "a row with this key was added since it was deleted"));
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
                        conflicts.Add(new RollbackConflict(action.Id, table.Declared, key, "changed since it was inserted"));
                        if (resolution == ConflictResolution.Force)
                        {
                            await DeleteAsync(connection, table, image.After!, cancellationToken).ConfigureAwait(false);
                            restored++;
                        }

                        break;
                }
            }
        }

        return (restored, conflicts);
    }

    private enum RowState
    {
        Missing,
        AsLeft,
        Changed,
    }

    private static string KeyMatch(TableShape table) =>
        $"({string.Join(", ", table.Key.Select(k => "t." + TableShape.Quote(k)))}) = (SELECT {string.Join(", ", table.Key.Select(TableShape.Quote))} FROM jsonb_populate_record(NULL::{table.Quoted}, $1::jsonb))";

    private static string KeyText(TableShape table, string image)
    {
        using var document = JsonDocument.Parse(image);
        return string.Join(",", table.Key.Select(k => document.RootElement.TryGetProperty(k, out var v) ? (v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText()) : ""));
    }

    /// <summary>Whether the row with the image's key is missing, as the statement left it (<paramref name="after"/>), or changed since.</summary>
    private static async Task<RowState> StateAsync(NpgsqlConnection connection, TableShape table, string keyImage, string? after, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT to_jsonb(t) = $2::jsonb FROM {table.Quoted} t WHERE {KeyMatch(table)} FOR UPDATE", connection);
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
            $"UPDATE {table.Quoted} t SET ({columns}) = (SELECT {columns} FROM jsonb_populate_record(NULL::{table.Quoted}, $2::jsonb)) WHERE {KeyMatch(table)}", connection);
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
