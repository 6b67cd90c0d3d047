using System.Text;
using System.Text.Json;
using Warden.Core.Audit;

namespace Warden.Core.Tests.Audit;

/// <summary>The bytes the trail hashes: canonical, redacted, and read back as written.</summary>
public sealed class AuditTextTests
{
    [Theory]
    [InlineData("""{"b": 1, "a": {"z": [3, {"y": true, "x": null}], "c": "é"}}""", """{"a":{"c":"é","z":[3,{"x":null,"y":true}]},"b":1}""")]
    [InlineData("""{"password": "hunter2", "nested": {"API_Key": "k", "ok": "Bearer abc"}, "list": ["Basic xyz", "plain"]}""",
        """{"list":["[redacted: basic credentials]","plain"],"nested":{"API_Key":"[redacted]","ok":"[redacted: bearer token]"},"password":"[redacted]"}""")]
    [InlineData("""[1, 2.50, "three", {"B": 1, "a": 2}]""", """[1,2.50,"three",{"B":1,"a":2}]""")]
    public void Arguments_are_written_as_canonical_json_with_secrets_redacted(string json, string expected)
    {
        var value = JsonDocument.Parse(json).RootElement;
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            CanonicalJson.Write(value, writer, Redaction.Secrets);
        }

        Assert.Equal(expected, Encoding.UTF8.GetString(buffer.ToArray()));
    }

    [Fact]
    public void A_body_written_after_a_larger_one_on_the_same_thread_holds_only_its_own_fields()
    {
        // The body's buffer is reused per thread: nothing of the entry before may show in the next.
        var small = new AuditEntry { Kind = AuditKinds.Call, Agent = "a", Tool = "contacts.get", Outcome = "ok" };
        var alone = AuditText.Body(small);
        var large = small with
        {
            Arguments = JsonDocument.Parse(JsonSerializer.Serialize(new { note = new string('x', 100_000) })).RootElement,
            RecordsRead = [.. Enumerable.Range(1, 500).Select(i => $"c_{i}")],
        };
        Assert.Contains(new string('x', 100_000), AuditText.Body(large), StringComparison.Ordinal);
        Assert.Equal(alone, AuditText.Body(small));
        Assert.DoesNotContain("c_1", alone, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_secrets_the_redacting_writer_gives_the_plain_canonical_bytes()
    {
        var value = JsonDocument.Parse("""{"b": [2, {"d": 1, "c": 2}], "a": "x"}""").RootElement;
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            CanonicalJson.Write(value, writer, Redaction.Secrets);
        }

        Assert.Equal(CanonicalJson.Bytes(value), buffer.ToArray());
    }

    [Fact]
    public void Secrets_never_reach_the_body()
    {
        var body = AuditText.Body(new AuditEntry
        {
            Kind = AuditKinds.Call,
            Arguments = JsonDocument.Parse("""{"session_token": "abc123", "headers": {"Authorization": "Bearer xyz"}, "note": "Basic dXNlcjpwYXNz"}""").RootElement,
        });
        Assert.Equal("""{"arguments":{"headers":{"Authorization":"[redacted]"},"note":"[redacted: basic credentials]","session_token":"[redacted]"},"kind":"call"}""", body);
    }

    [Fact]
    public void An_entry_reads_back_as_it_was_written()
    {
        var entry = new AuditEntry
        {
            Kind = AuditKinds.Call, Environment = "production", Agent = "a", UseCase = "u", Tool = "contacts.update", Instruction = "clean up",
            Effect = "approve", Rule = "r", Reason = "why", Shadow = ["s: deny"], PlanSummary = "sum", PlanHash = "sha256:00", RecordsRead = ["c-1"],
            FieldsRead = ["contacts.email"], RecordsChanged = ["c-2"], ActionId = "act-1", ApprovalId = "apr-1", Person = "p", Comment = "c", Outcome = "ok",
            PolicyHash = "sha256:11", RollbackOf = 3, ArchivedThrough = 9, ArchivedFrom = 1, ArchiveFile = "/archive/a.jsonl", ArchiveSha256 = "ab", Detail = "d",
        };
        var text = AuditText.Entry(AuditText.Body(entry), AuditText.Genesis("t"), 4, new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        var record = AuditText.Read(text, AuditText.Hash(text));
        Assert.Equal(4, record.Seq);
        Assert.Equal(AuditText.Body(entry), AuditText.Body(record.Entry));
        Assert.Equal((1L, "/archive/a.jsonl", "ab"), (record.Entry.ArchivedFrom!.Value, record.Entry.ArchiveFile, record.Entry.ArchiveSha256));
    }

    [Fact]
    public void The_hash_is_the_rfc_6962_leaf_hash_of_the_text()
    {
        const string text = """{"body":{"kind":"call"},"prev":"00","seq":1,"time":"2026-11-25T12:00:00.000Z"}""";
        Assert.Equal(Convert.ToHexStringLower(Merkle.LeafHash(Encoding.UTF8.GetBytes(text))), AuditText.Hash(text));
    }

    [Theory]
    [InlineData("sandbox", 1L)]
    [InlineData("prøduction — ünïcode", 9_223_372_036_854_775_807L)]
    public void The_writers_composer_gives_the_same_bytes_and_hash_as_the_text(string environment, long seq)
    {
        var entry = new AuditEntry { Kind = AuditKinds.Call, Environment = environment, Agent = "a", RecordsChanged = ["c-1"] };
        var time = new DateTimeOffset(2026, 11, 25, 12, 0, 0, 7, TimeSpan.Zero);
        var prev = AuditText.Genesis("t");
        var composer = new AuditEntryComposer();
        composer.Compose(new byte[5000], prev, 1, AuditText.Time(time)); // a large one first: the buffer grows, then is reused
        composer.Compose(AuditText.BodyUtf8(entry), prev, seq, AuditText.Time(time));
        var text = AuditText.Entry(AuditText.Body(entry), prev, seq, time);
        Assert.Equal(text, Encoding.UTF8.GetString(composer.Text));
        Assert.Equal(AuditText.Hash(text), Convert.ToHexStringLower(composer.Hash()));
    }
}
