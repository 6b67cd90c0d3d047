using System.Net;
using System.Text.Json.Nodes;

namespace Warden.Gateway.Tests;

/// <summary>
/// What goes out to people is governed by what it is: consent follows the address whatever small
/// edits move it (across a restart too), a send binds its recipients' addresses and its subject,
/// sender and content, and a sync goes only to a destination the policy names. Attacked with the
/// MCP client as the agents and the API as the people.
/// </summary>
public sealed class WhatGoesOutTests
{
    private static async Task<string> DraftToNewsletter(GatewayFixture gateway, string subject = "Winter news")
    {
        var (isError, draft) = await GatewayFixture.Call(await gateway.Agent("campaign-qa-bot"), "campaigns.create_draft",
            new { name = "Winter newsletter", audience = "newsletter", subject, content = "Our winter range is in the shops.", sender = "news@northwind.example" });
        Assert.False(isError, draft.ToJsonString());
        return draft["result"]!["campaign"]!.GetValue<string>();
    }

    private static async Task<JsonNode> HoldSend(GatewayFixture gateway, string campaign)
    {
        var (_, held) = await GatewayFixture.Call(await gateway.Agent("campaign-qa-bot"), "campaigns.send", new { campaign });
        Assert.Equal("pending_approval", held["status"]!.GetValue<string>());
        return held;
    }

    private static async Task<JsonNode> Approve(GatewayFixture gateway, JsonNode held)
    {
        var (status, body) = await gateway.Api(HttpMethod.Post, $"/api/approvals/{held["approval_id"]}/approve", gateway.Token("lee"), new { comment = "copy checked" });
        Assert.Equal(HttpStatusCode.OK, status);
        return body!;
    }

    [Fact]
    public async Task Edits_and_a_restart_do_not_carry_an_unsubscribed_address_into_an_approved_send()
    {
        using var folder = new DataFolder();
        var directory = folder.Path;
        string address;
        await using (var gateway = await GatewayFixture.StartAsync(directory: directory))
        {
            var unsubscribed = (string)gateway.Workspace("SELECT id FROM contacts WHERE email_consent = 'unsubscribed' AND deleted_at IS NULL ORDER BY id LIMIT 1")!;
            address = (string)gateway.Workspace("SELECT lower(trim(email)) FROM contacts WHERE id = @id", ("@id", unsubscribed))!;
            var subscribed = (string)gateway.Workspace("""
                SELECT c.id FROM contacts c JOIN list_members m ON m.contact_id = c.id AND m.list_id = 'newsletter'
                WHERE c.email_consent = 'subscribed' AND c.deleted_at IS NULL ORDER BY c.id LIMIT 1
                """)!;
            var hygiene = await gateway.Agent("hygiene-bot");
            // Moving the unsubscribed contact's address away is a consent change now (its new
            // address would be unsubscribed too): held, and here approved by the data owner.
            var (_, away) = await GatewayFixture.Call(hygiene, "contacts.update", new { ids = new[] { unsubscribed }, set = new { email = "moved.away@elsewhere.example" } });
            Assert.Equal("pending_approval", away["status"]!.GetValue<string>());
            var (approved, _) = await gateway.Api(HttpMethod.Post, $"/api/approvals/{away["approval_id"]}/approve", gateway.Token("sam"), new { comment = "typo fix" });
            Assert.Equal(HttpStatusCode.OK, approved);
            // Giving the subscribed contact that address is a small edit, and runs alone.
            var (_, onto) = await GatewayFixture.Call(hygiene, "contacts.update", new { ids = new[] { subscribed }, set = new { email = address.ToUpperInvariant() } });
            Assert.Equal("done", onto["status"]!.GetValue<string>());
        }

        await using (var gateway = await GatewayFixture.StartAsync(directory: directory))
        {
            var campaign = await DraftToNewsletter(gateway);
            var approved = await Approve(gateway, await HoldSend(gateway, campaign));
            Assert.Equal("executed", approved["result"]!.GetValue<string>());
            Assert.True((long)gateway.Workspace("SELECT count(*) FROM campaign_sends WHERE campaign_id = @c", ("@c", campaign))! > 0);
            Assert.Equal(0L, gateway.Workspace("SELECT count(*) FROM campaign_sends WHERE campaign_id = @c AND lower(trim(email)) = @a", ("@c", campaign), ("@a", address)));
        }
    }

