using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Warden.Core;
using Warden.Workspace.Journal;
using Warden.Workspace.Tools;

namespace Warden.Workspace;

/// <summary>
/// The built-in marketing workspace as a governed system: every tool call is planned first
/// (nothing written), then applied against the plan it was approved on (refused if the affected
/// set changed), with a journal of before-images in the same transaction, and can be rolled back.
/// </summary>
public sealed class MarketingWorkspace : IGovernedSystem
{
    private readonly WorkspaceStore _store;
    private readonly TimeProvider _clock;
    private readonly Func<string, IReadOnlyList<string>> _classesOf;
    private readonly Dictionary<string, WorkspaceTool> _tools;

    /// <param name="store">The database.</param>
    /// <param name="clock">Time for timestamps and action ids.</param>
    /// <param name="classesOf">The data classes of a field, usually <see cref="Policy.ClassesOf"/>.</param>
    public MarketingWorkspace(WorkspaceStore store, TimeProvider? clock = null, Func<string, IReadOnlyList<string>>? classesOf = null)
    {
        _store = store;
        _clock = clock ?? TimeProvider.System;
        _classesOf = classesOf ?? (_ => []);
        _tools = ToolRegistry.All().ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The tools, as the catalogue defines them.</summary>
    public static IReadOnlyList<ToolDefinition> Tools => WorkspaceCatalogue.Tools;

    /// <inheritdoc />
    public SystemCatalogue Catalogue => WorkspaceCatalogue.Catalogue;

    /// <inheritdoc />
    ValueTask<SystemResult<Plan>> IGovernedSystem.PlanAsync(ToolCall call, CancellationToken cancellationToken) => new(Plan(call));

    /// <inheritdoc />
    ValueTask<SystemResult<RollbackPlan>> IGovernedSystem.PlanRollbackAsync(RollbackRequest request, CancellationToken cancellationToken) => new(PlanRollback(request));

    /// <summary>Works out what a call would do. Never writes.</summary>
    public SystemResult<Plan> Plan(ToolCall call)
    {
        if (!_tools.TryGetValue(call.Tool, out var tool))
        {
            return SystemError.UnknownTool(call.Tool, "workspace", Core.Diagnostics.Suggest.Hint(call.Tool, _tools.Keys));
        }

        var args = ArgumentReader.Read(tool.Definition, call.Arguments);
        if (!args.Succeeded)
        {
            return args.Error!;
        }

        // Taken before the snapshot: a write it misses committed before the snapshot began.
        var generation = _store.Generation;
        using var connection = _store.Connect();
        // One read transaction: every query of the plan sees the same snapshot.
        using var transaction = WorkspaceStore.BeginRead(connection);
        var context = new ToolContext(connection, transaction, _clock.GetUtcNow(), _classesOf);
        var prepared = tool.Prepare(args.Value!, context);
        if (!prepared.Succeeded)
        {
            return prepared.Error!;
        }

        var change = prepared.Value!;
        var (hash, affected, records, sample) = HashKeys(call, tool.Definition, change, context);
        if (change.Check(context, records) is { } refusal)
        {
            return refusal;
        }

        var details = change.Describe(context, records);
        var dependents = Dependents(context, details.FieldsChanged).Concat(change.MoreDependents(context)).Distinct().ToList();
        var classes = Classes(details);
        var summary = dependents.Count == 0 ? details.Summary : $"{details.Summary} {DescribeDependents(dependents)}";
        return new WorkspacePlan(change, call, tool.Definition, hash, affected, records, sample, details.FieldsRead, details.FieldsChanged, classes, details.Changes, details.Sample,
            dependents, details.Recipients, details.Excluded ?? [], summary, details.Deleted, details.Destination, details.Message) { Generation = generation };
    }

    /// <summary>
    /// Carries out a plan: re-computes the affected set in the write transaction and refuses when
    /// it differs from the plan's (the world changed since it was approved); otherwise writes the
    /// change and its journal in one transaction, which <paramref name="control"/> can stop while
    /// it runs (nothing written); a send goes out in batches, each committed as it is sent, and
    /// stops between them with what went out recorded.
    /// </summary>
    public async Task<SystemResult<AppliedAction>> ApplyAsync(Plan plan, ApplyControl? control = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan is not WorkspacePlan own)
        {
            return SystemError.Refused($"the plan for {plan.Tool.Name} was not made by the workspace; it applies only plans it made");
        }

        control ??= DefaultControl;
        var now = _clock.GetUtcNow();
        if (own.Change.IsRead)
        {
            // What the plan read is what a read now would return while nothing has been written
            // since: handed on, it spares a second transaction querying the same row. A read held
            // for people is planned again when it runs, and any write in between moves the
            // generation, so neither is answered from an old snapshot. Not when the workspace is
            // shared: another replica's writes do not move this one's generation.
            if (own.Change is ReadChange { Planned: { } planned } && !_store.Shared && own.Generation == _store.Generation)
            {
                return new AppliedAction("", plan.Tool.Name, plan.Records, true, planned);
            }

            using var reader = _store.Connect();
            using var snapshot = WorkspaceStore.BeginRead(reader);
            var reading = new ToolContext(reader, snapshot, now, _classesOf);
            return new AppliedAction("", plan.Tool.Name, plan.Records, true, own.Change.Read(reading));
        }

        if (own.Change is SendChange send)
        {
            return await DeliverAsync(plan, send, control, now, cancellationToken).ConfigureAwait(false);
        }

        using var lease = await _store.WriteAsync(cancellationToken).ConfigureAwait(false);
        var connection = lease.Connection;
        using var transaction = WorkspaceStore.BeginWrite(connection);
        var context = new ToolContext(connection, transaction, now, _classesOf, writing: true);
        var actionId = NewActionId(now);
        JsonElement output;
        long records;
        string? stopped = null;
        using (new StopWatcher(_store, connection, control, reason => stopped = reason))
        {
            try
            {
                (var hash, _, records, _) = HashKeys(plan.Call, plan.Tool, own.Change, context);
                if (hash != plan.Hash)
                {
                    return Stale(plan, records);
                }

                using var journal = new ActionJournal(connection, transaction, actionId);
                output = own.Change.Write(context, journal);
            }
            catch (DbException e) when (stopped is not null && StopWatcher.Interrupted(e))
            {
                // The database rolled the transaction back when it interrupted the statement: nothing changed.
                return SystemError.Stopped($"{plan.Tool.Name} was stopped while it ran ({stopped}); nothing was written");
            }
        }

        if (stopped is not null)
        {
            // PostgreSQL drops a cancel that reaches the connection between two statements: the
            // stop still holds, and the transaction, not committed, is rolled back.
            return SystemError.Stopped($"{plan.Tool.Name} was stopped while it ran ({stopped}); nothing was written");
        }

        var reversible = plan.Tool.Reversibility != Reversibility.Irreversible;
        RecordAction(context, actionId, plan, records, reversible);
        transaction.Commit();
        _store.Checkpoint();
        return new AppliedAction(actionId, plan.Tool.Name, records, reversible, output) { Done = records };
    }

