namespace Warden.Storage;

/// <summary>
/// Files and folders only their owner can read: the trail, its key, the stores and everything
/// else holding personal data or secrets. Created so from the start (never created loose and
/// tightened after a window in which others could open them), whatever the process's umask, and
/// tightened on open when an earlier version left them looser. A SQLite database is created
/// empty here before SQLite opens it, because SQLite gives its -wal and -shm files the mode of
/// the database file. On Windows nothing is done: access there is by ACL, inherited from the folder.
/// </summary>
public static class OwnerOnly
{
    public const UnixFileMode File = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public const UnixFileMode Folder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private const UnixFileMode Others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
                                        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Creates the folder (and any missing parents) readable by its owner only; an existing folder is left as it is.</summary>
    public static void CreateFolder(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, Folder);
        }
    }

    /// <summary>
    /// Makes sure the SQLite database at <paramref name="path"/> and its -wal, -shm and -journal
    /// files are readable by their owner only before SQLite opens it: a missing database is
    /// created empty with mode 0600 (SQLite reads an empty file as an empty database), and
    /// existing files are tightened.
    /// </summary>
    public static void PrepareDatabase(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        try
        {
            using (new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = File }))
            {
            }
        }
        catch (IOException) when (System.IO.File.Exists(path))
        {
            // there already: tightened below
        }

        foreach (var file in (string[])[path, path + "-wal", path + "-shm", path + "-journal"])
        {
            Tighten(file);
        }
    }

    /// <summary>Options for a file created readable by its owner only.</summary>
    public static FileStreamOptions Create(FileMode mode, FileAccess access, FileShare share = FileShare.Read, FileOptions options = FileOptions.None)
    {
        var created = new FileStreamOptions { Mode = mode, Access = access, Share = share, Options = options };
        if (!OperatingSystem.IsWindows())
        {
            created.UnixCreateMode = mode == FileMode.Open ? null : File;
        }

        return created;
    }

    /// <summary>
    /// Takes group and other permissions away from a file or folder that has them. Only the owner
    /// may change a mode: a file someone else owns is left as it is (and stays readable only as
    /// far as its folder lets anyone reach it). A missing file is nothing to do.
    /// </summary>
    public static void Tighten(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        try
        {
            var mode = System.IO.File.GetUnixFileMode(path);
            if ((mode & Others) != 0)
            {
                System.IO.File.SetUnixFileMode(path, mode & ~Others);
            }
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException)
        {
            // missing, or not ours to change
        }
    }
}
