using System.Globalization;
using System.Reflection;
using Microsoft.Data.Sqlite;

namespace Warden.Storage.Gateway;

/// <summary>An approval request as stored: the call it holds, what it binds to, who must agree, and where it stands.</summary>
internal sealed record ApprovalRecord
{
    public required string Id { get; init; }

    /// <summary>Where it stands in its lifecycle (<see cref="ApprovalLifecycle"/>).</summary>
    public required ApprovalStatus Status { get; init; }

    public required string Agent { get; init; }

    public required string UseCase { get; init; }

    public required string Environment { get; init; }

    public required string Tool { get; init; }

    /// <summary>The call's arguments, canonical JSON.</summary>
    public required string Arguments { get; init; }

    public string? Instruction { get; init; }

    /// <summary>The person the agent says it acted for: a claim shown to approvers, never a reason to refuse anyone's vote.</summary>
    public string? OnBehalfOf { get; init; }

    /// <summary>The hash of the call and its affected set that the approval binds to.</summary>
    public required string PlanHash { get; init; }

    /// <summary>The hash of the affected set alone.</summary>
    public required string AffectedHash { get; init; }

    /// <summary>JSON: what approvers are shown.</summary>
    public required string Plan { get; init; }

    /// <summary>JSON: [{ rule, approvers, quorum }], every one to be met.</summary>
    public required string Requirements { get; init; }

    public required int Risk { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required DateTimeOffset ExpiresAt { get; init; }

    public DateTimeOffset? DecidedAt { get; init; }

    public string? Replaces { get; init; }

    public string? Resubmits { get; init; }

    /// <summary>JSON: what execution did, or why the request ended.</summary>
    public string? Outcome { get; init; }
}

/// <summary>A change about to be applied: who, with which tool and plan, the entry the trail would get, and since when.</summary>
internal sealed record IntentRecord(string Id, string Environment, string Agent, string Tool, string PlanHash, string Entry, DateTimeOffset StartedAt);

/// <summary>One person's answer to an approval request.</summary>
internal sealed record ApprovalVote(string Person, string Vote, string? Comment, DateTimeOffset At);

/// <summary>A notification in the outbox: what, for whom, and how its delivery goes.</summary>
internal sealed record OutboxMessage(long Id, DateTimeOffset CreatedAt, string Kind, IReadOnlyList<string> Recipients, string Payload, int Attempts,
    DateTimeOffset NextAttemptAt, string? LastError, DateTimeOffset? DeliveredAt);

/// <summary>An incident opened by a guard, routed to a use case's owners.</summary>
internal sealed record IncidentRecord(
    string Id, string Status, string UseCase, string? Agent, string Kind, string Summary, IReadOnlyList<string> Owners, DateTimeOffset OpenedAt,
    string? AcknowledgedBy, string? ResolvedBy);

/// <summary>
/// The gateway's state in one SQLite file: approvals, votes, frozen agents, usage, activations and
/// incidents. One connection, used under a lock: every operation is a few rows, and SQLite takes
/// one writer at a time anyway.
/// </summary>
internal sealed class GatewayStore : IDisposable
{
    private static readonly string Schema = LoadSchema();
    private readonly SqliteConnection _connection;
    private readonly Lock _lock = new();
    private IReadOnlySet<string>? _frozen;

    private GatewayStore(SqliteConnection connection) => _connection = connection;

    /// <summary>Opens (creating when needed) the store at <paramref name="path"/>, readable by its owner only (it names people and holds their approvals).</summary>
    public static GatewayStore Open(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            OwnerOnly.CreateFolder(directory);
        }

        OwnerOnly.PrepareDatabase(path);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        try
        {
            connection.Open();
            using var command = connection.CreateCommand();
            // NORMAL: consistent across a crash; the audit trail, fsync'd, is the record of what happened.
            command.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;" + Schema;
            command.ExecuteNonQuery();
            Upgrade(connection);
            return new GatewayStore(connection);
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw new InvalidOperationException($"the gateway store {path} cannot be opened ({e.Message.TrimEnd('.')}): the file is damaged or is not a Warden gateway store", e);
        }
    }

    public void Dispose() => _connection.Dispose();