    /// <summary>
    /// Asks the control whether to stop while a write runs, and if so interrupts the statement; the
    /// database then rolls the transaction back. SQLite: through its progress handler (every
    /// <see cref="ApplyControl.CheckEvery"/> steps), removed when disposed, as the write connection
    /// is shared. PostgreSQL: asked every 50 ms, and the statement cancelled by the server.
    /// </summary>
    private sealed class StopWatcher : IDisposable
    {
        private readonly SQLitePCL.sqlite3? _handle;
        private readonly Timer? _timer;

        public StopWatcher(WorkspaceStore store, DbConnection connection, ApplyControl control, Action<string> stopped)
        {
            if (control.Stop is not { } stop)
            {
                return;
            }

            if (connection is SqliteConnection sqlite)
            {
                _handle = sqlite.Handle!;
                SQLitePCL.raw.sqlite3_progress_handler(_handle, Math.Max(1, control.CheckEvery), _ =>
                {
                    if (stop() is not { } reason)
                    {
                        return 0;
                    }

                    stopped(reason);
                    return 1;
                }, null);
                return;
            }

            var backend = ((Npgsql.NpgsqlConnection)connection).ProcessID;
            var cancelled = 0;
            _timer = new Timer(_ =>
            {
                if (Volatile.Read(ref cancelled) == 0 && stop() is { } reason && Interlocked.Exchange(ref cancelled, 1) == 0)
                {
                    // Only while the write runs: once it is done, its pooled connection (the same
                    // server process) may be running another write, which a cancel would stop instead.
                    lock (_watching)
                    {
                        if (!_done)
                        {
                            stopped(reason);
                            Cancel(store, backend);
                        }
                    }
                }
            }, null, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(50));
        }

