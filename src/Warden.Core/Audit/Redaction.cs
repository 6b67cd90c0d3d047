namespace Warden.Core.Audit;

/// <summary>
/// Takes secrets out of arguments before they are written to the trail, which is kept for years
/// and exported: values under secret-sounding keys, and strings that carry a credential scheme.
/// <see cref="CanonicalJson"/> applies it while writing an entry's arguments.
/// </summary>
internal sealed class Redaction : IRedaction
{
    public static readonly Redaction Secrets = new();

    private static readonly string[] SecretWords = ["password", "passwd", "secret", "token", "apikey", "api_key", "authorization", "credential", "private_key", "privatekey", "cookie", "session"];

    public string Mark => "[redacted]";

    public bool IsSecretKey(string key)
    {
        foreach (var word in SecretWords)
        {
            if (key.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    public bool IsSecretValue(string text) =>
        text.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || text.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase);
}
