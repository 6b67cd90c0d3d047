using Microsoft.Data.Sqlite;
using Warden.Storage.Audit;
using Warden.Storage.Gateway;
using Warden.Storage.Tests.Audit;

namespace Warden.Storage.Tests;

/// <summary>
/// Files holding personal data or keys are readable by their owner only (0600, folders 0700), from
/// the moment they exist: the trail, its -wal and -shm, its key and lock, archives, the gateway
/// store. Checked while the files are open and written, since SQLite makes -wal and -shm then.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class FileModeTests : IDisposable
{
    private const UnixFileMode File0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Folder0700 = File0600 | UnixFileMode.UserExecute;

    private readonly string _root = Directory.CreateTempSubdirectory("warden-modes-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>Every file under <paramref name="folder"/> with its mode, and every folder below it.</summary>
    private static List<(string Path, UnixFileMode Mode)> Modes(string folder) =>
    [
        .. Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(p => (p, File.GetUnixFileMode(p))),
    ];

    private static void AllOwnerOnly(string folder, params string[] expected)
    {
        var modes = Modes(folder);
        foreach (var name in expected)
        {
            Assert.Contains(modes, m => Path.GetFileName(m.Path) == name);
        }

        Assert.All(modes, m => Assert.Equal(Directory.Exists(m.Path) ? Folder0700 : File0600, m.Mode));
    }

    [Fact]
    public async Task A_new_trail_its_wal_shm_key_and_lock_are_readable_by_their_owner_only_while_it_writes()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "file modes are Unix's");
        var data = Path.Combine(_root, "data");
        await using var trail = AuditTrail.Open(Path.Combine(data, "audit.db"));
        await trail.AppendAsync(TrailFixture.Call(1), TestContext.Current.CancellationToken);
        Assert.Equal(Folder0700, File.GetUnixFileMode(data));
        AllOwnerOnly(data, "audit.db", "audit.db-wal", "audit.db-shm", "audit.db.key", "audit.db.lock");
    }

    [Fact]
    public void A_new_gateway_store_and_its_wal_and_shm_are_readable_by_their_owner_only()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "file modes are Unix's");
        var data = Path.Combine(_root, "data");
        using var store = GatewayStore.Open(Path.Combine(data, "gateway.db"));
        store.Usage.Use("tidy-bot", "tidy", "ana", DateTimeOffset.UnixEpoch, [("changed_records", 1)]);
        Assert.Equal(Folder0700, File.GetUnixFileMode(data));
        AllOwnerOnly(data, "gateway.db", "gateway.db-wal", "gateway.db-shm");
    }

    [Fact]
    public async Task An_archive_file_is_readable_by_its_owner_only()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "file modes are Unix's");
        using var trail = new TrailFixture();
        trail.Fill(12);
        var archive = Path.Combine(_root, "archive-1.jsonl");
        await using (var writer = trail.Open())
        {
            await writer.ArchiveAsync(1, archive, "alice", null, TestContext.Current.CancellationToken);
        }

        Assert.Equal(File0600, File.GetUnixFileMode(archive));
    }

    [Fact]
    public async Task Files_an_earlier_version_left_readable_by_others_are_tightened_when_the_trail_opens()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "file modes are Unix's");
        using var fixture = new TrailFixture();
        fixture.Fill(3);
        const UnixFileMode loose = File0600 | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        foreach (var file in (string[])[fixture.Path, fixture.Path + ".key", fixture.Path + ".lock"])
        {
            File.SetUnixFileMode(file, loose);
        }

        await using var trail = fixture.Open();
        await trail.AppendAsync(TrailFixture.Call(4), TestContext.Current.CancellationToken);
        AllOwnerOnly(fixture.Directory, "audit.db", "audit.db-wal", "audit.db-shm", "audit.db.key", "audit.db.lock");
    }

    [Fact]
    public void A_gateway_store_left_readable_by_others_is_tightened_when_it_opens()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "file modes are Unix's");
        var path = Path.Combine(_root, "gateway.db");
        GatewayStore.Open(path).Dispose();
        File.SetUnixFileMode(path, File0600 | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        using var store = GatewayStore.Open(path);
        Assert.Equal(File0600, File.GetUnixFileMode(path));
    }
}
