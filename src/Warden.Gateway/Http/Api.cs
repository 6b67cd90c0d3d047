using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Warden.Core;
using Warden.Core.Audit;
using Warden.Gateway.Approvals;
using Warden.Gateway.Calls;
using Warden.Storage.Audit;
using Warden.Storage.Gateway;
using Warden.Workspace;

namespace Warden.Gateway.Http;

/// <summary>
/// The REST API for people (and the systems they use): approvals, the kill switch, activation,
/// rollback, incidents and the audit trail. Every refusal is a problem document (RFC 9457) that
/// says what is wrong in a sentence.
/// </summary>
internal static class Api
{
    // Handlers take a CancellationToken besides the HttpContext: a lambda of HttpContext alone that
    // returns Task<IResult> binds to MapPost's RequestDelegate overload, and its result is dropped
    // (an empty 200).
    public static void Map(IEndpointRouteBuilder app, Gateway gateway)
    {
        app.MapGet("/api/health", () => Results.Json(new JsonObject
        {
            ["status"] = "ok",
            ["policy"] = gateway.Policy.Id,
            ["policy_hash"] = gateway.Policy.Hash,
            ["environment"] = gateway.Environment,
            ["version"] = HttpHost.Version,
            ["notifications_failing"] = gateway.Store.Outbox.Messages(undeliveredOnly: true).Count(m => m.Attempts > 0),
            // Entries since are durable but unsigned while checkpoints fail; the log says why.
            ["checkpoint_failures"] = gateway.Trail.CheckpointFailures,
        }));

        // A message tells of a request or an incident as its recipients may see it: a trail reader
        // reads them all, anyone else the ones sent to them (as /api/approvals withholds the rest).
        app.MapGet("/api/notifications", (HttpContext context, bool? undelivered) => Results.Json(new JsonObject
        {
            ["notifications"] = new JsonArray([.. gateway.Store.Outbox.Messages(undelivered ?? false)
                .Where(m => PersonAccess.MayReadTrail(gateway.Policy, Person(context)) || m.Recipients.Contains(Person(context)))
                .Select(m => (JsonNode)new JsonObject
            {
                ["id"] = m.Id, ["kind"] = m.Kind, ["created_at"] = GatewayStore.Time(m.CreatedAt),
                ["recipients"] = new JsonArray([.. m.Recipients.Select(r => (JsonNode)r)]),
                ["text"] = JsonNode.Parse(m.Payload)?["text"]?.GetValue<string>(), ["attempts"] = m.Attempts,
                ["next_attempt_at"] = m.DeliveredAt is null ? GatewayStore.Time(m.NextAttemptAt) : null, ["last_error"] = m.LastError,
                ["delivered_at"] = m.DeliveredAt is { } at ? GatewayStore.Time(at) : null,
            })]),
        }));

        app.MapGet("/api/me", (HttpContext context) =>
        {
            if (gateway.Policy.FindOwner(Person(context)) is not { } owner)
            {
                return Problem(401, "you are no longer a person of the policy in force");
            }

            return Results.Json(new JsonObject
            {
                ["id"] = owner.Id, ["name"] = owner.Name, ["email"] = owner.Email,
                ["roles"] = new JsonArray([.. owner.Roles.Select(r => (JsonNode)JsonNamingPolicy.SnakeCaseLower.ConvertName(r.ToString()))]),
            });
        });

        app.MapGet("/api/approvals", (HttpContext context, string? status) =>
        {
            var wanted = status is null ? ApprovalStatus.Pending : ApprovalLifecycle.Parse(status);
            if (wanted is null && status != "all")
            {
                var hint = Core.Diagnostics.Suggest.Hint(status!, [.. ApprovalLifecycle.Words, "all"]);
                return Problem(400, $"status is {string.Join(", ", ApprovalLifecycle.Words)} or all, not '{status}'" + (hint is null ? "" : $"; {hint}"));
            }

            var records = gateway.Store.Approvals.List(wanted);
            return Results.Json(new JsonObject { ["approvals"] = new JsonArray([.. records.Select(r => (JsonNode)Summary(gateway, r, Person(context)))]) });
        });

        app.MapGet("/api/approvals/{id}", (HttpContext context, string id) =>
            gateway.Store.Approvals.Find(id) is { } record ? Results.Json(gateway.Approvals.View(record, Person(context))) : Problem(404, $"there is no approval request {id}"));

        app.MapPost("/api/approvals/approve", async (HttpContext context, CancellationToken cancellationToken) =>
        {
            var (body, bad) = await Body(context).ConfigureAwait(false);
            if (bad is not null || body?["ids"] is not JsonArray ids || ids.Count == 0 || ids.Any(i => i is not JsonValue v || !v.TryGetValue<string>(out _)))
            {
                return Problem(400, bad ?? "say which requests: {\"ids\": [\"apr-...\", ...], \"comment\": \"...\"}");
            }

            var results = await gateway.Approvals.ApproveManyAsync(Person(context), [.. ids.Select(i => i!.GetValue<string>())], Text(body, "comment"), cancellationToken)
                .ConfigureAwait(false);
            return Results.Json(new JsonObject
            {
                ["results"] = new JsonArray([.. results.Select(r => (JsonNode)new JsonObject
                {
                    ["id"] = r.Id,
                    ["result"] = r.Result is { } vote ? vote.Status.ToString().ToLowerInvariant() : "refused",
                    ["message"] = r.Result?.Message ?? r.Refused,
                })]),
            });
        });

        app.MapPost("/api/approvals/{id}/approve", (HttpContext context, string id) => VoteAsync(gateway, context, id, approve: true));
        app.MapPost("/api/approvals/{id}/deny", (HttpContext context, string id) => VoteAsync(gateway, context, id, approve: false));

        app.MapPost("/api/freeze", async (HttpContext context, CancellationToken cancellationToken) =>
        {
            var (body, bad) = await Body(context).ConfigureAwait(false);
            if (bad is not null)
            {
                return Problem(400, bad);
            }

            if (body is null || Target(body) is not { } target)
            {
                return Problem(400, "say which agent to freeze: {\"agent\": \"hygiene-bot\"} or {\"all\": true}, with a \"reason\"");
            }

            var frozen = await gateway.KillSwitch.FreezeAsync(target.Agent, Person(context), Text(body, "reason")).ConfigureAwait(false);
            return frozen.Succeeded
                ? Results.Json(new JsonObject
                {
                    ["frozen"] = target.Agent ?? "all agents",
                    ["cancelled_requests"] = new JsonArray([.. frozen.Value!.Select(c => (JsonNode)c)]),
                })
                : Problem(404, frozen.Error!.Message);
        });

        app.MapPost("/api/unfreeze", async (HttpContext context, CancellationToken cancellationToken) =>
        {
            var (body, bad) = await Body(context).ConfigureAwait(false);
            if (bad is not null)
            {
                return Problem(400, bad);
            }

            if (body is null || Target(body) is not { } target)
            {
                return Problem(400, "say which agent to unfreeze: {\"agent\": \"hygiene-bot\"} or {\"all\": true}");
            }

            return await gateway.KillSwitch.UnfreezeAsync(target.Agent, Person(context), Text(body, "reason")).ConfigureAwait(false) switch
            {
                null => Results.Json(new JsonObject { ["unfrozen"] = target.Agent ?? "all agents" }),
                { Code: Guards.KillSwitch.NotAnOwner } refused => Problem(403, refused.Message),
                var refused => Problem(409, refused.Message),
            };
        });

        app.MapGet("/api/policy", () => Results.Json(PolicyJson(gateway)));

        app.MapPost("/api/policy/check", (HttpContext context, CancellationToken cancellationToken) =>
        {
            var check = PolicyReload.Check(gateway.Options, gateway.Policy);
            return Results.Json(CheckJson(check, gateway.Policy));
        });

        app.MapPost("/api/policy/reload", async (HttpContext context, CancellationToken cancellationToken) =>
        {
            var (body, bad) = await Body(context, optional: true).ConfigureAwait(false);
            if (bad is not null)
            {
                return Problem(400, bad);
            }

            if (body?["checked_hash"] is { } given && (given is not JsonValue value || !value.TryGetValue<string>(out _)))
            {
                return Problem(400, "checked_hash is the hash a check gave, a string (or leave it out to reload whatever the file holds now)");
            }

            var reloaded = await gateway.ReloadPolicyAsync(Person(context), body is null ? null : Text(body, "checked_hash")).ConfigureAwait(false);
            if (reloaded.Outcome is ReloadOutcome.Refused or ReloadOutcome.NotAllowed)
            {
                var status = reloaded.Outcome == ReloadOutcome.NotAllowed ? 403 : 409;
                return Results.Text(ProblemJson(status, reloaded.Message, CheckJson(reloaded.Check, gateway.Policy)), "application/problem+json", statusCode: status);
            }

            var answer = PolicyJson(gateway);
            answer["outcome"] = reloaded.Outcome == ReloadOutcome.Reloaded ? "reloaded" : "unchanged";
            answer["message"] = reloaded.Message;
            return Results.Json(answer);
        });

        app.MapGet("/api/agents", () => Results.Json(new JsonObject
        {
            ["agents"] = new JsonArray([.. gateway.Policy.Agents.Select(a => (JsonNode)AgentView(gateway, a))]),
        }));

        app.MapPost("/api/agents/{id}/activate", async (HttpContext context, string id) =>
        {
            var (body, bad) = await Body(context, optional: true).ConfigureAwait(false);
            if (bad is not null)
            {
                return Problem(400, bad);
            }

            var environment = (body is null ? null : Text(body, "environment")) ?? "production";
            return await AgentActivation.ActivateAsync(gateway, id, environment, Person(context)).ConfigureAwait(false) switch
            {
                null when gateway.Policy.FindAgent(id) is { } agent => Results.Json(AgentView(gateway, agent)),
                null => Problem(404, $"there is no agent '{id}'"),
                { Code: AgentActivation.UnknownAgent } refused => Problem(404, refused.Message),
                { Code: AgentActivation.NotAnOwner } refused => Problem(403, refused.Message),
                var refused => Problem(409, refused.Message),
            };
        });

        app.MapPost("/api/rollback", (HttpContext context, CancellationToken cancellationToken) => RollbackAsync(gateway, context, cancellationToken));

        app.MapGet("/api/incidents", (string? status) =>
        {
            var wanted = status is null ? null : IncidentStore.Parse(status);
            if (status is not null && wanted is null)
            {
                var words = Enum.GetValues<IncidentStatus>().Select(IncidentStore.Word).ToList();
                var hint = Core.Diagnostics.Suggest.Hint(status, words);
                return Problem(400, $"status is {string.Join(", ", words)}, not '{status}'" + (hint is null ? "" : $"; {hint}"));
            }

            return Results.Json(new JsonObject
            {
                ["incidents"] = new JsonArray([.. gateway.Store.Incidents.List(wanted).Select(i => (JsonNode)new JsonObject
                {
                    ["id"] = i.Id, ["status"] = IncidentStore.Word(i.Status), ["use_case"] = i.UseCase, ["agent"] = i.Agent, ["kind"] = i.Kind, ["summary"] = i.Summary,
                    ["owners"] = new JsonArray([.. i.Owners.Select(o => (JsonNode)o)]), ["opened_at"] = GatewayStore.Time(i.OpenedAt),
                    ["acknowledged_by"] = i.AcknowledgedBy, ["resolved_by"] = i.ResolvedBy,
                })]),
            });
        });

        app.MapPost("/api/incidents/{id}/{step}", async (HttpContext context, string id, string step, CancellationToken cancellationToken) =>
        {
            if (step is not ("acknowledge" or "resolve"))
            {
                return Problem(404, $"an incident is acknowledged or resolved, not '{step}'");
            }

            var next = step == "acknowledge" ? IncidentStatus.Acknowledged : IncidentStatus.Resolved;
            var status = IncidentStore.Word(next);
            if (await Guards.IncidentSteps.AdvanceAsync(gateway, Person(context), id, next).ConfigureAwait(false) is { } refused)
            {
                return Problem(refused.Code switch { "not_found" => 404, Guards.IncidentSteps.NotRouted => 403, _ => 409 }, refused.Message);
            }

            return Results.Json(new JsonObject { ["incident"] = id, ["status"] = status });
        });

        app.MapGet("/api/audit", (HttpContext context) =>
        {
            if (!PersonAccess.MayReadTrail(gateway.Policy, Person(context)))
            {
                return Problem(403, $"{Person(context)} may not read the trail: {PersonAccess.TrailRefusal}");
            }

            var q = context.Request.Query;
            try
            {
                var page = AuditLog.Query(gateway.Trail.Location, new AuditQuery
                {
                    Agent = (string?)q["agent"], UseCase = (string?)q["use_case"], Tool = (string?)q["tool"], Effect = (string?)q["effect"], Person = (string?)q["person"],
                    RecordId = (string?)q["record"],
                    From = Time((string?)q["from"], "from"), To = Time((string?)q["to"], "to"),
                    Before = q["before"].Count > 0 ? long.Parse(q["before"]!, CultureInfo.InvariantCulture) : null,
                    Limit = q["limit"].Count > 0 ? int.Parse(q["limit"]!, CultureInfo.InvariantCulture) : 50,
                });
                return Results.Json(new JsonObject
                {
                    ["entries"] = new JsonArray([.. page.Entries.Select(e => JsonSerializer.SerializeToNode(EntryJson(e)))]),
                    ["next"] = page.Next,
                });
            }
            catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
            {
                return Problem(400, e.Message);
            }
        });
    }

