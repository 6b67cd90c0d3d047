using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Warden.Core.Audit;

/// <summary>
/// The exact bytes the trail hashes, and their reading. An entry is stored as canonical JSON,
/// <c>{"body":{...},"prev":"hex","seq":N,"time":"..."}</c>: the body holds what the caller said
/// (keys sorted, nulls and empty lists left out), and the trail adds the link to the entry before
/// it, the sequence number and the time. The stored text is what is hashed, so verifying never
/// depends on re-serialising anything.
/// </summary>
public static class AuditText
{
    /// <summary>
    /// A text as the trail writes it, with the secrets in it replaced by marks naming their kind
    /// (<c>[redacted: GitHub token]</c>); the same instance when it holds none. Anything that
    /// indexes an entry's <see cref="AuditEntry.Tool"/> indexes it this way, as its body holds it.
    /// </summary>
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(text))]
    public static string? Redact(string? text) => text is null ? null : Redaction.Secrets.Redact(text);

    /// <summary>The canonical body of an entry, with the secrets in its arguments and texts redacted.</summary>
    public static string Body(AuditEntry entry) => Encoding.UTF8.GetString(BodyUtf8(entry));

    /// <summary>The canonical body of an entry as UTF-8: the bytes <see cref="Body"/> decodes.</summary>
    public static byte[] BodyUtf8(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return JsonScratch.Write(entry, WriteBody, static (body, _) => body.ToArray());
    }

    private static void WriteBody(Utf8JsonWriter w, AuditEntry entry)
    {
        // Keys in ordinal order, by hand: the writer does not sort.
        w.WriteStartObject();
        // What a person or an agent typed, or what quotes it back (a reason that names a bad
        // argument, a summary that holds the filter), is redacted; what Warden made itself
        // (ids, hashes, names from the policy, fixed words) is written as it is.
        Text(w, "action_id", entry.ActionId);
        Text(w, "agent", entry.Agent);
        Text(w, "approval_id", entry.ApprovalId);
        Text(w, "archive_file", entry.ArchiveFile);
        Text(w, "archive_sha256", entry.ArchiveSha256);
        if (entry.ArchivedFrom is { } from)
        {
            w.WriteNumber("archived_from", from);
        }

        if (entry.ArchivedThrough is { } archived)
        {
            w.WriteNumber("archived_through", archived);
        }

        if (entry.Arguments is { ValueKind: not JsonValueKind.Undefined } arguments)
        {
            w.WritePropertyName("arguments");
            CanonicalJson.Write(arguments, w, Redaction.Secrets);
        }

        Typed(w, "comment", entry.Comment);
        Typed(w, "detail", entry.Detail);
        Text(w, "effect", entry.Effect);
        Text(w, "environment", entry.Environment);
        List(w, "fields_read", entry.FieldsRead);
        Typed(w, "instruction", entry.Instruction);
        Text(w, "kind", entry.Kind);
        Text(w, "outcome", entry.Outcome);
        Text(w, "person", entry.Person);
        Text(w, "plan_hash", entry.PlanHash);
        Typed(w, "plan_summary", entry.PlanSummary);
        Text(w, "policy_hash", entry.PolicyHash);
        Typed(w, "reason", entry.Reason);
        List(w, "records_changed", entry.RecordsChanged);
        List(w, "records_read", entry.RecordsRead);
        if (entry.RollbackOf is { } of)
        {
            w.WriteNumber("rollback_of", of);
        }

        Text(w, "rule", entry.Rule);
        List(w, "shadow", entry.Shadow);
        Typed(w, "tool", entry.Tool);
        Text(w, "use_case", entry.UseCase);
        w.WriteEndObject();
    }

    /// <summary>The stored text of an entry: its body with the link, sequence number and time.</summary>
    public static string Entry(string body, string prev, long seq, DateTimeOffset time) =>
        string.Concat("{\"body\":", body, ",\"prev\":\"", prev, "\",\"seq\":", seq.ToString(CultureInfo.InvariantCulture), ",\"time\":\"", Time(time), "\"}");

    /// <summary>Times as the trail writes them: UTC, milliseconds, sortable as text.</summary>
    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>The hash of an entry: the RFC 6962 leaf hash of its UTF-8 text, in lower-case hex.</summary>
    public static string Hash(string entryText)
    {
        var max = Encoding.UTF8.GetMaxByteCount(entryText.Length) + 1;
        var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(max);
        try
        {
            rented[0] = 0x00;
            var length = Encoding.UTF8.GetBytes(entryText, 0, entryText.Length, rented, 1);
            Span<byte> hash = stackalloc byte[32];
            SHA256.HashData(rented.AsSpan(0, length + 1), hash);
            return Convert.ToHexStringLower(hash);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The link of a trail's first entry: bound to the trail, so entries cannot move between trails.</summary>
    public static string Genesis(string trailId) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("warden-audit-trail:" + trailId)));

    /// <summary>
    /// Reads the parts the trail added to an entry's text. Returns false when the text is not an
    /// entry at all (then the trail was written by something else, or edited by hand).
    /// </summary>
    public static bool TryReadFrame(string entryText, out EntryFrame frame)
    {
        frame = default;
        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(entryText));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            string? prev = null, time = null;
            long? seq = null;
            var body = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                reader.Read();
                switch (name)
                {
                    case "body" when reader.TokenType == JsonTokenType.StartObject:
                        body = true;
                        reader.Skip();
                        break;
                    case "prev" when reader.TokenType == JsonTokenType.String:
                        prev = reader.GetString();
                        break;
                    case "seq" when reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var n):
                        seq = n;
                        break;
                    case "time" when reader.TokenType == JsonTokenType.String:
                        time = reader.GetString();
                        break;
                    default:
                        return false;
                }
            }

            if (!body || prev is null || seq is null || time is null)
            {
                return false;
            }

            frame = new EntryFrame(seq.Value, prev, time);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Reads a stored entry back, for queries and exports.</summary>
    public static AuditRecord Read(string entryText, string hash)
    {
        using var document = JsonDocument.Parse(entryText);
        var root = document.RootElement;
        var body = root.GetProperty("body");
        string? S(string name) => body.TryGetProperty(name, out var v) ? v.GetString() : null;
        IReadOnlyList<string> L(string name) => body.TryGetProperty(name, out var v) ? [.. v.EnumerateArray().Select(e => e.GetString()!)] : [];
        var entry = new AuditEntry
        {
            Kind = S("kind") ?? "",
            Environment = S("environment"),
            Agent = S("agent"),
            UseCase = S("use_case"),
            Tool = S("tool"),
            Arguments = body.TryGetProperty("arguments", out var args) ? args.Clone() : null,
            Instruction = S("instruction"),
            Effect = S("effect"),
            Rule = S("rule"),
            Reason = S("reason"),
            Shadow = L("shadow"),
            PlanSummary = S("plan_summary"),
            PlanHash = S("plan_hash"),
            RecordsRead = L("records_read"),
            FieldsRead = L("fields_read"),
            RecordsChanged = L("records_changed"),
            ActionId = S("action_id"),
            ApprovalId = S("approval_id"),
            Person = S("person"),
            Comment = S("comment"),
            Outcome = S("outcome"),
            PolicyHash = S("policy_hash"),
            RollbackOf = body.TryGetProperty("rollback_of", out var of) ? of.GetInt64() : null,
            ArchivedThrough = body.TryGetProperty("archived_through", out var archived) ? archived.GetInt64() : null,
            ArchivedFrom = body.TryGetProperty("archived_from", out var from) ? from.GetInt64() : null,
            ArchiveFile = S("archive_file"),
            ArchiveSha256 = S("archive_sha256"),
            Detail = S("detail"),
        };
        return new AuditRecord(root.GetProperty("seq").GetInt64(), DateTimeOffset.Parse(root.GetProperty("time").GetString()!, CultureInfo.InvariantCulture),
            entry, root.GetProperty("prev").GetString()!, hash);
    }

    private static void Text(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    private static void Typed(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, Redaction.Secrets.Redact(value));
        }
    }

    private static void List(Utf8JsonWriter writer, string name, IReadOnlyList<string>? values)
    {
        if (values is { Count: > 0 })
        {
            writer.WriteStartArray(name);
            foreach (var value in values)
            {
                writer.WriteStringValue(value);
            }

            writer.WriteEndArray();
        }
    }
}

