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
    public const string FileName = "demo-tokens.json";

    /// <summary>The tokens kept in the file, by identity; none when there is no file or it is not a JSON object of strings (they are then made anew).</summary>
    public static Dictionary<string, string> Read(string path)
    {
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
