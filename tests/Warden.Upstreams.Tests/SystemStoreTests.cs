using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Warden.Storage.Engines;
using Warden.Tests;

namespace Warden.Upstreams.Tests;

/// <summary>
/// An upstream's pins and the journal of its calls, the same on both engines: its own SQLite file,
/// or its own schema in the PostgreSQL store that replicas share.
/// </summary>
public sealed class SystemStoreTests(PostgresServer postgres) : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 9, 0, 0, TimeSpan.Zero);
    private readonly string _folder = Directory.CreateTempSubdirectory("warden-system-store-").FullName;
    private readonly List<PinnedTools> _opened = [];

    public static TheoryData<string> Engines => new("sqlite", "postgres");

    public void Dispose()
    {
        _opened.ForEach(p => p.Dispose());
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private async Task<Func<string, PinnedTools>> PlaceAsync(string engine)
    {
        if (engine == "sqlite")
        {
            return system => Keep(PinnedTools.Open(Path.Combine(_folder, "systems", "sandbox", system + ".db")));
        }

        var store = StoreLocation.Postgres(postgres.AdminConnection(await postgres.CreateDatabaseAsync()));
        return system => Keep(PinnedTools.Open(store, "sandbox", system));
    }

    private PinnedTools Keep(PinnedTools pins)
    {
        _opened.Add(pins);
        return pins;
    }

    private static ToolVersion Version(string description) => new("sha256:" + description, description, "{}", "{}");

    [Theory, MemberData(nameof(Engines))]
    public async Task A_tool_is_pinned_when_first_seen_and_blocked_when_it_changes_until_accepted(string engine)
    {
        var pins = (await PlaceAsync(engine))("crm");

        Assert.True(pins.See("crm.update", Version("v1"), Now));
        Assert.True(pins.See("crm.update", Version("v1"), Now.AddMinutes(1)));
        Assert.False(pins.See("crm.update", Version("v2"), Now.AddMinutes(2)));
        Assert.Equal(("sha256:v1", "sha256:v2"), (pins.Find("crm.update")!.Pinned.Hash, pins.Find("crm.update")!.Changed?.Hash));

        Assert.True(pins.Accept("crm.update", "sha256:v2", "sam", Now.AddMinutes(3)));
        Assert.True(pins.See("crm.update", Version("v2"), Now.AddMinutes(4)));
        var pin = Assert.Single(pins.All());
        Assert.Equal(("sha256:v2", "sam", null), (pin.Pinned.Hash, pin.PinnedBy, pin.Changed));
    }

    [Theory, MemberData(nameof(Engines))]
    public async Task Two_upstreams_never_share_pins(string engine)
    {
        var open = await PlaceAsync(engine);
        var crm = open("crm");
        var files = open("files");

        crm.See("crm.update", Version("v1"), Now);

        Assert.Empty(files.All());
        Assert.Null(files.Find("crm.update"));
    }

    [Fact]
    public async Task Replicas_listing_a_new_tool_at_once_keep_the_first_pin_and_block_the_other_version()
    {
        var open = await PlaceAsync("postgres");
        var (a, b) = (open("crm"), open("crm"));

        var seen = await Task.WhenAll(Task.Run(() => a.See("crm.update", Version("v1"), Now)), Task.Run(() => b.See("crm.update", Version("v2"), Now)));

        var pin = a.Find("crm.update")!;
        Assert.Equal(pin.Pinned.Hash == "sha256:v1" ? [true, false] : [false, true], seen);
        Assert.NotNull(pin.Changed);
    }

    [Theory, MemberData(nameof(Engines))]
    public async Task A_journaled_write_keeps_its_undo_and_its_progress(string engine)
    {
        var pins = (await PlaceAsync(engine))("crm");
        var journal = new UpstreamJournal(pins.Store);
        var undo = new Undo("act-1", "tidy-bot", "crm.update", Now, "crm.get", new JsonObject { ["id"] = "c-1" }, "$.records", JsonNode.Parse("""{"title":"Buyer"}"""), null,
            false, [new UndoCall("c-1", "crm.update", new JsonObject { ["id"] = "c-1", ["title"] = "Buyer" }, null)], null, null);

        journal.Journal("act-1", "tidy-bot", "crm.update", "sha256:plan", Now, undo);
        journal.Journal("act-2", "tidy-bot", "crm.note", "sha256:other", Now.AddMinutes(1), null);
        journal.After("act-1", JsonNode.Parse("""{"title":"Head of buying"}"""), read: true);
        var done = undo.Calls.Select(c => c with { DoneAt = Now.AddMinutes(5) }).ToList();
        journal.Progress("act-1", done, "sam", Now.AddMinutes(5));

        var kept = journal.UndoOf("act-1")!;
        Assert.Equal(("Head of buying", true, "sam", Now.AddMinutes(5)), (kept.After?["title"]?.GetValue<string>(), kept.AfterRead, kept.UndoneBy, kept.UndoneAt));
        Assert.Equal(Now.AddMinutes(5), Assert.Single(kept.Calls).DoneAt);
        Assert.Equal(["act-1", "act-2"], journal.Writes("tidy-bot", Now.AddMinutes(-1), null).Select(w => w.Id));
        Assert.Null(journal.Writes("tidy-bot", null, null)[1].Undo);
        Assert.Equal(("act-2", "tidy-bot"), journal.Action("plan_hash = @plan", ("@plan", "sha256:other")));
    }
}
