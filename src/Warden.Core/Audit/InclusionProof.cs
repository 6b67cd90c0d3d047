using System.Text;
using System.Text.Json;

namespace Warden.Core.Audit;

/// <summary>
/// Proof that one entry is in the trail: the entry's text, its place among the leaves of a
/// checkpoint's Merkle tree and the audit path to that tree's root (the shape of RFC 9162 proofs),
/// and the signed checkpoint. Checked offline against a public key obtained elsewhere.
/// </summary>
public sealed record InclusionProof(string Trail, string Entry, long LeafIndex, long TreeSize, IReadOnlyList<string> Path, Checkpoint Checkpoint)
{
    public const string Format = "warden-audit-inclusion-proof";

    public string ToJson()
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteString("trail", Trail);
            w.WriteString("entry", Entry);
            w.WriteNumber("leaf_index", LeafIndex);
            w.WriteNumber("tree_size", TreeSize);
            w.WriteStartArray("path");
            foreach (var hash in Path)
            {
                w.WriteStringValue(hash);
            }

            w.WriteEndArray();
            w.WritePropertyName("checkpoint");
            w.WriteRawValue(Checkpoint.Text());
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    public static bool TryParse(string text, out InclusionProof? proof, out string? error)
    {
        proof = null;
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out var format) || format.GetString() != Format)
            {
                error = "it is not a Warden inclusion proof (no \"format\": \"" + Format + "\")";
                return false;
            }

            if (!Checkpoint.TryParse(root.GetProperty("checkpoint").GetRawText(), out var checkpoint, out var why))
            {
                error = "its checkpoint is malformed: " + why;
                return false;
            }

            string Text(JsonElement value, string name) => value.GetString() ?? throw new FormatException($"its {name} is null");
            proof = new InclusionProof(Text(root.GetProperty("trail"), "trail"), Text(root.GetProperty("entry"), "entry"), root.GetProperty("leaf_index").GetInt64(),
                root.GetProperty("tree_size").GetInt64(), [.. root.GetProperty("path").EnumerateArray().Select(p => Text(p, "path"))], checkpoint!);
            error = null;
            return true;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            error = $"it is not a well-formed inclusion proof ({e.Message})";
            return false;
        }
    }

    /// <summary>
    /// Checks the proof against a trusted public key (base64). Returns null when it holds, or a
    /// sentence saying which part fails.
    /// </summary>
    public string? Verify(string trustedPublicKey)
    {
        if (Checkpoint.Trail != Trail)
        {
            return $"the proof is for trail {Trail} but its checkpoint is of trail {Checkpoint.Trail}";
        }

        if (!Checkpoint.IsSignedBy(trustedPublicKey))
        {
            return $"{Checkpoint} is not signed by the trusted key {AuditKey.IdOf(trustedPublicKey)}";
        }

        if (TreeSize != Checkpoint.Entries)
        {
            return $"the proof's tree has {TreeSize} leaves but {Checkpoint} covers {Checkpoint.Entries}";
        }

        if (!AuditText.TryReadFrame(Entry, out var frame))
        {
            return "the proof's entry is not an audit entry";
        }

        if (frame.Seq != Checkpoint.FirstSeq + LeafIndex)
        {
            return $"the entry is number {frame.Seq} but leaf {LeafIndex} of {Checkpoint} is entry {Checkpoint.FirstSeq + LeafIndex}";
        }

        byte[][] path;
        try
        {
            path = [.. Path.Select(Convert.FromHexString)];
        }
        catch (FormatException)
        {
            return "the proof's path holds something other than hex hashes";
        }

        var leaf = Convert.FromHexString(AuditText.Hash(Entry));
        return Merkle.VerifyInclusion(LeafIndex, TreeSize, leaf, path, Convert.FromHexString(Checkpoint.Root))
            ? null
            : $"entry {frame.Seq} with this path does not lead to the root of {Checkpoint}: the entry or the path was altered";
    }
}