    [Fact]
    public async Task Making_an_unsubscribed_address_reachable_again_takes_the_consent_approvers()
    {
        await using var gateway = await GatewayFixture.StartAsync();
        var unsubscribed = (string)gateway.Workspace("SELECT id FROM contacts WHERE email_consent = 'unsubscribed' AND deleted_at IS NULL ORDER BY id LIMIT 1")!;
        var (_, held) = await GatewayFixture.Call(await gateway.Agent("hygiene-bot"), "consent.update", new { ids = new[] { unsubscribed }, status = "subscribed", source = "form" });
        Assert.Equal("pending_approval", held["status"]!.GetValue<string>());
        Assert.Equal(2, held["waiting_for"]![0]!["quorum"]!.GetValue<int>());
        Assert.Contains("1 address that unsubscribed before becomes reachable again", held["summary"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("subject", "Last chance: 70% off")]
    [InlineData("sender", "deals@elsewhere.example")]
    [InlineData("content", "Click here to claim your prize.")]
    public async Task Changing_what_a_send_says_after_it_was_approved_voids_the_approval(string column, string value)
    {
        await using var gateway = await GatewayFixture.StartAsync();
        var campaign = await DraftToNewsletter(gateway);
        var held = await HoldSend(gateway, campaign);
        var (_, view) = await gateway.Api(HttpMethod.Get, "/api/approvals/" + held["approval_id"], gateway.Token("lee"));
        var message = view!["plan"]!["message"]!;
        Assert.Equal(("Winter news", "news@northwind.example", "Our winter range is in the shops."),
            (message["subject"]!.GetValue<string>(), message["sender"]!.GetValue<string>(), message["preview"]!.GetValue<string>()));
        Assert.StartsWith("sha256:", message["content_hash"]!.GetValue<string>(), StringComparison.Ordinal);

        // Someone edits the campaign in the marketing system after the approver read it.
        gateway.Workspace($"UPDATE campaigns SET {column} = @v WHERE id = @c", ("@v", value), ("@c", campaign));
        var voided = await Approve(gateway, held);
        Assert.Equal(("voided", "void"), (voided["result"]!.GetValue<string>(), voided["status"]!.GetValue<string>()));
        Assert.Equal(0L, gateway.Workspace("SELECT count(*) FROM campaign_sends WHERE campaign_id = @c", ("@c", campaign)));
        var (_, again) = await gateway.Api(HttpMethod.Get, "/api/approvals/" + voided["replacement"], gateway.Token("lee"));
        Assert.Equal(value, again!["plan"]!["message"]![column == "content" ? "preview" : column]!.GetValue<string>());
    }

    [Fact]
    public async Task A_recipient_given_another_address_after_approval_voids_it()
    {
        await using var gateway = await GatewayFixture.StartAsync();
        var campaign = await DraftToNewsletter(gateway);
        var held = await HoldSend(gateway, campaign);
        var recipient = (string)gateway.Workspace("""
            SELECT c.id FROM contacts c JOIN list_members m ON m.contact_id = c.id AND m.list_id = 'newsletter'
            WHERE c.email_consent = 'subscribed' AND c.deleted_at IS NULL ORDER BY c.id LIMIT 1
            """)!;
        gateway.Workspace("UPDATE contacts SET email = 'someone.new@example.org' WHERE id = @id", ("@id", recipient));
        var voided = await Approve(gateway, held);
        Assert.Equal("voided", voided["result"]!.GetValue<string>());
        Assert.Contains("not the same ones", voided["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    private static string WithSyncRule(string policy) => policy.Replace("  # --- data hygiene ---\n", """
          - id: qa-syncs
            description: Audience syncs wait for the risk owner.
            agent: campaign-qa-bot
            tool: audiences.sync
            effect: approve
            approval:
              approvers: [owner:risk]
              expires: 4h

          # --- data hygiene ---

        """, StringComparison.Ordinal);

    [Fact]
    public async Task A_sync_to_a_destination_the_policy_does_not_name_is_refused_and_a_named_one_waits_for_a_person()
    {
        await using var gateway = await GatewayFixture.StartAsync(WithSyncRule);
        var agent = await gateway.Agent("campaign-qa-bot");
        var segment = (string)gateway.Workspace("SELECT segment_id FROM audience_syncs WHERE destination = 'linkedin:matched-audience-42'")!;
        var (isError, refused) = await GatewayFixture.Call(agent, "audiences.sync", new { segment, destination = "linkedin:matched-audience-43" });
        Assert.True(isError);
        Assert.Equal(("refused", "unknown_destination"), (refused["status"]!.GetValue<string>(), refused["code"]!.GetValue<string>()));
        Assert.Contains("'linkedin:matched-audience-43' is not a destination the policy names", refused["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var (_, held) = await GatewayFixture.Call(agent, "audiences.sync", new { segment, destination = "linkedin:matched-audience-42" });
        Assert.Equal("pending_approval", held["status"]!.GetValue<string>());
        var (_, view) = await gateway.Api(HttpMethod.Get, "/api/approvals/" + held["approval_id"], gateway.Token("rita"));
        Assert.Equal("linkedin:matched-audience-42", view!["plan"]!["destination"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_sync_approved_to_a_destination_the_policy_has_since_dropped_does_not_run()
    {
        using var folder = new DataFolder();
        var directory = folder.Path;
        string id;
        object? synced;
        await using (var gateway = await GatewayFixture.StartAsync(WithSyncRule, directory: directory))
        {
            var segment = (string)gateway.Workspace("SELECT segment_id FROM audience_syncs WHERE destination = 'linkedin:matched-audience-42'")!;
            var (_, held) = await GatewayFixture.Call(await gateway.Agent("campaign-qa-bot"), "audiences.sync", new { segment, destination = "linkedin:matched-audience-42" });
            id = held["approval_id"]!.GetValue<string>();
            synced = gateway.Workspace("SELECT last_synced_at FROM audience_syncs WHERE destination = 'linkedin:matched-audience-42'");
        }

        await using (var gateway = await GatewayFixture.StartAsync(p => WithSyncRule(p).Replace("  - id: linkedin:matched-audience-42\n", "  - id: linkedin:matched-audience-99\n", StringComparison.Ordinal),
                         directory: directory))
        {
            var (status, body) = await gateway.Api(HttpMethod.Post, $"/api/approvals/{id}/approve", gateway.Token("rita"), new { comment = "ok" });
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("failed", body!["result"]!.GetValue<string>());
            Assert.Contains("is not a destination the policy names", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal(synced, gateway.Workspace("SELECT last_synced_at FROM audience_syncs WHERE destination = 'linkedin:matched-audience-42'"));
        }
    }
}
