using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Warden.Workspace.Tools;

namespace Warden.Workspace.Journal;

/// <summary>
/// Undoes actions from their journal, newest change first. A record that changed after the
/// action (its version moved on, or its row no longer matches the after-image) is a conflict:
/// skipped and reported, or overwritten when forced. The rollback is an action of its own, with
/// its own journal, so it can be rolled back too. Sends, syncs and purges cannot be undone.
/// </summary>
internal static class Rollback
{
    /// <summary>The next action's sequence number, as SQL: given inside the write transaction that inserts it.</summary>
    public const string NextSeq = "SELECT coalesce(max(seq), 0) + 1 FROM actions";

    private sealed record ActionRow(string Id, string Tool, string Agent, bool Reversible, string? RolledBackBy);

    private sealed record Entry(string ActionId, long Seq, TableInfo Table, string Key, string Operation, JsonElement? Before, JsonElement? After);

    public static WorkspaceResult<RollbackPlan> Plan(ToolContext context, RollbackRequest request)
    {
        var actions = Actions(context, request);
        if (!actions.Succeeded)
        {
            return actions.Error!;
        }

        var conflicts = new List<RollbackConflict>();
        long restorable = 0;
        var reversible = actions.Value!.Where(a => a.Reversible).ToList();
        var undoing = reversible.Select(a => a.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var action in reversible)
        {
            restorable += CleanContactEntries(context, action.Id);
            foreach (var entry in Entries(context, action.Id).ToList())
            {
                if (Conflict(context, entry, context.Row(entry.Table, entry.Key), undoing, live: false) is { } conflict)
                {
                    conflicts.Add(conflict);
                }
                else
                {
                    restorable++;
                }
            }

            using var drop = context.Command("DROP TABLE temp.clean");
            drop.ExecuteNonQuery();
        }

        var irreversible = actions.Value!.Where(a => !a.Reversible).Select(a => $"{a.Id} ({a.Tool})").ToList();
        var summary = $"Rolling back {reversible.Count} action{(reversible.Count == 1 ? "" : "s")} restores {restorable:N0} record{(restorable == 1 ? "" : "s")}"
                      + (conflicts.Count > 0 ? $"; {conflicts.Count:N0} changed since and would be skipped unless forced" : "")
                      + (irreversible.Count > 0 ? $"; {irreversible.Count} cannot be undone ({string.Join(", ", irreversible)})" : "") + ".";
        return new RollbackPlan(request, [.. reversible.Select(a => a.Id)], restorable, conflicts, irreversible, summary);
    }

    public static WorkspaceResult<RollbackResult> Run(ToolContext context, RollbackRequest request, ConflictResolution resolution, string actor, string rollbackId)
    {
        var actions = Actions(context, request);
        if (!actions.Succeeded)
        {
            return actions.Error!;
        }

        if (request.ActionId is not null && actions.Value!.Single() is { Reversible: false } single)
        {
            return WorkspaceError.Refused($"action {single.Id} ({single.Tool}) cannot be rolled back: what it sent or erased cannot be taken back");
        }

        var undone = new List<string>();
        var skipped = new List<RollbackConflict>();
        var undoing = actions.Value!.Where(a => a.Reversible).Select(a => a.Id).ToHashSet(StringComparer.Ordinal);
        long restored = 0;
        using var journal = new ActionJournal(context.Connection, context.Transaction!, rollbackId);
        var writer = new Restorer(context, journal);
        foreach (var action in actions.Value!.Where(a => a.Reversible))
        {
            // Contact updates untouched since the action are restored by SQL, all at once; the rest
            // (other tables, and records that changed since) one by one below.
            CleanContactEntries(context, action.Id);
            restored += RestoreCleanContacts(context, journal);

            // Materialised per action: the restore writes to the tables the entries are read against.
            foreach (var entry in Entries(context, action.Id).ToList())
            {
                var current = context.Row(entry.Table, entry.Key);
                var conflict = Conflict(context, entry, current, undoing, live: true);
                if (conflict is not null && resolution == ConflictResolution.Skip)
                {
                    skipped.Add(conflict);
                    continue;
                }

                if (writer.Restore(entry, current))
                {
                    restored++;
                }
            }

            // Undoing a rollback puts back what it undid: those actions are live again, and can be rolled back again.
            using var mark = context.Command("""
                UPDATE actions SET rolled_back_by = @by WHERE id = @id;
                UPDATE actions SET rolled_back_by = NULL WHERE rolled_back_by = @id AND @tool = 'rollback';
                DROP TABLE temp.clean;
                """, ("@by", rollbackId), ("@id", action.Id), ("@tool", action.Tool));
            mark.ExecuteNonQuery();
            undone.Add(action.Id);
        }

        using (var record = context.Command(
                   $"INSERT INTO actions (id, seq, tool, arguments, plan_hash, agent, applied_at, records, reversible, rollback_of) VALUES (@id, ({NextSeq}), 'rollback', @args, '', @agent, @at, @records, 1, @of)",
                   ("@id", rollbackId), ("@args", JsonSerializer.Serialize(request)), ("@agent", actor), ("@at", context.NowText), ("@records", restored),
                   ("@of", string.Join(",", undone))))
        {
            record.ExecuteNonQuery();
        }

        return new RollbackResult(rollbackId, undone, restored, skipped);
    }

