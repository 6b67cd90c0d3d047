using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging;
using Warden.WebConsole;
using Warden.WebConsole.Pages;
using Warden.Gateway.Approvals;
using Warden.Gateway.Identity;
using Warden.Storage.Gateway;

namespace Warden.Gateway.WebConsole;

/// <summary>
/// The web console at /console: people of the policy sign in with a password (<c>warden people
/// set-password</c>) and decide the requests waiting for them. A session is a random token in an
/// HttpOnly, SameSite=Strict cookie, kept as its SHA-256; every form carries the session's CSRF
/// token back, and a form posted from another site is refused; five sign-ins in a row without the
/// right password lock the account for 15 minutes. What a page shows is decided here, before
/// rendering, by the same checks as the API; a notice about a decision is kept here for the
/// session that made it, never read from the link.
/// </summary>
internal static class ConsolePages
{
    public const string CookieName = "warden_console";
    public const int LockAfter = 5;
    public const int MaxComment = 2_000;
    public const int MaxPerson = 200;
    public static readonly TimeSpan LockFor = TimeSpan.FromMinutes(15);
    public static readonly TimeSpan SessionLength = TimeSpan.FromHours(12);

    /// <summary>A session unused this long ends: a console left open on a shared laptop does not approve for the next person.</summary>
    public static readonly TimeSpan IdleLimit = TimeSpan.FromMinutes(30);

