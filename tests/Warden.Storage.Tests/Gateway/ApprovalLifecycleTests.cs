using Microsoft.Data.Sqlite;
using Warden.Storage.Gateway;

namespace Warden.Storage.Tests.Gateway;

/// <summary>An approval request's lifecycle, as the store keeps it: pending, decided or executing, ended; nothing leaves an end.</summary>
public sealed class ApprovalLifecycleTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Directory.CreateTempSubdirectory("warden-approvals-").FullName;
    private readonly GatewayStore _store;

    public ApprovalLifecycleTests()
    {
        _store = GatewayStore.Open(Path.Combine(_directory, "gateway.db"));
        _store.Approvals.Insert(new ApprovalRecord
        {
            Id = "apr-1", Status = ApprovalStatus.Pending, Agent = "tidy-bot", UseCase = "tidy", Environment = "sandbox", Tool = "contacts.update",
            Arguments = "{}", PlanHash = "sha256:p", AffectedHash = "sha256:a", Plan = "{}", Requirements = "[]", Risk = 1, CreatedAt = Now, ExpiresAt = Now.AddHours(1),
        });
    }

    public void Dispose()
    {
        _store.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void An_executed_request_cannot_be_executed_again()
    {
        Assert.True(_store.Approvals.Close("apr-1", ApprovalStatus.Executing, null, Now));
        Assert.True(_store.Approvals.SetOutcome("apr-1", ApprovalStatus.Executed, "{}"));

        Assert.False(_store.Approvals.Close("apr-1", ApprovalStatus.Executing, null, Now));
        Assert.False(_store.Approvals.SetOutcome("apr-1", ApprovalStatus.Failed, "{}"));
        Assert.Equal(ApprovalStatus.Executed, _store.Approvals.Find("apr-1")!.Status);
    }

    [Fact]
    public void A_pending_request_gets_no_outcome_without_executing_first()
    {
        Assert.False(_store.Approvals.SetOutcome("apr-1", ApprovalStatus.Executed, "{}"));
        Assert.Equal(ApprovalStatus.Pending, _store.Approvals.Find("apr-1")!.Status);
    }

    [Fact]
    public void A_move_the_lifecycle_does_not_have_is_refused_and_says_which()
    {
        var refused = Assert.Throws<ArgumentException>(() => _store.Approvals.Close("apr-1", ApprovalStatus.Executed, null, Now));

        Assert.StartsWith("an approval request does not go from pending to executed", refused.Message, StringComparison.Ordinal);
        Assert.Equal(ApprovalStatus.Pending, _store.Approvals.Find("apr-1")!.Status);
    }

    [Fact]
    public void Every_status_is_stored_and_read_back_as_its_word()
    {
        foreach (var status in Enum.GetValues<ApprovalStatus>())
        {
            Assert.Equal(status, ApprovalLifecycle.Parse(status.Word()));
        }

        Assert.Null(ApprovalLifecycle.Parse("Pending"));
    }
}
