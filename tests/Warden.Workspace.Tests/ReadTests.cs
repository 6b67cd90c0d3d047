using Warden.Tests;
using System.Text.Json;
using Warden.Core;

namespace Warden.Workspace.Tests;

/// <summary>Reads write nothing, page through large sets, and tell the policy what they return.</summary>
public sealed class ReadOnSqliteTests() : ReadTests(null);

public sealed class ReadOnPostgresTests(PostgresServer server) : ReadTests(server);

public abstract class ReadTests(PostgresServer? server)
{
    private readonly WorkspaceFixture _workspace = new(server);

    private JsonElement Read(string tool, string arguments)
    {
        var before = _workspace.Dump();
        var applied = _workspace.Workspace.Apply(_workspace.Plan(tool, arguments)).Get();
        Assert.Equal("", applied.ActionId);
        Assert.Equal(before, _workspace.Dump());
        return applied.Output;
    }

    [Fact]
    public void Search_pages_through_contacts_with_a_cursor()
    {
        var first = Read("contacts.search", """{"filter": "country == 'DE'", "limit": 15}""");
        Assert.Equal(15, first.GetProperty("contacts").GetArrayLength());
        Assert.Equal(20, first.GetProperty("matching").GetInt64());
        var cursor = first.GetProperty("next_cursor").GetString();
        var second = Read("contacts.search", $$"""{"filter": "country == 'DE'", "limit": 15, "cursor": "{{cursor}}"}""");
        Assert.Equal(5, second.GetProperty("contacts").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, second.GetProperty("next_cursor").ValueKind);
    }

    [Fact]
    public void A_search_plan_says_how_many_records_and_which_classes_it_returns()
    {
        var plan = _workspace.Plan("contacts.search", """{"filter": "country == 'FR'", "fields": ["email", "country"]}""");
        Assert.Equal(10, plan.Records);
        Assert.Equal(["contacts.country", "contacts.id", "contacts.email"], plan.FieldsRead);
        Assert.Equal(["pii"], plan.Classes);
    }

    [Fact]
    public void A_page_larger_than_500_is_refused() =>
        Assert.Equal("'limit' of contacts.search must be from 1 to 500; page through larger sets with 'cursor'",
            _workspace.Workspace.Plan(WorkspaceFixture.Call("contacts.search", """{"limit": 10000}""")).Error!.Message);

    [Fact]
    public void Get_returns_one_contact_and_refuses_an_unknown_one()
    {
        Assert.Equal("person7@example.com", Read("contacts.get", """{"id": "c-07"}""").GetProperty("email").GetString());
        Assert.Equal("there is no contact 'c-404'", _workspace.Workspace.Plan(WorkspaceFixture.Call("contacts.get", """{"id": "c-404"}""")).Error!.Message);
    }

    [Fact]
    public void A_read_of_every_field_says_so_in_two_words_and_names_every_field_it_reads()
    {
        var read = _workspace.Plan("contacts.get", """{"id": "c-07"}""");
        Assert.Equal("contacts.get: read contact c-07 (all fields).", read.Summary);
        Assert.Contains("contacts.email", read.FieldsRead);
        Assert.Contains("contacts.date_of_birth", read.FieldsRead);
    }

    [Fact]
    public void A_read_of_some_fields_names_them()
    {
        var read = _workspace.Plan("contacts.get", """{"id": "c-07", "fields": ["id", "email"]}""");
        Assert.Equal("contacts.get: read contact c-07 (id, email).", read.Summary);
    }

    [Fact]
    public void A_point_read_planned_before_a_change_returns_what_the_change_wrote()
    {
        // A plan kept while the record changes (a read held for people, a slow decision): applying
        // it must not hand on the row its plan read.
        var read = _workspace.Plan("contacts.get", """{"id": "c-07"}""");
        _workspace.Apply("contacts.update", """{"ids": ["c-07"], "set": {"job_title": "Head of Growth"}}""");
        Assert.Equal("Head of Growth", _workspace.Workspace.Apply(read).Get().Output.GetProperty("job_title").GetString());
    }

    [Fact]
    public void A_point_read_planned_before_a_deletion_is_not_answered_with_the_deleted_record()
    {
        var read = _workspace.Plan("contacts.get", """{"id": "c-07"}""");
        _workspace.Apply("contacts.delete", """{"ids": ["c-07"]}""");
        var applied = _workspace.Workspace.Apply(read).Get().Output;
        Assert.NotEqual(JsonValueKind.Null, applied.GetProperty("deleted_at").ValueKind);
    }

    [Fact]
    public void A_point_read_applied_at_once_answers_from_its_plans_snapshot_unless_other_replicas_write_too()
    {
        // Nothing written through the workspace between plan and apply: the row the plan read is
        // the answer (one read transaction, not two). A write by another process meanwhile is
        // not seen, as if the read had run a moment earlier. A workspace replicas share cannot
        // know what the others wrote: it reads again.
        var read = _workspace.Plan("contacts.get", """{"id": "c-07"}""");
        _workspace.Execute("UPDATE contacts SET job_title = 'changed behind the store' WHERE id = 'c-07'");
        var answer = _workspace.Workspace.Apply(read).Get().Output.GetProperty("job_title").GetString();
        Assert.Equal(_workspace.OnPostgres, answer == "changed behind the store");
    }

