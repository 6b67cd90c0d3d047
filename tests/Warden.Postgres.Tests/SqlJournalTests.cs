using Microsoft.Data.Sqlite;
using Warden.Storage.Engines;
using Warden.Tests;

namespace Warden.Postgres.Tests;

/// <summary>A governed database's journal, the same on both engines: a SQLite file, or the database's own schema in the PostgreSQL store replicas share.</summary>
public sealed class SqlJournalTests(PostgresServer postgres) : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 9, 0, 0, TimeSpan.Zero);
    private readonly string _folder = Directory.CreateTempSubdirectory("warden-sql-journal-").FullName;
    private readonly List<SqlJournal> _opened = [];

    public static TheoryData<string> Engines => new("sqlite", "postgres");

    public void Dispose()
    {
        _opened.ForEach(j => j.Dispose());
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private async Task<Func<string, SqlJournal>> PlaceAsync(string engine)
    {
        if (engine == "sqlite")
        {
            return system => Keep(new SqlJournal(Path.Combine(_folder, system + ".db")));
        }

        var store = StoreLocation.Postgres(postgres.AdminConnection(await postgres.CreateDatabaseAsync()));
        return system => Keep(new SqlJournal(SystemStores.OpenShared(store, "sandbox", system, SqlJournal.Component)));
    }

    private SqlJournal Keep(SqlJournal journal)
    {
        _opened.Add(journal);
        return journal;
    }

    private static CapturedRow[] Rows => [new("contacts", "DELETE", """{"id":1}""", null), new("contacts", "UPDATE", """{"id":2,"x":1}""", """{"id":2,"x":2}""")];

    [Theory, MemberData(nameof(Engines))]
    public async Task An_action_is_pending_until_settled_and_keeps_its_images_in_order(string engine)
    {
        var journal = (await PlaceAsync(engine))("warehouse");
        journal.Begin("act-1", "tidy-bot", "warehouse.execute", "delete", "DELETE FROM contacts WHERE id = 1", "sha256:p", 4242, Now, reversible: true, Rows);

        Assert.Equal([("act-1", 4242L)], journal.Pending());
        Assert.Null(journal.Action("act-1"));
        journal.Settle("act-1");

        var action = journal.Action("act-1")!;
        Assert.Equal(("tidy-bot", "delete", true, Now), (action.Agent, action.Kind, action.Reversible, action.AppliedAt));
        Assert.Equal(Rows, journal.Images(action.Seq).Json());
        Assert.Empty(journal.Pending());
    }

    [Theory, MemberData(nameof(Engines))]
    public async Task A_discarded_action_leaves_nothing_and_an_applied_one_cannot_be_discarded(string engine)
    {
        var journal = (await PlaceAsync(engine))("warehouse");
        journal.Begin("act-1", "tidy-bot", "warehouse.execute", "delete", "DELETE ...", "sha256:p", 1, Now, true, Rows);
        journal.Begin("act-2", "tidy-bot", "warehouse.execute", "delete", "DELETE ...", "sha256:q", 2, Now, true, Rows);
        journal.Settle("act-2");

        journal.Discard("act-1");
        journal.Discard("act-2");

        Assert.Empty(journal.Pending());
        Assert.Equal(2, journal.Images(journal.Action("act-2")!.Seq).Rows.Count);
    }

    [Theory, MemberData(nameof(Engines))]
    public async Task A_rollback_once_settled_marks_the_actions_it_undoes(string engine)
    {
        var journal = (await PlaceAsync(engine))("warehouse");
        journal.Begin("act-1", "tidy-bot", "warehouse.execute", "delete", "DELETE ...", "sha256:p", 1, Now, true, Rows);
        journal.Settle("act-1");

        journal.Begin("rb-1", "sam", "rollback", "rollback", "", "", 2, Now.AddMinutes(1), false, [], rollsBack: """["act-1"]""");
        Assert.Null(journal.Action("act-1")!.RolledBackBy);
        journal.Settle("rb-1");

        Assert.Equal("rb-1", journal.Action("act-1")!.RolledBackBy);
    }

    [Theory, MemberData(nameof(Engines))]
    public async Task An_agents_actions_are_found_in_a_window_open_at_either_end(string engine)
    {
        var journal = (await PlaceAsync(engine))("warehouse");
        for (var i = 1; i <= 3; i++)
        {
            journal.Begin($"act-{i}", "tidy-bot", "warehouse.execute", "update", "UPDATE ...", $"sha256:{i}", i, Now.AddHours(i), true, Rows);
            journal.Settle($"act-{i}");
        }

        Assert.Equal(["act-3", "act-2", "act-1"], journal.ActionsOf("tidy-bot", null, null).Select(a => a.Id));
        Assert.Equal(["act-3", "act-2"], journal.ActionsOf("tidy-bot", Now.AddHours(2), null).Select(a => a.Id));
        Assert.Equal(["act-1"], journal.ActionsOf("tidy-bot", null, Now.AddHours(1)).Select(a => a.Id));
        Assert.Empty(journal.ActionsOf("nurture-bot", null, null));
        Assert.Equal("act-2", journal.Find("plan_hash = @hash", ("@hash", "sha256:2")));
    }

    [Fact]
    public async Task Two_databases_journals_in_one_store_never_meet()
    {
        var open = await PlaceAsync("postgres");
        var warehouse = open("warehouse");
        var crm = open("crm-db");
        warehouse.Begin("act-1", "tidy-bot", "warehouse.execute", "delete", "DELETE ...", "sha256:p", 1, Now, true, Rows);
        warehouse.Settle("act-1");

        Assert.Null(crm.Action("act-1"));
        Assert.Empty(crm.ActionsOf("tidy-bot", null, null));
    }
    [Theory, MemberData(nameof(Engines))]
    public async Task Images_come_back_as_written_however_deep_or_escaped(string engine)
    {
        var journal = (await PlaceAsync(engine))("warehouse");
        var deep = string.Concat(Enumerable.Repeat("[", 100)) + "1" + string.Concat(Enumerable.Repeat("]", 100));
        CapturedRow[] rows =
        [
            new("public.\"odd\" name", "UPDATE", $$"""{"id": 1, "a": "tab\t \"quoted\" \u00e9 ✓", "deep": {{deep}}}""", """{"id": 1, "a": null}"""),
            new("public.contacts", "INSERT", null, """{"id": 2, "n": 1.50}"""),
        ];
        journal.Begin("act-1", "tidy-bot", "warehouse.execute", "update", "UPDATE ...", "sha256:p", 1, Now, true, rows);
        journal.Settle("act-1");

        Assert.Equal(rows, journal.Images(journal.Action("act-1")!.Seq).Json());
    }

    [Fact]
    public void An_action_journaled_a_row_per_image_by_an_earlier_version_keeps_its_images()
    {
        var path = Path.Combine(_folder, "warehouse.db");
        Keep(new SqlJournal(path)).Dispose();
        using (var connection = new SqliteConnection($"Data Source={path}"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO actions (id, agent, tool, kind, statement, plan_hash, txid, status, applied_at, reversible, records)
                VALUES ('old-1', 'tidy-bot', 'warehouse.execute', 'delete', 'DELETE ...', 'sha256:p', 7, 'applied', '2026-12-01T09:00:00.0000000Z', 1, 2);
                INSERT INTO images (action_seq, n, tbl, op, before, after) VALUES
                  ((SELECT seq FROM actions WHERE id = 'old-1'), 1, 'contacts', 'UPDATE', '{"id":2,"x":1}', '{"id":2,"x":2}'),
                  ((SELECT seq FROM actions WHERE id = 'old-1'), 0, 'contacts', 'DELETE', '{"id":1}', NULL);
                """;
            command.ExecuteNonQuery();
        }

        var journal = Keep(new SqlJournal(path));

        Assert.Equal(Rows, journal.Images(journal.Action("old-1")!.Seq).Json());
    }

    [Fact]
    public void An_action_journaled_as_one_json_document_by_an_earlier_version_keeps_its_images()
    {
        var path = Path.Combine(_folder, "warehouse.db");
        Keep(new SqlJournal(path)).Dispose();
        using var compressed = new MemoryStream();
        using (var brotli = new System.IO.Compression.BrotliStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            brotli.Write("""[["contacts","DELETE",{"id":1},null],["contacts","UPDATE",{"id":2,"x":1},{"id":2,"x":2}]]"""u8);
        }

        using (var connection = new SqliteConnection($"Data Source={path}"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO actions (id, agent, tool, kind, statement, plan_hash, txid, status, applied_at, reversible, records, images)
                VALUES ('old-2', 'tidy-bot', 'warehouse.execute', 'delete', 'DELETE ...', 'sha256:p', 7, 'applied', '2026-12-01T09:00:00.0000000Z', 1, 2, $images);
                """;
            command.Parameters.AddWithValue("$images", compressed.ToArray());
            command.ExecuteNonQuery();
        }

        var journal = Keep(new SqlJournal(path));

        Assert.Equal(Rows, journal.Images(journal.Action("old-2")!.Seq).Json());
    }
}
