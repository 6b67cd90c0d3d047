using Warden.Storage.Gateway;
using Warden.Tests;

namespace Warden.Storage.Tests.Gateway;

/// <summary>Each of the gateway's stores keeps and answers the same on both engines.</summary>
public sealed class GatewayStoreTests(PostgresServer postgres) : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 9, 0, 0, TimeSpan.Zero);
    private readonly GatewayStores _stores = new(postgres);

    public void Dispose() => _stores.Dispose();

    private static ApprovalRecord Request(string id, string? onBehalfOf = null, int risk = 1) => new()
    {
        Id = id, Status = ApprovalStatus.Pending, Agent = "tidy-bot", UseCase = "tidy", Environment = "sandbox", Tool = "contacts.update",
        Arguments = "{\"filter\":\"country == 'DE'\"}", Instruction = "Normalise titles.", OnBehalfOf = onBehalfOf, PlanHash = "sha256:plan", AffectedHash = "sha256:affected",
        Plan = "{\"summary\":\"Changes 3 record(s)\"}", Requirements = "[]", Risk = risk, CreatedAt = Now, ExpiresAt = Now.AddHours(1),
    };

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task An_approval_request_reads_back_as_it_was_written(string engine)
    {
        var store = await _stores.OpenAsync(engine);
        var written = Request("apr-1", onBehalfOf: "ana");
        store.Approvals.Insert(written);

        Assert.Equal(written, store.Approvals.Find("apr-1"));
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task An_executing_request_is_renewed_while_it_executes_and_not_after(string engine)
    {
        var store = await _stores.OpenAsync(engine);
        store.Approvals.Insert(Request("apr-run"));
        Assert.False(store.Approvals.Renew("apr-run", Now)); // pending: nothing runs it
        Assert.True(store.Approvals.Close("apr-run", ApprovalStatus.Executing, null, Now));

        Assert.True(store.Approvals.Renew("apr-run", Now.AddSeconds(40)));
        Assert.Equal(Now.AddSeconds(40), store.Approvals.Find("apr-run")!.RenewedAt);
        Assert.True(store.Approvals.SetOutcome("apr-run", ApprovalStatus.Executed, "{}"));
        Assert.False(store.Approvals.Renew("apr-run", Now.AddSeconds(80)));
        Assert.Equal(Now.AddSeconds(40), store.Approvals.Find("apr-run")!.RenewedAt);
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task An_intent_held_by_the_replica_applying_it_is_not_claimed_until_its_hold_runs_out(string engine)
    {
        var store = await _stores.OpenAsync(engine);
        store.Intents.Intend(new IntentRecord("int-held", "sandbox", "tidy-bot", "contacts.update", "sha256:plan", "{}", Now), heldUntil: Now.AddMinutes(5));
        Assert.False(store.Intents.Claim("int-held", Now, Now.AddMinutes(5))); // held from the first moment
        store.Intents.Hold("int-held", Now.AddMinutes(7)); // renewed while the change runs

        Assert.False(store.Intents.Claim("int-held", Now.AddMinutes(6), Now.AddMinutes(11)));
        Assert.True(store.Intents.Claim("int-held", Now.AddMinutes(7), Now.AddMinutes(12)));
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task An_executing_request_renewed_since_it_was_read_is_not_taken_over(string engine)
    {
        var store = await _stores.OpenAsync(engine);
        store.Approvals.Insert(Request("apr-slow"));
        Assert.True(store.Approvals.Close("apr-slow", ApprovalStatus.Executing, null, Now));
        Assert.True(store.Approvals.Renew("apr-slow", Now.AddMinutes(6))); // its replica, still running it

        Assert.False(store.Approvals.TakeOver("apr-slow", ApprovalStatus.Failed, "{}", Now.AddMinutes(5)));
        Assert.Equal(ApprovalStatus.Executing, store.Approvals.Find("apr-slow")!.Status);
        Assert.True(store.Approvals.TakeOver("apr-slow", ApprovalStatus.Failed, "{}", Now.AddMinutes(7)));
        Assert.Equal(ApprovalStatus.Failed, store.Approvals.Find("apr-slow")!.Status);
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task The_same_plan_is_the_same_request_only_for_the_same_person_or_nobody(string engine)
    {
        var store = await _stores.OpenAsync(engine);
        store.Approvals.Insert(Request("apr-nobody"));
        store.Approvals.Insert(Request("apr-ana", onBehalfOf: "ana"));

        Assert.Equal("apr-nobody", store.Approvals.PendingWithPlan("tidy-bot", "sha256:plan", null)?.Id);
        Assert.Equal("apr-ana", store.Approvals.PendingWithPlan("tidy-bot", "sha256:plan", "ana")?.Id);
        Assert.Null(store.Approvals.PendingWithPlan("tidy-bot", "sha256:plan", "bo"));
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task The_queue_lists_pending_requests_riskiest_first(string engine)
    {
        var store = await _stores.OpenAsync(engine);
        store.Approvals.Insert(Request("apr-low", risk: 1));
        store.Approvals.Insert(Request("apr-high", risk: 9));
        store.Approvals.Insert(Request("apr-done", risk: 20));
        store.Approvals.Close("apr-done", ApprovalStatus.Denied, "{}", Now);

        Assert.Equal(["apr-high", "apr-low"], store.Approvals.List(ApprovalStatus.Pending).Select(a => a.Id));
        Assert.Equal(["apr-high", "apr-low", "apr-done"], store.Approvals.List(null).Select(a => a.Id));
        Assert.Equal(2, store.Approvals.PendingCount("tidy-bot"));
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task A_person_votes_once_on_a_request(string engine)
    {
        var store = await _stores.OpenAsync(engine);
        store.Approvals.Insert(Request("apr-1"));

        Assert.True(store.Approvals.Vote("apr-1", new ApprovalVote("sam", "approve", "go", Now)));
        Assert.False(store.Approvals.Vote("apr-1", new ApprovalVote("sam", "deny", "changed my mind", Now.AddMinutes(1))));

        var vote = Assert.Single(store.Approvals.Votes("apr-1"));
        Assert.Equal(new ApprovalVote("sam", "approve", "go", Now), vote);
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task Expired_requests_are_the_pending_ones_past_their_expiry(string engine)
    {
        var store = await _stores.OpenAsync(engine);
        store.Approvals.Insert(Request("apr-1"));

        Assert.Empty(store.Approvals.Expired(Now.AddMinutes(59)));
        Assert.Equal("apr-1", Assert.Single(store.Approvals.Expired(Now.AddHours(1))).Id);
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task A_frozen_agent_stays_frozen_until_unfrozen(string engine)
    {
        var store = await _stores.OpenAsync(engine);
        store.Freezes.Freeze("tidy-bot", "sam", "it went wild", Now);

        Assert.Contains("tidy-bot", store.Freezes.Frozen());
        Assert.True(store.Freezes.Unfreeze("tidy-bot"));
        Assert.DoesNotContain("tidy-bot", store.Freezes.Frozen());
        Assert.False(store.Freezes.Unfreeze("tidy-bot"));
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task Usage_outside_the_window_is_not_counted_and_can_be_forgotten(string engine)
    {
        var store = await _stores.OpenAsync(engine);
        store.Usage.Use("tidy-bot", "tidy", null, Now.AddHours(-2), [("changed_records", 100)]);
        store.Usage.Use("tidy-bot", "tidy", null, Now, [("changed_records", 3), ("sends", 0)]);

        Assert.Equal(3, store.Usage.Used("changed_records", "tidy-bot", null, null, Now.AddHours(-1)));
        Assert.Equal(0, store.Usage.Used("sends", "tidy-bot", null, null, Now.AddHours(-1)));
        Assert.Equal(1, store.Usage.Forget(Now.AddHours(-1)));
        Assert.Equal(3, store.Usage.Used("changed_records", null, "tidy", null, Now.AddDays(-1)));
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task An_activation_names_who_and_when(string engine)
    {
        var store = await _stores.OpenAsync(engine);
        store.Activations.Activate("tidy-bot", "production", "sam", Now);

        Assert.Equal(("sam", Now), store.Activations.Activation("tidy-bot", "production"));
        Assert.Null(store.Activations.Activation("tidy-bot", "sandbox"));
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task An_intent_stays_until_settled_and_an_action_remembers_its_entry(string engine)
    {
        var store = await _stores.OpenAsync(engine);
        var intent = new IntentRecord("int-1", "sandbox", "tidy-bot", "contacts.update", "sha256:plan", "{\"seq\":null}", Now);
        store.Intents.Intend(intent);
        store.Intents.RememberAction("act-1", 41);

        Assert.Equal(intent, Assert.Single(store.Intents.Pending("sandbox")));
        store.Intents.Settle("int-1");
        Assert.Empty(store.Intents.Pending("sandbox"));
        Assert.Equal(41, store.Intents.ActionEntry("act-1"));
        Assert.Null(store.Intents.ActionEntry("act-2"));
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task An_incident_is_acknowledged_then_resolved_and_never_reopened(string engine)
    {
        var store = await _stores.OpenAsync(engine);
        store.Incidents.Open(new IncidentRecord("inc-1", IncidentStatus.Open, "tidy", "tidy-bot", "breaker", "Too many changes", ["sam"], Now, null, null));

        Assert.True(store.Incidents.Advance("inc-1", IncidentStatus.Acknowledged, "sam", Now));
        Assert.False(store.Incidents.Advance("inc-1", IncidentStatus.Acknowledged, "ana", Now));
        Assert.True(store.Incidents.Advance("inc-1", IncidentStatus.Resolved, "sam", Now));
        var incident = Assert.Single(store.Incidents.List(IncidentStatus.Resolved));
        Assert.Equal(("sam", "sam"), (incident.AcknowledgedBy, incident.ResolvedBy));
        Assert.Equal(["sam"], incident.Owners);
        Assert.Empty(store.Incidents.List(IncidentStatus.Open));
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task An_outbox_message_is_due_until_delivered_and_waits_after_a_failure(string engine)
    {
        var store = await _stores.OpenAsync(engine);
        store.Outbox.Enqueue("approval_requested", ["sam"], "{\"text\":\"hi\"}", Now);
        var message = Assert.Single(store.Outbox.Due(Now));

        Assert.True(store.Outbox.Claim(message, Now.AddMinutes(2)));
        store.Outbox.Failed(message.Id, "the webhook answered 500", Now.AddMinutes(5));
        Assert.Empty(store.Outbox.Due(Now.AddMinutes(4)));
        var again = Assert.Single(store.Outbox.Due(Now.AddMinutes(5)));
        Assert.Equal((1, "the webhook answered 500"), (again.Attempts, again.LastError));

        store.Outbox.Delivered(again.Id, Now.AddMinutes(6));
        Assert.Empty(store.Outbox.Due(Now.AddDays(1)));
        Assert.Empty(store.Outbox.Messages(undeliveredOnly: true));
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task A_claimed_outbox_message_is_not_claimed_again_before_its_lease_ends(string engine)
    {
        var store = await _stores.OpenAsync(engine);
        store.Outbox.Enqueue("approval_requested", ["sam"], "{}", Now);
        var message = Assert.Single(store.Outbox.Due(Now));

        Assert.True(store.Outbox.Claim(message, Now.AddMinutes(2)));
        Assert.False(store.Outbox.Claim(message, Now.AddMinutes(2)));
        Assert.Empty(store.Outbox.Due(Now.AddMinutes(1)));
        Assert.Single(store.Outbox.Due(Now.AddMinutes(2)));
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task Five_attempts_lock_an_account_and_a_new_password_ends_its_sessions(string engine)
    {
        var store = await _stores.OpenAsync(engine);
        store.People.SetPassword("sam", "pbkdf2$1", Now);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal((true, null), store.People.Attempt("sam", Now, 5, TimeSpan.FromMinutes(15)));
        }

        Assert.Equal((true, Now.AddMinutes(15)), store.People.Attempt("sam", Now, 5, TimeSpan.FromMinutes(15)));
        Assert.Equal((false, Now.AddMinutes(15)), store.People.Attempt("sam", Now.AddMinutes(1), 5, TimeSpan.FromMinutes(15)));

        Assert.True(store.People.StartSession("tok", new ConsoleSession("sam", "csrf", Now, Now.AddHours(8)), "pbkdf2$1"));
        Assert.Equal("sam", store.People.Session("tok", Now.AddMinutes(1), TimeSpan.FromMinutes(30))?.Person);
        store.People.SetPassword("sam", "pbkdf2$2", Now.AddMinutes(2));
        Assert.Null(store.People.Session("tok", Now.AddMinutes(3), TimeSpan.FromMinutes(30)));
        Assert.False(store.People.StartSession("tok2", new ConsoleSession("sam", "csrf", Now, Now.AddHours(8)), "pbkdf2$1"));
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task A_session_unused_for_the_idle_time_ends(string engine)
    {
        var store = await _stores.OpenAsync(engine);
        store.People.SetPassword("sam", "h", Now);
        store.People.StartSession("tok", new ConsoleSession("sam", "csrf", Now, Now.AddHours(8)), "h");

        Assert.NotNull(store.People.Session("tok", Now.AddMinutes(29), TimeSpan.FromMinutes(30)));
        Assert.NotNull(store.People.Session("tok", Now.AddMinutes(58), TimeSpan.FromMinutes(30)));
        Assert.Null(store.People.Session("tok", Now.AddMinutes(89), TimeSpan.FromMinutes(30)));
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task A_sign_in_link_signs_in_once_and_new_links_void_the_old(string engine)
    {
        var store = await _stores.OpenAsync(engine);
        store.People.IssueLinks([("link-a", "sam")], Now.AddHours(24));

        Assert.Equal("sam", store.People.LinkFor("link-a", Now));
        Assert.Equal("sam", store.People.UseLink("link-a", Now));
        Assert.Null(store.People.UseLink("link-a", Now));

        store.People.IssueLinks([("link-b", "ana")], Now.AddHours(24));
        Assert.Equal("ana", store.People.UseLink("link-b", Now.AddHours(23)));
        store.People.IssueLinks([("link-c", "ana")], Now.AddHours(24));
        Assert.Null(store.People.UseLink("link-c", Now.AddHours(24)));
    }
}