    /// <summary>Brings a store written by an earlier version up to this schema; each step is idempotent.</summary>
    private static void Upgrade(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM pragma_table_info('usage') WHERE name = 'person'";
        if ((long)command.ExecuteScalar()! == 0)
        {
            // Usage counted before budgets per person was on nobody's behalf, as far as they go.
            command.CommandText = "ALTER TABLE usage ADD COLUMN person TEXT";
            command.ExecuteNonQuery();
        }

        command.CommandText = "CREATE INDEX IF NOT EXISTS usage_person ON usage (person, metric, at) WHERE person IS NOT NULL";
        command.ExecuteNonQuery();
    }

    // ---- approvals ----

    public void Insert(ApprovalRecord approval) => Execute("""
        INSERT INTO approvals (id, status, agent, use_case, environment, tool, arguments, instruction, on_behalf_of, plan_hash, affected_hash, plan, requirements, risk,
                               created_at, expires_at, replaces, resubmits)
        VALUES (@id, @status, @agent, @use_case, @environment, @tool, @arguments, @instruction, @on_behalf_of, @plan_hash, @affected_hash, @plan, @requirements, @risk,
                @created_at, @expires_at, @replaces, @resubmits)
        """,
        ("@id", approval.Id), ("@status", approval.Status.Word()), ("@agent", approval.Agent), ("@use_case", approval.UseCase), ("@environment", approval.Environment),
        ("@tool", approval.Tool), ("@arguments", approval.Arguments), ("@instruction", approval.Instruction), ("@on_behalf_of", approval.OnBehalfOf), ("@plan_hash", approval.PlanHash),
        ("@affected_hash", approval.AffectedHash), ("@plan", approval.Plan), ("@requirements", approval.Requirements), ("@risk", approval.Risk),
        ("@created_at", Time(approval.CreatedAt)), ("@expires_at", Time(approval.ExpiresAt)), ("@replaces", approval.Replaces), ("@resubmits", approval.Resubmits));

    public ApprovalRecord? Approval(string id) => Approvals("WHERE id = @id", ("@id", id)).FirstOrDefault();

    /// <summary>Approvals with this status (all when null), riskiest and oldest first; executing ones are listed under their own status.</summary>
    public IReadOnlyList<ApprovalRecord> Approvals(ApprovalStatus? status, int limit = 200) => status is null
        ? Approvals("ORDER BY CASE status WHEN 'pending' THEN 0 ELSE 1 END, risk DESC, created_at LIMIT @limit", ("@limit", limit))
        : Approvals("WHERE status = @status ORDER BY risk DESC, created_at LIMIT @limit", ("@status", status.Value.Word()), ("@limit", limit));

    /// <summary>A pending request of this agent that binds to the same plan: asked again, it is the same request.</summary>
    public ApprovalRecord? PendingWithPlan(string agent, string planHash, string? onBehalfOf) =>
        Approvals("WHERE agent = @agent AND plan_hash = @hash AND status = 'pending' AND on_behalf_of IS @for", ("@agent", agent), ("@hash", planHash), ("@for", onBehalfOf))
            .FirstOrDefault();

    /// <summary>The latest denied request of this agent with this tool over the same records.</summary>
    public ApprovalRecord? DeniedWithAffected(string agent, string tool, string affectedHash) =>
        Approvals("WHERE agent = @agent AND tool = @tool AND affected_hash = @hash AND status = 'denied' ORDER BY created_at DESC LIMIT 1",
            ("@agent", agent), ("@tool", tool), ("@hash", affectedHash)).FirstOrDefault();

    /// <summary>The request that replaced this one when its plan changed, if any.</summary>
    public string? ReplacedBy(string id) => Approvals("WHERE replaces = @id", ("@id", id)).FirstOrDefault()?.Id;

    public long PendingCount(string agent) =>
        Scalar("SELECT count(*) FROM approvals WHERE agent = @agent AND status = 'pending'", ("@agent", agent));

    /// <summary>Moves a request out of pending; false when it was no longer pending (someone else got there first).</summary>
    /// <exception cref="ArgumentException">The lifecycle has no move from pending to <paramref name="status"/>.</exception>
    public bool Close(string id, ApprovalStatus status, string? outcome, DateTimeOffset at) => Execute(
        "UPDATE approvals SET status = @status, outcome = @outcome, decided_at = @at WHERE id = @id AND status = 'pending'",
        ("@id", id), ("@status", Move(ApprovalStatus.Pending, status)), ("@outcome", outcome), ("@at", Time(at))) == 1;

