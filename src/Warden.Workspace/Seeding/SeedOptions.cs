namespace Warden.Workspace.Seeding;

/// <summary>What to seed: how many contacts, from which seed, as of which moment. The same options always give the same data.</summary>
public sealed record SeedOptions
{
    /// <summary>The most contacts one seed may create.</summary>
    public const int MaxContacts = 50_000_000;

    /// <summary>The moment the synthetic history ends at unless told otherwise: 2026-11-25T12:00:00Z.</summary>
    public static readonly DateTimeOffset DefaultNow = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    /// <summary>How many contacts to create, from 1 to <see cref="MaxContacts"/>; everything else scales with it.</summary>
    public int Contacts { get; init; } = 10_000;

    /// <summary>The random seed.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>"Now" for the data: every timestamp lies before it, and staleness and recency are measured from it.</summary>
    public DateTimeOffset Now { get; init; } = DefaultNow;

    /// <summary>Delete whatever the workspace holds and seed it again; without it a workspace with data is refused.</summary>
    public bool Replace { get; init; }

    /// <summary>Keep the secondary indexes during the bulk load instead of building them afterwards (for measuring).</summary>
    internal bool KeepIndexes { get; init; }

    internal void Validate()
    {
        if (Contacts is < 1 or > MaxContacts)
        {
            throw new ArgumentOutOfRangeException(nameof(Contacts), Contacts, $"The number of contacts must be from 1 to {MaxContacts:N0}.");
        }

        if (Now.Year is < 2000 or > 9000)
        {
            throw new ArgumentOutOfRangeException(nameof(Now), Now, "Now must lie between the years 2000 and 9000.");
        }
    }
}
