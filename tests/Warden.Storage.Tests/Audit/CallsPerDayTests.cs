using Warden.Core.Audit;
using Warden.Storage.Audit;

namespace Warden.Storage.Tests.Audit;

/// <summary>Calls and refusals per day, for the console's overview: only the window is counted, found by sequence, and only calls.</summary>
public sealed class CallsPerDayTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 23, 0, 0, TimeSpan.Zero);
    private readonly TrailFixture _trail = new();

    public CallsPerDayTests()
    {
        var clock = new ManualClock(Start);
        using var trail = _trail.Open(new AuditTrailOptions { CheckpointEvery = 7 }, clock);
        // Three days: 5 calls on the 1st, 8 on the 2nd (3 refused), 4 on the 3rd, and entries that are not calls.
        foreach (var (calls, refused) in new[] { (5, 0), (8, 3), (4, 1) })
        {
            for (var i = 0; i < calls; i++)
            {
                trail.AppendAsync(TrailFixture.Call(i) with { Effect = i < refused ? "deny" : "allow" }).AsTask().GetAwaiter().GetResult();
            }

            trail.AppendAsync(new AuditEntry { Kind = AuditKinds.Approval, Person = "sam", Effect = "deny" }).AsTask().GetAwaiter().GetResult();
            clock.Advance(TimeSpan.FromDays(1));
        }
    }

    public void Dispose() => _trail.Dispose();

    [Fact]
    public void Calls_and_refusals_are_counted_per_day_from_the_first_day_asked()
    {
        var days = AuditLog.CallsPerDay(_trail.Path, new DateTimeOffset(2026, 12, 2, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal([("2026-12-02", 8, 3), ("2026-12-03", 4, 1)], days);
    }

    [Fact]
    public void A_window_after_the_last_entry_counts_nothing()
    {
        Assert.Empty(AuditLog.CallsPerDay(_trail.Path, new DateTimeOffset(2026, 12, 10, 0, 0, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void A_window_before_the_first_entry_counts_every_call()
    {
        var days = AuditLog.CallsPerDay(_trail.Path, new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(17, days.Sum(d => d.Calls));
        Assert.Equal(4, days.Sum(d => d.Refused));
    }
}
