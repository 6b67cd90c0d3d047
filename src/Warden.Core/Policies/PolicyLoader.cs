using System.Security.Cryptography;
using System.Text;
using Warden.Core.Diagnostics;
using Warden.Core.Policies;
using Warden.Core.Yaml;

namespace Warden.Core;

/// <summary>How a policy is loaded.</summary>
public sealed record PolicyLoadOptions
{
    /// <summary>The clock used to find expired exceptions and overdue reviews.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>
    /// The catalogues of the systems Warden governs without the policy declaring them (the built-in
    /// workspace): their tools and fields are what the policy's rules, classes and conditions may
    /// name. Upstream systems the policy declares itself come on top.
    /// </summary>
    public IReadOnlyList<SystemCatalogue> Systems { get; init; } = [];

    /// <summary>
    /// The kinds of system a policy may declare (e.g. postgres), each with the catalogue a
    /// declaration of that kind offers: its tools, known before the system is reached (so a policy
    /// can be checked on a laptop), and the fields it already knows of, if any.
    /// </summary>
    public IReadOnlyDictionary<string, Func<DeclaredSystem, SystemCatalogue>> Kinds { get; init; } = new Dictionary<string, Func<DeclaredSystem, SystemCatalogue>>();

    /// <summary>The largest policy file accepted, in characters.</summary>
    public int MaxChars { get; init; } = YamlLimits.Default.MaxChars;

    internal DateTimeOffset Now => Clock.GetUtcNow();
}

/// <summary>The outcome of loading a policy: the policy when there are no errors, and every finding.</summary>
public sealed record PolicyLoadResult(Policy? Policy, IReadOnlyList<Diagnostic> Diagnostics)
{
    /// <summary>True when the policy loaded (there may still be warnings).</summary>
    public bool Succeeded => Policy is not null;

    /// <summary>The errors.</summary>
    public IEnumerable<Diagnostic> Errors => Diagnostics.Where(d => d.Severity == Severity.Error);

    /// <summary>The warnings.</summary>
    public IEnumerable<Diagnostic> Warnings => Diagnostics.Where(d => d.Severity == Severity.Warning);
}

/// <summary>Loads a policy: parse (YAML with positions) → bind (shape) → validate and compile.</summary>
public static class PolicyLoader
{
    /// <summary>
    /// Loads a policy from its text. Never throws for bad input: every problem comes back as a
    /// diagnostic with its place, and the policy is returned only when there is no error.
    /// </summary>
    /// <exception cref="ArgumentException">No system's catalogue was given: the policy would load with no tools and mask nothing.</exception>
    public static PolicyLoadResult Load(string text, string source, PolicyLoadOptions? options = null)
    {
        options ??= new PolicyLoadOptions();
        if (options.Systems.Count == 0)
        {
            // A policy loaded without its systems grants nothing and masks nothing, and says so only in warnings.
            throw new ArgumentException("a policy is loaded with the catalogues of the systems it governs (PolicyLoadOptions.Systems, e.g. the workspace's)", nameof(options));
        }

        var diagnostics = new DiagnosticBag();
        var root = YamlReader.Read(text, source, diagnostics, YamlLimits.Default with { MaxChars = options.MaxChars });
        if (root is null)
        {
            return new PolicyLoadResult(null, diagnostics.Sorted());
        }

        var syntax = PolicyBinder.Bind(root, source, text, diagnostics);
        var policy = PolicyCompiler.Compile(syntax, diagnostics, options, Hash(text));
        return new PolicyLoadResult(diagnostics.HasErrors ? null : policy, diagnostics.Sorted());
    }

    private static string Hash(string text) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