    /// <summary>Ends a request that was executing, with what became of the call; false when it was not executing.</summary>
    /// <exception cref="ArgumentException">The lifecycle has no move from executing to <paramref name="status"/>.</exception>
    public bool SetOutcome(string id, ApprovalStatus status, string outcome) =>
        Execute("UPDATE approvals SET status = @status, outcome = @outcome WHERE id = @id AND status = 'executing'",
            ("@id", id), ("@status", Move(ApprovalStatus.Executing, status)), ("@outcome", outcome)) == 1;

    private static string Move(ApprovalStatus from, ApprovalStatus to) => ApprovalLifecycle.CanMove(from, to)
        ? to.Word()
        : throw new ArgumentException($"an approval request does not go from {from.Word()} to {to.Word()}", nameof(to));

    /// <summary>Pending requests past their expiry.</summary>
    public IReadOnlyList<ApprovalRecord> Expired(DateTimeOffset now) =>
        Approvals("WHERE status = 'pending' AND expires_at <= @now", ("@now", Time(now)));

    /// <summary>Records a person's vote; false when they already voted on it.</summary>
    public bool Vote(string approvalId, ApprovalVote vote) => Execute(
        "INSERT INTO approval_votes (approval_id, person, vote, comment, at) VALUES (@id, @person, @vote, @comment, @at) ON CONFLICT DO NOTHING",
        ("@id", approvalId), ("@person", vote.Person), ("@vote", vote.Vote), ("@comment", vote.Comment), ("@at", Time(vote.At))) == 1;

