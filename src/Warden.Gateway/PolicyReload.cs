using System.Text.Json;
using Warden.Core;
using Warden.Core.Audit;
using Warden.Upstreams;
using Warden.Workspace;

namespace Warden.Gateway;

/// <summary>
/// The policy file as it reads now, checked as a reload would take it: its text, the checker's
/// findings, the policy it loads as, and what stops it taking effect here without a restart.
/// </summary>
internal sealed record PolicyFileCheck(string? Text, string? Hash, IReadOnlyList<Diagnostic> Diagnostics, Policy? Policy, string? Blocker)
{
    /// <summary>True when a reload would put it in force now.</summary>
    public bool Reloadable => Policy is not null && Blocker is null;

    public IEnumerable<string> Problems => Diagnostics.Select(d => d.ToString());

    /// <summary>What the checker warned of, for a policy that loads.</summary>
    public IReadOnlyList<string> Warnings => [.. Diagnostics.Where(d => d.Severity != Severity.Error).Select(d => d.ToString())];
}

/// <summary>What a reload did: put the file's policy in force, found it in force already, refused it (and why), or refused the person asking.</summary>
internal enum ReloadOutcome
{
    Reloaded,
    Unchanged,
    Refused,
    NotAllowed,
}

internal sealed record PolicyReloaded(ReloadOutcome Outcome, string Message, PolicyFileCheck Check);

/// <summary>
/// Reading and checking the policy file for a reload. A reload changes what is decided (rules,
/// agents, people, grants, budgets, approvals, data classes); the systems a gateway governs and how
/// it reaches them are opened at its start, so a policy that changes them waits for a restart.
/// </summary>
internal static class PolicyReload
{
    /// <summary>The policy text as a gateway loads it, at its start and at a reload alike: the workspace's catalogue and every kind of system known.</summary>
    public static PolicyLoadResult Load(string text, GatewayOptions options) =>
        PolicyLoader.Load(text, options.PolicyPath, new PolicyLoadOptions { Clock = options.Clock, Systems = [WorkspaceCatalogue.Catalogue], Kinds = PolicyKinds.All });

    /// <summary>Reads the gateway's policy file and checks it against the policy in force; nothing takes effect.</summary>
    public static PolicyFileCheck Check(GatewayOptions options, Policy running)
    {
        if (options.PolicyText is not null)
        {
            return new PolicyFileCheck(null, null, [], null,
                "this gateway runs a policy it was given as text (the built-in example), not a file: there is nothing on disk to load");
        }

        string text;
        try
        {
            text = File.ReadAllText(options.PolicyPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new PolicyFileCheck(null, null, [], null, $"{options.PolicyPath} cannot be read: {e.Message}");
        }

        var result = Load(text, options);
        if (!result.Succeeded)
        {
            var errors = result.Diagnostics.Count(d => d.Severity == Severity.Error);
            return new PolicyFileCheck(text, null, result.Diagnostics, null, $"{options.PolicyPath} does not load ({errors} error{(errors == 1 ? "" : "s")})");
        }

        var policy = result.Policy!;
        return new PolicyFileCheck(text, policy.Hash, result.Diagnostics, policy, Blocker(options, running, policy));
    }

    /// <summary>Why <paramref name="next"/> cannot replace <paramref name="running"/> in this gateway without a restart, or null.</summary>
    private static string? Blocker(GatewayOptions options, Policy running, Policy next)
    {
        if (!next.Environments.Contains(options.Environment))
        {
            return $"it has no environment '{options.Environment}', the one this gateway runs in (it has {string.Join(", ", next.Environments)})";
        }

        var changed = running.Declared.Select(d => d.Id).Union(next.Declared.Select(d => d.Id))
            .Where(id => Shape(running, id) != Shape(next, id)).ToList();
        return changed.Count == 0 ? null
            : $"it changes how Warden reaches or governs system{(changed.Count == 1 ? "" : "s")} {string.Join(", ", changed)}, which this gateway opened at its start: restart it to take this policy";
    }

    /// <summary>
    /// A system's declaration, with the tools the policy annotates for it when it is an upstream
    /// server (those are fixed into its catalogue when it opens), as one comparable text.
    /// </summary>
    private static string Shape(Policy policy, string id)
    {
        if (policy.Declared.FirstOrDefault(d => d.Id == id) is not { } declared)
        {
            return "";
        }

        try
        {
            var tools = declared.Kind == McpUpstream.Kind ? policy.Tools.Where(t => t.System == id).OrderBy(t => t.Name, StringComparer.Ordinal).ToList() : [];
            return JsonSerializer.Serialize(new { declared, tools }, ShapeJson);
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException or JsonException)
        {
            // A shape that cannot be written cannot be compared: taken as changed, which asks for a restart.
            return Guid.NewGuid().ToString();
        }
    }

    private static readonly JsonSerializerOptions ShapeJson = new() { ReferenceHandler = System.Text.Json.Serialization.ReferenceHandler.IgnoreCycles, MaxDepth = 64 };

    /// <summary>The trail's entry for a reload, done or refused.</summary>
    public static AuditEntry Entry(GatewayOptions options, string person, Policy before, PolicyReloaded reloaded) => new()
    {
        Kind = AuditKinds.PolicyLoad,
        Environment = options.Environment,
        Person = person,
        Effect = "reload",
        PolicyHash = reloaded.Outcome == ReloadOutcome.Reloaded ? reloaded.Check.Hash : before.Hash,
        Detail = reloaded.Outcome == ReloadOutcome.Reloaded
            ? $"policy {reloaded.Check.Policy!.Id} reloaded from {options.PolicyPath} by {person}: {before.Hash} → {reloaded.Check.Hash}; {reloaded.Check.Policy.Agents.Count} agents, {reloaded.Check.Policy.Rules.Count} rules"
            : $"reload of {options.PolicyPath} by {person} refused: {reloaded.Message}",
        Outcome = reloaded.Outcome == ReloadOutcome.Reloaded ? "ok" : "refused",
    };
}
