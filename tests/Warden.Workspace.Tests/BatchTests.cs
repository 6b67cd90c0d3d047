namespace Warden.Workspace.Tests;

/// <summary>
/// Large sends and writes go out in batches and stop between them: a send keeps what went out and
/// says how far it got, checks consent again as each batch is sent, and sent again reaches only the
/// rest; a write stopped half-way writes nothing.
/// </summary>
public sealed class BatchTests
{
    private readonly WorkspaceFixture _workspace = new();

    private long Sent => (long)_workspace.Scalar("SELECT count(*) FROM campaign_sends WHERE campaign_id = 'cmp-news'")!;

    private Plan NewsletterPlan() => _workspace.Plan("campaigns.send", """{"campaign": "cmp-news"}""", "campaign-qa-bot");

    [Fact]
    public void A_send_stopped_between_batches_keeps_what_went_out_and_sends_no_more()
    {
        var plan = NewsletterPlan();
        Assert.True(plan.Records > 4);
        var asked = 0;
        var applied = _workspace.Workspace.Apply(plan, new ApplyControl { BatchSize = 2, Between = () => ++asked == 2 ? "agent campaign-qa-bot was frozen" : null }).Get();
        Assert.Equal(("agent campaign-qa-bot was frozen", 4L, plan.Records), (applied.Stopped, applied.Done, applied.Records));
        Assert.Equal(4L, Sent);
        Assert.Equal("stopped", _workspace.Scalar("SELECT status FROM campaigns WHERE id = 'cmp-news'"));
        Assert.Equal(0L, _workspace.Scalar("SELECT count(*) FROM send_queue"));
        Assert.Equal(plan.Records - 4, applied.Output.GetProperty("not_sent").GetInt64());
    }

    [Fact]
    public void A_stopped_send_sent_again_reaches_only_those_it_had_not_reached()
    {
        var plan = NewsletterPlan();
        _workspace.Workspace.Apply(plan, new ApplyControl { BatchSize = 3, Between = () => "frozen" }).Get();
        Assert.Equal(3L, Sent);
        var again = NewsletterPlan();
        Assert.Equal(plan.Records - 3, again.Records);
        Assert.Contains("3 reached by an earlier send of it, which stopped", again.Summary, StringComparison.Ordinal);
        _workspace.Workspace.Apply(again).Get();
        Assert.Equal(plan.Records, Sent);
        Assert.Equal(0L, _workspace.Scalar("SELECT count(*) FROM (SELECT contact_id FROM campaign_sends GROUP BY contact_id HAVING count(*) > 1)"));
        Assert.Equal("sent", _workspace.Scalar("SELECT status FROM campaigns WHERE id = 'cmp-news'"));
    }

    [Fact]
    public void Consent_is_checked_again_as_each_batch_goes_out()
    {
        var plan = NewsletterPlan();
        var last = plan.SampleKeys[^1].Split('|')[0];
        // While the first batch is out, the last recipient unsubscribes through the preference centre.
        var applied = _workspace.Workspace.Apply(plan, new ApplyControl
        {
            BatchSize = 1,
            Between = () =>
            {
                _workspace.Execute("UPDATE contacts SET email_consent = 'unsubscribed', version = version + 1 WHERE id = @id", ("@id", last));
                return null;
            },
        }).Get();
        Assert.Null(applied.Stopped);
        Assert.Equal(plan.Records - 1, applied.Done);
        Assert.Equal(0L, _workspace.Scalar("SELECT count(*) FROM campaign_sends WHERE contact_id = @id", ("@id", last)));
        Assert.Equal(1L, applied.Output.GetProperty("left_out_at_sending").GetInt64());
    }

    [Fact]
    public void A_large_write_stopped_between_batches_writes_nothing()
    {
        var before = _workspace.Dump();
        var plan = _workspace.Plan("contacts.update", """{"all": true, "set": {"job_title": "Buyer"}}""");
        var asked = 0;
        var stopped = _workspace.Workspace.Apply(plan, new ApplyControl { WriteBatchSize = 10, Between = () => ++asked == 2 ? "agent hygiene-bot was frozen" : null });
        Assert.Equal("stopped", stopped.Error!.Code);
        Assert.Contains("agent hygiene-bot was frozen", stopped.Error.Message, StringComparison.Ordinal);
        Assert.Equal(2, asked); // stopped after two batches of ten had been written, inside the transaction
        Assert.Equal(before, _workspace.Dump());
    }
}
