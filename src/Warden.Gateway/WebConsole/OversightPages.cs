using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Warden.Core.Audit;
using Warden.Gateway.Approvals;
using Warden.Gateway.Guards;
using Warden.Storage.Audit;
using Warden.Storage.Gateway;
using Warden.WebConsole;
using Warden.WebConsole.Pages;

namespace Warden.Gateway.WebConsole;

/// <summary>The console's Overview (what waits, what is open, refusals, reviews due) and Incidents (acknowledge, resolve) pages.</summary>
internal static class OversightPages
{
    public static void Map(WebApplication app, Gateway gateway)
    {
        app.MapGet("/console/overview", (HttpContext context) =>
            ConsolePages.SignedIn(gateway, context) is { } user ? ConsolePages.Page<OverviewPage>(Overview(gateway, user)) : ConsolePages.ToSignIn());
        app.MapGet("/console/policy", (HttpContext context) =>
        {
            if (ConsolePages.SignedIn(gateway, context) is not { } user)
            {
                return ConsolePages.ToSignIn();
            }

            return ConsolePages.Page<PolicyPage>(PolicyOf(gateway, user));
        });
        app.MapPost("/console/policy/check", async (HttpContext context) =>
        {
            if (await ConsolePages.Posted(gateway, context).ConfigureAwait(false) is not { } posted)
            {
                return ConsolePages.Refused(context);
            }

            return ConsolePages.Page<PolicyPage>(CheckFile(gateway, PolicyOf(gateway, posted.User)));
        });
        app.MapGet("/console/incidents", (HttpContext context) =>
            ConsolePages.SignedIn(gateway, context) is { } user ? ConsolePages.Page<IncidentsPage>(Incidents(gateway, user)) : ConsolePages.ToSignIn());
        app.MapPost("/console/incidents/{id}/acknowledge", async (HttpContext context, string id) =>
            await StepAsync(gateway, context, id, IncidentStatus.Acknowledged).ConfigureAwait(false));
        app.MapPost("/console/incidents/{id}/resolve", async (HttpContext context, string id) =>
            await StepAsync(gateway, context, id, IncidentStatus.Resolved).ConfigureAwait(false));
    }

    private static PolicyView PolicyOf(Gateway gateway, ConsoleUser user)
    {
        var policy = gateway.Policy;
        return new PolicyView(user, gateway.Options.PolicyPath, policy.Hash, gateway.Loaded.At, gateway.Environment,
            [("use cases", policy.UseCases.Count), ("agents", policy.Agents.Count), ("rules", policy.Rules.Count), ("budgets", policy.Budgets.Count), ("people", policy.Owners.Count)],
            gateway.Loaded.Warnings, gateway.Loaded.Text);
    }

