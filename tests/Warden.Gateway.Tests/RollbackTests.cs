using System.Net;

namespace Warden.Gateway.Tests;

/// <summary>
/// Undo through the real gateway: the agent changes records over MCP, people roll back over the
/// API, and someone else edits the marketing system directly in between.
/// </summary>
public sealed class RollbackTests : IAsyncLifetime
{
    private GatewayFixture _gateway = null!;

    public async ValueTask InitializeAsync() => _gateway = await GatewayFixture.StartAsync();

    public async ValueTask DisposeAsync() => await _gateway.DisposeAsync();

    private async Task<string> Update(string[] ids, string title)
    {
        var (isError, answer) = await GatewayFixture.Call(await _gateway.Agent("hygiene-bot"), "contacts.update", new { ids, set = new { job_title = title } });
        Assert.False(isError, answer.ToJsonString());
        return answer["action_id"]!.GetValue<string>();
    }

    private string? Title(string id) => _gateway.Workspace("SELECT job_title FROM contacts WHERE id = @id", ("@id", id)) as string;

    [Fact]
    public async Task A_record_edited_in_the_marketing_system_after_the_agent_survives_the_rollback()
    {
        var action = await Update(["c-0000001", "c-0000002"], "Growth lead");
        // Someone in the CRM retitles c-0000001 by hand; the CRM does not know about Warden's version column.
        _gateway.Workspace("UPDATE contacts SET job_title = 'Head of Growth' WHERE id = 'c-0000001'");

        var (previewed, preview) = await _gateway.Api(HttpMethod.Post, "/api/rollback", _gateway.Token("sam"), new { action_id = action, preview = true });
        Assert.Equal(HttpStatusCode.OK, previewed);
        var conflict = Assert.Single(preview!["conflicts"]!.AsArray())!;
        Assert.Equal(("c-0000001", "changed since, outside Warden"), (conflict["key"]!.GetValue<string>(), conflict["reason"]!.GetValue<string>()));

        var (status, done) = await _gateway.Api(HttpMethod.Post, "/api/rollback", _gateway.Token("sam"), new { action_id = action });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal((1L, "c-0000001"), (done!["restored"]!.GetValue<long>(), Assert.Single(done["skipped"]!.AsArray())!["key"]!.GetValue<string>()));
        Assert.Equal("Head of Growth", Title("c-0000001"));
        Assert.NotEqual("Growth lead", Title("c-0000002"));
    }

    [Fact]
    public async Task A_rollback_rolled_back_over_the_api_reapplies_the_change_and_the_trail_links_it()
    {
        var action = await Update(["c-0000003"], "Growth lead");
        var (_, undo) = await _gateway.Api(HttpMethod.Post, "/api/rollback", _gateway.Token("dev"), new { action_id = action });
        var rollback = undo!["action_id"]!.GetValue<string>();
        var undoSeq = undo["audit_seq"]!.GetValue<long>();

        var (status, redo) = await _gateway.Api(HttpMethod.Post, "/api/rollback", _gateway.Token("dev"), new { action_id = rollback });
        Assert.True(status == HttpStatusCode.OK, redo?.ToJsonString());
        Assert.Equal((1L, "Growth lead"), (redo!["restored"]!.GetValue<long>(), Title("c-0000003")));
        var entry = _gateway.Trail().Single(e => e.Seq == redo["audit_seq"]!.GetValue<long>());
        Assert.Equal(("rollback", undoSeq, "hygiene-bot"), (entry.Entry.Kind, entry.Entry.RollbackOf, entry.Entry.Agent));
        Assert.Equal([entry.Seq], _gateway.Trail().Single(e => e.Seq == undoSeq).RolledBackBy);

        var (again, _) = await _gateway.Api(HttpMethod.Post, "/api/rollback", _gateway.Token("dev"), new { action_id = action });
        Assert.Equal(HttpStatusCode.OK, again);
        Assert.NotEqual("Growth lead", Title("c-0000003"));
    }

    [Fact]
    public async Task Rolling_back_a_rollback_takes_an_owner_of_the_agents_use_case()
    {
        var action = await Update(["c-0000004"], "Growth lead");
        var (_, undo) = await _gateway.Api(HttpMethod.Post, "/api/rollback", _gateway.Token("dev"), new { action_id = action });
        var (refused, why) = await _gateway.Api(HttpMethod.Post, "/api/rollback", _gateway.Token("lee"), new { action_id = undo!["action_id"]!.GetValue<string>() });
        Assert.Equal(HttpStatusCode.Forbidden, refused);
        Assert.StartsWith("lee cannot roll back what agent 'hygiene-bot' did", why!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.NotEqual("Growth lead", Title("c-0000004"));
    }

    [Fact]
    public async Task Only_an_owner_of_the_agents_use_case_sees_a_rollbacks_preview()
    {
        // The preview names records and what they held: it is no less private than the rollback.
        var action = await Update(["c-0000005"], "Growth lead");
        var (refused, _) = await _gateway.Api(HttpMethod.Post, "/api/rollback", _gateway.Token("lee"), new { action_id = action, preview = true });
        Assert.Equal(HttpStatusCode.Forbidden, refused);
        var (shown, _) = await _gateway.Api(HttpMethod.Post, "/api/rollback", _gateway.Token("sam"), new { action_id = action, preview = true });
        Assert.Equal(HttpStatusCode.OK, shown);
    }
}
