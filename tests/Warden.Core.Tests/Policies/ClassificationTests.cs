namespace Warden.Core.Tests.Policies;

/// <summary>The tier rule: high if any axis is high, medium if two or more are medium, low otherwise.</summary>
public sealed class ClassificationTests
{
    [Theory]
    [InlineData("LLLLLL", Tier.Low)]
    [InlineData("MLLLLL", Tier.Low)]
    [InlineData("MMLLLL", Tier.Medium)]
    [InlineData("LLLMMM", Tier.Medium)]
    [InlineData("HLLLLL", Tier.High)]
    [InlineData("LLLLLH", Tier.High)]
    [InlineData("MMMMMH", Tier.High)]
    public void The_tier_follows_the_documented_rule(string axes, Tier expected)
    {
        var r = axes.Select(c => c switch { 'L' => Rating.Low, 'M' => Rating.Medium, _ => Rating.High }).ToArray();
        Assert.Equal(expected, new Classification(r[0], r[1], r[2], r[3], r[4], r[5]).Tier);
    }
}
