using Warden.Core.Audit;
using Warden.Storage.Audit;
using Warden.Storage.Engines;
using Warden.Storage.Tests.Gateway;
using Warden.Tests;

namespace Warden.Storage.Tests.Audit;

/// <summary>Finding entries: by agent, tool, person, record, time; paged newest first; rollbacks linked both ways. On both engines.</summary>
public sealed class QueryTests(PostgresServer postgres) : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);
    private readonly TrailFixture _trail = new();

    /// <summary>The trail every test reads: 12 calls over 12 minutes (checkpointed every 10), an approval, and a rollback of entry 4.</summary>
    private async Task<StoreLocation> FillAsync(string engine)
    {
        var place = engine == "sqlite" ? StoreLocation.Sqlite(_trail.Path) : StoreLocation.Postgres(postgres.AdminConnection(await postgres.CreateDatabaseAsync()));
        var clock = new ManualClock(Start);
        using var trail = AuditTrail.Open(place, new AuditTrailOptions { CheckpointEvery = 10, KeyPath = Path.Combine(_trail.Directory, "audit.key") }, clock);
        for (var i = 1; i <= 12; i++)
        {
            trail.AppendAsync(TrailFixture.Call(i, agent: i % 3 == 0 ? "nurture-bot" : "hygiene-bot")).AsTask().GetAwaiter().GetResult();
            clock.Advance(TimeSpan.FromMinutes(1));
        }

        trail.AppendAsync(new AuditEntry { Kind = AuditKinds.Approval, Person = "maria@example.com", Effect = "approved", ApprovalId = "apr-1", Comment = "fine" })
            .AsTask().GetAwaiter().GetResult();
        trail.AppendAsync(new AuditEntry { Kind = AuditKinds.Rollback, Person = "maria@example.com", RollbackOf = 4, Outcome = "ok" }).AsTask().GetAwaiter().GetResult();
        return place;
    }

    public void Dispose() => _trail.Dispose();

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task Entries_come_newest_first_in_pages(string engine)
    {
        var place = await FillAsync(engine);
        var first = AuditLog.Query(place, new AuditQuery { Limit = 5 });
        Assert.Equal([14L, 13, 12, 11, 10], first.Entries.Select(e => e.Seq));
        Assert.Equal(10, first.Next);
        var second = AuditLog.Query(place, new AuditQuery { Limit = 5, Before = first.Next });
        Assert.Equal([9L, 8, 7, 6, 5], second.Entries.Select(e => e.Seq));
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task Entries_are_found_by_agent(string engine)
    {
        var place = await FillAsync(engine);
        var page = AuditLog.Query(place, new AuditQuery { Agent = "nurture-bot" });
        Assert.Equal([12L, 9, 6, 3], page.Entries.Select(e => e.Seq));
        Assert.Null(page.Next);
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task Entries_are_found_by_the_record_they_changed(string engine)
    {
        var place = await FillAsync(engine);
        var page = AuditLog.Query(place, new AuditQuery { RecordId = "c-7" });
        Assert.Equal(7, Assert.Single(page.Entries).Seq);
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task Entries_are_found_by_person_and_effect(string engine)
    {
        var place = await FillAsync(engine);
        var page = AuditLog.Query(place, new AuditQuery { Person = "maria@example.com", Effect = "approved" });
        var approval = Assert.Single(page.Entries);
        Assert.Equal(("apr-1", "fine"), (approval.Entry.ApprovalId, approval.Entry.Comment));
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task Entries_are_found_by_time_range(string engine)
    {
        var place = await FillAsync(engine);
        var page = AuditLog.Query(place, new AuditQuery { From = Start.AddMinutes(3), To = Start.AddMinutes(5) });
        Assert.Equal([6L, 5, 4], page.Entries.Select(e => e.Seq));
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task A_rolled_back_call_names_its_rollback_and_the_rollback_names_it(string engine)
    {
        var place = await FillAsync(engine);
        var call = AuditLog.Query(place, new AuditQuery { RecordId = "c-4" }).Entries.Single();
        Assert.Equal([14L], call.RolledBackBy);
        var rollback = AuditLog.Query(place, new AuditQuery { Limit = 1 }).Entries.Single();
        Assert.Equal(4, rollback.Entry.RollbackOf);
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task A_page_larger_than_a_thousand_is_refused(string engine)
    {
        var place = await FillAsync(engine);
        var refused = Assert.Throws<ArgumentException>(() => AuditLog.Query(place, new AuditQuery { Limit = 5000 }));
        Assert.StartsWith("a page holds 1 to 1,000 entries, not 5000", refused.Message, StringComparison.Ordinal);
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task The_jsonl_export_has_one_object_per_entry_with_the_stable_fields(string engine)
    {
        var place = await FillAsync(engine);
        var output = new StringWriter();
        Assert.Equal(14, AuditLog.Export(place, output, "jsonl"));
        var lines = output.ToString().TrimEnd('\n').Split('\n');
        Assert.Equal(14, lines.Length);
        using var first = System.Text.Json.JsonDocument.Parse(lines[3]);
        Assert.Equal(AuditLog.ExportFields, first.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal("[redacted]", first.RootElement.GetProperty("arguments").GetProperty("api_token").GetString());
        Assert.Equal(14, first.RootElement.GetProperty("rolled_back_by")[0].GetInt64());
    }

    [Theory, MemberData(nameof(EngineCases.Both), MemberType = typeof(EngineCases))]
    public async Task The_csv_export_since_a_time_starts_there_and_quotes_what_needs_quoting(string engine)
    {
        var place = await FillAsync(engine);
        var output = new StringWriter();
        Assert.Equal(3, AuditLog.Export(place, output, "csv", since: Start.AddMinutes(11)));
        var lines = output.ToString().Split("\r\n");
        Assert.Equal(string.Join(',', AuditLog.ExportFields), lines[0]);
        Assert.StartsWith("12,2026-11-25T09:11:00.000Z,call,sandbox,nurture-bot,data-hygiene,contacts.update,\"{\"\"api_token\"\":\"\"[redacted]\"\"", lines[1], StringComparison.Ordinal);
    }
}