    // Checked against when the id is unknown or has no password, so that a wrong id takes as long as a wrong password.
    private static readonly string Decoy = PasswordHash.Of(Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)));

    public static void Map(WebApplication app, Gateway gateway, ILogger log)
    {
        // What a session's last decision said, for the page the decision redirects to: by session,
        // so that a link cannot put words in a notice (the notice looks like Warden speaking).
        var notices = new ConcurrentDictionary<string, Notice>(StringComparer.Ordinal);
        var checks = new PasswordChecks();
        app.Lifetime.ApplicationStopped.Register(checks.Dispose);
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/console"))
            {
                // No framing (an approve button under someone else's page), no caching of records, no referrer leaving.
                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
                headers.XFrameOptions = "DENY";
                headers.CacheControl = "no-store";
                headers["Referrer-Policy"] = "no-referrer";
                headers.XContentTypeOptions = "nosniff";
            }

            await next(context).ConfigureAwait(false);
        });

        app.MapGet("/console", () => Results.Redirect("/console/overview"));
        app.MapGet("/console/style.css", () => Results.Text(ConsoleStyle.Css, "text/css"));
        app.MapGet("/console/sign-in", (HttpContext context) =>
            SignedIn(gateway, context) is not null ? Results.Redirect("/console/approvals") : Page<SignInPage>(new SignInView(null, null)));
        app.MapPost("/console/sign-in", async (HttpContext context, CancellationToken cancellationToken) => await SignInAsync(gateway, checks, log, context).ConfigureAwait(false));
        app.MapGet("/console/sign-in/link/{token}", (string token) => SignInLink(gateway, token));
        app.MapPost("/console/sign-in/link", async (HttpContext context, CancellationToken cancellationToken) => await UseSignInLinkAsync(gateway, context).ConfigureAwait(false));
        app.MapPost("/console/sign-out", async (HttpContext context) =>
        {
            if (await Posted(gateway, context).ConfigureAwait(false) is not { } posted)
            {
                return Refused(context);
            }

            notices.TryRemove(SessionKey(context), out _);
            gateway.Store.People.EndSession(SessionKey(context));
            context.Response.Cookies.Delete(CookieName, CookieOptions(gateway, context));
            return Results.Redirect("/console/sign-in", preserveMethod: false);
        });
        app.MapGet("/console/approvals", (HttpContext context) =>
            SignedIn(gateway, context) is { } user ? Page<ApprovalQueuePage>(Queue(gateway, user)) : ToSignIn());
        app.MapGet("/console/approvals/{id}", (HttpContext context, string id) =>
        {
            if (SignedIn(gateway, context) is not { } user)
            {
                return ToSignIn();
            }

            // Shown once, on the page of the request it is about.
            var key = SessionKey(context);
            var notice = notices.TryGetValue(key, out var kept) && kept.ApprovalId == id && notices.TryRemove(KeyValuePair.Create(key, kept)) ? kept.Text : null;
            return gateway.Store.Approvals.Find(id) is { } record
                ? Page<ApprovalPage>(Detail(gateway, user, record) with { Notice = notice })
                : Results.Text($"There is no approval request {id}.", "text/plain", statusCode: 404);
        });
        OperationsPages.Map(app, gateway);
        OversightPages.Map(app, gateway);
        app.MapPost("/console/approvals/{id}/decide", async (HttpContext context, string id) =>
        {
            if (await Posted(gateway, context).ConfigureAwait(false) is not { } posted)
            {
                return Refused(context);
            }

            var decision = posted.Form["decision"].ToString();
            if (decision is not ("approve" or "deny"))
            {
                return Results.Text("Say approve or deny.", "text/plain", statusCode: 400);
            }

            var comment = posted.Form["comment"].ToString().Trim();
            if (comment.Length > MaxComment)
            {
                return Results.Text($"A comment has at most {MaxComment} characters (this one has {comment.Length}); nothing was decided.", "text/plain", statusCode: 400);
            }

            var vote = await gateway.Approvals.VoteAsync(posted.User.Id, id, decision == "approve", comment.Length == 0 ? null : comment, context.RequestAborted)
                .ConfigureAwait(false);
            notices[SessionKey(context)] = new Notice(id, vote.Succeeded ? vote.Value!.Message : $"Refused: {vote.Error!.Message}");
            // Post, redirect, get: a reload shows the request, it does not vote again.
            return Results.Redirect($"/console/approvals/{Uri.EscapeDataString(id)}", preserveMethod: false);
        });
    }

    private sealed record Notice(string ApprovalId, string Text);

    internal static RazorComponentResult Page<TPage>(object model, int status = 200)
        where TPage : IComponent => new RazorComponentResult<TPage>(new Dictionary<string, object?> { ["Model"] = model }) { StatusCode = status };

    internal static IResult ToSignIn() => Results.Redirect("/console/sign-in");

    /// <summary>The answer to someone whose roles do not open the trail.</summary>
    internal static IResult NotATrailReader(ConsoleUser user) =>
        Results.Text($"Refused: {user.Name} may not read the trail: {PersonAccess.TrailRefusal}.", "text/plain", statusCode: 403);

    internal static IResult Refused(HttpContext context) =>
        Results.Text("Refused: sign in again and resend the form from its page (its token is missing, stale, or from another session).", "text/plain", statusCode: 403);

    /// <summary>How long a demo gateway's sign-in links last.</summary>
    public static readonly TimeSpan LinkLife = TimeSpan.FromHours(24);

    /// <summary>
    /// A one-time sign-in link for each person of the policy, at <paramref name="url"/>; the links
    /// an earlier start printed stop working. For a demo gateway, whose people have no password yet.
    /// </summary>
    public static IReadOnlyDictionary<string, string> IssueSignInLinks(Gateway gateway, string url)
    {
        var links = gateway.Policy.Owners.ToDictionary(o => o.Id, _ => Base64Url(RandomNumberGenerator.GetBytes(32)), StringComparer.Ordinal);
        gateway.Store.People.IssueLinks([.. links.Select(l => (TokenHash(l.Value), l.Key))], gateway.Options.Clock.GetUtcNow() + LinkLife);
        return links.ToDictionary(l => l.Key, l => $"{url.TrimEnd('/')}/console/sign-in/link/{l.Value}", StringComparer.Ordinal);
    }

    private static IResult SignInLink(Gateway gateway, string token) =>
        token.Length < 200 && gateway.Store.People.LinkFor(TokenHash(token), gateway.Options.Clock.GetUtcNow()) is { } person
            // Shown, not used: a link previewer or a mail scanner that opens it signs nobody in.
            ? Page<SignInLinkPage>(new SignInLinkView(gateway.Approvals.Who(person), token))
            : Results.Text("This sign-in link is used, has expired, or is not one this gateway gave. Sign in with a password, or restart the demo gateway for new links.",
                "text/plain", statusCode: 410);

    private static async Task<IResult> UseSignInLinkAsync(Gateway gateway, HttpContext context)
    {
        if (FromAnotherSite(context.Request) || !context.Request.HasFormContentType)
        {
            return Results.Text("Refused: use the link's own page.", "text/plain", statusCode: 403);
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var token = form["token"].ToString();
        var now = gateway.Options.Clock.GetUtcNow();
        if (token.Length is 0 or >= 200 || gateway.Store.People.UseLink(TokenHash(token), now) is not { } person || gateway.Policy.FindOwner(person) is null)
        {
            return SignInLink(gateway, token.Length < 200 ? token : "");
        }

        return StartSession(gateway, context, person, gateway.Store.People.Password(person)?.Hash, now)
               ?? Results.Text("Refused: a password was set meanwhile; sign in with it.", "text/plain", statusCode: 409);
    }

    /// <summary>
    /// Signs <paramref name="person"/> in: a new session, its cookie, and on to the queue; null
    /// (nothing started) when their password is no longer the one whose hash was checked.
    /// </summary>
    internal static IResult? StartSession(Gateway gateway, HttpContext context, string person, string? passwordHash, DateTimeOffset now)
    {
        var token = Base64Url(RandomNumberGenerator.GetBytes(32));
        if (!gateway.Store.People.StartSession(TokenHash(token), new ConsoleSession(person, Base64Url(RandomNumberGenerator.GetBytes(32)), now, now + SessionLength), passwordHash))
        {
            return null;
        }

        var options = CookieOptions(gateway, context);
        options.MaxAge = SessionLength;
        context.Response.Cookies.Append(CookieName, token, options);
        return Results.Redirect("/console/approvals", preserveMethod: false);
    }

    private static async Task<IResult> SignInAsync(Gateway gateway, PasswordChecks checks, ILogger log, HttpContext context)
    {
        if (FromAnotherSite(context.Request))
        {
            return Results.Text("Refused: this sign-in was posted from another site; sign in from the console's own page.", "text/plain", statusCode: 403);
        }

        if (!context.Request.HasFormContentType)
        {
            return Results.Text("Send the sign-in form.", "text/plain", statusCode: 400);
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var person = form["person"].ToString().Trim();
        var password = form["password"].ToString();
        if (person.Length > MaxPerson || password.Length > PasswordHash.MaxLength)
        {
            // Refused before any hashing: a megabyte of password is not worth a check.
            return Results.Text($"An id has at most {MaxPerson} characters and a password at most {PasswordHash.MaxLength}.", "text/plain", statusCode: 400);
        }

        if (!checks.TryEnter())
        {
            return Results.Text("Too many sign-ins at once: try again in a few seconds.", "text/plain", statusCode: 503);
        }

        try
        {
            return await CheckAsync(gateway, checks, log, context, person, password).ConfigureAwait(false);
        }
        finally
        {
            checks.Leave();
        }
    }

    private static async Task<IResult> CheckAsync(Gateway gateway, PasswordChecks checks, ILogger log, HttpContext context, string person, string password)
    {
        var now = gateway.Options.Clock.GetUtcNow();
        const string wrong = "The id or the password is wrong.";
        var record = person.Length > 0 && gateway.Policy.FindOwner(person) is not null ? gateway.Store.People.Password(person) : null;
        if (record is null)
        {
            await checks.VerifyAsync(password, Decoy, context.RequestAborted).ConfigureAwait(false);
            return Page<SignInPage>(new SignInView(person, wrong));
        }

        // Counted before the (slow) check, so that passwords sent at once cannot all slip in under the lock.
        var (counted, until) = gateway.Store.People.Attempt(person, now, LockAfter, LockFor);
        if (!counted)
        {
            return Page<SignInPage>(new SignInView(person, until is { } locked ? Locked(locked) : wrong));
        }

        if (!await checks.VerifyAsync(password, record.Hash, context.RequestAborted).ConfigureAwait(false))
        {
            if (until is { } lockedNow)
            {
                log.LogWarning("Console account {Person} is locked until {Until} after {Failures} sign-ins in a row without the right password", person, lockedNow, LockAfter);
                return Page<SignInPage>(new SignInView(person, Locked(lockedNow)));
            }

            return Page<SignInPage>(new SignInView(person, wrong));
        }

        // None when a new password was set while this one was being checked.
        return StartSession(gateway, context, person, record.Hash, now) ?? Page<SignInPage>(new SignInView(person, wrong));
    }

    private static string Locked(DateTimeOffset until) =>
        $"This account is locked after {LockAfter} wrong passwords in a row, until {Format.Time(until)}. An administrator can set a new password (warden people set-password) to unlock it.";

    // Secure also when people reach the gateway over HTTPS through a proxy (--public-url https://...) while it serves plain HTTP behind it.
    private static CookieOptions CookieOptions(Gateway gateway, HttpContext context) => new()
    {
        HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/console", IsEssential = true,
        Secure = context.Request.IsHttps || gateway.Options.PublicUrl?.StartsWith("https://", StringComparison.OrdinalIgnoreCase) == true,
    };

    /// <summary>The person the request's cookie signs in, while the session lasts and the policy still names them; null otherwise.</summary>
    internal static ConsoleUser? SignedIn(Gateway gateway, HttpContext context)
    {
        var policy = gateway.Policy;
        if (context.Request.Cookies[CookieName] is not { Length: > 0 and < 200 } token
            || gateway.Store.People.Session(TokenHash(token), gateway.Options.Clock.GetUtcNow(), IdleLimit) is not { } session
            || policy.FindOwner(session.Person) is not { } person)
        {
            return null;
        }

        return new ConsoleUser(session.Person, policy.Who(session.Person), session.Csrf)
        {
            ReadsTrail = PersonAccess.MayReadTrail(policy, session.Person),
            Owns = PersonAccess.OwnsSome(person),
        };
    }

    /// <summary>A form posted by a signed-in person with their session's CSRF token; null (refused) otherwise.</summary>
    internal static async Task<(ConsoleUser User, IFormCollection Form)?> Posted(Gateway gateway, HttpContext context)
    {
        if (FromAnotherSite(context.Request) || SignedIn(gateway, context) is not { } user || !context.Request.HasFormContentType)
        {
            return null;
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var sent = Encoding.UTF8.GetBytes(form["csrf"].ToString());
        return CryptographicOperations.FixedTimeEquals(sent, Encoding.UTF8.GetBytes(user.Csrf)) ? (user, form) : null;
    }

    /// <summary>
    /// True for a post the browser says comes from another site or origin (Sec-Fetch-Site, or else
    /// Origin against Host): a page elsewhere that posts the sign-in form would sign the approver's
    /// browser in as someone else. Clients that send neither (curl, the tests) are not browsers on
    /// someone else's page.
    /// </summary>
    internal static bool FromAnotherSite(HttpRequest request)
    {
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site.Length > 0)
        {
            return site is not ("same-origin" or "none");
        }

        var origin = request.Headers.Origin.ToString();
        return origin.Length > 0
            && !(Uri.TryCreate(origin, UriKind.Absolute, out var uri) && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The key of the request's session (the SHA-256 of its cookie); call only when signed in.</summary>
    private static string SessionKey(HttpContext context) => TokenHash(context.Request.Cookies[CookieName]!);

    private static string TokenHash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static ApprovalQueue Queue(Gateway gateway, ConsoleUser user)
    {
        var pending = gateway.Store.Approvals.List(ApprovalStatus.Pending);
        // A request made in another environment is decided by a gateway of that environment, not here.
        var yours = pending.Where(r => r.Environment == gateway.Options.Environment && gateway.Approvals.Decides(user.Id, r)).ToList();
        var rows = yours.OrderByDescending(r => r.Risk).ThenBy(r => r.ExpiresAt).Select(r =>
        {
            var plan = PlanView.Read(r.Plan);
            return new ApprovalRow(r.Id, r.Risk, r.Agent, r.UseCase, r.Environment, r.Tool, plan.Records, plan.Summary, r.CreatedAt, r.ExpiresAt,
                ApprovalDesk.Describe(gateway.Approvals.Waiting(r)));
        }).ToList();
        return new ApprovalQueue(user, rows, pending.Count - yours.Count, gateway.Options.Clock.GetUtcNow());
    }

    private static ApprovalDetail Detail(Gateway gateway, ConsoleUser user, ApprovalRecord record)
    {
        var votes = gateway.Store.Approvals.Votes(record.Id);
        var details = gateway.Approvals.MaySeeDetails(user.Id, record);
        var approver = gateway.Approvals.Decides(user.Id, record);
        var detail = new ApprovalDetail(user, record.Id, record.Status.Word(), record.Agent, record.UseCase, record.Environment, record.Tool, record.Risk,
            record.CreatedAt, record.ExpiresAt, record.DecidedAt, gateway.Options.Clock.GetUtcNow(),
            [.. gateway.Approvals.Waiting(record, votes).Select(w => new RequirementView(w.Rule, w.Approvers, w.Quorum, w.Given))],
            [.. votes.Select(v => new VoteView(gateway.Approvals.Who(v.Person), v.Vote, details ? v.Comment : null, v.At))],
            CanDecide: approver && record.Status == ApprovalStatus.Pending && record.Environment == gateway.Options.Environment && votes.All(v => v.Person != user.Id))
        {
            Elsewhere = record.Status == ApprovalStatus.Pending && record.Environment != gateway.Options.Environment
                ? $"This request was made in {record.Environment}, and this gateway runs {gateway.Options.Environment}: it is decided where it was made (a gateway started with --env {record.Environment})."
                : null,
        };
        if (!details)
        {
            return detail with { Withheld = $"Only the approvers of this request and the owners of use case '{record.UseCase}' see its records and arguments." };
        }

        var plan = JsonNode.Parse(record.Plan)!.AsObject();
        return detail with
        {
            Headline = Headline(plan, record.Environment),
            Summary = Text(plan, "summary"),
            AgentSays = record.Instruction,
            OnBehalfOf = record.OnBehalfOf,
            Records = plan["records"]?.GetValue<long>() ?? 0,
            Classes = Strings(plan["classes"]),
            Changes = [.. (plan["changes"] as JsonArray ?? []).Select(c => new FieldChangeView(Text(c!, "field") ?? "", c!["records"]?.GetValue<long>() ?? 0,
                [.. (c["before"] as JsonArray ?? []).Select(b => (Text(b!, "value"), b!["records"]?.GetValue<long>() ?? 0))], Text(c, "after")))],
            Sample = [.. (plan["sample"] as JsonArray ?? []).Select(s => new SampleView(Text(s!, "key") ?? "", Map(s!["before"]), Map(s["after"])))],
            Dependents = [.. (plan["dependents"] as JsonArray ?? []).Select(d => (Text(d!, "kind") ?? "", Text(d!, "name") ?? Text(d!, "id") ?? "", Text(d!, "field") ?? ""))],
            Recipients = plan["recipients"]?.GetValue<long>() ?? 0,
            Excluded = [.. (plan["excluded"] as JsonArray ?? []).Select(e => (Text(e!, "reason") ?? "", e!["records"]?.GetValue<long>() ?? 0))],
            Message = plan["message"] is JsonObject m ? new MessageView(Text(m, "campaign"), Text(m, "subject"), Text(m, "sender"), Text(m, "preview")) : null,
            Outcome = record.Outcome is { } outcome ? OutcomeText(outcome) : null,
        };
    }

    /// <summary>What the call does in one line, from its plan alone: "Deletes 3,000 records in production · cannot be undone · reaches outside · pii".</summary>
    private static string Headline(JsonObject plan, string environment)
    {
        var records = plan["records"]?.GetValue<long>() ?? 0;
        var recipients = plan["recipients"]?.GetValue<long>() ?? 0;
        var verb = Text(plan, "kind") switch
        {
            "send" => $"Sends to {Format.Count(recipients)} recipient(s)",
            "sync" => $"Syncs {Format.Count(records)} record(s) out",
            "delete" => $"Deletes {Format.Count(plan["deleted"]?.GetValue<long>() ?? records)} record(s)",
            "write" => $"Changes {Format.Count(records)} record(s)",
            "configure" or "admin" => "Changes configuration",
            _ => $"Reads {Format.Count(records)} record(s)",
        };
        var parts = new List<string> { $"{verb} in {environment}" };
        if (plan["reversible"]?.GetValue<bool>() == false)
        {
            parts.Add("cannot be undone");
        }

        if (plan["external"]?.GetValue<bool>() == true)
        {
            parts.Add("reaches outside");
        }

        if ((plan["dependents"] as JsonArray)?.Count is > 0 and var dependents)
        {
            parts.Add($"{dependents} dependent object(s) read the fields it changes");
        }

        var classes = Strings(plan["classes"]);
        if (classes.Count > 0)
        {
            parts.Add($"touches {string.Join(", ", classes)}");
        }

        return string.Join(" · ", parts);
    }

    private static string OutcomeText(string outcome)
    {
        var node = JsonNode.Parse(outcome);
        return node is JsonObject o ? Text(o, "message") ?? Text(o, "reason") ?? outcome : outcome;
    }

    private static string? Text(JsonNode node, string name) => node[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : node[name]?.ToJsonString();

    private static IReadOnlyList<string> Strings(JsonNode? node) => node is JsonArray a ? [.. a.Select(i => i?.GetValue<string>() ?? "")] : [];

    private static IReadOnlyDictionary<string, string?> Map(JsonNode? node) =>
        node is JsonObject o ? o.ToDictionary(p => p.Key, p => p.Value is JsonValue v && v.TryGetValue<string>(out var s) ? s : p.Value?.ToJsonString()) : new Dictionary<string, string?>();
}
