namespace Warden.Workspace.Seeding;

/// <summary>The workspace already holds data, and the seed was not asked to replace it; nothing was changed.</summary>
public sealed class WorkspaceNotEmptyException : Exception
{
    /// <summary>Creates the exception for the workspace at <paramref name="path"/>.</summary>
    public WorkspaceNotEmptyException(string path, long contacts)
        : base($"The workspace {path} already holds data ({contacts:N0} contacts); seeding it again must be asked to replace it.")
    {
        Path = path;
        Contacts = contacts;
    }

    /// <summary>The workspace database file.</summary>
    public string Path { get; }

    /// <summary>How many contacts it holds.</summary>
    public long Contacts { get; }
}
