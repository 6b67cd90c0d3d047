using System.Globalization;
using System.Text.Json;
using Warden.Workspace.Tools;
using Warden.Core;

namespace Warden.Workspace.Journal;

/// <summary>
/// Undoes actions from their journal, newest action first (in the sequence they were applied)
/// and newest change first within one. A change is restored only where its record still holds,
/// field by field, what the change wrote; anywhere else someone changed the record since (another
/// action, or anyone outside Warden, whether or not they moved a version column), and restoring
/// would destroy their work. Such a record is a conflict: skipped and reported, or overwritten
/// when forced, and the rollback's own journal keeps what it overwrote. The rollback is an action
/// of its own, so it can be rolled back too. Sends, syncs and purges cannot be undone.
/// </summary>
/// <remarks>
/// Which fields say whether a record is as a change left it: those the restore would write back
/// (an update's image: the fields it set) or take away (an insert's image: the row as written).
/// Never version or updated_at: every write moves them, so they tell that something was written,
/// not what; and a record's other fields are not compared, as restoring leaves them alone. A
/// record that was changed and changed back holds what the change wrote, so it is restored.
/// </remarks>
internal static class Rollback
{
    private sealed record ActionRow(string Id, long Seq, string Tool, string Agent, bool Reversible, string? RolledBackBy, string? RollbackOf);

    private sealed record Entry(ActionRow Action, long Seq, TableInfo Table, string Key, string Operation, JsonElement? Before, JsonElement? After);

    public static SystemResult<RollbackPlan> Plan(ToolContext context, RollbackRequest request)
    {
        var actions = Actions(context, request);
        if (!actions.Succeeded)
        {
            return actions.Error!;
        }

        var reversible = actions.Value!.Where(a => a.Reversible).ToList();
        var walk = new Walk(context, reversible, ConflictResolution.Skip, journal: null);
        walk.Run();
        var irreversible = actions.Value!.Where(a => !a.Reversible).Select(a => $"{a.Id} ({a.Tool})").ToList();
        var summary = $"Rolling back {reversible.Count} action{(reversible.Count == 1 ? "" : "s")} restores {walk.Restored:N0} record{(walk.Restored == 1 ? "" : "s")}"
                      + (walk.Skipped.Count > 0 ? $"; {walk.Skipped.Count:N0} changed since and would be skipped unless forced" : "")
                      + (irreversible.Count > 0 ? $"; {irreversible.Count} cannot be undone ({string.Join(", ", irreversible)})" : "") + ".";
        return new RollbackPlan(request, [.. reversible.Select(a => a.Id)], walk.Restored, walk.Skipped, irreversible, summary);
    }

    public static SystemResult<RollbackResult> Run(ToolContext context, RollbackRequest request, ConflictResolution resolution, string actor, string rollbackId)
    {
        var actions = Actions(context, request);
        if (!actions.Succeeded)
        {
            return actions.Error!;
        }

        if (request.ActionId is not null && actions.Value!.Single() is { Reversible: false } single)
        {
            return SystemError.Refused($"action {single.Id} ({single.Tool}) cannot be rolled back: what it sent or erased cannot be taken back");
        }

        var reversible = actions.Value!.Where(a => a.Reversible).ToList();
        using var journal = new ActionJournal(context.Connection, context.Transaction!, rollbackId);
        var walk = new Walk(context, reversible, resolution, journal);
        walk.Run();
        foreach (var action in reversible)
        {
            Withdraw(context, action.Id, rollbackId);
        }

        using (var record = context.Command(
                   $"INSERT INTO actions (id, seq, tool, arguments, plan_hash, agent, applied_at, records, reversible, rollback_of) VALUES (@id, {ActionJournal.NextAction}, 'rollback', @args, '', @agent, @at, @records, 1, @of)",
                   ("@id", rollbackId), ("@args", JsonSerializer.Serialize(request)), ("@agent", actor), ("@at", context.NowText), ("@records", walk.Restored),
                   ("@of", string.Join(",", reversible.Select(a => a.Id)))))
        {
            record.ExecuteNonQuery();
        }

        return new RollbackResult(rollbackId, [.. reversible.Select(a => a.Id)], walk.Restored, walk.Skipped, walk.Overwritten);
    }