        private readonly Lock _watching = new();
        private bool _done;

        /// <summary>The statement was interrupted on the watcher's word.</summary>
        public static bool Interrupted(DbException e) =>
            e is SqliteException { SqliteErrorCode: SQLitePCL.raw.SQLITE_INTERRUPT } || e is Npgsql.PostgresException { SqlState: "57014" };

        private static void Cancel(WorkspaceStore store, int backend)
        {
            try
            {
                // From another connection: the writing one is busy with the statement.
                using var connection = store.Connect();
                using var command = connection.CreateCommand();
                command.CommandText = "SELECT pg_cancel_backend(@backend)";
                command.Bind("@backend", backend);
                command.ExecuteNonQuery();
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidOperationException)
            {
                // Nothing running (it finished meanwhile), or the server is gone: the write ends either way.
            }
        }

        public void Dispose()
        {
            lock (_watching)
            {
                _done = true;
            }

            _timer?.Dispose();
            if (_handle is not null)
            {
                SQLitePCL.raw.sqlite3_progress_handler(_handle, 0, null, null);
            }
        }
    }

    private static readonly ApplyControl DefaultControl = new();

    private static SystemError Stale(Plan plan, long records) => SystemError.StalePlan(records == plan.Records
        ? $"the records {plan.Tool.Name} would change are not the ones planned ({records:N0} now, the same number but not the same records); plan again"
        : $"the records {plan.Tool.Name} would change are not the ones planned: {plan.Records:N0} then, {records:N0} now; plan again");

    private static void RecordAction(ToolContext context, string actionId, Plan plan, long records, bool reversible)
    {
        using var action = context.Command(
            $"INSERT INTO actions (id, seq, tool, arguments, plan_hash, agent, applied_at, records, reversible) VALUES (@id, {ActionJournal.NextAction}, @tool, @args, @hash, @agent, @at, @records, @reversible)",
            ("@id", actionId), ("@tool", plan.Tool.Name), ("@args", CanonicalJson.Text(plan.Call.Arguments)), ("@hash", plan.Hash),
            ("@agent", plan.Call.Agent), ("@at", context.NowText), ("@records", records), ("@reversible", reversible ? 1 : 0));
        action.ExecuteNonQuery();
    }