    [Fact]
    public void A_search_planned_before_a_change_returns_what_the_change_wrote_and_counts_it()
    {
        // A search plan kept while its page changes (a read held for people): applying it must
        // not hand on the page its plan read, neither the rows nor the count.
        var read = _workspace.Plan("contacts.search", """{"filter": "country == 'DE'", "fields": ["job_title"], "limit": 3}""");
        var ids = read.SampleKeys;
        _workspace.Apply("contacts.update", $$$"""{"ids": ["{{{ids[0]}}}"], "set": {"job_title": "Head of Growth"}}""");
        _workspace.Apply("contacts.delete", $$"""{"ids": ["{{ids[1]}}"]}""");
        var page = _workspace.Workspace.Apply(read).Get().Output;
        var rows = page.GetProperty("contacts").EnumerateArray().ToList();
        Assert.Equal(("Head of Growth", ids[2]), (rows[0].GetProperty("job_title").GetString(), rows[1].GetProperty("id").GetString()));
        Assert.Equal(Matching("country = 'DE'"), page.GetProperty("matching").GetInt64());
    }

    [Fact]
    public void A_search_applied_at_once_answers_from_its_plans_snapshot_one_page_for_keys_and_answer_unless_other_replicas_write_too()
    {
        // Nothing written through the workspace between plan and apply: the page the plan read
        // (its keys hashed, its rows counted) is the answer, not a second query. A write by
        // another process meanwhile is not seen, as if the read had run a moment earlier. A
        // workspace replicas share reads again: the others' writes do not reach this one's count.
        var read = _workspace.Plan("contacts.search", """{"filter": "country == 'DE'", "fields": ["job_title"], "limit": 5}""");
        _workspace.Execute("UPDATE contacts SET job_title = 'changed behind the store' WHERE country = 'DE'");
        var page = _workspace.Workspace.Apply(read).Get().Output;
        Assert.Equal(5, page.GetProperty("contacts").GetArrayLength());
        Assert.All(page.GetProperty("contacts").EnumerateArray(), c => Assert.Equal(_workspace.OnPostgres, c.GetProperty("job_title").GetString() == "changed behind the store"));
        Assert.Equal(read.SampleKeys, [.. page.GetProperty("contacts").EnumerateArray().Select(c => c.GetProperty("id").GetString()!)]);
    }

    private long Matching(string where) => (long)_workspace.Scalar("SELECT count(*) FROM contacts WHERE deleted_at IS NULL AND " + where)!;

    [Fact]
    public void Get_returns_every_field_but_the_version_with_the_types_the_row_holds()
    {
        _workspace.Execute("UPDATE contacts SET job_title = 'Gérant \"R&D\" <ü>', lead_score = 41, phone = NULL WHERE id = 'c-07'");
        var row = new Dictionary<string, object?>();
        using (var connection = _workspace.Connect())
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT * FROM contacts WHERE id = 'c-07'";
            using var reader = command.ExecuteReader();
            Assert.True(reader.Read());
            for (var i = 0; i < reader.FieldCount; i++)
            {
                if (reader.GetName(i) != "version")
                {
                    row[reader.GetName(i)] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                }
            }
        }

        Assert.Equal(JsonSerializer.Serialize(row), Read("contacts.get", """{"id": "c-07"}""").GetRawText());
        Assert.Equal("""{"id":"c-07","lead_score":41}""", Read("contacts.get", """{"id": "c-07", "fields": ["lead_score"]}""").GetRawText());
    }

    [Fact]
    public void Segment_members_follow_the_rule() =>
        Assert.Equal(15, Read("segments.members", """{"segment": "seg-de-leads"}""").GetProperty("matching").GetInt64());

    [Fact]
    public void Campaign_stats_count_sends_and_engagement()
    {
        _workspace.Apply("campaigns.send", """{"campaign": "cmp-news"}""");
        _workspace.Execute("INSERT INTO campaign_events (campaign_id, contact_id, kind, at) VALUES ('cmp-news', 'c-01', 'open', '2026-11-25T13:00:00.000Z'), ('cmp-news', 'c-02', 'open', '2026-11-25T13:00:00.000Z')");
        var stats = Read("campaigns.stats", """{"campaign": "cmp-news"}""");
        Assert.Equal(7, stats.GetProperty("sent").GetInt64());
        Assert.Equal(2, stats.GetProperty("opened").GetInt64());
    }

    [Fact]
    public void Describe_lists_fields_with_their_classes_and_the_dependency_map()
    {
        var described = Read("workspace.describe", "{}");
        Assert.Contains(described.GetProperty("tables").GetProperty("contacts").EnumerateArray(),
            f => f.GetProperty("field").GetString() == "contacts.email" && f.GetProperty("classes")[0].GetString() == "pii");
        Assert.Equal(3, described.GetProperty("dependencies").GetProperty("contacts.lead_source").GetArrayLength());
        Assert.Equal(41, described.GetProperty("records").GetProperty("contacts").GetInt64());
    }
}