    /// <summary>The agent whose work an action changed: its own, or for a rollback that of the actions it undid.</summary>
    public static string? AgentOf(ToolContext context, string actionId)
    {
        // Rollbacks name older actions only, so following them ends.
        for (var id = actionId; ;)
        {
            var found = Query(context, "SELECT id, seq, tool, agent, reversible, rolled_back_by, rollback_of FROM actions WHERE id = @id", ("@id", id));
            if (found.Count == 0)
            {
                return null;
            }

            if (found[0].RollbackOf is not { Length: > 0 } undid)
            {
                return found[0].Agent;
            }

            id = undid.Split(',')[0];
        }
    }

    /// <summary>
    /// Marks an action undone by a rollback. When the action is itself a rollback, what it undid is
    /// in effect again, so that can be rolled back once more; and so on down a chain of redos, so
    /// that rolled_back_by always names the rollback whose undo is in effect, or nothing.
    /// </summary>
    private static void Withdraw(ToolContext context, string actionId, string by)
    {
        if (Mark(context, "UPDATE actions SET rolled_back_by = @by WHERE id = @id AND rolled_back_by IS NULL", actionId, by))
        {
            foreach (var undone in UndoneBy(context, actionId))
            {
                Reinstate(context, undone, actionId);
            }
        }
    }

    /// <summary>Puts an action undone by a rollback back in effect; what it undid, if a rollback, is undone again.</summary>
    private static void Reinstate(ToolContext context, string actionId, string rollback)
    {
        if (Mark(context, "UPDATE actions SET rolled_back_by = NULL WHERE id = @id AND rolled_back_by = @by", actionId, rollback))
        {
            foreach (var undone in UndoneBy(context, actionId))
            {
                Withdraw(context, undone, actionId);
            }
        }
    }

    private static bool Mark(ToolContext context, string sql, string actionId, string by)
    {
        using var command = context.Command(sql, ("@id", actionId), ("@by", by));
        return command.ExecuteNonQuery() == 1;
    }

    private static string[] UndoneBy(ToolContext context, string actionId) =>
        context.Text("SELECT rollback_of FROM actions WHERE id = @id", ("@id", actionId)) is { Length: > 0 } list ? list.Split(',') : [];

    private static SystemResult<List<ActionRow>> Actions(ToolContext context, RollbackRequest request)
    {
        if (request.ActionId is { } id)
        {
            var found = Query(context, "SELECT id, seq, tool, agent, reversible, rolled_back_by, rollback_of FROM actions WHERE id = @id", ("@id", id));
            if (found.Count == 0)
            {
                return SystemError.NotFound($"there is no action {id}");
            }

            if (found[0].RolledBackBy is { } by)
            {
                return SystemError.Refused($"action {id} was already rolled back by {by}");
            }

            return found;
        }

        if (request.Agent is null || request.From is null || request.To is null)
        {
            return SystemError.InvalidArguments("a rollback names an action, or an agent with a time window (from and to)");
        }

        if (request.To < request.From)
        {
            return SystemError.InvalidArguments("the time window of the rollback ends before it starts");
        }

        // An agent's window holds its own actions; the rollbacks people ran are rolled back by name.
        var actions = Query(context, """
            SELECT id, seq, tool, agent, reversible, rolled_back_by, rollback_of FROM actions
            WHERE agent = @agent AND applied_at >= @from AND applied_at <= @to AND rolled_back_by IS NULL AND rollback_of IS NULL
            ORDER BY seq DESC
            """, ("@agent", request.Agent), ("@from", ToolContext.Timestamp(request.From.Value)), ("@to", ToolContext.Timestamp(request.To.Value)));
        return actions.Count == 0 ? SystemError.NotFound($"agent '{request.Agent}' has no actions to roll back in that window") : actions;
    }

