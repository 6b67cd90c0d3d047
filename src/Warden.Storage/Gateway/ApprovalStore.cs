using Warden.Storage.Engines;

namespace Warden.Storage.Gateway;

/// <summary>An approval request as stored: the call it holds, what it binds to, who must agree, and where it stands.</summary>
public sealed record ApprovalRecord
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

    /// <summary>When the replica executing the request last said it still runs it (null before the first renewal).</summary>
    public DateTimeOffset? RenewedAt { get; init; }

    public string? Replaces { get; init; }

    public string? Resubmits { get; init; }

    /// <summary>JSON: what execution did, or why the request ended.</summary>
    public string? Outcome { get; init; }
}

/// <summary>One person's answer to an approval request.</summary>
public sealed record ApprovalVote(string Person, string Vote, string? Comment, DateTimeOffset At);

/// <summary>Approval requests and their votes; a request moves only as its lifecycle (<see cref="ApprovalLifecycle"/>) allows.</summary>
public sealed class ApprovalStore
{
    private readonly StoreDatabase _db;

    internal ApprovalStore(StoreDatabase database) => _db = database;


    public void Insert(ApprovalRecord approval) => _db.Execute("""
        INSERT INTO approvals (id, status, agent, use_case, environment, tool, arguments, instruction, on_behalf_of, plan_hash, affected_hash, plan, requirements, risk,
                               created_at, expires_at, replaces, resubmits)
        VALUES (@id, @status, @agent, @use_case, @environment, @tool, @arguments, @instruction, @on_behalf_of, @plan_hash, @affected_hash, @plan, @requirements, @risk,
                @created_at, @expires_at, @replaces, @resubmits)
        """,
        ("@id", approval.Id), ("@status", approval.Status.Word()), ("@agent", approval.Agent), ("@use_case", approval.UseCase), ("@environment", approval.Environment),
        ("@tool", approval.Tool), ("@arguments", approval.Arguments), ("@instruction", approval.Instruction), ("@on_behalf_of", approval.OnBehalfOf), ("@plan_hash", approval.PlanHash),
        ("@affected_hash", approval.AffectedHash), ("@plan", approval.Plan), ("@requirements", approval.Requirements), ("@risk", approval.Risk),
        ("@created_at", GatewayStore.Time(approval.CreatedAt)), ("@expires_at", GatewayStore.Time(approval.ExpiresAt)), ("@replaces", approval.Replaces), ("@resubmits", approval.Resubmits));

    public ApprovalRecord? Find(string id) => Select("WHERE id = @id", ("@id", id)).FirstOrDefault();

    /// <summary>Approvals with this status (all when null), riskiest and oldest first; executing ones are listed under their own status.</summary>
    public IReadOnlyList<ApprovalRecord> List(ApprovalStatus? status, int limit = 200) => status is null
        ? Select("ORDER BY CASE status WHEN 'pending' THEN 0 ELSE 1 END, risk DESC, created_at LIMIT @limit", ("@limit", limit))
        : Select("WHERE status = @status ORDER BY risk DESC, created_at LIMIT @limit", ("@status", status.Value.Word()), ("@limit", limit));

    /// <summary>A pending request of this agent that binds to the same plan: asked again, it is the same request.</summary>
    public ApprovalRecord? PendingWithPlan(string agent, string planHash, string? onBehalfOf) =>
        Select("WHERE agent = @agent AND plan_hash = @hash AND status = 'pending' AND on_behalf_of IS NOT DISTINCT FROM @for", ("@agent", agent), ("@hash", planHash), ("@for", onBehalfOf))
            .FirstOrDefault();

    /// <summary>The latest denied request of this agent with this tool over the same records.</summary>
    public ApprovalRecord? DeniedWithAffected(string agent, string tool, string affectedHash) =>
        Select("WHERE agent = @agent AND tool = @tool AND affected_hash = @hash AND status = 'denied' ORDER BY created_at DESC LIMIT 1",
            ("@agent", agent), ("@tool", tool), ("@hash", affectedHash)).FirstOrDefault();

    /// <summary>The request that replaced this one when its plan changed, if any.</summary>
    public string? ReplacedBy(string id) => Select("WHERE replaces = @id", ("@id", id)).FirstOrDefault()?.Id;

    public long PendingCount(string agent) =>
        _db.Scalar("SELECT count(*) FROM approvals WHERE agent = @agent AND status = 'pending'", ("@agent", agent));

    /// <summary>Moves a request out of pending; false when it was no longer pending (someone else got there first).</summary>
    /// <exception cref="ArgumentException">The lifecycle has no move from pending to <paramref name="status"/>.</exception>
    public bool Close(string id, ApprovalStatus status, string? outcome, DateTimeOffset at) => _db.Execute(
        "UPDATE approvals SET status = @status, outcome = @outcome, decided_at = @at WHERE id = @id AND status = 'pending'",
        ("@id", id), ("@status", Move(ApprovalStatus.Pending, status)), ("@outcome", outcome), ("@at", GatewayStore.Time(at))) == 1;

