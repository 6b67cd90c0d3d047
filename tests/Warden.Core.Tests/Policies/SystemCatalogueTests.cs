namespace Warden.Core.Tests.Policies;

/// <summary>A policy is loaded with the catalogues of the systems it governs; the classes they give are classes the policy may name.</summary>
public sealed class SystemCatalogueTests
{
    [Fact]
    public void A_policy_loaded_without_any_system_is_refused_instead_of_granting_and_masking_nothing()
    {
        var refused = Assert.Throws<ArgumentException>(() => PolicyLoader.Load(TestPolicies.Base, "policy.yaml", new PolicyLoadOptions()));

        Assert.Contains("catalogues of the systems it governs", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_agent_may_see_a_class_only_the_schema_declares()
    {
        var policy = TestPolicies.Valid(TestPolicies.Base.Replace(
            "- { id: look-bot, use_case: look, environments: [sandbox], auth: { token: env:T_LOOK } }",
            "- { id: look-bot, use_case: look, environments: [sandbox], auth: { token: env:T_LOOK }, sees: [pii] }", StringComparison.Ordinal));

        Assert.Equal(["pii"], policy.FindAgent("look-bot")!.Sees);
        Assert.DoesNotContain("first_name", ReadMask.For(policy, policy.FindAgent("look-bot")!).Fields);
        Assert.Contains("first_name", ReadMask.For(policy, policy.FindAgent("ops-bot")!).Fields);
    }
}
