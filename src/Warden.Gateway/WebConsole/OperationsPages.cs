using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Warden.Core;
using Warden.Core.Audit;
using Warden.Gateway.Approvals;
using Warden.Gateway.Calls;
using Warden.Storage.Audit;
using Warden.WebConsole;
using Warden.WebConsole.Pages;

namespace Warden.Gateway.WebConsole;

/// <summary>
/// The console's pages for operating the gateway: Activity (the trail, filtered, each entry whole,
/// verify and export), Rollback (preview, then confirm) and Agents (the kill switch). Each does
/// what the API does, through the same pieces and the same checks.
/// </summary>
internal static class OperationsPages
{
    private const int PageSize = 50;

    public static void Map(WebApplication app, Gateway gateway)
    {
        app.MapGet("/console/activity", (HttpContext context) =>
            ConsolePages.SignedIn(gateway, context) is not { } user ? ConsolePages.ToSignIn()
            : !user.ReadsTrail ? ConsolePages.NotATrailReader(user)
            : ConsolePages.Page<ActivityPage>(Activity(gateway, user, context.Request.Query)));
        app.MapPost("/console/activity/verify", async (HttpContext context) =>
        {
            if (await ConsolePages.Posted(gateway, context).ConfigureAwait(false) is not { } posted)
            {
                return ConsolePages.Refused(context);
            }

            if (!posted.User.ReadsTrail)
            {
                return ConsolePages.NotATrailReader(posted.User);
            }

            var result = AuditVerifier.Verify(gateway.Trail.Location);
            var view = Activity(gateway, posted.User, new QueryCollection()) with
            {
                Verified = result.Verified
                    ? $"The chain verifies: {result.Entries:N0} entries, {result.Checkpoints:N0} signed checkpoints, every link and checkpoint as written."
                    : $"The chain does not verify: {result.Finding!.Message}",
                VerifiedOk = result.Verified,
            };
            return ConsolePages.Page<ActivityPage>(view);
        });
        app.MapGet("/console/activity/export", async (HttpContext context) =>
        {
            if (ConsolePages.SignedIn(gateway, context) is not { } user)
            {
                return ConsolePages.ToSignIn();
            }

            if (!user.ReadsTrail)
            {
                return ConsolePages.NotATrailReader(user);
            }

            if (Query(context.Request.Query, out var error) is not { } query)
            {
                return Results.Text(error!, "text/plain", statusCode: 400);
            }

            // Every entry the filters select, newest first, a page of the trail at a time.
            context.Response.ContentType = "application/jsonl";
            context.Response.Headers.ContentDisposition = "attachment; filename=\"warden-activity.jsonl\"";
            var page = query with { Limit = 1000 };
            while (true)
            {
                var found = AuditLog.Query(gateway.Trail.Location, page);
                var lines = new StringBuilder();
                foreach (var record in found.Entries)
                {
                    lines.Append(System.Text.Json.JsonSerializer.Serialize(Http.Api.EntryJson(record))).Append('\n');
                }

                await context.Response.WriteAsync(lines.ToString(), context.RequestAborted).ConfigureAwait(false);
                if (found.Next is not { } next)
                {
                    return Results.Empty;
                }

                page = page with { Before = next };
            }
        });
        app.MapGet("/console/activity/{seq:long}", (HttpContext context, long seq) =>
        {
            if (ConsolePages.SignedIn(gateway, context) is not { } user)
            {
                return ConsolePages.ToSignIn();
            }

            if (!user.ReadsTrail)
            {
                return ConsolePages.NotATrailReader(user);
            }

            var record = AuditLog.Query(gateway.Trail.Location, new AuditQuery { Before = seq + 1, Limit = 1 }).Entries.FirstOrDefault(r => r.Seq == seq);
            return record is null
                ? Results.Text($"The trail has no entry {seq}.", "text/plain", statusCode: 404)
                : ConsolePages.Page<ActivityEntryPage>(Entry(gateway, user, record));
        });

        app.MapGet("/console/rollback", async (HttpContext context) =>
        {
            if (ConsolePages.SignedIn(gateway, context) is not { } user)
            {
                return ConsolePages.ToSignIn();
            }

            var q = context.Request.Query;
            var view = new RollbackView(user, Blank(q["action"]), Blank(q["agent"]), Blank(q["since"]));
            if (view.ActionId is null && view.Agent is null)
            {
                return ConsolePages.Page<RollbackPage>(view);
            }

            if (Request(gateway, view.ActionId, view.Agent, view.Since, out var error) is not { } request)
            {
                return ConsolePages.Page<RollbackPage>(view with { Error = error });
            }

            var plan = await PersonRollback.PreviewAsync(gateway, user.Id, request).ConfigureAwait(false);
            return ConsolePages.Page<RollbackPage>(plan.Succeeded
                ? view with
                {
                    From = request.From, To = request.To, Summary = plan.Value!.Summary, Actions = plan.Value.Actions, Restorable = plan.Value.Restorable, Irreversible = plan.Value.Irreversible,
                    Conflicts = [.. plan.Value.Conflicts.Select(c => new ConflictView(c.ActionId, c.Table, c.Key, c.Reason))],
                }
                : view with { Error = plan.Error!.Message });
        });
        app.MapPost("/console/rollback", async (HttpContext context) =>
        {
            if (await ConsolePages.Posted(gateway, context).ConfigureAwait(false) is not { } posted)
            {
                return ConsolePages.Refused(context);
            }

            var form = posted.Form;
            var view = new RollbackView(posted.User, Blank(form["action"]), Blank(form["agent"]), Blank(form["since"]));
            if (Request(gateway, view.ActionId, view.Agent, view.Since, out var error) is not { } request)
            {
                return ConsolePages.Page<RollbackPage>(view with { Error = error });
            }

            // The window the preview showed, not "since" counted again from now: what the agent did after the preview was never shown.
            if (request.Agent is not null && (Blank(form["from"]), Blank(form["to"])) is ({ } fromText, { } toText))
            {
                if (!Instant(fromText, out var from) || !Instant(toText, out var to) || from >= to || to > gateway.Options.Clock.GetUtcNow() || to - from > TimeSpan.FromDays(366))
                {
                    return ConsolePages.Page<RollbackPage>(view with { Error = "the previewed window is not one this page gave: preview it again" });
                }

                request = request with { From = from, To = to };
            }

            // Conflicts are left as they are from the console: overwriting someone's later work is for the CLI's --force, on purpose.
            var result = await PersonRollback.RunAsync(gateway, posted.User.Id, request, force: false).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                return ConsolePages.Page<RollbackPage>(view with { Error = result.Error!.Message });
            }

            var done = result.Value!.Done;
            return ConsolePages.Page<RollbackPage>(view with
            {
                Done = $"Rolled back {string.Join(", ", done.Undone)}: {done.Restored:N0} record(s) restored"
                       + (done.Skipped.Count > 0 ? $", {done.Skipped.Count:N0} changed since and left as they are" : "") + ".",
                DoneSeq = result.Value.AuditSeq,
            });
        });

