using Microsoft.Extensions.Logging;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Warden.Core;
using Warden.Core.Audit;
using Warden.Gateway.Calls;
using Warden.Storage.Gateway;
using Warden.Workspace;

namespace Warden.Gateway.Approvals;

/// <summary>One requirement of a held call: the people who may meet it (resolved when the call was held) and how many of them must.</summary>
internal sealed record Requirement(string Rule, IReadOnlyList<string> Approvers, int Quorum);

/// <summary>How a person's vote ended.</summary>
internal enum VoteStatus
{
    /// <summary>Counted; more approvals are needed.</summary>
    Recorded,
    /// <summary>Every requirement was met and the call ran.</summary>
    Executed,
    /// <summary>Denied: the call will not run.</summary>
    Denied,
    /// <summary>Approved, but the plan had changed: this approval is void and a new request waits in its place.</summary>
    Voided,
    /// <summary>Approved, but the call could not run now (refused by a guard, or failed).</summary>
    Failed,
}

/// <summary>What a vote did: its status, a sentence, the request as it stands, and the new request when the plan changed.</summary>
internal sealed record VoteResult(VoteStatus Status, string Message, ApprovalRecord Approval, string? Replacement = null, CallOutcome? Execution = null);

/// <summary>
/// Why the desk would not take a vote, as codes its callers map at their edge: the request is not
/// there, not open, made in another environment, not this person's to decide, or already decided by them.
/// </summary>
internal static class VoteRefusals
{
    public const string NotFound = "not_found";
    public const string NotOpen = "not_open";
    public const string OtherEnvironment = "other_environment";
    public const string NotAnApprover = "not_an_approver";
    public const string AlreadyDecided = "already_decided";

    /// <summary>The HTTP status a refusal reads as: 404 for a request that is not there, 403 for someone not among its approvers, 409 otherwise.</summary>
    public static int HttpStatus(SystemError refusal) => refusal.Code switch
    {
        NotFound => 404,
        NotAnApprover => 403,
        _ => 409,
    };
}