    /// <summary>
    /// A send, in batches: the first transaction checks the plan's hash, queues the recipients and
    /// records the action; each batch is its own transaction, so what went out stays sent and
    /// other writers are not held up by a long send; between batches the control may stop it,
    /// and the last transaction says how far it got.
    /// </summary>
    private async Task<SystemResult<AppliedAction>> DeliverAsync(Plan plan, SendChange send, ApplyControl control, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var actionId = NewActionId(now);
        long queued;
        long entries;
        using (var lease = await _store.WriteAsync(cancellationToken).ConfigureAwait(false))
        {
            using var transaction = WorkspaceStore.BeginWrite(lease.Connection);
            var context = new ToolContext(lease.Connection, transaction, now, _classesOf, writing: true);
            var (hash, _, records, _) = HashKeys(plan.Call, plan.Tool, send, context);
            if (hash != plan.Hash)
            {
                return Stale(plan, records);
            }

            using var journal = new ActionJournal(lease.Connection, transaction, actionId);
            queued = send.Queue(context, journal);
            RecordAction(context, actionId, plan, queued, reversible: false);
            entries = journal.Entries;
            transaction.Commit();
        }

        long sent = 0;
        string? stopped = null;
        var batch = Math.Max(1, control.BatchSize);
        for (long from = 1; from <= queued; from += batch)
        {
            if (from > 1 && control.Pause > TimeSpan.Zero)
            {
                // Paced without holding a thread: a send may take minutes at a mail service's rate.
                await Task.Delay(control.Pause, _clock, CancellationToken.None).ConfigureAwait(false);
            }

            if (from > 1 && control.Stop?.Invoke() is { } reason)
            {
                stopped = reason;
                break;
            }

            using var lease = await _store.WriteAsync(CancellationToken.None).ConfigureAwait(false);
            using var transaction = WorkspaceStore.BeginWrite(lease.Connection);
            var context = new ToolContext(lease.Connection, transaction, _clock.GetUtcNow(), _classesOf, writing: true);
            if (!SendChange.StillQueued(context, actionId))
            {
                return EndedElsewhere(plan, send, actionId, queued, sent);
            }

            using var journal = new ActionJournal(lease.Connection, transaction, actionId, entries);
            sent += send.Deliver(context, journal, from, from + batch - 1);
            entries = journal.Entries;
            transaction.Commit();
        }

        JsonElement output;
        using (var lease = await _store.WriteAsync(CancellationToken.None).ConfigureAwait(false))
        {
            using var transaction = WorkspaceStore.BeginWrite(lease.Connection);
            var context = new ToolContext(lease.Connection, transaction, _clock.GetUtcNow(), _classesOf, writing: true);
            if (queued > 0 && !SendChange.StillQueued(context, actionId))
            {
                return EndedElsewhere(plan, send, actionId, queued, sent);
            }

            using var journal = new ActionJournal(lease.Connection, transaction, actionId, entries);
            output = send.Finish(context, journal, queued, sent, stopped);
            transaction.Commit();
        }

        _store.Checkpoint();
        return new AppliedAction(actionId, plan.Tool.Name, queued, false, output) { Stopped = stopped, Done = sent };
    }

    /// <summary>
    /// A send whose queue another replica emptied, ending it as stopped (its recovery took the send
    /// for one a stopped gateway left): it is ended already, and its journal goes on from there, so
    /// this one sends and writes no more.
    /// </summary>
    private static AppliedAction EndedElsewhere(Plan plan, SendChange send, string actionId, long queued, long sent)
    {
        const string stopped = "another replica ended it as stopped, taking it for a send a stopped gateway left";
        return new AppliedAction(actionId, plan.Tool.Name, queued, false, send.EndedElsewhere(queued, sent, stopped)) { Stopped = stopped, Done = sent };
    }

    /// <summary>Works out what a rollback would restore and which records conflict. Never writes.</summary>
    public SystemResult<RollbackPlan> PlanRollback(RollbackRequest request)
    {
        using var connection = _store.Connect();
        using var transaction = WorkspaceStore.BeginRead(connection);
        var context = new ToolContext(connection, transaction, _clock.GetUtcNow(), _classesOf);
        return Rollback.Plan(context, request);
    }

    /// <summary>Undoes actions by restoring their before-images; conflicts are skipped or forced as asked. The rollback is itself journaled.</summary>
    public async Task<SystemResult<RollbackResult>> RollBackAsync(RollbackRequest request, ConflictResolution resolution, string actor, CancellationToken cancellationToken = default)
    {
        using var lease = await _store.WriteAsync(cancellationToken).ConfigureAwait(false);
        using var transaction = WorkspaceStore.BeginWrite(lease.Connection);
        var now = _clock.GetUtcNow();
        var context = new ToolContext(lease.Connection, transaction, now, _classesOf, writing: true);
        var result = Rollback.Run(context, request, resolution, actor, NewActionId(now));
        if (result.Succeeded)
        {
            transaction.Commit();
            _store.Checkpoint();
        }

        return result;
    }

