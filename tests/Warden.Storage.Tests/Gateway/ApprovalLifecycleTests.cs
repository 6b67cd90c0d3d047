using Warden.Storage.Gateway;
using Warden.Tests;

namespace Warden.Storage.Tests.Gateway;

/// <summary>An approval request's lifecycle, as the store keeps it: pending, decided or executing, ended; nothing leaves an end.</summary>
public sealed class ApprovalLifecycleTests(PostgresServer postgres) : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);
    private readonly GatewayStores _stores = new(postgres);
    private GatewayStore _store = null!;

    private async Task OpenAsync(string engine)
    {
        _store = await _stores.OpenAsync(engine);
        _store.Approvals.Insert(new ApprovalRecord
        {
            Id = "apr-1", Status = ApprovalStatus.Pending, Agent = "tidy-bot", UseCase = "tidy", Environment = "sandbox", Tool = "contacts.update",
            Arguments = "{}", PlanHash = "sha256:p", AffectedHash = "sha256:a", Plan = "{}", Requirements = "[]", Risk = 1, CreatedAt = Now, ExpiresAt = Now.AddHours(1),
        });
    }

    public void Dispose() => _stores.Dispose();

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task An_executed_request_cannot_be_executed_again(string engine)
    {
        await OpenAsync(engine);
        Assert.True(_store.Approvals.Close("apr-1", ApprovalStatus.Executing, null, Now));
        Assert.True(_store.Approvals.SetOutcome("apr-1", ApprovalStatus.Executed, "{}"));

        Assert.False(_store.Approvals.Close("apr-1", ApprovalStatus.Executing, null, Now));
        Assert.False(_store.Approvals.SetOutcome("apr-1", ApprovalStatus.Failed, "{}"));
        Assert.Equal(ApprovalStatus.Executed, _store.Approvals.Find("apr-1")!.Status);
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task A_pending_request_gets_no_outcome_without_executing_first(string engine)
    {
        await OpenAsync(engine);
        Assert.False(_store.Approvals.SetOutcome("apr-1", ApprovalStatus.Executed, "{}"));
        Assert.Equal(ApprovalStatus.Pending, _store.Approvals.Find("apr-1")!.Status);
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task A_move_the_lifecycle_does_not_have_is_refused_and_says_which(string engine)
    {
        await OpenAsync(engine);
        var refused = Assert.Throws<ArgumentException>(() => _store.Approvals.Close("apr-1", ApprovalStatus.Executed, null, Now));

        Assert.StartsWith("an approval request does not go from pending to executed", refused.Message, StringComparison.Ordinal);
        Assert.Equal(ApprovalStatus.Pending, _store.Approvals.Find("apr-1")!.Status);
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task Every_status_is_stored_and_read_back_as_its_word(string engine)
    {
        await OpenAsync(engine);
        foreach (var status in Enum.GetValues<ApprovalStatus>())
        {
            Assert.Equal(status, ApprovalLifecycle.Parse(status.Word()));
        }

        Assert.Null(ApprovalLifecycle.Parse("Pending"));
    }
}