/// <summary>
/// Held calls and the people who decide them. A request binds to the plan's hash; identical
/// requests are merged, an agent's open requests are capped, the queue is ordered by risk, and a
/// request for records denied before is marked as asked again. Approval counts distinct people;
/// who may approve comes from the policy alone, never from what the agent says (its on_behalf_of
/// is a claim shown to approvers). A request is decided in the environment it was made in; when
/// every requirement is met the call is checked, planned and decided again there, and runs only if
/// its hash is unchanged, otherwise the approval is void and a new request, showing the
/// difference, goes back to the approvers. Requests expire.
/// </summary>
internal sealed class ApprovalDesk : IDisposable
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private readonly PolicyInForce _policies;
    private readonly GatewayOptions _options;
    private readonly GatewayStore _store;
    private readonly Notifications.Notifier _notifier;
    private readonly Recorder _recorder;
    private readonly PlanGovernor _governor;
    private readonly GovernedSystems _system;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _deciding = new(1, 1);
    private readonly SemaphoreSlim _requesting = new(1, 1);
    private ITimer? _expiry;

    public ApprovalDesk(PolicyInForce policies, GatewayOptions options, GatewayStore store, Notifications.Notifier notifier, Recorder recorder, PlanGovernor governor, GovernedSystems system)
    {
        _policies = policies;
        _options = options;
        _store = store;
        _notifier = notifier;
        _recorder = recorder;
        _governor = governor;
        _system = system;
        _log = options.Logging.CreateLogger<ApprovalDesk>();
    }

    /// <summary>
    /// Closes (and records) expired requests within a minute, without anyone looking at them;
    /// called once the gateway has opened, so a failed open leaves no timer running.
    /// </summary>
    public void Start() => _expiry ??= _options.Clock.CreateTimer(_ => _ = ExpireDueAsync(CancellationToken.None), null, TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(1));

    public void Dispose()
    {
        _expiry?.Dispose();
        _deciding.Dispose();
        _requesting.Dispose();
    }

    /// <summary>Holds a call for approval, or joins the same request already waiting.</summary>
    public async Task<CallOutcome> RequestAsync(Agent agent, Plan plan, Decision decision, string? instruction, string? onBehalfOf, AuditEntry entry, ApprovalRecord? replaces = null)
    {
        // One request at a time: the merge and the cap are checks of what is stored, and two calls
        // checking at once would both pass.
        await _requesting.WaitAsync().ConfigureAwait(false);
        try
        {
            return await HoldAsync(agent, plan, decision, instruction, onBehalfOf, entry, replaces).ConfigureAwait(false);
        }
        finally
        {
            _requesting.Release();
        }
    }

    private async Task<CallOutcome> HoldAsync(Agent agent, Plan plan, Decision decision, string? instruction, string? onBehalfOf, AuditEntry entry, ApprovalRecord? replaces)
    {
        var store = _store;
        var now = _options.Clock.GetUtcNow();
        if (replaces is null && store.Approvals.PendingWithPlan(agent.Id, plan.Hash, onBehalfOf) is { } same)
        {
            var seq = await _recorder.RecordAsync(entry with { Outcome = "pending", ApprovalId = same.Id, Detail = Join(entry.Detail, "the same request was already waiting; merged into it") })
                .ConfigureAwait(false);
            return Pending(same, plan, seq) with { Merged = true };
        }

        if (replaces is null && store.Approvals.PendingCount(agent.Id) >= _options.MaxPendingPerAgent)
        {
            var message = $"agent '{agent.Id}' already has {_options.MaxPendingPerAgent} requests waiting for approval; wait for them to be decided before asking for more";
            var seq = await _recorder.RecordAsync(entry with { Outcome = "refused", Detail = Join(entry.Detail, message) }).ConfigureAwait(false);
            return CallOutcome.Refused(plan.Tool.Name, "too_many_pending", message, decision.Rule?.Id, seq);
        }

        // A request that replaces a voided one, and that the policy would now allow outright,
        // keeps the old requirements: people asked to see this call, and its plan changed.
        var requirements = decision.Effect != Effect.Approve && replaces is not null
            ? [.. RequirementsOf(replaces)]
            : decision.Approvals.Select(a => new Requirement(a.Rule.Length == 0 ? "invariant" : a.Rule, [.. _policies.Current.EligibleApprovers(a, agent.Id)], a.Quorum)).ToList();
        var expiry = decision.Approvals.Count == 0 ? (replaces is null ? TimeSpan.FromHours(24) : replaces.ExpiresAt - replaces.CreatedAt) : decision.Approvals.Min(a => a.Expiry);
        var resubmits = store.Approvals.DeniedWithAffected(agent.Id, plan.Tool.Name, plan.AffectedHash);
        var record = new ApprovalRecord
        {
            Id = $"apr-{now.UtcDateTime:yyyyMMddHHmmss}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}",
            Status = ApprovalStatus.Pending,
            Agent = agent.Id,
            UseCase = agent.UseCase,
            Environment = _options.Environment,
            Tool = plan.Tool.Name,
            Arguments = CanonicalJson.Text(plan.Call.Arguments),
            Instruction = instruction,
            OnBehalfOf = onBehalfOf,
            PlanHash = plan.Hash,
            AffectedHash = plan.AffectedHash,
            Plan = PlanView.Of(plan).ToJsonString(),
            Requirements = JsonSerializer.Serialize(requirements, Json),
            Risk = Risk(plan),
            CreatedAt = now,
            ExpiresAt = now + expiry,
            Replaces = replaces?.Id,
            Resubmits = resubmits?.Id,
        };
        store.Approvals.Insert(record);
        _notifier.ApprovalRequested(record, [.. requirements.SelectMany(r => r.Approvers).Distinct()], plan.Summary);
        var detail = string.Join("; ", new[]
        {
            replaces is null ? null : $"replaces {replaces.Id}, whose plan changed",
            resubmits is null ? null : $"asks again for the records of {resubmits.Id}, denied before",
        }.Where(d => d is not null));
        var recorded = await _recorder.RecordAsync(entry with { Outcome = "pending", ApprovalId = record.Id, Detail = Join(entry.Detail, detail.Length == 0 ? null : detail) })
            .ConfigureAwait(false);
        return Pending(record, plan, recorded);
    }

    /// <summary>A person approves or denies a request, with a comment; a vote the desk will not take is a refusal with a code (<see cref="VoteRefusals"/>).</summary>
    public async Task<SystemResult<VoteResult>> VoteAsync(string person, string approvalId, bool approve, string? comment, CancellationToken cancellationToken)
    {
        // One decision at a time: two people approving at once must not run the call twice.
        await _deciding.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var store = _store;
            var now = _options.Clock.GetUtcNow();
            if (store.Approvals.Find(approvalId) is not { } record)
            {
                return new SystemError(VoteRefusals.NotFound, $"there is no approval request {approvalId}");
            }

            if (record.Status == ApprovalStatus.Pending && record.ExpiresAt <= now)
            {
                await ExpireAsync(record).ConfigureAwait(false);
                record = store.Approvals.Find(approvalId)!;
            }

            if (record.Status != ApprovalStatus.Pending)
            {
                return new SystemError(VoteRefusals.NotOpen, $"approval request {approvalId} is {record.Status.Word()}, not waiting for a decision");
            }

            // An approval is for the environment the call was made in: this gateway's workspace is
            // another one, and its activation, grants and budgets were never checked for the call.
            if (record.Environment != _options.Environment)
            {
                return new SystemError(VoteRefusals.OtherEnvironment,
                    $"request {approvalId} was made in {record.Environment}, and this gateway runs {_options.Environment}: it is decided where it was made (a gateway started with --env {record.Environment})");
            }

            var requirements = RequirementsOf(record);
            if (!Decides(person, record))
            {
                return new SystemError(VoteRefusals.NotAnApprover, $"{Who(person)} is not among the approvers of request {approvalId} ({string.Join("; ", requirements.Select(Describe))})");
            }

            if (!store.Approvals.Vote(record.Id, new ApprovalVote(person, approve ? "approve" : "deny", comment, now)))
            {
                return new SystemError(VoteRefusals.AlreadyDecided, $"{Who(person)} has already decided request {approvalId}");
            }

            await _recorder.RecordAsync(EntryFor(record, AuditKinds.Approval) with
            {
                Person = person, Effect = approve ? "approved" : "denied", Comment = comment, PlanHash = record.PlanHash, Outcome = "ok",
            }).ConfigureAwait(false);

            if (!approve)
            {
                // The kill switch or expiry may have closed it since it was read: then that is what it is.
                return store.Approvals.Close(record.Id, ApprovalStatus.Denied, Outcome(new { reason = $"denied by {Who(person)}", comment }), now)
                    ? new VoteResult(VoteStatus.Denied, $"request {record.Id} is denied; the call will not run", store.Approvals.Find(record.Id)!)
                    : ClosedMeanwhile(record.Id);
            }

            var votes = store.Approvals.Votes(record.Id);
            var unmet = requirements.Where(r => Given(r, votes) < r.Quorum).ToList();
            if (unmet.Count > 0)
            {
                return new VoteResult(VoteStatus.Recorded, $"approval recorded; still waiting for {string.Join("; and ", unmet.Select(r => $"{r.Quorum - Given(r, votes)} more of {string.Join(", ", r.Approvers.Select(Who))}"))}",
                    record);
            }

            // The kill switch or expiry may have closed it since it was read (they do not wait for
            // this desk): then it does not run, and the voter hears what it is now.
            if (!store.Approvals.Close(record.Id, ApprovalStatus.Executing, null, now))
            {
                return ClosedMeanwhile(record.Id);
            }

            try
            {
                using var lease = Lease(record.Id);
                return await ExecuteAsync(record, cancellationToken).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // whatever broke, even a cancellation, the request must not stay "executing"
            catch (Exception e)
#pragma warning restore CA1031
            {
                // Whatever broke, the request does not stay "executing": it failed, and says why.
                _log.LogError(e, "Approved request {Id} failed while it ran", record.Id);
                var reason = $"approved, but the gateway failed while running the call ({e.GetType().Name}: {e.Message})";
                store.Approvals.SetOutcome(record.Id, ApprovalStatus.Failed, Outcome(new { reason }));
                await _recorder.RecordAsync(EntryFor(record, AuditKinds.Call) with { PlanHash = record.PlanHash, Effect = "approve", Outcome = "error", Reason = reason })
                    .ConfigureAwait(false);
                return new VoteResult(VoteStatus.Failed, reason, store.Approvals.Find(record.Id)!);
            }
        }
        finally
        {
            _deciding.Release();
        }
    }

    /// <summary>
    /// Why a request may not be approved together with others, or null when it may: a send or
    /// sync, a delete, anything irreversible or external, consent or restricted data, or more than
    /// 10,000 records each deserve a person's look of their own.
    /// </summary>
    public static string? TooRiskyForBulk(ApprovalRecord record)
    {
        var plan = PlanView.Read(record.Plan);
        return plan.Kind is "send" or "sync" or "delete" ? $"it is a {plan.Kind}"
            : !plan.Reversible ? "it cannot be undone"
            : plan.External ? "it reaches outside"
            : plan.Classes.FirstOrDefault(c => c is "consent" or "restricted") is { } touched ? $"it touches {touched} data"
            : plan.Records > 10_000 ? $"it changes {plan.Records:N0} records"
            : null;
    }

    private SystemResult<VoteResult> ClosedMeanwhile(string id) =>
        new SystemError(VoteRefusals.NotOpen, $"approval request {id} is {_store.Approvals.Find(id)?.Status.Word() ?? "gone"} now, not waiting for a decision; your vote is recorded, and the call will not run");

    /// <summary>
    /// Approves several requests at once, each as its own vote (recorded one by one), refusing the
    /// ones too risky to approve without a look of their own. Returns what became of each.
    /// </summary>
    public async Task<IReadOnlyList<(string Id, VoteResult? Result, string? Refused)>> ApproveManyAsync(string person, IReadOnlyList<string> ids, string? comment,
        CancellationToken cancellationToken)
    {
        var results = new List<(string, VoteResult?, string?)>();
        foreach (var id in ids.Distinct(StringComparer.Ordinal))
        {
            if (_store.Approvals.Find(id) is { } record && TooRiskyForBulk(record) is { } why)
            {
                results.Add((id, null, $"request {id} cannot be approved in bulk: {why}; approve it on its own after looking at it"));
                continue;
            }

            var vote = await VoteAsync(person, id, approve: true, comment, cancellationToken).ConfigureAwait(false);
            results.Add(vote.Succeeded ? (id, vote.Value, null) : (id, null, vote.Error!.Message));
        }

        return results;
    }

    /// <summary>The request as an agent may see it: only its own.</summary>
    public ApprovalRecord? For(string agent, string approvalId) => _store.Approvals.Find(approvalId) is { } record && record.Agent == agent ? record : null;

    /// <summary>Closes every request past its expiry, recording each.</summary>
    public async Task ExpireDueAsync(CancellationToken cancellationToken)
    {
        try
        {
            foreach (var record in _store.Approvals.Expired(_options.Clock.GetUtcNow()))
            {
                await ExpireAsync(record).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
            // The gateway is closing; expiry resumes when it starts again.
            _log.LogDebug(e, "Expiring requests stopped; it resumes when the gateway starts again");
        }
    }

    /// <summary>
    /// True when the person may see a request's details (its arguments, the agent's reason, the
    /// plan with its records and diff, comments and result): an approver of it, or an owner or the
    /// escalation contact of its use case. Everyone else sees only that it exists.
    /// </summary>
    public bool MaySeeDetails(string person, ApprovalRecord record) =>
        Decides(person, record)
        || (_policies.Current.FindUseCase(record.UseCase) is { } useCase && (useCase.Owners.Include(person) || useCase.Escalation == person));

    /// <summary>
    /// Whether <paramref name="person"/> is an approver of the request: named when it was held, and
    /// still named by its rule in the policy in force. A reload that takes someone off a rule takes
    /// their say in, and their view of, the requests held before it.
    /// </summary>
    public bool Decides(string person, ApprovalRecord record)
    {
        var policy = _policies.Current;
        return policy.FindOwner(person) is not null && RequirementsOf(record).Any(r => r.Approvers.Contains(person)
            && (policy.Rules.FirstOrDefault(rule => rule.Id == r.Rule)?.Approval is not { } approval || policy.EligibleApprovers(approval, record.Agent).Contains(person)));
    }

    /// <summary>The request as <paramref name="person"/> may see it: the call, the plan, the requirements with their votes, or only that it exists.</summary>
    public JsonObject View(ApprovalRecord record, string person)
    {
        var votes = _store.Approvals.Votes(record.Id);
        var details = MaySeeDetails(person, record);
        var view = new JsonObject
        {
            ["id"] = record.Id,
            ["status"] = record.Status.Word(),
            ["agent"] = record.Agent,
            ["use_case"] = record.UseCase,
            ["environment"] = record.Environment,
            ["tool"] = record.Tool,
            ["risk"] = record.Risk,
            ["requirements"] = JsonSerializer.SerializeToNode(Waiting(record, votes), Json),
            ["votes"] = new JsonArray([.. votes.Select(v => (JsonNode)new JsonObject
            {
                ["person"] = v.Person, ["vote"] = v.Vote, ["comment"] = details ? v.Comment : null, ["at"] = GatewayStore.Time(v.At),
            })]),
            ["created_at"] = GatewayStore.Time(record.CreatedAt),
            ["expires_at"] = GatewayStore.Time(record.ExpiresAt),
            ["decided_at"] = record.DecidedAt is { } decided ? GatewayStore.Time(decided) : null,
            ["replaces"] = record.Replaces,
            ["resubmits"] = record.Resubmits,
        };
        if (!details)
        {
            view["details"] = $"withheld: only the approvers of this request and the owners of use case '{record.UseCase}' see its records and arguments";
            return view;
        }

        view["arguments"] = JsonNode.Parse(record.Arguments);
        view["instruction"] = record.Instruction;
        view["on_behalf_of"] = record.OnBehalfOf;
        view["plan"] = JsonNode.Parse(record.Plan);
        view["plan_hash"] = record.PlanHash;
        view["outcome"] = record.Outcome is { } outcome ? JsonNode.Parse(outcome) : null;
        return view;
    }

    /// <summary>A person as approvers read them: name and id.</summary>
    public string Who(string person) => _policies.Current.Who(person);

    public static IReadOnlyList<Requirement> RequirementsOf(ApprovalRecord record) =>
        JsonSerializer.Deserialize<List<Requirement>>(record.Requirements, Json) ?? [];

    private static int Given(Requirement requirement, IReadOnlyList<ApprovalVote> votes) =>
        votes.Count(v => v.Vote == "approve" && requirement.Approvers.Contains(v.Person));

    private string Describe(Requirement requirement) =>
        $"{requirement.Quorum} of {string.Join(", ", requirement.Approvers.Select(Who))} for rule '{requirement.Rule}'";

    /// <summary>
    /// Every requirement is met: the call goes the one way every call goes (admitted, planned,
    /// decided and applied here), under this approval; it runs only when the plan still has the hash
    /// the approval bound to, otherwise the approval is void and the new plan is refused or goes
    /// back to the approvers.
    /// </summary>
    private async Task<VoteResult> ExecuteAsync(ApprovalRecord record, CancellationToken cancellationToken)
    {
        var store = _store;
        using var parsed = JsonDocument.Parse(record.Arguments);
        var arguments = parsed.RootElement.Clone();
        var entry = EntryFor(record, AuditKinds.Call) with { Environment = _options.Environment, Arguments = arguments, Instruction = record.Instruction, Effect = "approve" };
        if (_policies.Current.FindAgent(record.Agent) is not { } agent)
        {
            return await FailAsync(record, entry, $"agent '{record.Agent}' is no longer in the policy").ConfigureAwait(false);
        }

        if (record.Environment != _options.Environment)
        {
            return await FailAsync(record, entry, $"the call was approved for {record.Environment}, and this gateway runs {_options.Environment}").ConfigureAwait(false);
        }

        var votes = store.Approvals.Votes(record.Id);
        var approved = new ApprovedCall(record.Id, record.PlanHash, PlanView.Records(record.Plan), string.Join(", ", votes.Select(v => Who(v.Person))),
            [.. votes.Where(v => v.Vote == "approve").Select(v => v.Person)]);
        var governed = await _governor.GovernAsync(new GovernedCall(agent, record.Tool, arguments, record.OnBehalfOf, entry) { Approved = approved })
            .ConfigureAwait(false);
        switch (governed)
        {
            case Governed.Changed { Refused: { } refused } changed:
                store.Approvals.SetOutcome(record.Id, ApprovalStatus.Void, Outcome(new { reason = changed.Difference }));
                return new VoteResult(VoteStatus.Voided, $"{changed.Difference}; and the policy now refuses it: {refused.Message}", store.Approvals.Find(record.Id)!,
                    Execution: refused);
            case Governed.Changed changed:
                store.Approvals.SetOutcome(record.Id, ApprovalStatus.Void, Outcome(new { reason = changed.Difference }));
                var again = await RequestAsync(agent, changed.Plan, changed.Decision, record.Instruction, record.OnBehalfOf, changed.Entry, replaces: record).ConfigureAwait(false);
                return new VoteResult(VoteStatus.Voided,
                    $"{changed.Difference}: this approval is void, and request {again.ApprovalId} asks the approvers again",
                    store.Approvals.Find(record.Id)!, again.ApprovalId, again);
            case Governed.Finished { Outcome: var outcome }:
                var status = outcome.Status switch { CallStatus.Done => ApprovalStatus.Executed, CallStatus.Stopped => ApprovalStatus.Stopped, _ => ApprovalStatus.Failed };
                store.Approvals.SetOutcome(record.Id, status, outcome.Status is CallStatus.Done or CallStatus.Stopped
                    ? outcome.ToJson()
                    : Outcome(new { reason = $"approved, but {(outcome.Status == CallStatus.Refused ? "refused now" : "it could not run")}: {outcome.Message}", code = outcome.Code, audit_seq = outcome.AuditSeq }));
                return new VoteResult(outcome.Status == CallStatus.Done ? VoteStatus.Executed : VoteStatus.Failed,
                    outcome.Status switch
                    {
                        CallStatus.Done => $"approved; the call ran: {outcome.Summary}",
                        CallStatus.Stopped => $"approved, and stopped while it ran: {outcome.Message}",
                        CallStatus.Refused => $"approved, but refused now: {outcome.Message}",
                        _ => $"approved, but the call failed: {outcome.Message}",
                    },
                    store.Approvals.Find(record.Id)!, Execution: outcome);
            default:
                throw new InvalidOperationException($"an approved call cannot end as {governed.GetType().Name}");
        }
    }

    private async Task<VoteResult> FailAsync(ApprovalRecord record, AuditEntry entry, string reason)
    {
        _store.Approvals.SetOutcome(record.Id, ApprovalStatus.Failed, Outcome(new { reason }));
        var seq = await _recorder.RecordAsync(entry with { Reason = reason, Outcome = "error" }).ConfigureAwait(false);
        return new VoteResult(VoteStatus.Failed, reason, _store.Approvals.Find(record.Id)!, Execution: CallOutcome.Refused(record.Tool, "failed", reason, entry.Rule, seq));
    }

    private async Task ExpireAsync(ApprovalRecord record)
    {
        var reason = $"nobody decided it before {GatewayStore.Time(record.ExpiresAt)}";
        if (_store.Approvals.Close(record.Id, ApprovalStatus.Expired, Outcome(new { reason }), _options.Clock.GetUtcNow()))
        {
            await _recorder.RecordAsync(EntryFor(record, AuditKinds.Approval) with { Effect = "expired", Outcome = "expired", Detail = reason }).ConfigureAwait(false);
        }
    }

    /// <summary>Each requirement of a request with its approvers by name and the approvals given so far: what people and the agent are shown.</summary>
    public IReadOnlyList<ApprovalWait> Waiting(ApprovalRecord record, IReadOnlyList<ApprovalVote>? votes = null)
    {
        votes ??= _store.Approvals.Votes(record.Id);
        return [.. RequirementsOf(record).Select(r => new ApprovalWait(r.Rule, [.. r.Approvers.Select(Who)], r.Quorum, Given(r, votes)))];
    }

    /// <summary>"1 of Sam Okafor (sam); and 2 of ...": who must still agree, in a sentence.</summary>
    public static string Describe(IReadOnlyList<ApprovalWait> waiting) =>
        string.Join("; and ", waiting.Select(w => $"{w.Quorum} of {string.Join(", ", w.Approvers)}"));

    private CallOutcome Pending(ApprovalRecord record, Plan plan, long auditSeq)
    {
        var waiting = Waiting(record);
        var page = _options.RequestPage(record.Id);
        return new CallOutcome(CallStatus.PendingApproval, record.Tool,
            $"held for approval: {Describe(waiting)}, before {GatewayStore.Time(record.ExpiresAt)}. "
            + $"Ask warden.approval_status with approval_id {record.Id}." + (page is null ? "" : $" The approvers decide at {page}."))
        {
            ApprovalId = record.Id,
            ApprovalUrl = page,
            WaitingFor = waiting,
            ExpiresAt = GatewayStore.Time(record.ExpiresAt),
            Summary = plan.Summary,
            Records = plan.Records,
            AuditSeq = auditSeq,
        };
    }

    /// <summary>Riskiest first: what the call does, how far it reaches, and which data classes it touches.</summary>
    private static int Risk(Plan plan)
    {
        var kind = GuardAmounts.Effective(plan.Tool.Kind, plan.Facts) switch
        {
            ActionKind.Send or ActionKind.Sync => 500,
            ActionKind.Delete => 400,
            ActionKind.Configure => 300,
            ActionKind.Write => 200,
            _ => 100,
        };
        var reach = (int)Math.Min(300, Math.Log10(plan.Records + plan.Recipients + 1) * 60);
        var classes = Math.Min(200, plan.Classes.Sum(c => c switch { "consent" or "restricted" => 100, "pii" => 50, _ => 20 }));
        return kind + reach + classes;
    }

    private static string Outcome(object value) => JsonSerializer.Serialize(value, Json);

    /// <summary>An entry about a request: its environment, agent, use case, tool and id.</summary>
    private static AuditEntry EntryFor(ApprovalRecord record, string kind) => new()
    {
        Kind = kind, Environment = record.Environment, Agent = record.Agent, UseCase = record.UseCase, Tool = record.Tool, ApprovalId = record.Id,
    };

    private static string? Join(string? first, string? second) => first is null ? second : second is null ? first : $"{first}; {second}";

    /// <summary>With a store replicas share, renews the executing request while the timer returned lives (<see cref="Renewals"/>).</summary>
    private ITimer? Lease(string id)
    {
        if (_options.Store is null)
        {
            return null;
        }

        _store.Approvals.Renew(id, _options.Clock.GetUtcNow()); // at once: the vote's own work since the decision counts against the take-over time
        return Renewals.Every(_options, _log, id, at => _store.Approvals.Renew(id, at));
    }

    /// <summary>
    /// Requests left executing by a gateway that stopped in the middle: executed when the
    /// workspace holds an action applied from their plan, failed otherwise. Recorded either way.
    /// </summary>
    public async Task ReconcileAsync()
    {
        // Only this environment's: another environment's action would be in another workspace.
        // With a store replicas share, only requests whose replica has not renewed them for the
        // take-over time (it stopped: a replica running a call renews it while it runs); the one
        // whose outcome is set records it.
        var startedBefore = _options.Store is null ? DateTimeOffset.MaxValue : _options.Clock.GetUtcNow() - _options.TakeOverAfter;
        foreach (var record in _store.Approvals.List(ApprovalStatus.Executing)
                     .Where(r => r.Environment == _options.Environment && (r.RenewedAt ?? r.DecidedAt ?? r.CreatedAt) < startedBefore))
        {
            var action = _system.ActionWithPlan(record.Agent, record.PlanHash);
            var reason = action is null
                ? "the gateway stopped while it was running the call, and the workspace holds no action from its plan: it did not run"
                : $"the gateway stopped while it was running the call; the workspace holds its action {action}";
            if (!_store.Approvals.TakeOver(record.Id, action is null ? ApprovalStatus.Failed : ApprovalStatus.Executed, Outcome(new { reason, action_id = action }), startedBefore))
            {
                continue; // its replica finished it or renewed it since it was read, or another took it over
            }

            await _recorder.RecordAsync(EntryFor(record, AuditKinds.Call) with
            {
                ActionId = action, PlanHash = record.PlanHash, Effect = "approve", Outcome = action is null ? "error" : "ok", Detail = reason,
            }).ConfigureAwait(false);
        }
    }

}
