using Warden.Tests;
using Microsoft.Data.Sqlite;
using Warden.Core;

namespace Warden.Workspace.Tests;

/// <summary>
/// Consent belongs to the person's address, not to a row: attacked by moving an unsubscribed or
/// suppressed address between contacts with ordinary edits, by writing it in another spelling, by
/// deleting, merging or erasing the contact that unsubscribed, from outside Warden, and across a
/// reopened file. The newsletter (c-01..c-10) holds c-10, unsubscribed as person10@example.com,
/// and c-03, suppressed as person3@example.com.
/// </summary>
public sealed class ConsentOnSqliteTests() : ConsentTests(null);

public sealed class ConsentOnPostgresTests(PostgresServer server) : ConsentTests(server);

public abstract class ConsentTests(PostgresServer? server)
{
    private readonly WorkspaceFixture _workspace = new(server);

    private long SentTo(string mailbox) =>
        (long)_workspace.Scalar("SELECT count(*) FROM campaign_sends WHERE campaign_id = 'cmp-news' AND lower(trim(email)) = @m", ("@m", mailbox))!;

    private void SendNewsletter() => _workspace.Apply("campaigns.send", """{"campaign": "cmp-news"}""", "campaign-qa-bot");

    [Fact]
    public void An_unsubscribed_address_moved_onto_a_subscribed_contact_is_not_sent_to()
    {
        // Three small edits: take the address off the contact that unsubscribed, put it on one that did not.
        _workspace.Apply("contacts.update", """{"ids": ["c-10"], "set": {"email": "moved.away@elsewhere.example"}}""");
        _workspace.Apply("contacts.update", """{"ids": ["c-01"], "set": {"email": "person10@example.com"}}""");
        var plan = _workspace.Plan("campaigns.send", """{"campaign": "cmp-news"}""", "campaign-qa-bot");
        Assert.DoesNotContain(plan.SampleKeys, k => k.EndsWith("|person10@example.com", StringComparison.Ordinal));
        SendNewsletter();
        Assert.Equal(0L, SentTo("person10@example.com"));
        Assert.Equal(0L, SentTo("moved.away@elsewhere.example")); // c-10 itself is still unsubscribed
    }

    [Fact]
    public void A_suppressed_address_moved_onto_another_contact_is_not_sent_to()
    {
        _workspace.Apply("contacts.update", """{"ids": ["c-03"], "set": {"email": "someone.else@example.org"}}""");
        _workspace.Apply("contacts.update", """{"ids": ["c-02"], "set": {"email": "Person3@Example.com"}}""");
        SendNewsletter();
        Assert.Equal(0L, SentTo("person3@example.com"));
        Assert.Equal(1L, SentTo("someone.else@example.org")); // the suppression was of the address, not of c-03
    }

    [Theory]
    [InlineData("person10+spring@example.com")]
    [InlineData("PERSON10@EXAMPLE.COM")]
    [InlineData("  Person10+x+y@Example.com ")]
    public void Another_spelling_of_an_unsubscribed_mailbox_is_not_sent_to(string spelling)
    {
        _workspace.Execute("UPDATE contacts SET email = @e WHERE id = 'c-01'", ("@e", spelling));
        SendNewsletter();
        Assert.Equal(0L, (long)_workspace.Scalar("SELECT count(*) FROM campaign_sends WHERE contact_id = 'c-01'")!);
    }

    [Fact]
    public void Gmail_dots_and_googlemail_reach_the_same_mailbox_and_are_not_sent_to()
    {
        _workspace.Apply("contacts.update", """{"ids": ["c-10"], "set": {"email": "ann.lee@gmail.com"}}""");
        _workspace.Apply("contacts.update", """{"ids": ["c-04"], "set": {"email": "AnnLee+news@googlemail.com"}}""");
        SendNewsletter();
        Assert.Equal(0L, (long)_workspace.Scalar("SELECT count(*) FROM campaign_sends WHERE contact_id IN ('c-04', 'c-10')")!);
    }

    [Theory]
    [InlineData("contacts.delete", """{"ids": ["c-10"]}""")]
    [InlineData("contacts.merge", """{"primary": "c-11", "duplicates": ["c-10"]}""")]
    [InlineData("contacts.purge", """{"ids": ["c-10"], "reason": "erasure request"}""")]
    public void Deleting_merging_or_erasing_the_contact_that_unsubscribed_keeps_its_address_unsubscribed(string tool, string arguments)
    {
        _workspace.Apply(tool, arguments);
        _workspace.Apply("contacts.update", """{"ids": ["c-01"], "set": {"email": "person10@example.com"}}""");
        SendNewsletter();
        Assert.Equal(0L, SentTo("person10@example.com"));
    }

    [Fact]
    public void An_address_moved_outside_Warden_is_still_not_sent_to()
    {
        // Another system edits the workspace directly: the ledger is kept by trigger, not by Warden's tools.
        _workspace.Execute("UPDATE contacts SET email = 'gone@example.net', version = version + 1 WHERE id = 'c-10'");
        _workspace.Execute("UPDATE contacts SET email = 'person10@example.com', version = version + 1 WHERE id = 'c-05'");
        SendNewsletter();
        Assert.Equal(0L, SentTo("person10@example.com"));
    }

    [Fact]
    public void Rolling_back_an_unsubscribe_leaves_the_address_unsubscribed_until_consent_is_recorded_again()
    {
        var unsubscribe = _workspace.Apply("consent.update", """{"ids": ["c-02"], "status": "unsubscribed", "source": "request"}""");
        Assert.True(_workspace.Workspace.RollBack(new RollbackRequest(unsubscribe.ActionId), ConflictResolution.Skip, "sam").Succeeded);
        Assert.Equal("subscribed", _workspace.Field("c-02", "email_consent"));
        SendNewsletter();
        Assert.Equal(0L, SentTo("person2@example.com"));
    }

