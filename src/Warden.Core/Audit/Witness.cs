using System.Text.Json;

namespace Warden.Core.Audit;

/// <summary>
/// A copy of the trail's public key and checkpoints, kept away from the gateway (another machine,
/// a ticket, a bucket with object lock). Whoever rewrites the store cannot rewrite the witness, so
/// verifying against it shows a rewritten or truncated trail even when the checkpoints were re-signed.
/// The file is JSON lines: a header, then one checkpoint per line.
/// </summary>
public sealed record Witness(string Trail, string PublicKey, IReadOnlyList<Checkpoint> Checkpoints)
{
    public const string Format = "warden-audit-witness";

    public void Write(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        // The count lets a reader tell a witness cut at a line break from a whole one.
        var header = new Dictionary<string, object>
        {
            ["format"] = Format, ["version"] = 1, ["trail"] = Trail, ["public_key"] = PublicKey, ["key_id"] = AuditKey.IdOf(PublicKey),
            ["checkpoints"] = Checkpoints.Count,
        };
        writer.Write(JsonSerializer.Serialize(header));
        writer.Write('\n');
        foreach (var checkpoint in Checkpoints)
        {
            writer.Write(checkpoint.Text());
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
        long count;
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
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            error = "line 1 is not a Warden witness header";
            return false;
        }

        var checkpoints = new List<Checkpoint>();
        for (var i = 1; i < lines.Length - 1; i++)
        {
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

        witness = new Witness(trail, publicKey, checkpoints);
        error = null;
        return true;
    }
}