    /// <summary>
    /// Contact updates of one action whose record still carries the version the action wrote:
    /// nothing has changed them since, so they can be restored all at once. Gathered into a
    /// temporary table (with each contact's rowid), which the restore reads and the one-by-one
    /// path leaves out; the caller drops it. Returns how many there are.
    /// </summary>
    private static long CleanContactEntries(ToolContext context, string actionId)
    {
        // The version alone would miss a change made outside Warden that left it alone: records
        // whose fields no longer equal the after-image stay out of the bulk path, and the
        // one-by-one path reports them (as Consistent compares them). The comparison needs the
        // shape of the image; an action's updates nearly always share one, compared as they are
        // gathered, and any other shape is checked afterwards.
        var first = context.Text("SELECT columns FROM journal WHERE action_id = @a AND table_name = 'contacts' AND operation = 'update' AND columns IS NOT NULL LIMIT 1",
            ("@a", actionId));
        using (var create = context.Command($"""
                   DROP TABLE IF EXISTS temp.clean;
                   CREATE TEMP TABLE clean AS
                   SELECT j.seq AS seq, c.rowid AS rid, j.record_key AS record_key, j.before AS before, j.after AS after, j.columns AS shape, j.version AS version
                   FROM journal j JOIN contacts c ON c.id = j.record_key
                   WHERE j.action_id = @a AND j.table_name = 'contacts' AND j.operation = 'update'
                     AND j.columns IS NOT NULL AND c.version = j.version
                     AND (j.columns IS NOT @first OR {Unchanged(first, "c", "j")});
                   """, ("@a", actionId), ("@first", first)))
        {
            create.ExecuteNonQuery();
        }

        foreach (var shape in context.Keys("SELECT DISTINCT shape FROM temp.clean WHERE shape IS NOT @first", [new SqliteParameter("@first", (object?)first ?? DBNull.Value)]).ToList())
        {
            using var changed = context.Command($"""
                DELETE FROM temp.clean WHERE shape = @shape AND rid IN (
                    SELECT k.rid FROM temp.clean k JOIN contacts c ON c.rowid = k.rid WHERE k.shape = @shape AND NOT {Unchanged(shape, "c", "k")})
                """, ("@shape", shape));
            changed.ExecuteNonQuery();
        }

        return context.Count("SELECT count(*) FROM temp.clean");
    }

