using static Warden.Core.Tests.TestPolicies;

namespace Warden.Core.Tests.Testing;

public sealed class ExamplePolicyTests
{
    [Fact]
    public void The_example_policy_loads_without_errors_or_warnings()
    {
        var result = Load(Examples.PolicyText);
        Assert.True(result.Succeeded, string.Join("\n", result.Diagnostics));
        Assert.Empty(result.Diagnostics);
    }

    [Fact]
    public void The_example_policy_passes_its_own_tests()
    {
        var policy = Valid(Examples.PolicyText);
        var suite = PolicyTestSuite.Parse(File.ReadAllText(Examples.CasesPath), Examples.CasesPath, policy, out var diagnostics);
        Assert.True(suite is not null, string.Join("\n", diagnostics));
        var results = suite.Run(policy);
        Assert.True(results.Count >= 20);
        Assert.All(results, r => Assert.True(r.Passed, $"{r.Case.Name}: {string.Join("; ", r.Mismatches)}"));
    }

    [Fact]
    public void The_example_classifies_its_five_use_cases()
    {
        var policy = Valid(Examples.PolicyText);
        Assert.Equal(
            [("campaign-qa", Tier.High), ("data-hygiene", Tier.Medium), ("reporting", Tier.Low), ("nurture-optimisation", Tier.Medium), ("warehouse-maintenance", Tier.High)],
            policy.UseCases.Select(u => (u.Id, u.Tier)));
    }
}
