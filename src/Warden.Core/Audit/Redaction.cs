namespace Warden.Core.Audit;

/// <summary>
/// Takes secrets out of arguments before they are written to the trail, which is kept for years
/// and exported: values under secret-sounding keys, and strings that carry a credential scheme.
/// <see cref="CanonicalJson"/> applies it while writing an entry's arguments.
/// </summary>
internal sealed class Redaction : IRedaction
{
    public static readonly Redaction Secrets = new();

    // One multi-string search instead of a Contains per word: this runs for every key of every
    // call's arguments, and the loop was the largest single cost of an append (bench/README.md).
    private static readonly System.Buffers.SearchValues<string> SecretWords = System.Buffers.SearchValues.Create(
        ["password", "passwd", "secret", "token", "apikey", "api_key", "authorization", "credential", "private_key", "privatekey", "cookie", "session"],
        StringComparison.OrdinalIgnoreCase);

    public string Mark => "[redacted]";

    public bool IsSecretKey(string key) => key.AsSpan().ContainsAny(SecretWords);

    public bool IsSecretValue(string text) =>
        text.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || text.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase);
}