    /// <summary>The contact fields a filter (a search filter, a segment rule, a scoring or routing condition) tests, as table.field; null when it does not compile.</summary>
    public static IReadOnlyList<string>? FieldsTestedBy(string filter) => ContactFilter.Compile(filter, "f", WorkspaceSql.Sqlite, out _)?.Fields;

    /// <summary>
    /// The action applied by <paramref name="agent"/> (or the person rolling back) with <paramref name="tool"/>
    /// (or 'rollback') from a plan with this hash (empty for a rollback), at or after
    /// <paramref name="since"/>: how a restart tells whether a change it had started was applied.
    /// </summary>
    public string? ActionSince(string agent, string tool, string planHash, DateTimeOffset since)
    {
        using var connection = _store.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM actions WHERE agent = @agent AND tool = @tool AND plan_hash = @hash AND applied_at >= @since ORDER BY seq DESC LIMIT 1";
        command.Bind("@agent", agent);
        command.Bind("@tool", tool);
        command.Bind("@hash", planHash);
        command.Bind("@since", ToolContext.Timestamp(since));
        return command.ExecuteScalar() as string;
    }

    /// <summary>
    /// Sends a stopped gateway left half-way (recipients still queued): each is ended as stopped,
    /// so its campaign can be sent again to the rest, never twice to anyone. Returns each send's
    /// action with how many it had sent of how many it queued.
    /// </summary>
    public async Task<IReadOnlyList<InterruptedSend>> StopInterruptedAsync(DateTimeOffset? begunBefore = null, CancellationToken cancellationToken = default)
    {
        using var lease = await _store.WriteAsync(cancellationToken).ConfigureAwait(false);
        using var transaction = WorkspaceStore.BeginWrite(lease.Connection);
        var context = new ToolContext(lease.Connection, transaction, _clock.GetUtcNow(), _classesOf, writing: true);
        var stopped = new List<InterruptedSend>();
        var begun = begunBefore is { } before ? " WHERE action_id IN (SELECT id FROM actions WHERE applied_at < @before)" : "";
        foreach (var actionId in context.Keys($"SELECT DISTINCT action_id FROM send_queue{begun} ORDER BY action_id",
                     begunBefore is { } at ? [new SqlArg("@before", ToolContext.Timestamp(at))] : []).ToList())
        {
            var arguments = context.Text("SELECT arguments FROM actions WHERE id = @id", ("@id", actionId));
            string? campaign = null;
            if (arguments is not null)
            {
                using var parsed = JsonDocument.Parse(arguments);
                campaign = parsed.RootElement.TryGetProperty("campaign", out var c) ? c.GetString() : null;
            }

            var queued = context.Count("SELECT coalesce((SELECT records FROM actions WHERE id = @id), 0)", ("@id", actionId));
            var sent = context.Count("SELECT count(*) FROM journal WHERE action_id = @id AND table_name = 'campaign_sends'", ("@id", actionId));
            using var journal = new ActionJournal(lease.Connection, transaction, actionId, context.Count("SELECT coalesce(max(seq), 0) FROM journal WHERE action_id = @id", ("@id", actionId)));
            if (campaign is not null && context.Row(Tables.Campaigns, campaign) is not null)
            {
                SendChange.StopInterrupted(context, journal, campaign);
            }
            else
            {
                journal.Execute("DELETE FROM send_queue WHERE action_id = @action", [new SqlArg("@action", actionId)]);
            }

            stopped.Add(new InterruptedSend(actionId, sent, queued));
        }

        transaction.Commit();
        return stopped;
    }

