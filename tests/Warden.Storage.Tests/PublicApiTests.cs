namespace Warden.Storage.Tests;

/// <summary>Fixes Warden.Storage's public surface; see <see cref="Warden.Tests.Shared.PublicApi"/>.</summary>
public sealed class PublicApiTests
{
    [Fact]
    public void The_public_api_is_the_approved_one() =>
        Warden.Tests.Shared.PublicApi.Verify(typeof(Warden.Storage.Audit.AuditTrail).Assembly, Warden.Tests.Shared.PublicApi.ProjectDirectory("Warden.Storage.Tests"));
}