    private static List<ActionRow> Query(ToolContext context, string sql, params (string, object?)[] parameters)
    {
        using var command = context.Command(sql, parameters);
        using var reader = command.ExecuteReader();
        var rows = new List<ActionRow>();
        while (reader.Read())
        {
            rows.Add(new ActionRow(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4) == 1,
                reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6)));
        }

        return rows;
    }

    /// <summary>
    /// One walk over the actions to undo, newest first, deciding change by change whether to
    /// restore. A rollback writes as it goes, so each decision sees the records as the newer
    /// restores left them. A preview (no journal) writes nothing: it keeps what it would have
    /// restored in a temporary table and reads records through it, so it takes every decision
    /// the run would take and lists exactly the conflicts the run would skip.
    /// </summary>
    private sealed class Walk
    {
        private readonly ToolContext _context;
        private readonly IReadOnlyList<ActionRow> _actions;
        private readonly ConflictResolution _resolution;
        private readonly Restorer? _writer;
        private readonly string _undoing;

        // Fields (or, "*", whole records) whose newer change in this rollback was kept as a
        // conflict, with the action that made it: an older change to them is not restored from
        // under it, even where the record holds what the older change wrote again.
        private readonly Dictionary<(string Table, string Key, string Column), string> _kept = [];
        private readonly Dictionary<(string Table, string Key), string> _keptRecords = [];
        private long _keptContacts;

        // A preview's restores so far (in temp.pictured), read over the records.
        private long _pictured;

        public Walk(ToolContext context, IReadOnlyList<ActionRow> actions, ConflictResolution resolution, ActionJournal? journal)
        {
            _context = context;
            _actions = actions;
            _resolution = resolution;
            _writer = journal is null ? null : new Restorer(context, journal);
            _undoing = JsonSerializer.Serialize(actions.Select(a => a.Id));
        }

        private bool Preview => _writer is null;

        public long Restored { get; private set; }

        public List<RollbackConflict> Skipped { get; } = [];

        public List<RollbackConflict> Overwritten { get; } = [];

        public void Run()
        {
            var (sql, text) = (_context.Sql, _context.Sql.Text);
            Execute($"DROP TABLE IF EXISTS {sql.Temp("kept")}; CREATE TEMP TABLE kept (record_key {text} NOT NULL, col {text} NOT NULL); {sql.TempIndex("kept_key", "kept", "record_key")};");
            if (Preview)
            {
                Execute($"""
                    DROP TABLE IF EXISTS {sql.Temp("pictured")}; CREATE TEMP TABLE pictured (table_name {text} NOT NULL, record_key {text} NOT NULL, operation {text} NOT NULL, before {text}{sql.InsertOrder});
                    {sql.TempIndex("pictured_key", "pictured", "table_name, record_key")};
                    """);
            }

            for (var i = 0; i < _actions.Count; i++)
            {
                var action = _actions[i];
                CleanContactEntries(action);
                Restored += Preview ? PictureCleanContacts(last: i == _actions.Count - 1) : RestoreCleanContacts();

                // Materialised per action: a rollback writes to the tables the entries are read against.
                foreach (var entry in Entries(action).ToList())
                {
                    var current = Preview ? Pictured(entry) : _context.Row(entry.Table, entry.Key);
                    if (Conflict(entry, current) is { } conflict)
                    {
                        if (_resolution == ConflictResolution.Skip)
                        {
                            Skipped.Add(conflict);
                            Keep(entry);
                            continue;
                        }

                        // Forced. A record gone since has nothing to restore into, and one already
                        // as the rollback would leave it needs nothing: both are left as they are.
                        if (!Changes(entry, current))
                        {
                            Skipped.Add(conflict);
                            continue;
                        }

                        Overwritten.Add(conflict);
                    }

                    if (Preview ? Picture(entry, current) : _writer!.Restore(entry, current))
                    {
                        Restored++;
                    }
                }

                Execute($"DROP TABLE {_context.Sql.Temp("clean")}");
            }

            Execute(Preview ? $"DROP TABLE {sql.Temp("kept")}; DROP TABLE {sql.Temp("pictured")}" : $"DROP TABLE {sql.Temp("kept")}");
        }

        /// <summary>
        /// Contact updates of one action whose record holds, in every field the update set, what
        /// it wrote, and whose fields no newer change of this rollback kept: restorable all at
        /// once by SQL, one statement per shape of image (the fields set), so undoing a change to
        /// a hundred thousand contacts never reads them one by one. Gathered into temp.clean with
        /// each contact's rowid, version, and whether restoring changes it at all (noop); the
        /// one-by-one path leaves them out. Every tool journals a contact's update once per
        /// action, so each contact is here once.
        /// </summary>
        private void CleanContactEntries(ActionRow action)
        {
            var (sql, text) = (_context.Sql, _context.Sql.Text);
            Execute($"DROP TABLE IF EXISTS {sql.Temp("clean")}; CREATE TEMP TABLE clean (seq INTEGER, rid {sql.ContactRowType}, record_key {text}, before {text}, after {text}, shape {text}, version INTEGER, noop INTEGER{sql.InsertOrder})");
            var shapes = _context.Keys(
                "SELECT DISTINCT columns FROM journal WHERE action_id = @a AND table_name = 'contacts' AND operation = 'update' AND columns IS NOT NULL",
                [new SqlArg("@a", action.Id)]).ToList();
            foreach (var shape in shapes)
            {
                var columns = shape.Split(',');
                if (columns.Any(c => !Tables.Contacts.Columns.Contains(c) || c is "id" or "version" or "updated_at"))
                {
                    continue; // not an image this path reads: left to the one-by-one path
                }

                // Columns of the table, by name: SQLite compares the image's values under the
                // column's type as it would a written one, so 5 and '5' agree in a text column.
                var holds = string.Join(" AND ", columns.Select(c => sql.Same($"c.\"{c}\"", sql.JsonField("j.after", c, Integer(c)))));
                var unchanged = string.Join(" AND ", columns.Select(c => sql.Same($"c.\"{c}\"", sql.JsonField("j.before", c, Integer(c)))));
                var list = string.Join(", ", columns.Append("*").Select(c => $"'{c}'"));
                var kept = _keptContacts == 0 ? "" : $"AND NOT EXISTS (SELECT 1 FROM {sql.Temp("kept")} k WHERE k.record_key = j.record_key AND k.col IN ({list}))";
                var pictured = _pictured == 0 ? "" : $"AND NOT EXISTS (SELECT 1 FROM {sql.Temp("pictured")} p WHERE p.table_name = 'contacts' AND p.record_key = j.record_key)";
                using var gather = _context.Command($"""
                    INSERT INTO {sql.Temp("clean")} (seq, rid, record_key, before, after, shape, version, noop)
                    SELECT j.seq, c.{sql.ContactRow}, j.record_key, j.before, j.after, j.columns, c.version, {sql.Flag(unchanged)}
                    FROM journal j JOIN contacts c ON c.id = j.record_key
                    WHERE j.action_id = @a AND j.table_name = 'contacts' AND j.operation = 'update' AND j.columns = @shape AND {holds} {kept} {pictured}
                    """, ("@a", action.Id), ("@shape", shape));
                gather.ExecuteNonQuery();
            }
        }

        /// <summary>
        /// Restores the clean contact updates, two statements per shape of image, journaling them.
        /// The records hold the action's after-image in the fields it set, so the rollback's
        /// before-image is that image and its after-image the action's before-image, both copied
        /// from the journal under the contact's version now, not rebuilt from rows.
        /// </summary>
        private long RestoreCleanContacts()
        {
            long restored = 0;
            var sql = _context.Sql;
            var clean = sql.Temp("clean");
            var span = _context.Count($"SELECT coalesce(max({sql.Ordinal}), 0) FROM {clean}");
            foreach (var shape in _context.Keys($"SELECT DISTINCT shape FROM {clean} WHERE noop = 0").ToList())
            {
                var parameters = new[] { new SqlArg("@shape", shape), new SqlArg("@now", _context.NowText) };
                _writer!.Journal.JournalNumberedRows(Tables.Contacts, "update",
                    $"SELECT {sql.Ordinal} AS ordinal, record_key, {sql.WithVersion("after", "version")} AS before, {sql.WithVersion("before", "version + 1")} AS after, " +
                    $"shape AS columns, version + 1 AS version FROM {clean} WHERE shape = @shape AND noop = 0",
                    parameters, span, updates: true);
                restored += _writer.Journal.Execute($"""
                    UPDATE contacts SET {string.Join(", ", shape.Split(',').Select(c => $"\"{c}\" = {sql.JsonField("k.before", c, Integer(c))}"))}, version = contacts.version + 1, updated_at = @now
                    FROM {clean} k
                    WHERE k.rid = contacts.{sql.ContactRow} AND k.shape = @shape AND k.noop = 0
                    """, parameters);
            }

            return restored;
        }

        /// <summary>A preview's counterpart of <see cref="RestoreCleanContacts"/>: counts them, and pictures them for older actions.</summary>
        private long PictureCleanContacts(bool last)
        {
            var restorable = _context.Count($"SELECT count(*) FROM {_context.Sql.Temp("clean")} WHERE noop = 0");
            if (restorable > 0 && !last)
            {
                _pictured += Execute($"INSERT INTO {_context.Sql.Temp("pictured")} (table_name, record_key, operation, before) SELECT 'contacts', record_key, 'update', before FROM {_context.Sql.Temp("clean")} WHERE noop = 0");
            }

            return restorable;
        }

        /// <summary>A journaled image as an element of its own: the document it was parsed from is returned to the pool at once.</summary>
        private static JsonElement Image(string json)
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.Clone();
        }

        /// <summary>An action's journal, newest first, leaving out the entries handled in bulk (those in temp.clean).</summary>
        private IEnumerable<Entry> Entries(ActionRow action)
        {
            if (_context.Count("SELECT count(*) FROM journal WHERE action_id = @a", ("@a", action.Id)) == _context.Count($"SELECT count(*) FROM {_context.Sql.Temp("clean")}"))
            {
                yield break; // all handled in bulk: the common case of one large update
            }

            using var command = _context.Command($"""
                SELECT seq, table_name, record_key, operation, before, after FROM journal
                WHERE action_id = @a AND seq NOT IN (SELECT seq FROM {_context.Sql.Temp("clean")}) ORDER BY seq DESC
                """, ("@a", action.Id));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                yield return new Entry(action, reader.GetInt64(0), Tables.ByName[reader.GetString(1)], reader.GetString(2), reader.GetString(3),
                    reader.IsDBNull(4) ? null : Image(reader.GetString(4)),
                    reader.IsDBNull(5) ? null : Image(reader.GetString(5)));
            }
        }

        /// <summary>Why restoring the entry would overwrite a later change; null when it would not.</summary>
        private RollbackConflict? Conflict(Entry entry, Dictionary<string, object?>? current)
        {
            if (!Holds(entry.After, current))
            {
                var reason = current is null ? "deleted since" : entry.After is null ? "added again since" : "changed since";
                return new RollbackConflict(entry.Action.Id, entry.Table.Name, entry.Key, LaterAction(entry) is { } culprit ? $"{reason} by {culprit}" : $"{reason}, outside Warden");
            }

            return Keeper(entry) is { } keeper
                ? new RollbackConflict(entry.Action.Id, entry.Table.Name, entry.Key, $"changed since by {keeper}, whose change is kept")
                : null;
        }

        /// <summary>The newest action after the entry's, and not undone here, that wrote the record.</summary>
        private string? LaterAction(Entry entry) => _context.Text($"""
            SELECT a.id FROM actions a
            WHERE a.seq > @seq AND a.id NOT IN ({_context.Sql.Values("@undoing")})
              AND EXISTS (SELECT 1 FROM journal j WHERE j.action_id = a.id AND j.table_name = @t AND j.record_key = @k)
            ORDER BY a.seq DESC LIMIT 1
            """, ("@seq", entry.Action.Seq), ("@undoing", _undoing), ("@t", entry.Table.Name), ("@k", entry.Key));

        private string? Keeper(Entry entry)
        {
            if (_keptRecords.Count == 0)
            {
                return null;
            }

            if (_kept.TryGetValue((entry.Table.Name, entry.Key, "*"), out var whole))
            {
                return whole;
            }

            if (entry.Operation != "update" || entry.After is not { } image)
            {
                return _keptRecords.GetValueOrDefault((entry.Table.Name, entry.Key));
            }

            return Compared(image).Select(p => _kept.GetValueOrDefault((entry.Table.Name, entry.Key, p.Name))).FirstOrDefault(a => a is not null);
        }

        private void Keep(Entry entry)
        {
            List<string> columns = entry.Operation == "update" && entry.After is { } image ? [.. Compared(image).Select(p => p.Name)] : ["*"];
            _keptRecords.TryAdd((entry.Table.Name, entry.Key), entry.Action.Id);
            foreach (var column in columns)
            {
                _kept.TryAdd((entry.Table.Name, entry.Key, column), entry.Action.Id);
                if (entry.Table == Tables.Contacts)
                {
                    using var insert = _context.Command($"INSERT INTO {_context.Sql.Temp("kept")} (record_key, col) VALUES (@k, @c)", ("@k", entry.Key), ("@c", column));
                    _keptContacts += insert.ExecuteNonQuery();
                }
            }
        }

        /// <summary>The record as the run would find it: as stored, with the restores this preview pictured so far.</summary>
        private Dictionary<string, object?>? Pictured(Entry entry)
        {
            var state = _context.Row(entry.Table, entry.Key);
            if (_pictured == 0)
            {
                return state;
            }

            using var command = _context.Command($"SELECT operation, before FROM {_context.Sql.Temp("pictured")} WHERE table_name = @t AND record_key = @k ORDER BY {_context.Sql.Ordinal}",
                ("@t", entry.Table.Name), ("@k", entry.Key));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var before = reader.IsDBNull(1) ? (JsonElement?)null : Image(reader.GetString(1));
                state = reader.GetString(0) switch
                {
                    "update" when state is not null && before is { } image => With(state, image),
                    "update" => state,
                    _ => before is { } row ? With(new Dictionary<string, object?>(StringComparer.Ordinal), row) : null,
                };
            }

            return state;
        }

        private bool Picture(Entry entry, Dictionary<string, object?>? current)
        {
            if (!Changes(entry, current))
            {
                return false;
            }

            using var insert = _context.Command($"INSERT INTO {_context.Sql.Temp("pictured")} (table_name, record_key, operation, before) VALUES (@t, @k, @o, @b)",
                ("@t", entry.Table.Name), ("@k", entry.Key), ("@o", entry.Operation), ("@b", entry.Before?.GetRawText()));
            _pictured += insert.ExecuteNonQuery();
            return true;
        }

        private static Dictionary<string, object?> With(Dictionary<string, object?> row, JsonElement image)
        {
            var copy = new Dictionary<string, object?>(row, StringComparer.Ordinal);
            foreach (var property in image.EnumerateObject())
            {
                copy[property.Name] = ValueOf(property.Value) is DBNull ? null : ValueOf(property.Value);
            }

            return copy;
        }

        private long Execute(string sql)
        {
            using var command = _context.Command(sql);
            return command.ExecuteNonQuery();
        }
    }

    /// <summary>The fields of an image that say whether a record holds it: all but the bookkeeping every write moves.</summary>
    private static IEnumerable<JsonProperty> Compared(JsonElement image) => image.EnumerateObject().Where(p => p.Name is not ("version" or "updated_at"));

    /// <summary>Whether the record is as an image says: absent for no image, else equal in every compared field.</summary>
    private static bool Holds(JsonElement? image, Dictionary<string, object?>? row) => image is not { } fields
        ? row is null
        : row is not null && Compared(fields).All(p => row.TryGetValue(p.Name, out var value) && Same(value, p.Value));

    /// <summary>
    /// Whether restoring the entry over the record as it is changes anything: an update writes its
    /// before-image's fields into a record that exists and differs; an insert is taken away (or
    /// the row it replaced put back); a delete puts its row back unless that row is there.
    /// </summary>
    private static bool Changes(Entry entry, Dictionary<string, object?>? current) => entry.Operation switch
    {
        "update" => current is not null && !Holds(entry.Before, current),
        "insert" => entry.Before is { } replaced ? !Holds(replaced, current) : current is not null,
        _ => !Holds(entry.Before, current),
    };

    /// <summary>Whether a contact column holds integers: how an image's value is read back in SQL.</summary>
    private static bool Integer(string column) => WorkspaceCatalogue.IntegerColumns.Contains("contacts." + column);

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

    /// <summary>Writes one restoration and journals it under the rollback's own action, so the rollback can be rolled back.</summary>
    private sealed class Restorer(ToolContext context, ActionJournal journal)
    {
        public ActionJournal Journal => journal;

        /// <summary>Restores the entry's before-image; false when that changes nothing (so nothing is written or counted).</summary>
        public bool Restore(Entry entry, Dictionary<string, object?>? current)
        {
            if (!Changes(entry, current))
            {
                return false;
            }

            var table = entry.Table;
            switch (entry.Operation)
            {
                case "update":
                    Update(entry, current!);
                    return true;
                case "insert" when entry.Before is null:
                    Execute($"DELETE FROM {table.Name} WHERE {table.KeyWhere}", Keys(entry));
                    journal.Record(table, entry.Key, "delete", ActionJournal.Image(current!), null);
                    return true;
                default:
                    // A delete undone, or an insert that replaced a row (a forced undo of a delete)
                    // undone: the journaled row goes back in place of whatever is there.
                    if (current is not null)
                    {
                        Execute($"DELETE FROM {table.Name} WHERE {table.KeyWhere}", Keys(entry));
                    }

                    var row = entry.Before!.Value.EnumerateObject().ToList();
                    Execute($"INSERT INTO {table.Name} ({string.Join(", ", row.Select(p => $"\"{p.Name}\""))}) VALUES ({string.Join(", ", row.Select((_, i) => $"@v{i}"))})",
                        row.Select((p, i) => new SqlArg($"@v{i}", ValueOf(p.Value))));
                    journal.Record(table, entry.Key, "insert", current is null ? null : ActionJournal.Image(current), entry.Before.Value.GetRawText());
                    return true;
            }
        }

        private void Update(Entry entry, Dictionary<string, object?> current)
        {
            var table = entry.Table;
            var before = Compared(entry.Before!.Value).ToList();
            var set = before.Select((p, i) => $"\"{p.Name}\" = @v{i}").ToList();
            var parameters = Keys(entry).Concat(before.Select((p, i) => new SqlArg($"@v{i}", ValueOf(p.Value)))).ToList();
            var was = before.ToDictionary(p => p.Name, p => current.GetValueOrDefault(p.Name));
            var now = before.ToDictionary(p => p.Name, p => ValueOf(p.Value) is DBNull ? null : (object?)ValueOf(p.Value));
            if (table.Versioned)
            {
                var version = Number(current, "version") + 1;
                set.Add("version = @version");
                parameters.Add(new SqlArg("@version", version));
                was["version"] = version - 1;
                now["version"] = version;
            }

            if (table.HasUpdatedAt)
            {
                set.Add("updated_at = @now");
                parameters.Add(new SqlArg("@now", context.NowText));
            }

            Execute($"UPDATE {table.Name} SET {string.Join(", ", set)} WHERE {table.KeyWhere}", parameters);
            journal.Record(table, entry.Key, "update", ActionJournal.Image(was), ActionJournal.Image(now));
        }

        private static List<SqlArg> Keys(Entry entry) => [.. entry.Table.SplitKey(entry.Key).Select((p, i) => new SqlArg($"@k{i}", p))];

        private void Execute(string sql, IEnumerable<SqlArg> parameters)
        {
            using var command = context.Command(sql, parameters);
            command.ExecuteNonQuery();
        }
    }
}
