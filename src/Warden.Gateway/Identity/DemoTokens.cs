using System.Text.Json;
using Warden.Storage;

namespace Warden.Gateway.Identity;

/// <summary>
/// The tokens a demo gateway made up, kept in the data folder for its life: a token exported to a
/// shell or written into an MCP client's configuration keeps working after a restart. The file
/// is readable by its owner only.
/// </summary>
internal static class DemoTokens
{
    /// <summary>
    /// The file of an environment's tokens: demo-tokens.json for the sandbox, demo-tokens-production.json
    /// and so on for the others, so that a token handed out in a sandbox trial never opens production.
    /// </summary>
    public static string FileName(string environment) => environment == "sandbox" ? "demo-tokens.json" : $"demo-tokens-{environment}.json";

    /// <summary>
    /// The tokens kept in the file, by identity; none when there is no file. A file that is not a
    /// JSON object of strings gives none either (they are then made anew), and <paramref name="broken"/> says why.
    /// </summary>
    public static Dictionary<string, string> Read(string path, out string? broken)
    {
        broken = null;
        if (!File.Exists(path))
        {
            return new Dictionary<string, string>(StringComparer.Ordinal);
        }

        var tokens = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Value.ValueKind == JsonValueKind.String)
                {
                    tokens[property.Name] = property.Value.GetString()!;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException)
        {
            tokens.Clear();
            broken = $"{path} could not be read ({e.Message.TrimEnd('.')}); new demo tokens are made";
        }

        return tokens;
    }

    /// <summary>Writes the tokens, replacing the file whole, never readable by anyone but its owner.</summary>
    public static void Write(string path, IReadOnlyDictionary<string, string> tokens)
    {
        var temporary = path + ".tmp";
        File.Delete(temporary);
        using (var stream = new FileStream(temporary, OwnerOnly.Create(FileMode.CreateNew, FileAccess.Write)))
        {
            JsonSerializer.Serialize(stream, tokens.OrderBy(t => t.Key, StringComparer.Ordinal).ToDictionary(t => t.Key, t => t.Value), new JsonSerializerOptions { WriteIndented = true });
        }

        File.Move(temporary, path, overwrite: true);
    }
}