    /// <summary>
    /// SQL that is true when the contact (alias <paramref name="contact"/>) still holds the values
    /// the image (alias <paramref name="image"/>, column after) wrote for the columns of
    /// <paramref name="shape"/>; false for a shape the bulk path does not restore.
    /// </summary>
    private static string Unchanged(string? shape, string contact, string image)
    {
        var columns = (shape ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Where(c => c != "updated_at").ToList();
        if (columns.Count == 0 || columns.Any(c => !Tables.Contacts.Columns.Contains(c) || c is "id" or "version"))
        {
            return "0";
        }

        return "(" + string.Join(" AND ", columns.Select(c => $"{contact}.\"{c}\" IS json_extract({image}.after, '$.{c}')")) + ")";
    }

    /// <summary>
    /// Restores the clean contact updates gathered by <see cref="CleanContactEntries"/>, two
    /// statements per shape of image, journaling them. Nothing wrote these records since the
    /// action, so the rollback's before-image is the action's after-image, and its after-image is
    /// the action's before-image under the next version: both are copied, not rebuilt from rows.
    /// </summary>
    private static long RestoreCleanContacts(ToolContext context, ActionJournal journal)
    {
        long restored = 0;
        var span = context.Count("SELECT coalesce(max(rowid), 0) FROM temp.clean");
        foreach (var shape in context.Keys("SELECT DISTINCT shape FROM temp.clean").ToList())
        {
            var parameters = new[] { new SqliteParameter("@shape", shape), new SqliteParameter("@now", context.NowText) };
            var columns = shape.Split(',').ToList();
            if (columns.Any(c => !Tables.Contacts.Columns.Contains(c) || c is "id" or "version"))
            {
                // Not an image this path writes: left to the one-by-one path.
                journal.Execute("DELETE FROM temp.clean WHERE shape = @shape", parameters);
                continue;
            }

            journal.JournalNumberedRows(Tables.Contacts, "update",
                "SELECT rowid AS ordinal, record_key, after AS before, json_set(before, '$.version', version + 1) AS after, shape AS columns, version + 1 AS version " +
                "FROM temp.clean WHERE shape = @shape",
                parameters, span, updates: true);
            restored += journal.Execute($"""
                UPDATE contacts SET {string.Join(", ", columns.Select(c => $"\"{c}\" = json_extract(k.before, '$.{c}')"))}, version = contacts.version + 1, updated_at = @now
                FROM temp.clean k
                WHERE k.rid = contacts.rowid AND k.shape = @shape
                """, parameters);
        }

        return restored;
    }

    private static WorkspaceResult<List<ActionRow>> Actions(ToolContext context, RollbackRequest request)
    {
        if (request.ActionId is { } id)
        {
            var found = Query(context, "SELECT id, tool, agent, reversible, rolled_back_by FROM actions WHERE id = @id", ("@id", id));
            if (found.Count == 0)
            {
                return WorkspaceError.NotFound($"there is no action {id}");
            }

            if (found[0].RolledBackBy is { } by)
            {
                return WorkspaceError.Refused($"action {id} was already rolled back by {by}");
            }

            return found;
        }

        if (request.Agent is null || request.From is null || request.To is null)
        {
            return WorkspaceError.InvalidArguments("a rollback names an action, or an agent with a time window (from and to)");
        }

        if (request.To < request.From)
        {
            return WorkspaceError.InvalidArguments("the time window of the rollback ends before it starts");
        }

        var actions = Query(context, """
            SELECT id, tool, agent, reversible, rolled_back_by FROM actions
            WHERE agent = @agent AND applied_at >= @from AND applied_at <= @to AND rolled_back_by IS NULL AND rollback_of IS NULL
            ORDER BY seq DESC
            """, ("@agent", request.Agent), ("@from", ToolContext.Timestamp(request.From.Value)), ("@to", ToolContext.Timestamp(request.To.Value)));
        return actions.Count == 0 ? WorkspaceError.NotFound($"agent '{request.Agent}' has no actions to roll back in that window") : actions;
    }

    private static List<ActionRow> Query(ToolContext context, string sql, params (string, object?)[] parameters)
    {
        using var command = context.Command(sql, parameters);
        using var reader = command.ExecuteReader();
        var rows = new List<ActionRow>();
        while (reader.Read())
        {
            rows.Add(new ActionRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3) == 1, reader.IsDBNull(4) ? null : reader.GetString(4)));
        }

