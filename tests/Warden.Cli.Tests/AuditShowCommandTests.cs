using Warden.Storage.Audit;

namespace Warden.Cli.Tests;

/// <summary>`warden audit show SEQ`: one entry whole, with its approval's entries and its rollback.</summary>
public sealed class AuditShowCommandTests
{
    [Fact]
    public async Task An_approved_call_shows_its_rule_plan_approval_and_the_rollback_that_undid_it()
    {
        await using var gateway = await RunningGateway.StartAsync();
        var held = await gateway.CallAsync("hygiene-bot", "contacts.update", new { filter = "country == 'DE'", set = new { job_title = "Shown" } });
        var id = held["approval_id"]!.GetValue<string>();
        Assert.Equal(0, Cli.Run("approvals", "approve", id, "--comment", "looks right", "--url", gateway.Url, "--token", gateway.Token("sam")).ExitCode);
        var trail = Path.Combine(gateway.Data, "audit.db");
        var call = AuditLog.Query(trail, new AuditQuery { Agent = "hygiene-bot", Limit = 100 }).Entries.Single(e => e.Entry.ApprovalId == id && e.Entry.ActionId is not null);
        Assert.Equal(0, Cli.Run("rollback", call.Entry.ActionId!, "--yes", "--url", gateway.Url, "--token", gateway.Token("sam")).ExitCode);

        var (exit, output) = Cli.Run("audit", "show", call.Seq.ToString(System.Globalization.CultureInfo.InvariantCulture), "--trail", trail);

        Assert.True(exit == 0, output);
        Assert.Contains("contacts.update", output, StringComparison.Ordinal);
        Assert.Contains(call.Entry.PlanSummary!, output, StringComparison.Ordinal);
        Assert.Contains($"Approval {id}", output, StringComparison.Ordinal);
        Assert.Contains("approved", output, StringComparison.Ordinal); // sam's vote, an entry of the same request
        Assert.Contains("Rolled back by entry", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_entry_the_trail_does_not_have_is_an_error()
    {
        await using var gateway = await RunningGateway.StartAsync();

        var (exit, output) = Cli.Run("audit", "show", "99999", "--trail", Path.Combine(gateway.Data, "audit.db"));

        Assert.Equal(1, exit);
        Assert.Contains("the trail has no entry 99999 (it ends at entry", output, StringComparison.Ordinal);
    }
}
