using System.CommandLine;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Warden.Cli.Commands;

/// <summary>
/// What people do to a running gateway, through its API: <c>warden approvals list|show|approve|deny</c>,
/// <c>warden freeze</c> and <c>unfreeze</c>, <c>warden agents activate</c>. The person signs in with
/// their token (<c>--token</c> or WARDEN_TOKEN); the gateway is at <c>--url</c> or WARDEN_URL.
/// </summary>
internal static class GatewayCommands
{
    public const string DefaultUrl = "http://127.0.0.1:8787";

    public static IEnumerable<Command> Create(IAnsiConsole console, HttpMessageHandler? handler = null)
    {
        var approvals = new Command("approvals", "See and decide calls held for approval.");
        approvals.Add(List(console, handler));
        approvals.Add(Show(console, handler));
        approvals.Add(Decide("approve", console, handler));
        approvals.Add(Decide("deny", console, handler));
        yield return approvals;
        yield return Freeze("freeze", console, handler);
        yield return Freeze("unfreeze", console, handler);
        var agents = new Command("agents", "See agents and activate them for production.");
        agents.Add(Activate(console, handler));
        yield return agents;
        yield return Rollback(console, handler);
    }

    private static Command Rollback(IAnsiConsole console, HttpMessageHandler? handler)
    {
        var (url, token) = Connection();
        var action = new Argument<string?>("ACTION_ID") { Description = "The action to undo (act-..., as approvals approve and the trail name it).", Arity = ArgumentArity.ZeroOrOne };
        var agent = new Option<string?>("--agent") { Description = "Undo everything this agent did in the window --since gives.", HelpName = "AGENT" };
        var since = new Option<string?>("--since") { Description = "With --agent: how far back, e.g. 30m, 2h, 1d.", HelpName = "DURATION" };
        var force = new Option<bool>("--force") { Description = "Overwrite records changed since the action too (their later values are journaled, so this can itself be rolled back)." };
        var yes = new Option<bool>("--yes") { Description = "Do not ask: run after showing the preview (for scripts)." };
        var command = new Command("rollback", "Undo an action, or what an agent did in a time window: shows what would be restored and what conflicts, then asks.")
        {
            action, agent, since, force, yes, url, token,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var request = new JsonObject();
            if (parse.GetValue(action) is { } id)
            {
                if (parse.GetValue(agent) is not null || parse.GetValue(since) is not null)
                {
                    console.MarkupLine("[red]error:[/] give an action id, or --agent with --since, not both.");
                    return Task.FromResult(ExitCodes.Usage);
                }

                request["action_id"] = id;
            }
            else if (parse.GetValue(agent) is { } who && Duration(parse.GetValue(since)) is { } window)
            {
                var now = DateTimeOffset.UtcNow;
                request["agent"] = who;
                request["from"] = (now - window).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
                request["to"] = now.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
            }
            else
            {
                console.MarkupLine(parse.GetValue(agent) is null
                    ? "[red]error:[/] say what to roll back: an action id (warden rollback act-...), or --agent AGENT --since 2h."
                    : $"[red]error:[/] --since takes a duration like 30m, 2h or 1d, not '{Markup.Escape(parse.GetValue(since) ?? "")}'.");
                return Task.FromResult(ExitCodes.Usage);
            }

            request["force"] = parse.GetValue(force);
            return Run(console, handler, parse.GetValue(url), parse.GetValue(token), async client =>
            {
                var preview = request.DeepClone().AsObject();
                preview["preview"] = true;
                var (ok, plan) = await client.Send(HttpMethod.Post, "/api/rollback", preview, cancellationToken).ConfigureAwait(false);
                if (!ok)
                {
                    return ExitCodes.Findings;
                }

                console.MarkupLine($"[bold]{Markup.Escape(S(plan, "summary"))}[/]");
                var conflicts = plan!["conflicts"]?.AsArray() ?? [];
                foreach (var conflict in conflicts.Take(20))
                {
                    console.MarkupLine($"  [yellow]conflict[/] {Markup.Escape(S(conflict, "table"))} {Markup.Escape(S(conflict, "key"))}: {Markup.Escape(S(conflict, "reason"))}");
                }

                if (conflicts.Count > 20)
                {
                    console.MarkupLine($"  ... and {conflicts.Count - 20:N0} more conflicts");
                }

                if (conflicts.Count > 0)
                {
                    console.MarkupLine(parse.GetValue(force)
                        ? "[yellow]--force: the records above will be overwritten too (what they hold now is journaled).[/]"
                        : "The records above changed since; they are left as they are (--force overwrites them).");
                }

                if (!parse.GetValue(yes))
                {
                    if (!console.Profile.Capabilities.Interactive)
                    {
                        console.MarkupLine("Nothing was rolled back: confirm at a terminal, or run again with --yes.");
                        return ExitCodes.Findings;
                    }

                    if (!await console.ConfirmAsync("Roll back?", defaultValue: false, cancellationToken).ConfigureAwait(false))
                    {
                        console.MarkupLine("Nothing was rolled back.");
                        return ExitCodes.Ok;
                    }
                }

                // A large rollback takes a while: a terminal sees that it is running; redirected output gets only the result.
                var (done, result) = console.Profile.Capabilities.Interactive
                    ? await console.Status().StartAsync("rolling back…", _ => client.Send(HttpMethod.Post, "/api/rollback", request, cancellationToken)).ConfigureAwait(false)
                    : await client.Send(HttpMethod.Post, "/api/rollback", request, cancellationToken).ConfigureAwait(false);
                if (!done)
                {
                    return ExitCodes.Findings;
                }

                var skipped = result!["skipped"]?.AsArray().Count ?? 0;
                console.MarkupLine($"[green]Rolled back[/] {Markup.Escape(string.Join(", ", result["undone"]!.AsArray().Select(u => u!.ToString())))}: "
                                   + $"{Markup.Escape(S(result, "restored"))} records restored" + (skipped > 0 ? $", {skipped:N0} left as they were (changed since)" : "")
                                   + $". It is action {Markup.Escape(S(result, "action_id"))} (audit entry {Markup.Escape(S(result, "audit_seq"))}); warden rollback {Markup.Escape(S(result, "action_id"))} undoes it.");
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    /// <summary>30m, 2h, 1d: a window back from now; null for anything else.</summary>
    private static TimeSpan? Duration(string? text)
    {
        if (text is null || text.Length < 2 || !int.TryParse(text.AsSpan(0, text.Length - 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n <= 0)
        {
            return null;
        }

        return text[^1] switch
        {
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            _ => null,
        };
    }

    private static (Option<string?> Url, Option<string?> Token) Connection() =>
    (
        new Option<string?>("--url")
        {
            Description = $"The gateway (default WARDEN_URL, else the one serving .warden here, as .warden/{Warden.Gateway.GatewayServer.AddressFile} says, else {DefaultUrl}).",
            HelpName = "URL",
        },
        new Option<string?>("--token") { Description = "Your API token (default WARDEN_TOKEN).", HelpName = "TOKEN" }
    );

    private static Command List(IAnsiConsole console, HttpMessageHandler? handler)
    {
        var (url, token) = Connection();
        var status = new Option<string>("--status") { Description = "pending (the default), executing, executed, denied, expired, void, failed, cancelled or all.", DefaultValueFactory = _ => "pending" };
        var command = new Command("list", "The requests waiting for a decision, riskiest first.") { status, url, token };
        command.SetAction((parse, cancellationToken) => Run(console, handler, parse.GetValue(url), parse.GetValue(token), async client =>
        {
            var (ok, body) = await client.Send(HttpMethod.Get, "/api/approvals?status=" + Uri.EscapeDataString(parse.GetValue(status)!), null, cancellationToken).ConfigureAwait(false);
            if (!ok)
            {
                return ExitCodes.Findings;
            }

            var items = body!["approvals"]!.AsArray();
            if (items.Count == 0)
            {
                console.MarkupLine($"No {Markup.Escape(parse.GetValue(status)!)} requests.");
                return ExitCodes.Ok;
            }

            var table = new Table().Border(TableBorder.Rounded).AddColumns("id", "status", "risk", "agent", "tool", "what", "waiting for", "expires");
            foreach (var item in items)
            {
                table.AddRow(S(item, "id"), S(item, "status"), S(item, "risk"), S(item, "agent"), S(item, "tool"),
                    S(item, "summary") + (item!["resubmits"] is { } again ? $" [yellow](asks again after {Markup.Escape(again.ToString())} was denied)[/]" : ""),
                    S(item, "waiting_for"), S(item, "expires_at"));
            }

            console.Write(table);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Show(IAnsiConsole console, HttpMessageHandler? handler)
    {
        var (url, token) = Connection();
        var id = new Argument<string>("ID") { Description = "The request's id (apr-...)." };
        var command = new Command("show", "Everything an approver sees: the call, the agent's reason, the plan's diff, counts, dependents and recipients.") { id, url, token };
        command.SetAction((parse, cancellationToken) => Run(console, handler, parse.GetValue(url), parse.GetValue(token), async client =>
        {
            var (ok, body) = await client.Send(HttpMethod.Get, "/api/approvals/" + Uri.EscapeDataString(parse.GetValue(id)!), null, cancellationToken).ConfigureAwait(false);
            if (!ok)
            {
                return ExitCodes.Findings;
            }

            Render(console, body!);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Decide(string verb, IAnsiConsole console, HttpMessageHandler? handler)
    {
        var (url, token) = Connection();
        // One or more for both verbs: an array argument of exactly one cannot take its one value (System.CommandLine), so deny checks the count itself.
        var ids = new Argument<string[]>("ID") { Description = verb == "approve" ? "The request's id (apr-...); several approve them together, the risky ones excepted." : "The request's id (apr-...).", Arity = ArgumentArity.OneOrMore };
        var comment = new Option<string?>("--comment") { Description = "Why: recorded in the audit trail beside your decision.", HelpName = "TEXT" };
        var command = new Command(verb, verb == "approve" ? "Approve a held call; it runs once every requirement is met, if its plan has not changed." : "Deny a held call; it will not run.")
        {
            ids, comment, url, token,
        };
        command.SetAction((parse, cancellationToken) => Run(console, handler, parse.GetValue(url), parse.GetValue(token), async client =>
        {
            var chosen = parse.GetValue(ids)!;
            if (chosen.Length > 1 && verb != "approve")
            {
                console.MarkupLine($"[red]warden approvals {verb} decides one request at a time; run it once for each of {Markup.Escape(string.Join(", ", chosen))}.[/]");
                return ExitCodes.Usage;
            }

            if (chosen.Length > 1)
            {
                // Several at once: the gateway approves each on its own and refuses the risky ones.
                var (bulkOk, bulk) = await client.Send(HttpMethod.Post, "/api/approvals/approve",
                    new JsonObject { ["ids"] = new JsonArray([.. chosen.Select(i => (JsonNode)i)]), ["comment"] = parse.GetValue(comment) }, cancellationToken).ConfigureAwait(false);
                if (!bulkOk)
                {
                    return ExitCodes.Findings;
                }

                var refused = 0;
                foreach (var item in bulk!["results"]!.AsArray())
                {
                    var outcome = S(item, "result");
                    refused += outcome is "refused" or "failed" or "voided" ? 1 : 0;
                    var colour = outcome is "executed" or "recorded" ? "green" : "red";
                    console.MarkupLine($"[{colour}]{Markup.Escape(S(item, "id"))}[/]: {Markup.Escape(S(item, "message"))}");
                }

                return refused > 0 ? ExitCodes.Findings : ExitCodes.Ok;
            }

            var (ok, body) = await client.Send(HttpMethod.Post, $"/api/approvals/{Uri.EscapeDataString(chosen[0])}/{verb}",
                new JsonObject { ["comment"] = parse.GetValue(comment) }, cancellationToken).ConfigureAwait(false);
            if (!ok)
            {
                return ExitCodes.Findings;
            }

            var result = S(body, "result");
            var tint = result switch { "executed" or "recorded" => "green", "denied" => "yellow", _ => "red" };
            console.MarkupLine($"[{tint}]{Markup.Escape(S(body, "message"))}[/]");
            if (body?["action_id"]?.GetValue<string>() is { } action)
            {
                // What a person needs to undo it: warden rollback takes this id.
                console.MarkupLine($"It ran as action {Markup.Escape(action)} (warden rollback {Markup.Escape(action)} undoes it).");
            }
            return result is "failed" or "voided" ? ExitCodes.Findings : ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Freeze(string verb, IAnsiConsole console, HttpMessageHandler? handler)
    {
        var (url, token) = Connection();
        var agent = new Option<string?>("--agent") { Description = verb == "freeze" ? "The agent to freeze." : "The agent to unfreeze (takes an owner of its use case).", HelpName = "NAME" };
        var all = new Option<bool>("--all") { Description = verb == "freeze" ? "Freeze every agent." : "Lift the freeze of every agent (takes a risk owner)." };
        var reason = new Option<string?>("--reason") { Description = "Why: recorded in the audit trail.", HelpName = "TEXT" };
        var command = new Command(verb, verb == "freeze"
            ? "The kill switch: the agent's next call is refused and its pending requests are cancelled."
            : "Lift a freeze; it takes an owner of the agent's use case.")
        {
            agent, all, reason, url, token,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var name = parse.GetValue(agent);
            if ((name is null) == !parse.GetValue(all))
            {
                console.MarkupLine($"[red]error:[/] say which: --agent NAME, or --all.");
                return Task.FromResult(ExitCodes.Usage);
            }

            return Run(console, handler, parse.GetValue(url), parse.GetValue(token), async client =>
            {
                var (ok, body) = await client.Send(HttpMethod.Post, "/api/" + verb,
                    new JsonObject { ["agent"] = name, ["all"] = name is null ? true : null, ["reason"] = parse.GetValue(reason) }, cancellationToken).ConfigureAwait(false);
                if (!ok)
                {
                    return ExitCodes.Findings;
                }

                console.MarkupLine(verb == "freeze"
                    ? $"[yellow]Frozen:[/] {Markup.Escape(S(body, "frozen"))}" + (body!["cancelled_requests"]!.AsArray().Count is var n and > 0 ? $"; {n} pending request{(n == 1 ? "" : "s")} cancelled" : "")
                    : $"[green]Unfrozen:[/] {Markup.Escape(S(body, "unfrozen"))}");
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    /// <summary>
    /// <c>warden policy reload</c>: the running gateway checks its policy file and, when it loads and
    /// may take effect without a restart, puts it in force; the checker's findings are shown either way.
    /// </summary>
    public static Command Reload(IAnsiConsole console, HttpMessageHandler? handler = null)
    {
        var (url, token) = Connection();
        var expect = new Option<string?>("--expect") { Description = "Reload only if the file loads as this hash (as `warden policy check` printed it).", HelpName = "HASH" };
        var command = new Command("reload", "Put the policy file, as it reads now, in force in the running gateway (a technical or risk owner's token); its checker's findings are shown first.")
        {
            expect, url, token,
        };
        command.SetAction((parse, cancellationToken) => Run(console, handler, parse.GetValue(url), parse.GetValue(token), async client =>
        {
            var body = parse.GetValue(expect) is { } hash ? new JsonObject { ["checked_hash"] = hash } : new JsonObject();
            var (ok, answer) = await client.Send(HttpMethod.Post, "/api/policy/reload", body, cancellationToken).ConfigureAwait(false);
            foreach (var problem in answer?["check"]?["problems"]?.AsArray() ?? [])
            {
                console.MarkupLine($"  {Markup.Escape(S(problem!, "at"))}: {Markup.Escape(S(problem!, "severity"))}: {Markup.Escape(S(problem!, "message"))}");
            }

            foreach (var warning in ok ? answer?["warnings"]?.AsArray() ?? [] : [])
            {
                console.MarkupLine($"  {Markup.Escape(warning!.ToString())}");
            }

            if (ok)
            {
                console.MarkupLine(S(answer!, "outcome") == "reloaded"
                    ? $"[green]Reloaded:[/] {Markup.Escape(S(answer!, "message"))}."
                    : $"Unchanged: {Markup.Escape(S(answer!, "message"))}.");
            }

            return ok ? ExitCodes.Ok : ExitCodes.Findings;
        }));
        return command;
    }

    private static Command Activate(IAnsiConsole console, HttpMessageHandler? handler)
    {
        var (url, token) = Connection();
        var agent = new Argument<string>("AGENT") { Description = "The agent." };
        var environment = new Option<string>("--env") { Description = "The environment (default production).", DefaultValueFactory = _ => "production" };
        var command = new Command("activate", "Let an agent act in production: an owner of its use case decides, and it is recorded.") { agent, environment, url, token };
        command.SetAction((parse, cancellationToken) => Run(console, handler, parse.GetValue(url), parse.GetValue(token), async client =>
        {
            var (ok, body) = await client.Send(HttpMethod.Post, $"/api/agents/{Uri.EscapeDataString(parse.GetValue(agent)!)}/activate",
                new JsonObject { ["environment"] = parse.GetValue(environment) }, cancellationToken).ConfigureAwait(false);
            if (ok)
            {
                console.MarkupLine($"[green]Activated[/] {Markup.Escape(parse.GetValue(agent)!)} for {Markup.Escape(parse.GetValue(environment)!)}.");
            }

            return ok ? ExitCodes.Ok : ExitCodes.Findings;
        }));
        return command;
    }

    private static void Render(IAnsiConsole console, JsonNode view)
    {
        console.MarkupLine($"[bold]{Markup.Escape(S(view, "id"))}[/]  {Markup.Escape(S(view, "status"))}, risk {Markup.Escape(S(view, "risk"))}");
        if (view["plan"] is not { } plan)
        {
            console.MarkupLine($"[bold]{Markup.Escape(S(view, "agent"))}[/] calls [bold]{Markup.Escape(S(view, "tool"))}[/] in {Markup.Escape(S(view, "environment"))}; details {Markup.Escape(S(view, "details"))}.");
            return;
        }

        console.MarkupLine($"[bold]{Markup.Escape(S(view, "agent"))}[/] calls [bold]{Markup.Escape(S(view, "tool"))}[/] in {Markup.Escape(S(view, "environment"))}: {Markup.Escape(S(plan, "summary"))}");
        if (view["instruction"] is { } instruction)
        {
            console.MarkupLine($"The agent says: \"{Markup.Escape(instruction.ToString())}\"");
        }

        if (view["on_behalf_of"] is { } person)
        {
            console.MarkupLine($"The agent says it acts for {Markup.Escape(person.ToString())} (its claim, not verified; it counts against their budgets only).");
        }

        console.MarkupLine($"Arguments: {Markup.Escape(view["arguments"]!.ToJsonString(Readable))}");
        var classes = plan["classes"]!.AsArray().Select(c => c!.ToString()).ToList();
        console.MarkupLine($"Records: {Markup.Escape(S(plan, "records"))}; data classes: {Markup.Escape(classes.Count == 0 ? "none" : string.Join(", ", classes))}");
        foreach (var change in plan["changes"]!.AsArray())
        {
            var before = string.Join(", ", change!["before"]!.AsArray().Select(b => $"{b!["value"]?.ToString() ?? "(none)"}: {b["records"]}"));
            console.MarkupLine($"  {Markup.Escape(S(change, "field"))}: {Markup.Escape(before)} → {Markup.Escape(change["after"]?.ToString() ?? "(none)")} ({Markup.Escape(S(change, "records"))} records)");
        }

        foreach (var dependent in plan["dependents"]!.AsArray())
        {
            console.MarkupLine($"  depends on {Markup.Escape(S(dependent, "field"))}: {Markup.Escape(S(dependent, "kind"))} {Markup.Escape(S(dependent, "name"))}");
        }

        if (plan["recipients"]!.GetValue<long>() > 0 || plan["excluded"]!.AsArray().Count > 0)
        {
            console.MarkupLine($"  recipients: {Markup.Escape(S(plan, "recipients"))}; left out: {Markup.Escape(string.Join(", ", plan["excluded"]!.AsArray().Select(e => $"{e!["reason"]}: {e["records"]}")))}");
        }

        if (plan["message"] is { } message)
        {
            console.MarkupLine($"  sends from {Markup.Escape(S(message, "sender"))}, subject \"{Markup.Escape(S(message, "subject"))}\" ({Markup.Escape(S(message, "content_hash"))}):");
            console.MarkupLine($"    {Markup.Escape(S(message, "preview"))}");
        }

        if (plan["destination"] is { } destination)
        {
            console.MarkupLine($"  to destination {Markup.Escape(destination.ToString())}");
        }

        foreach (var requirement in view["requirements"]!.AsArray())
        {
            console.MarkupLine($"Needs {Markup.Escape(S(requirement, "quorum"))} of {Markup.Escape(string.Join(", ", requirement!["approvers"]!.AsArray().Select(a => a!.ToString())))} (rule {Markup.Escape(S(requirement, "rule"))}); {Markup.Escape(S(requirement, "given"))} given.");
        }

        foreach (var vote in view["votes"]!.AsArray())
        {
            console.MarkupLine($"  {Markup.Escape(S(vote, "person"))} {Markup.Escape(S(vote, "vote"))}d at {Markup.Escape(S(vote, "at"))}" + (vote!["comment"] is { } c ? $": {Markup.Escape(c.ToString())}" : ""));
        }

        console.MarkupLine($"Expires {Markup.Escape(S(view, "expires_at"))}." + (view["replaces"] is { } replaces ? $" Replaces {Markup.Escape(replaces.ToString())}, whose plan changed." : ""));
        if (view["outcome"] is { } outcome)
        {
            console.MarkupLine($"Outcome: {Markup.Escape(outcome.ToJsonString(Readable))}");
        }
    }

    private static readonly System.Text.Json.JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string S(JsonNode? node, string name) => node?[name]?.ToString() ?? "";

    /// <summary>Where a gateway serving .warden in this folder says it listens (serve or mcp, whatever its port), if one does.</summary>
    private static readonly string AddressFile = Path.Combine(".warden", Warden.Gateway.GatewayServer.AddressFile);

    /// <summary>
    /// The address in <see cref="AddressFile"/>, or null when there is none. A person's token goes
    /// wherever this says, and a folder may come from anyone (a clone, a shared drive): only an
    /// http address on this machine's loopback is taken from it.
    /// </summary>
    private static string? RunningHere(out string? refused)
    {
        refused = null;
        if (!File.Exists(AddressFile))
        {
            return null;
        }

        var text = File.ReadAllText(AddressFile).Trim();
        if (Uri.TryCreate(text, UriKind.Absolute, out var url) && url.Scheme == "http" && url.IsLoopback && url.AbsolutePath == "/")
        {
            return text;
        }

        refused = $"{AddressFile} says the gateway is at '{text}', which is not an http address on this machine (127.0.0.1, localhost or [::1]); " +
                  "no token is sent there. Pass --url or set WARDEN_URL if you mean it.";
        return null;
    }

    private static async Task<int> Run(IAnsiConsole console, HttpMessageHandler? handler, string? url, string? token, Func<GatewayClient, Task<int>> action)
    {
        var source = url is not null ? "--url" : Environment.GetEnvironmentVariable("WARDEN_URL") is not null ? "WARDEN_URL" : null;
        url ??= Environment.GetEnvironmentVariable("WARDEN_URL");
        if (url is null)
        {
            url = RunningHere(out var refused);
            if (refused is not null)
            {
                console.MarkupLine($"[red]error:[/] {Markup.Escape(refused)}");
                return ExitCodes.Usage;
            }

            source = url is null ? "the default" : AddressFile;
            url ??= DefaultUrl;
        }

        token ??= Environment.GetEnvironmentVariable("WARDEN_TOKEN");
        if (string.IsNullOrWhiteSpace(token))
        {
            console.MarkupLine("[red]error:[/] no token: pass --token or set WARDEN_TOKEN to your API token.");
            return ExitCodes.Usage;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
        {
            console.MarkupLine($"[red]error:[/] '{Markup.Escape(url)}' is not the address of a gateway (e.g. {DefaultUrl}).");
            return ExitCodes.Usage;
        }

        using var client = new GatewayClient(address, token, console, handler);
        try
        {
            return await action(client).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            console.MarkupLine($"[red]error:[/] cannot reach the gateway at {Markup.Escape(url)} (from {Markup.Escape(source!)}): {Markup.Escape(e.Message)} (is `warden serve` or `warden mcp` running?)");
            return ExitCodes.Usage;
        }
    }

    /// <summary>Calls the API and prints a refusal's sentence.</summary>
    private sealed class GatewayClient(Uri address, string token, IAnsiConsole console, HttpMessageHandler? handler) : IDisposable
    {
        private readonly HttpClient _http = handler is null ? new HttpClient { BaseAddress = address } : new HttpClient(handler, disposeHandler: false) { BaseAddress = address };

        public async Task<(bool Ok, JsonNode? Body)> Send(HttpMethod method, string path, JsonObject? body, CancellationToken cancellationToken)
        {
            using var request = new HttpRequestMessage(method, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            if (body is not null)
            {
                request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
            }

            using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            JsonNode? json = null;
            try
            {
                json = text.Length == 0 ? null : JsonNode.Parse(text);
            }
            catch (System.Text.Json.JsonException)
            {
                // not JSON: reported below with the status
            }

            if (response.IsSuccessStatusCode)
            {
                return (true, json);
            }

            console.MarkupLine($"[red]refused ({(int)response.StatusCode}):[/] {Markup.Escape(json?["detail"]?.ToString() ?? json?["error"]?["message"]?.ToString() ?? text)}");
            return (false, json);
        }

        public void Dispose() => _http.Dispose();
    }
}
