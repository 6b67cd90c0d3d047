using System.Text.Json;

namespace Warden.Core.Audit;

/// <summary>
/// A copy of the trail's public key and checkpoints, kept away from the gateway (another machine,
/// a ticket, a bucket with object lock). Whoever rewrites the store cannot rewrite the witness, so
/// verifying against it shows a rewritten or truncated trail even when the checkpoints were re-signed.
/// It also holds what the trail recorded of its archive files (<see cref="Archives"/>), so whoever
/// holds only the witness knows which archives must exist and what their bytes hash to.
/// The file is JSON lines: a header, one checkpoint per line, then one line per archive.
/// </summary>
public sealed record Witness(string Trail, string PublicKey, IReadOnlyList<Checkpoint> Checkpoints)
{
    public const string Format = "warden-audit-witness";

    /// <summary>The trail's archive files, as the trail recorded them when the witness was written, oldest first.</summary>
    public IReadOnlyList<ArchiveRecord> Archives { get; init; } = [];

    public void Write(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        // The count lets a reader tell a witness cut at a line break from a whole one.
        // Version 2 adds the archive lines; a witness of a trail never archived stays version 1.
        var header = new Dictionary<string, object>
        {
            ["format"] = Format, ["version"] = Archives.Count > 0 ? 2 : 1, ["trail"] = Trail, ["public_key"] = PublicKey, ["key_id"] = AuditKey.IdOf(PublicKey),
            ["checkpoints"] = Checkpoints.Count,
        };
        if (Archives.Count > 0)
        {
            header["archives"] = Archives.Count;
        }

        writer.Write(JsonSerializer.Serialize(header));
        writer.Write('\n');
        foreach (var checkpoint in Checkpoints)
        {
            writer.Write(checkpoint.Text());
            writer.Write('\n');
        }

        foreach (var archive in Archives)
        {
            var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                w.WriteStartObject();
                w.WritePropertyName("archive");
                archive.Write(w);
                w.WriteEndObject();
            }

            writer.Write(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
            writer.Write('\n');
        }
    }

    /// <summary>Reads a witness file; the error names the line and what is wrong with it.</summary>
    public static bool TryRead(string text, out Witness? witness, out string? error)
    {
        witness = null;
        var lines = text.Split('\n');
        if (lines.Length < 2 || !text.EndsWith('\n'))
        {
            error = text.Length == 0 ? "the witness file is empty" : $"the witness file is cut off: line {lines.Length} does not end";
            return false;
        }

        string trail, publicKey;
        long count, archiveCount;
        try
        {
            using var header = JsonDocument.Parse(lines[0]);
            var root = header.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out var format) || format.GetString() != Format)
            {
                error = "line 1 is not a Warden witness header";
                return false;
            }

            if (root.GetProperty("trail").GetString() is not { Length: > 0 } id || root.GetProperty("public_key").GetString() is not { Length: > 0 } key)
            {
                error = "line 1 of the witness names no trail or no public key";
                return false;
            }

            trail = id;
            publicKey = key;
            count = root.GetProperty("checkpoints").GetInt64();
            archiveCount = root.TryGetProperty("archives", out var archives) ? archives.GetInt64() : 0;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            error = "line 1 is not a Warden witness header";
            return false;
        }

        var checkpoints = new List<Checkpoint>();
        var archived = new List<ArchiveRecord>();
        for (var i = 1; i < lines.Length - 1; i++)
        {
            if (lines[i].StartsWith("{\"archive\":", StringComparison.Ordinal))
            {
                if (!TryReadArchive(lines[i], out var archive, out var problem))
                {
                    error = $"line {i + 1} of the witness is not an archive record: {problem}";
                    return false;
                }

                archived.Add(archive!);
                continue;
            }

            if (!Checkpoint.TryParse(lines[i], out var checkpoint, out var why))
            {
                error = $"line {i + 1} of the witness is not a checkpoint: {why}";
                return false;
            }

            if (checkpoint!.Trail != trail)
            {
                error = $"line {i + 1} of the witness is a checkpoint of trail {checkpoint.Trail}, not of {trail}";
                return false;
            }

            checkpoints.Add(checkpoint);
        }

        if (checkpoints.Count != count)
        {
            error = $"the witness file is cut off: its header says {count} checkpoints, it holds {checkpoints.Count}";
            return false;
        }

        if (archived.Count != archiveCount)
        {
            error = $"the witness file was cut or altered: its header says {archiveCount} archives, it holds {archived.Count}";
            return false;
        }

        witness = new Witness(trail, publicKey, checkpoints) { Archives = archived };
        error = null;
        return true;
    }

    private static bool TryReadArchive(string line, out ArchiveRecord? archive, out string? error)
    {
        archive = null;
        try
        {
            using var document = JsonDocument.Parse(line);
            return ArchiveRecord.TryRead(document.RootElement.GetProperty("archive"), out archive, out error);
        }
        catch (JsonException e)
        {
            error = $"it is not JSON ({e.Message})";
            return false;
        }
    }
}