    /// <summary>
    /// The agent whose work an action changed: the agent that applied it, or for a rollback (run by
    /// a person) the agent of the actions it undid; null when there is no such action.
    /// </summary>
    public string? AgentOf(string actionId)
    {
        using var connection = _store.Connect();
        using var transaction = WorkspaceStore.BeginRead(connection);
        return Rollback.AgentOf(new ToolContext(connection, transaction, _clock.GetUtcNow(), _classesOf), actionId);
    }

    /// <summary>The action applied from a plan with this hash by this agent, if there is one: how a restart tells whether an approved call ran.</summary>
    public string? ActionWithPlan(string agent, string planHash)
    {
        using var connection = _store.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM actions WHERE agent = @agent AND plan_hash = @hash ORDER BY seq DESC LIMIT 1";
        command.Bind("@agent", agent);
        command.Bind("@hash", planHash);
        return command.ExecuteScalar() as string;
    }

    private static (string Hash, string Affected, long Records, IReadOnlyList<string> Sample) HashKeys(ToolCall call, ToolDefinition tool, Change change, ToolContext context)
    {
        // The hash binds the canonical call (tool and its definition, arguments, agent,
        // environment) to the exact affected set, streamed so no key list is held in memory. The
        // affected hash is the tool and the set alone: the same request put in other words.
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var affected = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        affected.AppendData(Encoding.UTF8.GetBytes(tool.System + "/" + tool.Name));
        AppendHeader(hash, call, tool, change.Binding(context));
        long records = 0;
        var sample = new List<string>();
        Span<byte> line = stackalloc byte[128];
        foreach (var key in change.Keys(context))
        {
            // The separator and the key as one line, on the stack when it fits (keys are short ids).
            var length = Encoding.UTF8.GetMaxByteCount(key.Length) + 1;
            var bytes = length <= line.Length ? line : new byte[length];
            bytes[0] = (byte)'\n';
            bytes = bytes[..(Encoding.UTF8.GetBytes(key, bytes[1..]) + 1)];
            hash.AppendData(bytes);
            affected.AppendData(bytes);
            if (records++ < 10)
            {
                sample.Add(key);
            }
        }

        return ("sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset()), "sha256:" + Convert.ToHexStringLower(affected.GetHashAndReset()), records, sample);
    }

    /// <summary>The data classes a plan touches, distinct and in order: a plain loop, since every call is planned and a plan names a few classes.</summary>
    private List<string> Classes(PlanDetails details)
    {
        var classes = new List<string>(4);
        void Add(IEnumerable<string> more)
        {
            foreach (var name in more)
            {
                if (!classes.Contains(name))
                {
                    classes.Add(name);
                }
            }
        }

        foreach (var field in details.FieldsRead)
        {
            Add(_classesOf(field));
        }

        foreach (var field in details.FieldsChanged)
        {
            Add(_classesOf(field));
        }

        Add(details.Classes);
        Add(ConsentLedger.ClassesOf(details.FieldsChanged));
        classes.Sort(StringComparer.Ordinal);
        return classes;
    }

    /// <summary>
    /// The canonical JSON (<see cref="CanonicalJson"/>) of the call a plan hash binds: its keys
    /// written in their sorted order, the arguments canonical, wrapped with the binding when there
    /// is one. Written directly because every call is planned: building the object and sorting it
    /// back cost a tenth of a point read's plan.
    /// </summary>
    private static void AppendHeader(IncrementalHash hash, ToolCall call, ToolDefinition tool, string? binding) => JsonScratch.Write(
        (hash, call, tool, binding),
        static (json, header) => WriteHeader(json, header.call, header.tool, header.binding),
        static (header, state) =>
        {
            state.hash.AppendData(header);
            return 0;
        });

    /// <summary>The header's bytes, as <see cref="AppendHeader"/> hashes them.</summary>
    internal static byte[] Header(ToolCall call, ToolDefinition tool, string? binding) => JsonScratch.Write(
        (call, tool, binding),
        static (json, header) => WriteHeader(json, header.call, header.tool, header.binding),
        static (header, _) => header.ToArray());

    private static void WriteHeader(Utf8JsonWriter json, ToolCall call, ToolDefinition tool, string? binding)
    {
        if (binding is not null)
        {
            json.WriteStartObject();
            json.WriteString("binding", binding);
            json.WritePropertyName("call");
        }

        json.WriteStartObject();
        json.WriteString("agent", call.Agent);
        json.WritePropertyName("arguments");
        json.WriteRawValue(call.Arguments.ValueKind == JsonValueKind.Undefined ? "{}"u8 : CanonicalJson.Bytes(call.Arguments), skipInputValidation: true);
        json.WriteString("environment", call.Environment);
        json.WriteBoolean("external", tool.External);
        json.WriteString("kind", tool.Kind.ToString());
        json.WriteString("reversibility", tool.Reversibility.ToString());
        json.WriteString("system", tool.System);
        json.WriteString("tool", tool.Name);
        json.WriteEndObject();
        if (binding is not null)
        {
            json.WriteEndObject();
        }
    }

    private static List<Dependent> Dependents(ToolContext context, IReadOnlyList<string> fields)
    {
        if (fields.Count == 0)
        {
            return [];
        }

        using var command = context.Command($"""
            SELECT d.object_kind, d.object_id, d.field, coalesce(s.name, sr.name, rr.name, a.destination, r.name, d.object_id)
            FROM field_dependencies d
            LEFT JOIN segments s ON d.object_kind = 'segment' AND s.id = d.object_id
            LEFT JOIN scoring_rules sr ON d.object_kind = 'scoring_rule' AND sr.id = d.object_id
            LEFT JOIN routing_rules rr ON d.object_kind = 'routing_rule' AND rr.id = d.object_id
            LEFT JOIN audience_syncs a ON d.object_kind = 'audience_sync' AND a.id = d.object_id
            LEFT JOIN reports r ON d.object_kind = 'report' AND r.id = d.object_id
            WHERE d.field IN ({context.Sql.Values("@fields")})
            ORDER BY d.field, d.object_kind, d.object_id
            """, ("@fields", JsonSerializer.Serialize(fields)));
        using var reader = command.ExecuteReader();
        var dependents = new List<Dependent>();
        while (reader.Read())
        {
            dependents.Add(new Dependent(reader.GetString(0), reader.GetString(1), reader.GetString(3), reader.GetString(2)));
        }

        return dependents;
    }

    private static string DescribeDependents(IReadOnlyList<Dependent> dependents) =>
        string.Join("; ", dependents.GroupBy(d => d.Field).Select(field =>
            $"{string.Join(" and ", field.GroupBy(d => d.Kind).Select(k => $"{k.Count()} {Plural(k.Key.Replace('_', ' '), k.Count())}"))} read {field.Key}")) + ".";

    private static string Plural(string noun, int count) => count == 1 ? noun : noun + "s";

    private static string NewActionId(DateTimeOffset now) =>
        $"act-{now.UtcDateTime:yyyyMMddHHmmssfff}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

    /// <summary>A plan the workspace made, with the change it will carry out.</summary>
    private sealed class WorkspacePlan(Change change, ToolCall call, ToolDefinition tool, string hash, string affectedHash, long records, IReadOnlyList<string> sampleKeys,
        IReadOnlyList<string> fieldsRead, IReadOnlyList<string> fieldsChanged, IReadOnlyList<string> classes, IReadOnlyList<FieldChange> changes, IReadOnlyList<RecordChange> sample,
        IReadOnlyList<Dependent> dependents, long recipients, IReadOnlyList<Exclusion> excluded, string summary, long? deleted, string? destination, SendMessage? message)
        : Plan(call, tool, hash, affectedHash, records, sampleKeys, fieldsRead, fieldsChanged, classes, changes, sample, dependents, recipients, excluded, summary, deleted, destination, message)
    {
        public Change Change { get; } = change;

        /// <summary>The store's write generation before the plan's snapshot began.</summary>
        public long Generation { get; init; }
    }
}
