namespace Warden.Workspace.Seeding;

/// <summary>How far a seed has come: the phase (companies, contacts, indexes, committing) and its units done out of its total.</summary>
public readonly record struct SeedProgress(string Phase, long Done, long Total);
