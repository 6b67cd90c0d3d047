using Warden.Tests;
using Warden.Core;
namespace Warden.Workspace.Tests;

/// <summary>
/// A send goes out in batches and stops between them: it keeps what went out and says how far it
/// got, checks consent again as each batch is sent, and sent again reaches only the rest. A write
/// is asked whether to stop while it runs, and a write stopped half-way writes nothing.
/// </summary>
public sealed class BatchOnSqliteTests() : BatchTests(null);

public sealed class BatchOnPostgresTests(PostgresServer server) : BatchTests(server);

public abstract class BatchTests(PostgresServer? server)
{
    private readonly WorkspaceFixture _workspace = new(server);

    private long Sent => (long)_workspace.Scalar("SELECT count(*) FROM campaign_sends WHERE campaign_id = 'cmp-news'")!;

    private Plan NewsletterPlan() => _workspace.Plan("campaigns.send", """{"campaign": "cmp-news"}""", "campaign-qa-bot");

    [Fact]
    public void A_send_stopped_between_batches_keeps_what_went_out_and_sends_no_more()
    {
        var plan = NewsletterPlan();
        Assert.True(plan.Records > 4);
        var asked = 0;
        var applied = _workspace.Workspace.Apply(plan, new ApplyControl { BatchSize = 2, Stop = () => ++asked == 2 ? "agent campaign-qa-bot was frozen" : null }).Get();
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
        _workspace.Workspace.Apply(plan, new ApplyControl { BatchSize = 3, Stop = () => "frozen" }).Get();
        Assert.Equal(3L, Sent);
        var again = NewsletterPlan();
        Assert.Equal(plan.Records - 3, again.Records);
        Assert.Contains("3 reached by an earlier send of it, which stopped", again.Summary, StringComparison.Ordinal);
        _workspace.Workspace.Apply(again).Get();
        Assert.Equal(plan.Records, Sent);
        Assert.Equal(0L, _workspace.Scalar("SELECT count(*) FROM (SELECT contact_id FROM campaign_sends GROUP BY contact_id HAVING count(*) > 1) AS twice"));
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
            Stop = () =>
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
}

/// <summary>SQLite stops a write through its progress handler, asked every so many steps of its work; the handler goes with the write.</summary>
public sealed class SqliteStopTests
{
    private readonly WorkspaceFixture _workspace = new();

    [Fact]
    public void A_write_stopped_while_it_runs_writes_nothing()
    {
        var before = _workspace.Dump();
        var plan = _workspace.Plan("contacts.update", """{"all": true, "set": {"job_title": "Buyer"}}""");
        var asked = 0;
        // Asked every 50 steps of SQLite's work: the third time, the agent has been frozen.
        var stopped = _workspace.Workspace.Apply(plan, new ApplyControl { CheckEvery = 50, Stop = () => ++asked == 3 ? "agent hygiene-bot was frozen" : null });
        Assert.Equal("stopped", stopped.Error!.Code);
        Assert.Contains("agent hygiene-bot was frozen", stopped.Error.Message, StringComparison.Ordinal);
        Assert.Equal(before, _workspace.Dump());
        Assert.Equal(0L, _workspace.Scalar("SELECT count(*) FROM actions"));
    }

    [Fact]
    public void A_write_nobody_stops_runs_whole_and_the_write_connection_forgets_the_question()
    {
        var asked = 0;
        var plan = _workspace.Plan("contacts.update", """{"all": true, "set": {"job_title": "Buyer"}}""");
        Assert.True(_workspace.Workspace.Apply(plan, new ApplyControl { CheckEvery = 50, Stop = () => { asked++; return null; } }).Succeeded);
        Assert.True(asked > 0);
        var before = asked;
        _workspace.Apply("contacts.update", """{"ids": ["c-01"], "set": {"job_title": "CMO"}}"""); // no control: the handler is gone
        Assert.Equal(before, asked);
        Assert.Equal(41L, _workspace.Scalar("SELECT count(*) FROM contacts WHERE job_title IN ('Buyer', 'CMO')"));
    }
}

/// <summary>PostgreSQL stops a write while it runs: asked every 50 ms, the statement is cancelled by the server and its transaction rolled back.</summary>
public sealed class PostgresStopTests(PostgresServer server)
{
    private readonly WorkspaceFixture _workspace = new(server);

    [Fact]
    public async Task A_write_stopped_while_it_waits_on_the_database_writes_nothing()
    {
        var before = _workspace.Dump();
        var plan = _workspace.Plan("contacts.update", """{"all": true, "set": {"job_title": "Buyer"}}""");
        // Someone outside Warden holds a contact: the update waits in the database until stopped.
        await using var holder = (Npgsql.NpgsqlConnection)_workspace.Connect();
        await using var holding = await holder.BeginTransactionAsync(TestContext.Current.CancellationToken);
        await using (var lockRow = new Npgsql.NpgsqlCommand("SELECT 1 FROM contacts WHERE id = 'c-20' FOR UPDATE", holder, holding))
        {
            await lockRow.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }

        var asked = 0;
        var stopped = _workspace.Workspace.Apply(plan, new ApplyControl { Stop = () => Interlocked.Increment(ref asked) == 6 ? "agent hygiene-bot was frozen" : null });

        Assert.Equal("stopped", stopped.Error?.Code);
        Assert.Contains("agent hygiene-bot was frozen", stopped.Error!.Message, StringComparison.Ordinal);
        await holding.RollbackAsync(TestContext.Current.CancellationToken);
        Assert.Equal(before, _workspace.Dump());
        Assert.Equal(0L, _workspace.Scalar("SELECT count(*) FROM actions"));
    }
}