    /// <summary>Ends a request that was executing, with what became of the call; false when it was not executing.</summary>
    /// <exception cref="ArgumentException">The lifecycle has no move from executing to <paramref name="status"/>.</exception>
    public bool SetOutcome(string id, ApprovalStatus status, string outcome) =>
        _db.Execute("UPDATE approvals SET status = @status, outcome = @outcome WHERE id = @id AND status = 'executing'",
            ("@id", id), ("@status", Move(ApprovalStatus.Executing, status)), ("@outcome", outcome)) == 1;

    /// <summary>
    /// Ends a request left executing by a gateway that stopped, with what became of the call:
    /// false when it is no longer executing, or was renewed (its replica runs it) since
    /// <paramref name="unrenewedBefore"/>, checked in the same statement.
    /// </summary>
    /// <exception cref="ArgumentException">The lifecycle has no move from executing to <paramref name="status"/>.</exception>
    public bool TakeOver(string id, ApprovalStatus status, string outcome, DateTimeOffset unrenewedBefore) => _db.Execute(
        "UPDATE approvals SET status = @status, outcome = @outcome WHERE id = @id AND status = 'executing' AND coalesce(renewed_at, decided_at, created_at) < @before",
        ("@id", id), ("@status", Move(ApprovalStatus.Executing, status)), ("@outcome", outcome), ("@before", GatewayStore.Time(unrenewedBefore))) == 1;

    /// <summary>Says the request, executing, still runs on this replica; false when it is no longer executing.</summary>
    public bool Renew(string id, DateTimeOffset at) =>
        _db.Execute("UPDATE approvals SET renewed_at = @at WHERE id = @id AND status = 'executing'", ("@id", id), ("@at", GatewayStore.Time(at))) == 1;

    private static string Move(ApprovalStatus from, ApprovalStatus to) => ApprovalLifecycle.CanMove(from, to)
        ? to.Word()
        : throw new ArgumentException($"an approval request does not go from {from.Word()} to {to.Word()}", nameof(to));

    /// <summary>Pending requests past their expiry.</summary>
    public IReadOnlyList<ApprovalRecord> Expired(DateTimeOffset now) =>
        Select("WHERE status = 'pending' AND expires_at <= @now", ("@now", GatewayStore.Time(now)));

    /// <summary>Records a person's vote; false when they already voted on it.</summary>
    public bool Vote(string approvalId, ApprovalVote vote) => _db.Execute(
        "INSERT INTO approval_votes (approval_id, person, vote, comment, at) VALUES (@id, @person, @vote, @comment, @at) ON CONFLICT DO NOTHING",
        ("@id", approvalId), ("@person", vote.Person), ("@vote", vote.Vote), ("@comment", vote.Comment), ("@at", GatewayStore.Time(vote.At))) == 1;

    public IReadOnlyList<ApprovalVote> Votes(string approvalId) =>
        _db.Query("SELECT person, vote, comment, at FROM approval_votes WHERE approval_id = @id ORDER BY at, person",
            r => new ApprovalVote(r.GetString(0), r.GetString(1), r.NullableString(2), r.Time(3)), ("@id", approvalId));

    /// <summary>Cancels the pending requests of an agent (of every agent with <c>*</c>); returns their ids.</summary>
    public IReadOnlyList<string> CancelPending(string agent, string outcome, DateTimeOffset at)
    {
        var pending = agent == "*" ? Select("WHERE status = 'pending'") : Select("WHERE status = 'pending' AND agent = @agent", ("@agent", agent));
        return [.. pending.Where(p => Close(p.Id, ApprovalStatus.Cancelled, outcome, at)).Select(p => p.Id)];
    }


    private List<ApprovalRecord> Select(string where, params (string Name, object? Value)[] parameters) => _db.Query($"""
        SELECT id, status, agent, use_case, environment, tool, arguments, instruction, plan_hash, affected_hash, plan, requirements, risk,
               created_at, expires_at, decided_at, replaces, resubmits, outcome, on_behalf_of, renewed_at
        FROM approvals {where}
        """,
        r => new ApprovalRecord
        {
            Id = r.GetString(0), Status = ApprovalLifecycle.Parse(r.GetString(1)) ?? throw new InvalidDataException($"approval {r.GetString(0)} has the unknown status '{r.GetString(1)}'"),
            Agent = r.GetString(2), UseCase = r.GetString(3), Environment = r.GetString(4), Tool = r.GetString(5), Arguments = r.GetString(6), Instruction = r.NullableString(7),
            PlanHash = r.GetString(8), AffectedHash = r.GetString(9), Plan = r.GetString(10), Requirements = r.GetString(11), Risk = r.GetInt32(12),
            CreatedAt = r.Time(13), ExpiresAt = r.Time(14), DecidedAt = r.NullableTime(15), Replaces = r.NullableString(16), Resubmits = r.NullableString(17),
            Outcome = r.NullableString(18), OnBehalfOf = r.NullableString(19), RenewedAt = r.NullableTime(20),
        },
        parameters);
}