/// <summary>What the trail added to an entry: its sequence number, the hash it links to, and its time as written.</summary>
public readonly record struct EntryFrame(long Seq, string Prev, string Time);

/// <summary>An entry as stored: the caller's entry with its place in the trail.</summary>
public sealed record AuditRecord(long Seq, DateTimeOffset Time, AuditEntry Entry, string Prev, string Hash)
{
    /// <summary>The entries that roll back this one's action (filled in by queries; the trail itself is append-only).</summary>
    public IReadOnlyList<long> RolledBackBy { get; init; } = [];

    /// <summary>Every field the entry has, named as people read them, in the order they read them (what the CLI's audit show and the console's entry page show).</summary>
    public IReadOnlyList<(string Name, string Value)> Fields()
    {
        var fields = new List<(string, string)>();
        void Field(string name, object? value)
        {
            if (value is not null && Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) is { Length: > 0 } text)
            {
                fields.Add((name, text));
            }
        }

        static string? Some(IReadOnlyList<string> ids) =>
            ids.Count == 0 ? null : ids.Count <= 20 ? string.Join(", ", ids) : $"{string.Join(", ", ids.Take(20))} and {ids.Count - 20:N0} more";

        var e = Entry;
        Field("seq", Seq);
        Field("time", AuditText.Time(Time));
        Field("kind", e.Kind);
        Field("environment", e.Environment);
        Field("agent", e.Agent);
        Field("use case", e.UseCase);
        Field("person", e.Person);
        Field("tool", e.Tool);
        Field("arguments", e.Arguments?.GetRawText());
        Field("the agent says", e.Instruction);
        Field("effect", e.Effect);
        Field("rule", e.Rule);
        Field("reason", e.Reason);
        Field("shadow rules", e.Shadow.Count == 0 ? null : string.Join("; ", e.Shadow));
        Field("plan", e.PlanSummary);
        Field("plan hash", e.PlanHash);
        Field("fields read", e.FieldsRead.Count == 0 ? null : string.Join(", ", e.FieldsRead));
        Field("records read", Some(e.RecordsRead));
        Field("records changed", Some(e.RecordsChanged));
        Field("approval", e.ApprovalId);
        Field("comment", e.Comment);
        Field("outcome", e.Outcome);
        Field("detail", e.Detail);
        Field("action", e.ActionId);
        Field("rolls back entry", e.RollbackOf);
        Field("rolled back by", RolledBackBy.Count == 0 ? null : string.Join(", ", RolledBackBy));
        Field("policy", e.PolicyHash);
        Field("hash", Hash);
        Field("links to", Prev);
        return fields;
    }
}
