namespace Warden.Gateway.Tests;

/// <summary>Fixes Warden.Gateway's public surface; see <see cref="Warden.Tests.Shared.PublicApi"/>.</summary>
public sealed class PublicApiTests
{
    [Fact]
    public void The_public_api_is_the_approved_one() =>
        Warden.Tests.Shared.PublicApi.Verify(typeof(GatewayServer).Assembly, Warden.Tests.Shared.PublicApi.ProjectDirectory("Warden.Gateway.Tests"));
}
