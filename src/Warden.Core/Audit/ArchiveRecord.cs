using System.Globalization;
using System.Text.Json;

namespace Warden.Core.Audit;

/// <summary>
/// What the trail records of an archive file: the entries <see cref="FirstSeq"/> to
/// <see cref="LastSeq"/> it holds, the SHA-256 of its bytes as written, the full path it was
/// written to, who archived it, when, why, and the entry that records it; and, once a person
/// declared it destroyed, who did and why (<see cref="Destroyed"/>). Kept in the trail's archive
/// entry, in the store beside it and in witnesses, so that an archive cannot go missing unnoticed.
/// </summary>
public sealed record ArchiveRecord(long FirstSeq, long LastSeq, string Sha256, string File, string By, string Time, long Entry)
{
    /// <summary>Why it was archived, when the person said.</summary>
    public string? Reason { get; init; }

    /// <summary>The recorded decision to destroy the archive; null while it is kept.</summary>
    public ArchiveDestruction? Destroyed { get; init; }

    /// <summary>"entries 1–20 (archived by alice at 2026-…, entry 26, to /archive/a.jsonl)": the words findings name an archive with.</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture, $"entries {FirstSeq}–{LastSeq} (archived by {By} at {Time}, entry {Entry}, to {File})");

    /// <summary>Whether two records say the same of the archive itself, whatever they say of its destruction.</summary>
    public bool SameArchive(ArchiveRecord other) => (this with { Destroyed = null }) == (other with { Destroyed = null });

    internal void Write(Utf8JsonWriter w)
    {
        // Keys in ordinal order, as every canonical text of the trail.
        w.WriteStartObject();
        w.WriteString("by", By);
        if (Destroyed is { } destroyed)
        {
            w.WriteStartObject("destroyed");
            w.WriteString("by", destroyed.By);
            w.WriteNumber("entry", destroyed.Entry);
            w.WriteString("reason", destroyed.Reason);
            w.WriteString("time", destroyed.Time);
            w.WriteEndObject();
        }

        w.WriteNumber("entry", Entry);
        w.WriteString("file", File);
        w.WriteNumber("first_seq", FirstSeq);
        w.WriteNumber("last_seq", LastSeq);
        if (Reason is not null)
        {
            w.WriteString("reason", Reason);
        }

        w.WriteString("sha256", Sha256);
        w.WriteString("time", Time);
        w.WriteEndObject();
    }

    /// <summary>Reads what <see cref="Write"/> wrote; the error says which field is wrong.</summary>
    internal static bool TryRead(JsonElement json, out ArchiveRecord? record, out string? error)
    {
        record = null;
        try
        {
            if (json.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("an archive record is a JSON object");
            }

            ArchiveDestruction? destroyed = null;
            if (json.TryGetProperty("destroyed", out var d))
            {
                destroyed = d.ValueKind == JsonValueKind.Object
                    ? new ArchiveDestruction(S(d, "by"), S(d, "reason"), S(d, "time"), N(d, "entry"))
                    : throw new FormatException("its field 'destroyed' is not an object");
            }

            record = new ArchiveRecord(N(json, "first_seq"), N(json, "last_seq"), S(json, "sha256"), S(json, "file"), S(json, "by"), S(json, "time"), N(json, "entry"))
            {
                Reason = json.TryGetProperty("reason", out var reason) && reason.ValueKind == JsonValueKind.String ? reason.GetString() : null,
                Destroyed = destroyed,
            };
            error = null;
            return true;
        }
        catch (FormatException e)
        {
            error = e.Message;
            return false;
        }

        static string S(JsonElement o, string name) => o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new FormatException($"its field '{name}' is missing or not text");
        static long N(JsonElement o, string name) => o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n)
            ? n
            : throw new FormatException($"its field '{name}' is missing or not a whole number");
    }
}

/// <summary>A person's recorded decision that an archive is destroyed (a retention period ended, say): who, why, when, and the entry that records it.</summary>
public sealed record ArchiveDestruction(string By, string Reason, string Time, long Entry);