        app.MapGet("/console/agents", (HttpContext context) =>
            ConsolePages.SignedIn(gateway, context) is { } user ? ConsolePages.Page<AgentsPage>(Agents(gateway, user)) : ConsolePages.ToSignIn());
        app.MapGet("/console/agents/{id}", (HttpContext context, string id) =>
        {
            if (ConsolePages.SignedIn(gateway, context) is not { } user)
            {
                return ConsolePages.ToSignIn();
            }

            return gateway.Policy.FindAgent(id) is { } agent
                ? ConsolePages.Page<AgentPage>(AgentOf(gateway, user, agent))
                : Results.Text($"The policy has no agent '{id}'.", "text/plain", statusCode: 404);
        });
        app.MapPost("/console/agents/{id}/activate", async (HttpContext context, string id) =>
        {
            if (await ConsolePages.Posted(gateway, context).ConfigureAwait(false) is not { } posted)
            {
                return ConsolePages.Refused(context);
            }

            var refused = await AgentActivation.ActivateAsync(gateway, id, "production", posted.User.Id).ConfigureAwait(false);
            if (gateway.Policy.FindAgent(id) is not { } agent)
            {
                return Results.Text($"The policy has no agent '{id}'.", "text/plain", statusCode: 404);
            }

            var view = AgentOf(gateway, posted.User, agent) with { Notice = refused?.Message ?? $"{id} is activated for production.", NoticeOk = refused is null };
            return ConsolePages.Page<AgentPage>(view, refused is null ? 200 : refused.Code == AgentActivation.NotAnOwner ? 403 : 409);
        });
        app.MapPost("/console/agents/freeze", async (HttpContext context, CancellationToken cancellationToken) => await KillSwitchAsync(gateway, context, freeze: true).ConfigureAwait(false));
        app.MapPost("/console/agents/unfreeze", async (HttpContext context, CancellationToken cancellationToken) => await KillSwitchAsync(gateway, context, freeze: false).ConfigureAwait(false));
    }

    private static async Task<IResult> KillSwitchAsync(Gateway gateway, HttpContext context, bool freeze)
    {
        if (await ConsolePages.Posted(gateway, context).ConfigureAwait(false) is not { } posted)
        {
            return ConsolePages.Refused(context);
        }

        var agent = posted.Form["agent"].ToString();
        var target = agent == "*" ? null : agent;
        var reason = Blank(posted.Form["reason"]);
        string notice;
        if (freeze)
        {
            var frozen = await gateway.KillSwitch.FreezeAsync(target, posted.User.Id, reason).ConfigureAwait(false);
            notice = frozen.Succeeded
                ? $"{(target is null ? "Every agent is" : $"{target} is")} frozen: its next call is refused." + (frozen.Value!.Count > 0 ? $" Pending requests cancelled: {string.Join(", ", frozen.Value)}." : "")
                : $"Refused: {frozen.Error!.Message}";
        }
        else
        {
            notice = await gateway.KillSwitch.UnfreezeAsync(target, posted.User.Id, reason).ConfigureAwait(false) is { } refused
                ? $"Refused: {refused.Message}"
                : $"{(target is null ? "The freeze of every agent is" : $"{target}'s freeze is")} lifted.";
        }

        return ConsolePages.Page<AgentsPage>(Agents(gateway, posted.User) with { Notice = notice });
    }

    private static string? Blank(Microsoft.Extensions.Primitives.StringValues value) => value.ToString().Trim() is { Length: > 0 } text ? text : null;

    private static AuditQuery? Query(IQueryCollection q, out string? error)
    {
        error = null;
        try
        {
            return new AuditQuery
            {
                Agent = Blank(q["agent"]), Tool = Blank(q["tool"]), Effect = Blank(q["effect"]), Person = Blank(q["person"]), RecordId = Blank(q["record"]),
                From = Http.Api.Time(Blank(q["from"]), "from"), To = Http.Api.Time(Blank(q["to"]), "to"),
                Before = Blank(q["before"]) is { } before ? long.Parse(before, NumberStyles.None, CultureInfo.InvariantCulture) : null,
                Limit = PageSize,
            };
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            error = e.Message;
            return null;
        }
    }

    private static ActivityView Activity(Gateway gateway, ConsoleUser user, IQueryCollection q)
    {
        var filter = new ActivityFilter(Blank(q["agent"]), Blank(q["tool"]), Blank(q["effect"]), Blank(q["person"]), Blank(q["record"]), Blank(q["from"]), Blank(q["to"]));
        if (Query(q, out var error) is not { } query)
        {
            return new ActivityView(user, filter, [], null, error);
        }

        var page = AuditLog.Query(gateway.Trail.Location, query);
        return new ActivityView(user, filter, [.. page.Entries.Select(Row)], page.Next, null);
    }

    private static ActivityRow Row(AuditRecord record)
    {
        var e = record.Entry;
        return new ActivityRow(record.Seq, record.Time, e.Kind, e.Agent, e.Person, e.Tool, e.Effect, e.Outcome, e.PlanSummary ?? e.Reason ?? e.Detail, e.ApprovalId, e.ActionId,
            e.RollbackOf, record.RolledBackBy);
    }

    private static ActivityEntryView Entry(Gateway gateway, ConsoleUser user, AuditRecord record)
    {
        var e = record.Entry;
        var fields = record.Fields();
        IReadOnlyList<ActivityRow> related = [];
        if (e.ApprovalId is { } approval && e.Agent is { } agent)
        {
            related = [.. AuditLog.Query(gateway.Trail.Location, new AuditQuery { Agent = agent, Limit = 200 }).Entries.Where(r => r.Entry.ApprovalId == approval && r.Seq != record.Seq).Select(Row)];
        }

        return new ActivityEntryView(user, record.Seq, fields, e.ApprovalId, e.ActionId, e.RollbackOf, record.RolledBackBy, related);
    }

    private static RollbackRequest? Request(Gateway gateway, string? action, string? agent, string? since, out string? error)
    {
        error = null;
        if (action is not null)
        {
            return agent is null && since is null ? new RollbackRequest(action) : Fail("give an action, or an agent with how far back, not both", out error);
        }

        if (agent is null || since is null)
        {
            return Fail("give an action, or an agent with how far back (30m, 2h, 1d)", out error);
        }

        if (!Duration(since, out var window))
        {
            return Fail($"'{since}' is not how far back: say 30m, 2h or 1d", out error);
        }

        var now = gateway.Options.Clock.GetUtcNow();
        return new RollbackRequest(Agent: agent, From: now - window, To: now);
    }

    private static bool Instant(string text, out DateTimeOffset at) =>
        DateTimeOffset.TryParseExact(text, "O", CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out at);

    private static RollbackRequest? Fail(string message, out string? error)
    {
        error = message;
        return null;
    }

    private static bool Duration(string text, out TimeSpan window)
    {
        window = default;
        if (text.Length < 2 || !int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
        {
            return false;
        }

        // Counted in minutes as a long and bounded before it becomes a TimeSpan: 99999999d is past TimeSpan's range, and a bad window, not a 500.
        long minutes = text[^1] switch
        {
            'm' => n,
            'h' => n * 60L,
            'd' => n * 1440L,
            _ => 0,
        };
        if (minutes is < 1 or > 366 * 1440)
        {
            return false;
        }

        window = TimeSpan.FromMinutes(minutes);
        return true;
    }

    /// <summary>What the agent may do here, as warden.my_permissions tells the agent itself, and what it has used.</summary>
    private static AgentDetail AgentOf(Gateway gateway, ConsoleUser user, Agent agent)
    {
        var policy = gateway.Policy;
        var useCase = policy.FindUseCase(agent.UseCase)!;
        var environment = gateway.Environment;
        var usage = gateway.Guards.Snapshot(policy, agent, null, gateway.Options.Clock.GetUtcNow());
        var tools = policy.Grants(agent.Id, environment).Select(g => new GrantView(g.Tool.Name, PolicyWords.Of(g.Tool.Kind),
            g.BestCase == Effect.Allow ? "sometimes, as the rules say" : "never: a person approves every call",
            [.. g.Rules.Select(r => new GrantRule(r.Id, PolicyWords.Of(r.Effect), r.Condition, r.Description))])).ToList();
        var budgets = policy.Budgets.Where(b => b.Covers(agent)).Select(b => new BudgetView(b.Id, PolicyWords.Of(b.Metric), b.Limit,
            b.PerPerson ? null : usage.Used(b, agent.Id), b.Window.TotalHours,
            b.Agent is not null ? null : b.UseCase is not null ? $"every agent of use case {b.UseCase}" : "every agent")).ToList();
        var c = useCase.Classification;
        var production = agent.Environments.Contains("production") ? gateway.Store.Activations.Activation(agent.Id, "production") : null;
        return new AgentDetail(user, agent.Id, agent.Description, useCase.Id, useCase.Tier.ToString().ToLowerInvariant(), environment, usage.IsFrozen(agent.Id),
            environment != "production" || gateway.Store.Activations.Activation(agent.Id, environment) is not null,
            agent.Sees, [.. gateway.MaskFor(agent).Fields.Order(StringComparer.Ordinal)], tools, budgets)
        {
            Axes = [.. new[] { ("access", c.Access), ("autonomy", c.Autonomy), ("data sensitivity", c.DataSensitivity), ("customer impact", c.CustomerImpact),
                ("compliance exposure", c.ComplianceExposure), ("reversibility", c.Reversibility) }.Select(a => (a.Item1, a.Item2.ToString().ToLowerInvariant()))],
            Production = !agent.Environments.Contains("production") ? null
                : production is { } done ? $"activated by {policy.Who(done.By)}, {Format.Time(done.At)}" : "not activated: an owner of its use case activates it",
            MayActivate = agent.Environments.Contains("production") && production is null && useCase.Owners.Include(user.Id),
        };
    }

    private static AgentsView Agents(Gateway gateway, ConsoleUser user)
    {
        var frozen = gateway.Store.Freezes.Frozen();
        var today = DateOnly.FromDateTime(gateway.Options.Clock.GetUtcNow().UtcDateTime);
        return new AgentsView(user, [.. gateway.Policy.Agents.Select(a =>
        {
            var useCase = gateway.Policy.FindUseCase(a.UseCase)!;
            var review = useCase.ReviewDue is { } due ? due < today ? $"overdue since {due:yyyy-MM-dd}" : $"due {due:yyyy-MM-dd}" : "never reviewed";
            return new AgentRow(a.Id, a.UseCase, useCase.Tier.ToString().ToLowerInvariant(), a.Environments, useCase.Owners.ToString(), useCase.Escalation,
                frozen.Contains(a.Id) || frozen.Contains("*"), review);
        })], frozen.Contains("*"));
    }
}