        return rows;
    }

    /// <summary>An action's journal, newest first, leaving out the entries handled in bulk (those in temp.clean).</summary>
    private static IEnumerable<Entry> Entries(ToolContext context, string actionId)
    {
        if (context.Count("SELECT count(*) FROM journal WHERE action_id = @a", ("@a", actionId)) == context.Count("SELECT count(*) FROM temp.clean"))
        {
            yield break; // all handled in bulk: the common case of one large update
        }

        using var command = context.Command("""
            SELECT seq, table_name, record_key, operation, before, after FROM journal
            WHERE action_id = @a AND seq NOT IN (SELECT seq FROM temp.clean) ORDER BY seq DESC
            """, ("@a", actionId));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return new Entry(actionId, reader.GetInt64(0), Tables.ByName[reader.GetString(1)], reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : JsonDocument.Parse(reader.GetString(4)).RootElement,
                reader.IsDBNull(5) ? null : JsonDocument.Parse(reader.GetString(5)).RootElement);
        }
    }

    /// <summary>
    /// Whether restoring the entry would overwrite a change made after it: the record must be as
    /// the entry left it (same version, or the same content after a change that was reverted).
    /// During a rollback (live) the later entries of the same rollback are already undone, so the
    /// record is compared as it is; in a preview they are undone virtually first.
    /// </summary>
    private static RollbackConflict? Conflict(ToolContext context, Entry entry, Dictionary<string, object?>? current, IReadOnlySet<string> undoing, bool live)
    {
        if (Consistent(entry.Table, current, entry.After))
        {
            return null;
        }

        string? culprit = null;
        var state = current is null ? null : new Dictionary<string, object?>(current, StringComparer.Ordinal);
        using (var later = context.Command("""
                   SELECT j.action_id, j.operation, j.before FROM actions a
                   JOIN journal j ON j.action_id = a.id AND j.table_name = @t AND j.record_key = @k
                   WHERE a.seq > (SELECT seq FROM actions WHERE id = @a) ORDER BY a.seq DESC, j.seq DESC
                   """, ("@t", entry.Table.Name), ("@k", entry.Key), ("@a", entry.ActionId)))
        using (var reader = later.ExecuteReader())
        {
            while (reader.Read())
            {
                var actionId = reader.GetString(0);
                if (!undoing.Contains(actionId))
                {
                    culprit ??= actionId;
                }
                else if (!live)
                {
                    state = Undo(state, reader.GetString(1), reader.IsDBNull(2) ? null : JsonDocument.Parse(reader.GetString(2)).RootElement);
                }
            }
        }

        if (!live && Consistent(entry.Table, state, entry.After))
        {
            return null;
        }

        var reason = state is null ? "deleted since" : entry.After is null ? "added again since" : "changed since";
        return new RollbackConflict(entry.ActionId, entry.Table.Name, entry.Key, culprit is null ? $"{reason}, outside Warden" : $"{reason} by {culprit}");
    }

    private static bool Consistent(TableInfo table, Dictionary<string, object?>? row, JsonElement? after)
    {
        if (after is not { } image)
        {
            return row is null;
        }

        if (row is null)
        {
            return false;
        }

        // Field by field, whatever the version says: a change made outside Warden need not move
        // the version column, and overwriting it would lose someone's work. A different version
        // with the same content (changed and changed back) loses nothing. The bookkeeping columns
        // (version, updated_at) are not someone's work.
        return image.EnumerateObject().Where(p => p.Name is not ("version" or "updated_at")).All(p => row.TryGetValue(p.Name, out var value) && Same(value, p.Value));
    }

    /// <summary>The record as it would be once a later entry of the same rollback is undone.</summary>
    private static Dictionary<string, object?>? Undo(Dictionary<string, object?>? state, string operation, JsonElement? before)
    {
        switch (operation)
        {
            case "insert":
                return null;
            case "delete":
                return before?.EnumerateObject().ToDictionary(p => p.Name, p => ValueOf(p.Value) is DBNull ? null : ValueOf(p.Value), StringComparer.Ordinal);
            default:
                if (state is not null && before is { } image)
                {
                    foreach (var property in image.EnumerateObject())
                    {
                        state[property.Name] = ValueOf(property.Value) is DBNull ? null : ValueOf(property.Value);
                    }
                }

                return state;
        }
    }

    private static long Number(Dictionary<string, object?> row, string column) => Convert.ToInt64(row[column], CultureInfo.InvariantCulture);

    internal static bool Same(object? value, JsonElement json) => json.ValueKind switch
    {
        JsonValueKind.Null => value is null,
        JsonValueKind.Number => value is not null and not string && Convert.ToDouble(value, CultureInfo.InvariantCulture) == json.GetDouble(),
        JsonValueKind.String => value is string s && s == json.GetString(),
        _ => false,
    };

    internal static object ValueOf(JsonElement json) => json.ValueKind switch
    {
        JsonValueKind.Null => DBNull.Value,
        JsonValueKind.Number => json.TryGetInt64(out var l) ? l : json.GetDouble(),
        _ => json.GetString()!,
    };

    /// <summary>Writes one restoration and journals it under the rollback's own action.</summary>
    private sealed class Restorer(ToolContext context, ActionJournal journal)
    {
        /// <summary>Restores the entry's before-image; false when there was nothing to restore (a forced update of a record deleted since, an insert already gone).</summary>
        public bool Restore(Entry entry, Dictionary<string, object?>? current)
        {
            var table = entry.Table;
            var parts = table.SplitKey(entry.Key);
            var keys = parts.Select((p, i) => new SqliteParameter($"@k{i}", p)).ToList();
            switch (entry.Operation)
            {
                case "update":
                    var before = entry.Before!.Value.EnumerateObject().Where(p => p.Name != "version").ToList();
                    var set = before.Select((p, i) => $"\"{p.Name}\" = @v{i}").ToList();
                    var parameters = keys.Concat(before.Select((p, i) => new SqliteParameter($"@v{i}", ValueOf(p.Value)))).ToList();
                    long? version = null;
                    if (table.Versioned && current is not null)
                    {
                        version = Number(current, "version") + 1;
                        set.Add("version = @version");
                        parameters.Add(new SqliteParameter("@version", version));
                    }

                    if (table.HasUpdatedAt)
                    {
                        set.Add("updated_at = @now");
                        parameters.Add(new SqliteParameter("@now", context.NowText));
                    }

                    if (current is null)
                    {
                        return false; // deleted since, and forced: nothing left to restore into
                    }

                    using (var command = context.Command($"UPDATE {table.Name} SET {string.Join(", ", set)} WHERE {table.KeyWhere}", parameters))
                    {
                        command.ExecuteNonQuery();
                    }

                    var was = before.ToDictionary(p => p.Name, p => (object?)(current.TryGetValue(p.Name, out var v) ? v : null));
                    var now = before.ToDictionary(p => p.Name, p => (object?)ValueOf(p.Value) is DBNull ? null : (object?)ValueOf(p.Value));
                    if (version is { } v2)
                    {
                        was["version"] = v2 - 1;
                        now["version"] = v2;
                    }

                    journal.Record(table, entry.Key, "update", ActionJournal.Image(was), ActionJournal.Image(now));
                    return true;
                case "insert":
                    if (current is null)
                    {
                        return false; // gone already
                    }

                    using (var command = context.Command($"DELETE FROM {table.Name} WHERE {table.KeyWhere}", keys))
                    {
                        command.ExecuteNonQuery();
                    }

                    journal.Record(table, entry.Key, "delete", ActionJournal.Image(current), null);
                    return true;
                default:
                    if (current is not null)
                    {
                        // Re-created since, and forced: the journaled row replaces it.
                        using var remove = context.Command($"DELETE FROM {table.Name} WHERE {table.KeyWhere}", keys);
                        remove.ExecuteNonQuery();
                    }

                    var row = entry.Before!.Value.EnumerateObject().ToList();
                    using (var command = context.Command(
                               $"INSERT INTO {table.Name} ({string.Join(", ", row.Select(p => $"\"{p.Name}\""))}) VALUES ({string.Join(", ", row.Select((_, i) => $"@v{i}"))})",
                               row.Select((p, i) => new SqliteParameter($"@v{i}", ValueOf(p.Value)))))
                    {
                        command.ExecuteNonQuery();
                    }

                    journal.Record(table, entry.Key, "insert", current is null ? null : ActionJournal.Image(current), entry.Before.Value.GetRawText());
                    return true;
            }
        }
    }
}