    [Fact]
    public void Recording_a_subscription_is_a_consent_change_that_says_which_addresses_become_reachable_again()
    {
        _workspace.Apply("contacts.update", """{"ids": ["c-10"], "set": {"email": "moved.away@elsewhere.example"}}""");
        _workspace.Apply("contacts.update", """{"ids": ["c-01"], "set": {"email": "person10@example.com"}}""");
        var plan = _workspace.Plan("consent.update", """{"ids": ["c-01"], "status": "subscribed", "source": "form"}""");
        Assert.Contains("consent", plan.Classes);
        Assert.Contains("1 address that unsubscribed before becomes reachable again", plan.Summary, StringComparison.Ordinal);
        _workspace.Workspace.Apply(plan);
        SendNewsletter();
        Assert.Equal(1L, SentTo("person10@example.com"));
    }

    [Fact]
    public void Giving_an_unsubscribed_contact_another_address_is_a_consent_change()
    {
        // The new address becomes unsubscribed too: an agent could otherwise silence anyone's address with a small edit.
        var plan = _workspace.Plan("contacts.update", """{"ids": ["c-10"], "set": {"email": "vip.customer@example.org"}}""");
        Assert.Contains("consent", plan.Classes);
        Assert.Contains("1 of them unsubscribed: the new address becomes unsubscribed too", plan.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain("consent", _workspace.Plan("contacts.update", """{"ids": ["c-01"], "set": {"email": "new.address@example.org"}}""").Classes);
    }

    [Fact]
    public void Suppression_changes_are_consent_changes_whatever_the_policy_calls_the_fields()
    {
        var workspace = new MarketingWorkspace(_workspace.Store, _workspace.Clock); // a policy that declares no data classes
        var plan = workspace.Plan(WorkspaceFixture.Call("suppression.remove", """{"list": "global", "emails": ["person3@example.com"], "reason": "asked"}"""));
        Assert.Contains("consent", plan.Get().Classes);
    }

    [Theory]
    [InlineData("Ann.Lee+x@GoogleMail.com", "annlee@gmail.com")]
    [InlineData(" a.b+c@Example.COM ", "a.b@example.com")]
    [InlineData("plain@example.com", "plain@example.com")]
    [InlineData("+tag@example.com", "@example.com")]
    public void The_mailbox_is_the_same_in_sql_and_in_code(string email, string mailbox)
    {
        Assert.Equal(mailbox, ConsentLedger.MailboxOf(email));
        Assert.Equal(mailbox, _workspace.Scalar($"SELECT {ConsentLedger.Mailbox("@e")}", ("@e", email)));
    }
}

/// <summary>The consent ledger of a SQLite file: added to files from before it, and kept by a seed.</summary>
public sealed class SqliteLedgerTests
{
    private readonly WorkspaceFixture _workspace = new();

    private long SentTo(string mailbox) =>
        (long)_workspace.Scalar("SELECT count(*) FROM campaign_sends WHERE campaign_id = 'cmp-news' AND lower(trim(email)) = @m", ("@m", mailbox))!;

    [Fact]
    public void A_workspace_from_before_the_ledger_gains_it_from_the_contacts_that_unsubscribed()
    {
        // An older file: no mailbox indexes, no ledger, no triggers.
        _workspace.Store.Dispose();
        SqliteConnection.ClearAllPools();
        _workspace.Execute("""
            DROP TRIGGER contacts_unsubscribe_insert; DROP TRIGGER contacts_unsubscribe_update; DROP TABLE unsubscribed_addresses;
            DROP INDEX contacts_mailbox; DROP INDEX suppression_mailbox;
            UPDATE contacts SET deleted_at = '2026-01-01T00:00:00.000Z' WHERE id = 'c-20';
            """);
        using var store = WorkspaceStore.Open(_workspace.Path);
        Assert.Equal(4L, _workspace.Scalar("SELECT count(*) FROM unsubscribed_addresses")); // c-10, c-20 (deleted), c-30, c-40
        var workspace = new MarketingWorkspace(store, _workspace.Clock);
        _workspace.Execute("UPDATE contacts SET email = 'person20@example.com' WHERE id = 'c-01'");
        Assert.True(workspace.Apply(workspace.Plan(WorkspaceFixture.Call("campaigns.send", """{"campaign": "cmp-news"}""", "campaign-qa-bot")).Get()).Succeeded);
        Assert.Equal(0L, SentTo("person20@example.com"));
    }

    [Fact]
    public void A_seeded_workspace_holds_every_unsubscribed_mailbox_in_its_ledger_and_keeps_the_trigger()
    {
        var (path, _) = Seeding.Workspaces.Seed(2_000, seed: 3);
        Assert.Equal(Seeding.Workspaces.Scalar(path, $"SELECT count(DISTINCT {ConsentLedger.Mailbox("email")}) FROM contacts WHERE email_consent = 'unsubscribed'"),
            Seeding.Workspaces.Scalar(path, "SELECT count(*) FROM unsubscribed_addresses"));
        Assert.True(Seeding.Workspaces.Scalar(path, "SELECT count(*) FROM unsubscribed_addresses") > 0);
        Assert.Equal(1, Seeding.Workspaces.Scalar(path, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'contacts_unsubscribe_insert'"));
    }
}
