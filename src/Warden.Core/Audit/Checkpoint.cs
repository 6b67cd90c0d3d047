using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Warden.Core.Audit;

/// <summary>
/// A signed statement that the trail held entries <see cref="FirstSeq"/> to <see cref="LastSeq"/>
/// with the given Merkle root, that the chain's head was then <see cref="ChainHead"/>, and that it
/// follows checkpoint <see cref="Previous"/>. Witnesses keep copies; proofs end in one.
/// </summary>
public sealed record Checkpoint(
    string Trail, long Number, long FirstSeq, long LastSeq, string ChainHead, string Root, string Previous, string Time, string KeyId, string Signature)
{
    /// <summary>The canonical text that is signed: every field but the signature, keys sorted.</summary>
    public string SignedText() => Write(withSignature: false);

    /// <summary>The stored text: the signed text with the signature.</summary>
    public string Text() => Write(withSignature: true);

    /// <summary>What the next checkpoint links to: SHA-256 of this one's signed text, in hex.</summary>
    public string Hash() => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(SignedText())));

    public long Entries => LastSeq - FirstSeq + 1;

    public static Checkpoint Sign(AuditKey key, string trail, long number, long firstSeq, long lastSeq, string chainHead, string root, string previous, DateTimeOffset time)
    {
        var unsigned = new Checkpoint(trail, number, firstSeq, lastSeq, chainHead, root, previous, AuditText.Time(time), key.KeyId, "");
        return unsigned with { Signature = key.Sign(unsigned.SignedText()) };
    }

    /// <summary>Whether the signature is valid under the public key (base64), and the key is the one named.</summary>
    public bool IsSignedBy(string publicKey) => KeyId == AuditKey.IdOf(publicKey) && AuditKey.Verify(publicKey, SignedText(), Signature);

    /// <summary>Reads a stored checkpoint; the error says what is wrong with it.</summary>
    public static bool TryParse(string text, out Checkpoint? checkpoint, out string? error)
    {
        checkpoint = null;
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "a checkpoint is a JSON object";
                return false;
            }

            string S(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
                ? v.GetString()!
                : throw new FormatException($"its field '{name}' is missing or not text");
            long N(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n)
                ? n
                : throw new FormatException($"its field '{name}' is missing or not a whole number");
            checkpoint = new Checkpoint(S("trail"), N("number"), N("first_seq"), N("last_seq"), S("chain_head"), S("root"), S("previous"), S("time"), S("key_id"), S("signature"));
            error = null;
            return true;
        }
        catch (JsonException e)
        {
            error = $"it is not JSON ({e.Message})";
            return false;
        }
        catch (FormatException e)
        {
            error = e.Message;
            return false;
        }
    }

    private string Write(bool withSignature)
    {
        var buffer = new MemoryStream();
        // Relaxed escaping: base64 and hex stay readable ('+' not written as \u002B); the signed bytes are these.
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("chain_head", ChainHead);
            w.WriteNumber("first_seq", FirstSeq);
            w.WriteString("key_id", KeyId);
            w.WriteNumber("last_seq", LastSeq);
            w.WriteNumber("number", Number);
            w.WriteString("previous", Previous);
            w.WriteString("root", Root);
            if (withSignature)
            {
                w.WriteString("signature", Signature);
            }

            w.WriteString("time", Time);
            w.WriteString("trail", Trail);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"checkpoint {Number} (entries {FirstSeq}–{LastSeq})");
}
