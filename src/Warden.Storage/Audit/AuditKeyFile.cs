using System.Text.Json;
using Warden.Core.Audit;

namespace Warden.Storage.Audit;

/// <summary>
/// The checkpoint signing key on disk: JSON with the trail it belongs to and the private key,
/// readable by the owner only, written whole or not at all.
/// </summary>
internal static class AuditKeyFile
{
    public static AuditKey Create(string path, string trailId)
    {
        if (File.Exists(path))
        {
            throw new AuditTrailException($"the signing key {path} already exists but the audit trail it would sign is new; move the key away or open the trail it belongs to");
        }

        var key = AuditKey.Generate();
        var text = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["format"] = "warden-audit-key",
            ["trail"] = trailId,
            ["algorithm"] = "ed25519",
            ["private_key"] = Convert.ToBase64String(key.PrivateKey()),
            ["public_key"] = key.PublicKeyText,
        });
        var temporary = path + ".tmp-" + Guid.NewGuid().ToString("N");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.WriteThrough };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path);
        return key;
    }

    /// <summary>The key and the trail it was made for, when the trail itself never recorded it (a first open cut short).</summary>
    public static (string TrailId, AuditKey Key) LoadOrphan(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var trail = document.RootElement.GetProperty("trail").GetString() ?? throw new FormatException("no trail");
            return (trail, Load(path, trail));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new AuditTrailException($"the signing key {path} is unreadable: {e.Message}", e);
        }
    }

    public static AuditKey Load(string path, string trailId)
    {
        if (!File.Exists(path))
        {
            throw new AuditTrailException($"the signing key {path} of audit trail {trailId} is missing; without it no checkpoint can be signed (give its place with the key path option)");
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var root = document.RootElement;
            if (root.GetProperty("format").GetString() != "warden-audit-key")
            {
                throw new AuditTrailException($"{path} is not a Warden audit key");
            }

            if (root.GetProperty("trail").GetString() is var owner && owner != trailId)
            {
                throw new AuditTrailException($"the signing key {path} belongs to audit trail {owner}, not {trailId}");
            }

            return AuditKey.FromPrivateKey(Convert.FromBase64String(root.GetProperty("private_key").GetString()!));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new AuditTrailException($"the signing key {path} is unreadable: {e.Message}", e);
        }
    }
}
