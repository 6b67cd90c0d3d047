using Warden.Benchmarks;
using static Warden.Core.Tests.TestPolicies;

namespace Warden.Core.Tests.Decisions;

/// <summary>The benchmark's generated policies stay valid, and deciding over them stays allocation-free.</summary>
public sealed class GeneratedPolicyTests
{
    [Fact]
    public void A_generated_thousand_rule_policy_loads_without_errors()
    {
        var result = Load(PolicyGenerator.Generate(1_000));
        Assert.True(result.Succeeded, string.Join("\n", result.Errors.Take(5)));
        Assert.Equal(1_000, result.Policy!.Rules.Count);
    }

    [Fact]
    public void The_generator_is_deterministic() =>
        Assert.Equal(PolicyGenerator.Generate(100, seed: 3), PolicyGenerator.Generate(100, seed: 3));

    [Fact]
    public void Deciding_a_thousand_varied_calls_allocates_nothing_once_warm()
    {
        var policy = Valid(PolicyGenerator.Generate(1_000));
        var calls = PolicyGenerator.Calls(policy, 1024);
        foreach (var call in calls)
        {
            policy.Decide(call);
        }

        // The least of three rounds: a round the runtime chose to tier up or instrument code in can
        // allocate on this thread for itself (seen once in a full run), while a decision that
        // allocates does so in every round.
        var effects = new Effect[calls.Length];
        var allocated = long.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < calls.Length; i++)
            {
                effects[i] = policy.Decide(calls[i]).Effect;
            }

            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, allocated);
        Assert.Equal(3, effects.Distinct().Count());
    }
}