    /// <summary>The checker over the policy file as it is on disk now: whether the next start would load it, and whether it differs from the one loaded. Nothing takes effect.</summary>
    private static PolicyView CheckFile(Gateway gateway, PolicyView view)
    {
        if (gateway.Options.PolicyText is not null)
        {
            return view with { Checked = "This gateway runs a policy it was given as text (the built-in example), not a file: there is nothing on disk to check.", CheckedOk = true };
        }

        string text;
        try
        {
            text = File.ReadAllText(gateway.Options.PolicyPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return view with { Checked = $"{gateway.Options.PolicyPath} cannot be read: {e.Message}" };
        }

        var result = Core.PolicyLoader.Load(text, gateway.Options.PolicyPath, new Core.PolicyLoadOptions
        {
            Clock = gateway.Options.Clock, Systems = [Workspace.WorkspaceCatalogue.Catalogue], Kinds = PolicyKinds.All,
        });
        var problems = result.Diagnostics.Select(d => d.ToString()).ToList();
        if (!result.Succeeded)
        {
            return view with
            {
                Checked = $"The file as it is now does not load ({result.Diagnostics.Count(d => d.Severity == Core.Severity.Error)} error(s)): a restart would refuse it, and this gateway keeps the policy it loaded.",
                CheckedProblems = problems,
            };
        }

        return view with
        {
            CheckedOk = true,
            Checked = result.Policy!.Hash == gateway.Policy.Hash
                ? "The file as it is now loads, and it is the policy this gateway runs."
                : $"The file as it is now loads, as another policy ({result.Policy.Hash}): a restart would run it.",
            CheckedProblems = problems,
        };
    }

    private static async Task<IResult> StepAsync(Gateway gateway, HttpContext context, string id, IncidentStatus next)
    {
        if (await ConsolePages.Posted(gateway, context).ConfigureAwait(false) is not { } posted)
        {
            return ConsolePages.Refused(context);
        }

        var refused = await IncidentSteps.AdvanceAsync(gateway, posted.User.Id, id, next).ConfigureAwait(false);
        return ConsolePages.Page<IncidentsPage>(Incidents(gateway, posted.User) with
        {
            Notice = refused is null ? $"Incident {id} is {IncidentStore.Word(next)}." : $"Refused: {refused.Message}",
        });
    }

    private static IncidentsView Incidents(Gateway gateway, ConsoleUser user)
    {
        var all = gateway.Store.Incidents.List();
        IncidentRow Row(IncidentRecord i)
        {
            var around = $"/console/activity?from={Uri.EscapeDataString(AuditText.Time(i.OpenedAt - TimeSpan.FromHours(1)))}"
                         + $"&to={Uri.EscapeDataString(AuditText.Time(i.OpenedAt + TimeSpan.FromHours(1)))}"
                         + (i.Agent is null ? "" : $"&agent={Uri.EscapeDataString(i.Agent)}");
            return new IncidentRow(i.Id, IncidentStore.Word(i.Status), i.UseCase, i.Agent, i.Kind, i.Summary, [.. i.Owners.Select(gateway.Approvals.Who)], i.OpenedAt,
                i.AcknowledgedBy, i.ResolvedBy, i.Owners.Contains(user.Id), around);
        }

        return new IncidentsView(user, [.. all.Where(i => i.Status != IncidentStatus.Resolved).OrderByDescending(i => i.OpenedAt).Select(Row)],
            [.. all.Where(i => i.Status == IncidentStatus.Resolved).OrderByDescending(i => i.OpenedAt).Take(20).Select(Row)]);
    }

    private static OverviewView Overview(Gateway gateway, ConsoleUser user)
    {
        var now = gateway.Options.Clock.GetUtcNow();
        var pending = gateway.Store.Approvals.List(ApprovalStatus.Pending);
        var yours = pending.Count(r => ApprovalDesk.RequirementsOf(r).Any(q => q.Approvers.Contains(user.Id)));
        var today = now.UtcDateTime.Date;
        var counted = AuditLog.CallsPerDay(gateway.Trail.Path, new DateTimeOffset(today.AddDays(-6), TimeSpan.Zero)).ToDictionary(d => d.Day);
        var days = Enumerable.Range(0, 7).Select(i => today.AddDays(i - 6).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))
            .Select(d => counted.TryGetValue(d, out var c) ? (d, c.Calls, c.Refused) : (d, 0, 0)).ToList();
        var refusals = AuditLog.Query(gateway.Trail.Path, new AuditQuery { Effect = "deny", Limit = 10 }).Entries
            .Select(r => new ActivityRow(r.Seq, r.Time, r.Entry.Kind, r.Entry.Agent, r.Entry.Person, r.Entry.Tool, r.Entry.Effect, r.Entry.Outcome, r.Entry.Reason, r.Entry.ApprovalId,
                r.Entry.ActionId, r.Entry.RollbackOf, r.RolledBackBy)).ToList();
        var soon = DateOnly.FromDateTime(today.AddDays(30));
        var reviews = gateway.Policy.UseCases
            .Select(u => (u.Id, Due: u.ReviewDue))
            .Where(u => u.Due is null || u.Due <= soon)
            .Select(u => u.Due is { } due
                ? new ReviewRow(u.Id, due < DateOnly.FromDateTime(today) ? $"overdue since {due:yyyy-MM-dd}" : $"due {due:yyyy-MM-dd}", due < DateOnly.FromDateTime(today))
                : new ReviewRow(u.Id, "never reviewed", true))
            .ToList();
        var frozen = gateway.Store.Freezes.Frozen().Select(f => f == "*" ? "every agent" : f).Order(StringComparer.Ordinal).ToList();
        return new OverviewView(user, yours, pending.Count, gateway.Store.Incidents.List().Count(i => i.Status != IncidentStatus.Resolved), frozen, refusals, reviews, days);
    }
}
