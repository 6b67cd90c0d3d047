using Warden.Workspace.Seeding;

namespace Warden.Workspace.Tests.Seeding;

/// <summary>How a seed behaves: reproducible, refused on data unless replacing, atomic, observable.</summary>
public sealed class WorkspaceSeederTests
{
    [Fact]
    public void The_same_seed_count_and_now_give_identical_tables()
    {
        var (first, _) = Workspaces.Seed(3_000, seed: 7);
        var (second, _) = Workspaces.Seed(3_000, seed: 7);
        Assert.Equal(Workspaces.HashAll(first), Workspaces.HashAll(second));
    }

    [Fact]
    public void A_small_seed_still_gives_the_recorded_data()
    {
        // Pins the generator's output, here and on every platform. A deliberate change to the
        // data bumps SyntheticWorkspace.Generator and records the new hash.
        var (path, _) = Workspaces.Seed(300, seed: 1);
        var all = string.Join("\n", Workspaces.HashAll(path).OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key} {t.Value}"));
        Assert.Equal("warden-synthetic/1", SyntheticWorkspace.Generator);
        Assert.Equal("8AFE3C3D2286944E", Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(all)))[..16]);
    }

    [Fact]
    public void A_different_seed_gives_different_contacts_companies_and_sends()
    {
        var (first, _) = Workspaces.Seed(3_000, seed: 7);
        var (second, _) = Workspaces.Seed(3_000, seed: 8);
        Assert.NotEqual(Workspaces.Hash(first, "contacts"), Workspaces.Hash(second, "contacts"));
        Assert.NotEqual(Workspaces.Hash(first, "companies"), Workspaces.Hash(second, "companies"));
        Assert.NotEqual(Workspaces.Hash(first, "campaign_sends"), Workspaces.Hash(second, "campaign_sends"));
    }

    [Fact]
    public void A_different_now_moves_the_history_with_it()
    {
        var (path, _) = Workspaces.Seed(1_000, now: new DateTimeOffset(2030, 3, 1, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(0, Workspaces.Scalar(path, "SELECT COUNT(*) FROM contacts WHERE created_at > '2030-03-01T00:00:00.000Z' OR updated_at > '2030-03-01T00:00:00.000Z'"));
        Assert.Equal(1, Workspaces.Scalar(path, "SELECT COUNT(*) FROM campaigns WHERE id = 'cmp-2030-03-black-friday'"));
    }

    [Fact]
    public void Seeding_a_workspace_that_has_data_is_refused_and_changes_nothing()
    {
        var (path, _) = Workspaces.Seed(500);
        var before = Workspaces.HashAll(path);
        var refused = Assert.Throws<WorkspaceNotEmptyException>(() => WorkspaceSeeder.Seed(WorkspaceStore.Open(path), Workspaces.Options(800, seed: 2), cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(500, refused.Contacts);
        Assert.Equal(before, Workspaces.HashAll(path));
    }

    [Fact]
    public void Replace_deletes_the_old_data_and_gives_what_a_fresh_seed_gives()
    {
        var (path, _) = Workspaces.Seed(500);
        var summary = WorkspaceSeeder.Seed(WorkspaceStore.Open(path), Workspaces.Options(300, seed: 2) with { Replace = true }, cancellationToken: TestContext.Current.CancellationToken);
        var (fresh, _) = Workspaces.Seed(300, seed: 2);
        Assert.Equal(300, summary.Contacts);
        Assert.Equal(Workspaces.HashAll(fresh), Workspaces.HashAll(path));
    }

    [Fact]
    public void Building_the_indexes_after_the_load_gives_the_same_workspace_as_keeping_them()
    {
        var (built, _) = Workspaces.Seed(2_000);
        var kept = Workspaces.NewPath();
        WorkspaceSeeder.Seed(WorkspaceStore.Open(kept), Workspaces.Options(2_000) with { KeepIndexes = true }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(Workspaces.HashAll(built), Workspaces.HashAll(kept));
        Assert.Equal(
            Workspaces.Column(built, "SELECT sql FROM sqlite_master WHERE type = 'index' ORDER BY name"),
            Workspaces.Column(kept, "SELECT sql FROM sqlite_master WHERE type = 'index' ORDER BY name"));
    }

    [Fact]
    public void A_cancelled_seed_leaves_the_workspace_empty()
    {
        var path = Workspaces.NewPath();
        var store = WorkspaceStore.Open(path);
        using var cancellation = new CancellationTokenSource();
        var progress = new Recorder(p =>
        {
            if (p is { Phase: "contacts", Done: > 0 })
            {
                cancellation.Cancel();
            }
        });
        Assert.ThrowsAny<OperationCanceledException>(() => WorkspaceSeeder.Seed(store, Workspaces.Options(25_000), progress, cancellation.Token));
        Assert.Equal(0, Workspaces.Scalar(path, "SELECT COUNT(*) FROM contacts"));
        Assert.Equal(0, Workspaces.Scalar(path, "SELECT COUNT(*) FROM companies"));
        // Every index the schema declares is back, however many that is.
        var fresh = Workspaces.NewPath();
        WorkspaceStore.Open(fresh);
        const string indexes = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'contacts' AND sql IS NOT NULL";
        Assert.Equal(Workspaces.Scalar(fresh, indexes), Workspaces.Scalar(path, indexes));
    }

    [Fact]
    public void Progress_names_each_phase_and_reaches_every_total()
    {
        var reports = new List<SeedProgress>();
        WorkspaceSeeder.Seed(WorkspaceStore.Open(Workspaces.NewPath()), Workspaces.Options(25_000), new Recorder(reports.Add), TestContext.Current.CancellationToken);
        Assert.Equal(["companies", "contacts", "indexes", "committing"], reports.Select(r => r.Phase).Distinct());
        var contacts = reports.Where(r => r.Phase == "contacts").ToList();
        Assert.Equal([0, 10_000, 20_000, 25_000], contacts.Select(r => r.Done));
        Assert.All(contacts, r => Assert.Equal(25_000, r.Total));
        Assert.All(reports.GroupBy(r => r.Phase), phase => Assert.Equal(phase.Last().Total, phase.Last().Done));
    }

    [Fact]
    public void The_schema_indexes_are_all_back_and_the_workspace_stays_in_wal_mode()
    {
        var path = Workspaces.NewPath();
        var store = WorkspaceStore.Open(path);
        var indexes = Workspaces.Column(path, "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name");
        WorkspaceSeeder.Seed(store, Workspaces.Options(1_000), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(indexes, Workspaces.Column(path, "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name"));
        Assert.Equal(["wal"], Workspaces.Column(path, "PRAGMA journal_mode"));
    }

    [Fact]
    public void A_workspace_another_connection_has_open_is_seeded_in_wal_mode()
    {
        var path = Workspaces.NewPath();
        var store = WorkspaceStore.Open(path);
        using var reader = Workspaces.Read(path);
        using var command = reader.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM contacts";
        Assert.Equal(0L, command.ExecuteScalar());
        var summary = WorkspaceSeeder.Seed(store, Workspaces.Options(2_000), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(2_000, summary.Contacts);
        Assert.Equal(2_000L, command.ExecuteScalar());
        Assert.Equal(["wal"], Workspaces.Column(path, "PRAGMA journal_mode"));
    }

    [Fact]
    public void One_contact_is_enough_for_a_whole_workspace()
    {
        var (path, summary) = Workspaces.Seed(1);
        Assert.Equal(1, summary.Contacts);
        Assert.Equal(1, Workspaces.Scalar(path, "SELECT COUNT(*) FROM companies"));
        Assert.Equal("c-0000001", Workspaces.Column(path, "SELECT id FROM contacts")[0]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(SeedOptions.MaxContacts + 1)]
    public void Contact_counts_outside_one_to_fifty_million_are_refused(int contacts)
    {
        var path = Workspaces.NewPath();
        Assert.Throws<ArgumentOutOfRangeException>(() => WorkspaceSeeder.Seed(WorkspaceStore.Open(path), Workspaces.Options(contacts), cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(0, Workspaces.Scalar(path, "SELECT COUNT(*) FROM contacts"));
    }

    /// <summary>Records on the calling thread, unlike <see cref="Progress{T}"/>.</summary>
    private sealed class Recorder(Action<SeedProgress> record) : IProgress<SeedProgress>
    {
        public void Report(SeedProgress value) => record(value);
    }
}