    public static Task Problem(HttpContext context, int status, string detail)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/problem+json";
        return context.Response.WriteAsync(ProblemJson(status, detail));
    }

    private static IResult Problem(int status, string detail) => Results.Text(ProblemJson(status, detail), "application/problem+json", statusCode: status);

    private static string ProblemJson(int status, string detail, JsonObject? check = null) => new JsonObject
    {
        ["type"] = "about:blank",
        ["title"] = status switch
        {
            400 => "The request is not right",
            401 => "Not signed in",
            403 => "Not allowed",
            404 => "Not found",
            409 => "Not possible now",
            413 => "Too large",
            _ => "Refused",
        },
        ["status"] = status,
        ["detail"] = detail,
        ["check"] = check,
    }.ToJsonString(Readable);

    private static readonly JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Person(HttpContext context) => context.User.FindFirst(HttpHost.PersonClaim)!.Value;

    private static async Task<IResult> VoteAsync(Gateway gateway, HttpContext context, string id, bool approve)
    {
        var (body, bad) = await Body(context, optional: true).ConfigureAwait(false);
        if (bad is not null)
        {
            return Problem(400, bad);
        }

        var vote = await gateway.Approvals.VoteAsync(Person(context), id, approve, body is null ? null : Text(body, "comment"), context.RequestAborted).ConfigureAwait(false);
        if (!vote.Succeeded)
        {
            return Problem(VoteRefusals.HttpStatus(vote.Error!), vote.Error!.Message);
        }

        var result = vote.Value!;
        var view = gateway.Approvals.View(result.Approval, Person(context));
        view["result"] = result.Status.ToString().ToLowerInvariant();
        view["message"] = result.Message;
        view["replacement"] = result.Replacement;
        view["action_id"] = result.Execution?.ActionId;
        return Results.Json(view);
    }

    private static async Task<IResult> RollbackAsync(Gateway gateway, HttpContext context, CancellationToken cancellationToken)
    {
        var (body, bad) = await Body(context).ConfigureAwait(false);
        if (bad is not null)
        {
            return Problem(400, bad);
        }

        if (body is null)
        {
            return Problem(400, "say what to roll back: {\"action_id\": \"act-...\"} or {\"agent\": \"...\", \"from\": \"...\", \"to\": \"...\"}; add \"preview\": true to see it first");
        }

        RollbackRequest request;
        try
        {
            request = new RollbackRequest(Text(body, "action_id"), Text(body, "agent"), Time(Text(body, "from"), "from"), Time(Text(body, "to"), "to"));
        }
        catch (FormatException e)
        {
            return Problem(400, e.Message);
        }

        var force = body["force"] is JsonValue forced && forced.TryGetValue<bool>(out var f) && f;
        var person = Person(context);
        // The preview names records and what they hold: it is for the same owners as the rollback.
        if (body["preview"] is JsonValue preview && preview.TryGetValue<bool>(out var isPreview) && isPreview)
        {
            var plan = await PersonRollback.PreviewAsync(gateway, person, request).ConfigureAwait(false);
            return plan.Succeeded ? Results.Json(plan.Value, Json) : Problem(RollbackStatus(plan.Error!), plan.Error!.Message);
        }

        var result = await PersonRollback.RunAsync(gateway, person, request, force).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            return Problem(RollbackStatus(result.Error!), result.Error!.Message);
        }

        var view = JsonSerializer.SerializeToNode(result.Value!.Done, Json)!.AsObject();
        view["audit_seq"] = result.Value.AuditSeq;
        return Results.Json(view);
    }

    private static int RollbackStatus(SystemError error) => error.Code switch
    {
        "not_found" => 404,
        PersonRollback.NotAnOwner => 403,
        _ => 409,
    };

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>A line of the queue; what the call would do only for the people who may see the request's details.</summary>
    private static JsonObject Summary(Gateway gateway, ApprovalRecord record, string person)
    {
        var details = gateway.Approvals.MaySeeDetails(person, record);
        var plan = details ? PlanView.Read(record.Plan) : null;
        return new JsonObject
        {
            ["id"] = record.Id, ["status"] = record.Status.Word(), ["risk"] = record.Risk, ["agent"] = record.Agent, ["tool"] = record.Tool, ["environment"] = record.Environment,
            ["summary"] = plan?.Summary, ["records"] = plan?.Records,
            ["instruction"] = details ? record.Instruction : null, ["created_at"] = GatewayStore.Time(record.CreatedAt), ["expires_at"] = GatewayStore.Time(record.ExpiresAt),
            ["replaces"] = record.Replaces, ["resubmits"] = record.Resubmits,
            ["waiting_for"] = ApprovalDesk.Describe(gateway.Approvals.Waiting(record)),
            ["details"] = details ? null : "withheld",
        };
    }

    private static JsonObject AgentView(Gateway gateway, Agent agent)
    {
        var frozen = gateway.Store.Freezes.Frozen();
        var activation = gateway.Store.Activations.Activation(agent.Id, "production");
        return new JsonObject
        {
            ["id"] = agent.Id, ["use_case"] = agent.UseCase, ["environments"] = new JsonArray([.. agent.Environments.Select(e => (JsonNode)e)]),
            ["frozen"] = frozen.Contains(agent.Id) || frozen.Contains("*"),
            ["activated_for_production"] = activation is { } a ? new JsonObject { ["by"] = a.By, ["at"] = GatewayStore.Time(a.At) } : null,
        };
    }

    /// <summary>
    /// The request's JSON object, or why it is not one (not JSON, not an object, a key given
    /// twice). An optional body may be absent (null, no error); one that is there must be right.
    /// </summary>
    private static async Task<(JsonObject? Body, string? Error)> Body(HttpContext context, bool optional = false)
    {
        using var reader = new StreamReader(context.Request.Body);
        var text = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
        if (text.Length == 0)
        {
            return (null, optional ? null : "the request needs a JSON object as its body");
        }

        return StrictJson.TryParseObject(text, out var value, out var error) ? (JsonObject.Create(value), null) : (null, "the body: " + error);
    }

    private static (string? Agent, bool All)? Target(JsonObject body)
    {
        var agent = Text(body, "agent");
        var all = body["all"] is JsonValue value && value.TryGetValue<bool>(out var b) && b;
        return (agent is null) == all ? (agent, all) : null;
    }

    /// <summary>The policy in force: what it is, when and by whom it was loaded, and what the checker warned of.</summary>
    private static JsonObject PolicyJson(Gateway gateway)
    {
        var (policy, loaded) = (gateway.Policy, gateway.Loaded);
        return new JsonObject
        {
            ["id"] = policy.Id, ["hash"] = policy.Hash, ["path"] = gateway.Options.PolicyText is null ? gateway.Options.PolicyPath : null,
            ["loaded_at"] = GatewayStore.Time(loaded.At), ["loaded_by"] = loaded.By, ["environment"] = gateway.Environment,
            ["warnings"] = new JsonArray([.. loaded.Warnings.Select(w => (JsonNode)w)]),
        };
    }

    /// <summary>The policy file as it reads now, checked: whether it loads, what the checker says, and whether a reload would take it.</summary>
    private static JsonObject CheckJson(PolicyFileCheck check, Core.Policy running) => new()
    {
        ["loads"] = check.Policy is not null, ["hash"] = check.Hash, ["in_force"] = check.Hash == running.Hash,
        ["reloadable"] = check.Reloadable && check.Hash != running.Hash, ["blocker"] = check.Blocker,
        ["problems"] = new JsonArray([.. check.Diagnostics.Select(d => (JsonNode)new JsonObject
        {
            ["severity"] = d.Severity.ToString().ToLowerInvariant(), ["code"] = d.Code.ToString(), ["at"] = d.Location.ToString(), ["message"] = d.Message, ["hint"] = d.Hint,
        })]),
    };

    private static string? Text(JsonObject body, string name) => body[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    /// <summary>A trail entry as the API and the console's export give it.</summary>
    internal static object EntryJson(AuditRecord e) => new
    {
        seq = e.Seq, time = AuditText.Time(e.Time), kind = e.Entry.Kind, agent = e.Entry.Agent, tool = e.Entry.Tool, effect = e.Entry.Effect,
        rule = e.Entry.Rule, reason = e.Entry.Reason, outcome = e.Entry.Outcome, approval_id = e.Entry.ApprovalId, person = e.Entry.Person,
        action_id = e.Entry.ActionId, instruction = e.Entry.Instruction, plan_summary = e.Entry.PlanSummary, detail = e.Entry.Detail,
        rollback_of = e.Entry.RollbackOf, rolled_back_by = e.RolledBackBy, hash = e.Hash,
    };

    /// <summary>A time a person typed (a filter, a window), or why it is not one.</summary>
    internal static DateTimeOffset? Time(string? text, string name) => text is null ? null
        : DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) ? time
        : throw new FormatException($"'{name}' is a time such as 2026-11-25T18:00:00Z, not '{text}'");
}
