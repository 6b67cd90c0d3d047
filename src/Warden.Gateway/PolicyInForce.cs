using Warden.Core;

namespace Warden.Gateway;

/// <summary>
/// The policy the gateway enforces now, and how it came to be loaded. A reload replaces both at
/// once. Each operation reads <see cref="Current"/> once and decides with that policy throughout,
/// so no call is ever decided half under one policy and half under the next.
/// </summary>
internal sealed class PolicyInForce(Policy policy, LoadedPolicy loaded)
{
    private volatile State _state = new(policy, loaded);

    public Policy Current => _state.Policy;

    public LoadedPolicy Loaded => _state.Loaded;

    /// <summary>Puts <paramref name="policy"/> in force for every operation that starts from now on.</summary>
    public void Replace(Policy policy, LoadedPolicy loaded) => _state = new State(policy, loaded);

    private sealed record State(Policy Policy, LoadedPolicy Loaded);
}

/// <summary>The policy as the gateway loaded it: its text, what the checker warned of, when, and who loaded it (null: at the start).</summary>
internal sealed record LoadedPolicy(string Text, IReadOnlyList<string> Warnings, DateTimeOffset At, string? By = null);