    public IReadOnlyList<ApprovalVote> Votes(string approvalId)
    {
        lock (_lock)
        {
            using var command = Command("SELECT person, vote, comment, at FROM approval_votes WHERE approval_id = @id ORDER BY at, person", ("@id", approvalId));
            using var reader = command.ExecuteReader();
            var votes = new List<ApprovalVote>();
            while (reader.Read())
            {
                votes.Add(new ApprovalVote(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), Parse(reader.GetString(3))));
            }

            return votes;
        }
    }

    // ---- kill switch ----

    /// <summary>Freezes an agent, or every agent with <c>*</c>.</summary>
    public void Freeze(string agent, string by, string? reason, DateTimeOffset at)
    {
        lock (_lock)
        {
            Execute(
                "INSERT INTO frozen_agents (agent, frozen_by, reason, at) VALUES (@agent, @by, @reason, @at) ON CONFLICT (agent) DO UPDATE SET frozen_by = excluded.frozen_by, reason = excluded.reason, at = excluded.at",
                ("@agent", agent), ("@by", by), ("@reason", reason), ("@at", Time(at)));
            _frozen = null;
        }
    }

    /// <summary>Unfreezes an agent, or lifts the freeze of every agent with <c>*</c>; false when it was not frozen.</summary>
    public bool Unfreeze(string agent)
    {
        lock (_lock)
        {
            _frozen = null;
            return Execute("DELETE FROM frozen_agents WHERE agent = @agent", ("@agent", agent)) == 1;
        }
    }

    /// <summary>The frozen agents (and <c>*</c> when all are).</summary>
    /// <remarks>
    /// Read by every call, so kept in memory: only this store writes the file (a data folder has
    /// one gateway at a time), and it forgets the copy whenever it freezes or unfreezes.
    /// </remarks>
    public IReadOnlySet<string> Frozen()
    {
        lock (_lock)
        {
            return _frozen ??= ReadFrozen();
        }
    }

    private HashSet<string> ReadFrozen()
    {
        using var command = Command("SELECT agent FROM frozen_agents");
        using var reader = command.ExecuteReader();
        var frozen = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read())
        {
            frozen.Add(reader.GetString(0));
        }

        return frozen;
    }

    /// <summary>Cancels the pending requests of an agent (of every agent with <c>*</c>); returns their ids.</summary>
    public IReadOnlyList<string> CancelPending(string agent, string outcome, DateTimeOffset at)
    {
        var pending = agent == "*" ? Approvals("WHERE status = 'pending'") : Approvals("WHERE status = 'pending' AND agent = @agent", ("@agent", agent));
        return [.. pending.Where(p => Close(p.Id, ApprovalStatus.Cancelled, outcome, at)).Select(p => p.Id)];
    }

    // ---- usage ----

    /// <summary>Counts what a call used, metric by metric, in one transaction; <paramref name="person"/> is whom the agent acted for.</summary>
    public void Use(string agent, string useCase, string? person, DateTimeOffset at, IEnumerable<(string Metric, long Amount)> amounts)
    {
        lock (_lock)
        {
            using var transaction = _connection.BeginTransaction();
            using var command = Command("INSERT INTO usage (at, agent, use_case, person, metric, amount) VALUES (@at, @agent, @use_case, @person, @metric, @amount)",
                ("@at", Time(at)), ("@agent", agent), ("@use_case", useCase), ("@person", person), ("@metric", null), ("@amount", null));
            command.Transaction = transaction;
            foreach (var (metric, amount) in amounts)
            {
                if (amount == 0)
                {
                    continue;
                }

                command.Parameters["@metric"].Value = metric;
                command.Parameters["@amount"].Value = amount;
                command.ExecuteNonQuery();
            }

            transaction.Commit();
        }
    }

    /// <summary>
    /// How much of a metric was used since a time: by an agent, or by all agents of a use case, or
    /// (both null) by every agent; with <paramref name="person"/>, only what was done on their behalf.
    /// </summary>
    public long Used(string metric, string? agent, string? useCase, string? person, DateTimeOffset since)
    {
        var scope = agent is not null ? " AND agent = @agent" : useCase is not null ? " AND use_case = @use_case" : "";
        return Scalar($"SELECT coalesce(sum(amount), 0) FROM usage WHERE metric = @metric AND at > @since{scope}{(person is null ? "" : " AND person = @person")}",
            ("@metric", metric), ("@since", Time(since)), ("@agent", agent), ("@use_case", useCase), ("@person", person));
    }

    /// <summary>Drops usage counted at or before <paramref name="before"/>; returns how many rows went.</summary>
    public int Forget(DateTimeOffset before) => Execute("DELETE FROM usage WHERE at <= @before", ("@before", Time(before)));

    // ---- activation ----

    public void Activate(string agent, string environment, string by, DateTimeOffset at) => Execute(
        "INSERT INTO activations (agent, environment, activated_by, at) VALUES (@agent, @environment, @by, @at) ON CONFLICT (agent, environment) DO UPDATE SET activated_by = excluded.activated_by, at = excluded.at",
        ("@agent", agent), ("@environment", environment), ("@by", by), ("@at", Time(at)));

    /// <summary>Who activated the agent in the environment, and when; null when nobody has.</summary>
    public (string By, DateTimeOffset At)? Activation(string agent, string environment)
    {
        lock (_lock)
        {
            using var command = Command("SELECT activated_by, at FROM activations WHERE agent = @agent AND environment = @environment", ("@agent", agent), ("@environment", environment));
            using var reader = command.ExecuteReader();
            return reader.Read() ? (reader.GetString(0), Parse(reader.GetString(1))) : null;
        }
    }

    // ---- actions ----

    /// <summary>Remembers the audit entry that records a workspace action.</summary>
    public void RememberAction(string actionId, long auditSeq) => Execute(
        "INSERT INTO action_entries (action_id, audit_seq) VALUES (@id, @seq) ON CONFLICT DO NOTHING", ("@id", actionId), ("@seq", auditSeq));

    /// <summary>Writes that a change is about to be applied, before the workspace commits it; <see cref="Settle"/> removes it once the trail records it.</summary>
    public void Intend(IntentRecord intent) => Execute(
        "INSERT INTO intents (id, environment, agent, tool, plan_hash, entry, started_at) VALUES (@id, @environment, @agent, @tool, @hash, @entry, @at)",
        ("@id", intent.Id), ("@environment", intent.Environment), ("@agent", intent.Agent), ("@tool", intent.Tool), ("@hash", intent.PlanHash),
        ("@entry", intent.Entry), ("@at", Time(intent.StartedAt)));

    /// <summary>The trail records what the intent was about: forget it.</summary>
    public void Settle(string intentId) => Execute("DELETE FROM intents WHERE id = @id", ("@id", intentId));

    /// <summary>Intents a stopped gateway left in this environment, oldest first.</summary>
    public IReadOnlyList<IntentRecord> Intents(string environment)
    {
        lock (_lock)
        {
            using var command = Command("SELECT id, environment, agent, tool, plan_hash, entry, started_at FROM intents WHERE environment = @environment ORDER BY started_at, id",
                ("@environment", environment));
            using var reader = command.ExecuteReader();
            var intents = new List<IntentRecord>();
            while (reader.Read())
            {
                intents.Add(new IntentRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
                    Parse(reader.GetString(6))));
            }

            return intents;
        }
    }

    /// <summary>The audit entry that records a workspace action; null when the gateway did not apply it.</summary>
    public long? ActionEntry(string actionId) => Scalar("SELECT coalesce((SELECT audit_seq FROM action_entries WHERE action_id = @id), -1)", ("@id", actionId)) is var seq and >= 0 ? seq : null;

    // ---- incidents ----

    public void Open(IncidentRecord incident) => Execute(
        "INSERT INTO incidents (id, status, use_case, agent, kind, summary, owners, opened_at) VALUES (@id, 'open', @use_case, @agent, @kind, @summary, @owners, @at)",
        ("@id", incident.Id), ("@use_case", incident.UseCase), ("@agent", incident.Agent), ("@kind", incident.Kind), ("@summary", incident.Summary),
        ("@owners", System.Text.Json.JsonSerializer.Serialize(incident.Owners)), ("@at", Time(incident.OpenedAt)));

    public IReadOnlyList<IncidentRecord> Incidents(string? status = null)
    {
        lock (_lock)
        {
            using var command = Command(status is null
                ? "SELECT id, status, use_case, agent, kind, summary, owners, opened_at, acknowledged_by, resolved_by FROM incidents ORDER BY opened_at DESC"
                : "SELECT id, status, use_case, agent, kind, summary, owners, opened_at, acknowledged_by, resolved_by FROM incidents WHERE status = @status ORDER BY opened_at DESC",
                ("@status", status));
            using var reader = command.ExecuteReader();
            var incidents = new List<IncidentRecord>();
            while (reader.Read())
            {
                incidents.Add(new IncidentRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.GetString(4), reader.GetString(5), System.Text.Json.JsonSerializer.Deserialize<List<string>>(reader.GetString(6)) ?? [],
                    Parse(reader.GetString(7)), reader.IsDBNull(8) ? null : reader.GetString(8), reader.IsDBNull(9) ? null : reader.GetString(9)));
            }

            return incidents;
        }
    }

    /// <summary>Moves an incident on: acknowledged (from open) or resolved (from open or acknowledged); false when it cannot.</summary>
    public bool Advance(string id, string status, string person, DateTimeOffset at) => status switch
    {
        "acknowledged" => Execute("UPDATE incidents SET status = 'acknowledged', acknowledged_by = @p, acknowledged_at = @at WHERE id = @id AND status = 'open'",
            ("@id", id), ("@p", person), ("@at", Time(at))) == 1,
        "resolved" => Execute("UPDATE incidents SET status = 'resolved', resolved_by = @p, resolved_at = @at WHERE id = @id AND status <> 'resolved'",
            ("@id", id), ("@p", person), ("@at", Time(at))) == 1,
        _ => throw new ArgumentException($"an incident is acknowledged or resolved, not {status}", nameof(status)),
    };

    // ---- outbox ----

    public void Enqueue(string kind, IReadOnlyList<string> recipients, string payload, DateTimeOffset at) => Execute(
        "INSERT INTO outbox (created_at, kind, recipients, payload, next_attempt_at) VALUES (@at, @kind, @recipients, @payload, @at)",
        ("@at", Time(at)), ("@kind", kind), ("@recipients", System.Text.Json.JsonSerializer.Serialize(recipients)), ("@payload", payload));

    /// <summary>Undelivered messages due by <paramref name="now"/>, oldest first.</summary>
    public IReadOnlyList<OutboxMessage> Due(DateTimeOffset now, int limit = 50) =>
        Messages("WHERE delivered_at IS NULL AND next_attempt_at <= @now ORDER BY id LIMIT @limit", ("@now", Time(now)), ("@limit", limit));

    /// <summary>Messages not delivered yet, with their attempts and last error; or every message, newest first.</summary>
    public IReadOnlyList<OutboxMessage> Messages(bool undeliveredOnly, int limit = 200) => undeliveredOnly
        ? Messages("WHERE delivered_at IS NULL ORDER BY id DESC LIMIT @limit", ("@limit", limit))
        : Messages("ORDER BY id DESC LIMIT @limit", ("@limit", limit));

    public void Delivered(long id, DateTimeOffset at) =>
        Execute("UPDATE outbox SET delivered_at = @at, attempts = attempts + 1, last_error = NULL WHERE id = @id", ("@id", id), ("@at", Time(at)));

    public void Failed(long id, string error, DateTimeOffset retryAt) =>
        Execute("UPDATE outbox SET attempts = attempts + 1, last_error = @error, next_attempt_at = @retry WHERE id = @id", ("@id", id), ("@error", error), ("@retry", Time(retryAt)));

    private List<OutboxMessage> Messages(string where, params (string Name, object? Value)[] parameters)
    {
        lock (_lock)
        {
            using var command = Command($"SELECT id, created_at, kind, recipients, payload, attempts, next_attempt_at, last_error, delivered_at FROM outbox {where}", parameters);
            using var reader = command.ExecuteReader();
            var messages = new List<OutboxMessage>();
            while (reader.Read())
            {
                messages.Add(new OutboxMessage(reader.GetInt64(0), Parse(reader.GetString(1)), reader.GetString(2),
                    System.Text.Json.JsonSerializer.Deserialize<List<string>>(reader.GetString(3)) ?? [], reader.GetString(4), reader.GetInt32(5),
                    Parse(reader.GetString(6)), reader.IsDBNull(7) ? null : reader.GetString(7), reader.IsDBNull(8) ? null : Parse(reader.GetString(8))));
            }

            return messages;
        }
    }

    // ---- plumbing ----

    /// <summary>Times as the store writes them: UTC, milliseconds, sortable as text.</summary>
    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static DateTimeOffset Parse(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    private List<ApprovalRecord> Approvals(string where, params (string Name, object? Value)[] parameters)
    {
        lock (_lock)
        {
            using var command = Command($"""
                SELECT id, status, agent, use_case, environment, tool, arguments, instruction, plan_hash, affected_hash, plan, requirements, risk,
                       created_at, expires_at, decided_at, replaces, resubmits, outcome, on_behalf_of
                FROM approvals {where}
                """, parameters);
            using var reader = command.ExecuteReader();
            var approvals = new List<ApprovalRecord>();
            string? S(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            while (reader.Read())
            {
                approvals.Add(new ApprovalRecord
                {
                    Id = reader.GetString(0), Status = ApprovalLifecycle.Parse(reader.GetString(1)) ?? throw new InvalidDataException($"approval {reader.GetString(0)} has the unknown status '{reader.GetString(1)}'"), Agent = reader.GetString(2), UseCase = reader.GetString(3),
                    Environment = reader.GetString(4), Tool = reader.GetString(5), Arguments = reader.GetString(6), Instruction = S(7),
                    PlanHash = reader.GetString(8), AffectedHash = reader.GetString(9), Plan = reader.GetString(10), Requirements = reader.GetString(11),
                    Risk = reader.GetInt32(12), CreatedAt = Parse(reader.GetString(13)), ExpiresAt = Parse(reader.GetString(14)),
                    DecidedAt = S(15) is { } decided ? Parse(decided) : null, Replaces = S(16), Resubmits = S(17), Outcome = S(18), OnBehalfOf = S(19),
                });
            }

            return approvals;
        }
    }

    private int Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        lock (_lock)
        {
            using var command = Command(sql, parameters);
            return command.ExecuteNonQuery();
        }
    }

    private long Scalar(string sql, params (string Name, object? Value)[] parameters)
    {
        lock (_lock)
        {
            using var command = Command(sql, parameters);
            return command.ExecuteScalar() is long n ? n : 0;
        }
    }

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    private static string LoadSchema()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Warden.Storage.GatewaySchema.sql")
                           ?? throw new InvalidOperationException("the gateway schema is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
