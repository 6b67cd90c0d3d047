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
        app.MapPost("/console/policy/reload", (HttpContext context, CancellationToken cancellationToken) => ReloadAsync(gateway, context));
        app.MapGet("/console/incidents", (HttpContext context) =>
            ConsolePages.SignedIn(gateway, context) is { } user ? ConsolePages.Page<IncidentsPage>(Incidents(gateway, user)) : ConsolePages.ToSignIn());
        app.MapPost("/console/incidents/{id}/acknowledge", async (HttpContext context, string id) =>
            await StepAsync(gateway, context, id, IncidentStatus.Acknowledged).ConfigureAwait(false));
        app.MapPost("/console/incidents/{id}/resolve", async (HttpContext context, string id) =>
            await StepAsync(gateway, context, id, IncidentStatus.Resolved).ConfigureAwait(false));
    }

    private static PolicyView PolicyOf(Gateway gateway, ConsoleUser user)
    {
        var (policy, loaded) = (gateway.Policy, gateway.Loaded);
        return new PolicyView(user, gateway.Options.PolicyPath, policy.Hash, loaded.At, loaded.By is { } by ? policy.Who(by) : null, gateway.Environment,
            [("use cases", policy.UseCases.Count), ("agents", policy.Agents.Count), ("rules", policy.Rules.Count), ("budgets", policy.Budgets.Count), ("people", policy.Owners.Count)],
            loaded.Warnings, loaded.Text, PersonAccess.MayReload(policy, user.Id));
    }

    /// <summary>
    /// The checker over the policy file as it is on disk now: whether it loads, whether it is the one
    /// in force, and whether a reload would put it in force (offered, bound to this file's hash, to
    /// those who may reload). Nothing takes effect.
    /// </summary>
    private static PolicyView CheckFile(Gateway gateway, PolicyView view)
    {
        var check = PolicyReload.Check(gateway.Options, gateway.Policy);
        var problems = check.Problems.ToList();
        if (check.Policy is null)
        {
            return view with
            {
                Checked = check.Text is null
                    ? $"Nothing to check: {check.Blocker}."
                    : $"The file as it is now does not load ({check.Diagnostics.Count(d => d.Severity == Core.Severity.Error)} error(s)): it cannot be reloaded, a restart would refuse it, and this gateway keeps the policy in force.",
                CheckedOk = check.Text is null,
                CheckedProblems = problems,
            };
        }

        if (check.Hash == gateway.Policy.Hash)
        {
            return view with { CheckedOk = true, Checked = "The file as it is now loads, and it is the policy in force.", CheckedProblems = problems };
        }

        return check.Blocker is { } blocker
            ? view with { Checked = $"The file as it is now loads, as another policy ({check.Hash}), but it cannot be reloaded: {blocker}.", CheckedProblems = problems }
            : view with
            {
                CheckedOk = true,
                Checked = $"The file as it is now loads, as another policy ({check.Hash}). "
                          + (view.MayReload ? "Reload to put it in force for every call from now on." : "A technical owner or a risk owner can reload it."),
                CheckedProblems = problems,
                ReloadHash = view.MayReload ? check.Hash : null,
            };
    }

    private static async Task<IResult> ReloadAsync(Gateway gateway, HttpContext context)
    {
        if (await ConsolePages.Posted(gateway, context).ConfigureAwait(false) is not { } posted)
        {
            return ConsolePages.Refused(context);
        }

        var checkedHash = posted.Form["checked"].ToString();
        if (checkedHash.Length == 0)
        {
            return Results.Text("Refused: check the file first; a reload takes the file that was checked.", "text/plain", statusCode: 400);
        }

        var reloaded = await gateway.ReloadPolicyAsync(posted.User.Id, checkedHash).ConfigureAwait(false);
        var view = PolicyOf(gateway, posted.User) with { Reloaded = reloaded.Message, ReloadedOk = reloaded.Outcome is ReloadOutcome.Reloaded or ReloadOutcome.Unchanged };
        return reloaded.Outcome switch
        {
            ReloadOutcome.NotAllowed => ConsolePages.Page<PolicyPage>(view, 403),
            ReloadOutcome.Refused => ConsolePages.Page<PolicyPage>(CheckFile(gateway, view) with { Reloaded = reloaded.Message, ReloadedOk = false }, 409),
            _ => ConsolePages.Page<PolicyPage>(view),
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
        var yours = pending.Count(r => gateway.Approvals.Decides(user.Id, r));
        var today = now.UtcDateTime.Date;
        var counted = AuditLog.CallsPerDay(gateway.Trail.Location, new DateTimeOffset(today.AddDays(-6), TimeSpan.Zero)).ToDictionary(d => d.Day);
        var days = Enumerable.Range(0, 7).Select(i => today.AddDays(i - 6).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))
            .Select(d => counted.TryGetValue(d, out var c) ? (d, c.Calls, c.Refused) : (d, 0, 0)).ToList();
        var refusals = !user.ReadsTrail ? [] : AuditLog.Query(gateway.Trail.Location, new AuditQuery { Effect = "deny", Limit = 10 }).Entries
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
