namespace Warden.Workspace.Seeding;

/// <summary>What a seed wrote.</summary>
/// <param name="Path">The workspace database file.</param>
/// <param name="Rows">Rows written per table, in the schema's order.</param>
public sealed record SeedSummary(string Path, IReadOnlyDictionary<string, long> Rows)
{
    /// <summary>The number of contacts written.</summary>
    public long Contacts => Rows.TryGetValue("contacts", out var n) ? n : 0;
}
