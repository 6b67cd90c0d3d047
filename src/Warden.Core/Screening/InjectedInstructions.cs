using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Warden.Core;

/// <summary>Text in a tool's result that tries to instruct the agent reading it, where it is, and why it is taken for that.</summary>
/// <param name="Path">Where in the result ($.records[1].notes).</param>
/// <param name="Reason">What gave it away, in words.</param>
/// <param name="Excerpt">The words themselves, shortened, with hidden characters shown as code points.</param>
public sealed record InjectedInstruction(string Path, string Reason, string Excerpt);

/// <summary>
/// Finds text in a result that addresses the agent instead of describing data: a CRM note that
/// says "ignore your previous instructions", a field that tells the agent to call a tool, chat
/// markup that forges a system turn, words written in invisible characters. A screen of known
/// shapes, not a proof: it is tuned to say nothing of ordinary marketing data ("the assistant
/// manager called"), and what it finds is recorded, and withheld where the policy says.
/// </summary>
public static partial class InjectedInstructions
{
    private const int MaxFindings = 20;

    /// <summary>What in <paramref name="value"/> (its texts and member names) tries to instruct the agent; <paramref name="tools"/> are the tool names an instruction would name.</summary>
    public static IReadOnlyList<InjectedInstruction> Find(JsonNode? value, IReadOnlyCollection<string> tools)
    {
        ArgumentNullException.ThrowIfNull(tools);
        var found = new List<InjectedInstruction>();
        Walk(value, "$", tools, found);
        return found;
    }

    /// <summary>The value with each text found replaced by a note that it was withheld (a member name found is renamed likewise).</summary>
    public static JsonNode? Withhold(JsonNode? value, IReadOnlyList<InjectedInstruction> found)
    {
        ArgumentNullException.ThrowIfNull(found);
        var paths = found.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
        return Replace(value, "$", paths);
    }

    /// <summary>The note that stands in for a withheld text.</summary>
    public const string WithheldNote = "[withheld by Warden: this text tries to instruct the agent]";

    private static JsonNode? Replace(JsonNode? node, string path, HashSet<string> paths)
    {
        switch (node)
        {
            case JsonObject obj:
                var copy = new JsonObject();
                var n = 0;
                foreach (var (key, member) in obj)
                {
                    var at = Member(path, key);
                    var name = paths.Contains(at + "#name") ? $"withheld-{++n}" : key;
                    copy[name] = Replace(member, at, paths);
                }

                return copy;
            case JsonArray array:
                return new JsonArray([.. array.Select((item, i) => Replace(item, $"{path}[{i}]", paths))]);
            case JsonValue v when v.GetValueKind() == JsonValueKind.String && paths.Contains(path):
                return JsonValue.Create(WithheldNote);
            default:
                return node?.DeepClone();
        }
    }

    private static void Walk(JsonNode? node, string path, IReadOnlyCollection<string> tools, List<InjectedInstruction> found)
    {
        if (found.Count >= MaxFindings)
        {
            return;
        }

        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, member) in obj)
                {
                    var at = Member(path, key);
                    if (Reason(key, tools) is { } keyReason)
                    {
                        found.Add(new InjectedInstruction(at + "#name", keyReason.Why, Excerpt(key, keyReason.At)));
                    }

                    Walk(member, at, tools, found);
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    Walk(array[i], $"{path}[{i}]", tools, found);
                }

                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                var text = v.GetValue<string>();
                if (Reason(text, tools) is { } reason)
                {
                    found.Add(new InjectedInstruction(path, reason.Why, Excerpt(text, reason.At)));
                }

                break;
        }
    }

    private static string Member(string path, string key) =>
        key.Length > 0 && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-') ? $"{path}.{key}" : $"{path}['{key.Replace("'", "\\'", StringComparison.Ordinal)}']";

    /// <summary>Why a text is taken for an instruction to the agent, and where in it; null when it reads as data.</summary>
    private static (string Why, int At)? Reason(string text, IReadOnlyCollection<string> tools)
    {
        if (text.Length < 4)
        {
            return null;
        }

        for (var i = 0; i < text.Length; i++)
        {
            if (Hidden(text, i))
            {
                return ("it has characters a person does not see (zero-width, direction overrides or Unicode tags), which can carry words to a model unseen", i);
            }
        }

        // Written to slip past the shapes (a Cyrillic 'о' in "ignоre", fullwidth letters, &#105;gnore, ig<b></b>nore): read again folded.
        if (Fold(text) is { } folded && folded != text && Reason(folded, tools) is { } hidden)
        {
            return ($"{hidden.Why}, in letters or markup disguised as others", 0);
        }

        try
        {
            foreach (var (pattern, why) in Shapes)
            {
                if (pattern.Match(text) is { Success: true } match)
                {
                    return (why, match.Index);
                }
            }

            // A tool named with a verb telling someone to use it: "call delete_record on each id". Only
            // names that read as identifiers (delete_record, crm.search): "search" alone is a word.
            if (Imperative().Match(text) is not { Success: true } verb)
            {
                return null;
            }

            foreach (var tool in tools.Where(t => t.Contains('_', StringComparison.Ordinal) || t.Contains('.', StringComparison.Ordinal)))
            {
                var at = text.IndexOf(tool, StringComparison.OrdinalIgnoreCase);
                if (at >= 0 && Math.Abs(at - verb.Index) <= 60 && Bounded(text, at, tool.Length))
                {
                    return ($"it tells the reader to use the tool {tool}", Math.Min(at, verb.Index));
                }
            }
        }
        catch (RegexMatchTimeoutException)
        {
            return ("it could not be screened in time, so it is taken for one", 0);
        }

        return null;
    }

    /// <summary>The text as a reader sees it: HTML entities decoded, tags removed, fullwidth letters and common Cyrillic and Greek lookalikes read as Latin.</summary>
    private static string? Fold(string text)
    {
        var folded = System.Net.WebUtility.HtmlDecode(text);
        folded = Tags().Replace(folded, "");
        // Warden runs with invariant globalization (no ICU), so fullwidth forms are folded by hand rather than by NFKC.
        var builder = new StringBuilder(folded.Length);
        foreach (var c in folded)
        {
            var i = Lookalikes.IndexOf(c, StringComparison.Ordinal);
            builder.Append(i >= 0 ? Latin[i] : c is >= '\uFF01' and <= '\uFF5E' ? (char)(c - 0xFEE0) : c);
        }

        return builder.ToString();
    }

    private const string Lookalikes = "аеорсухіјѕԁАВЕКМНОРСТХІЈЅοαεικνρτυΑΒΕΙΚΜΝΟΡΤΥΧ";
    private const string Latin = "aeopcyxijsdABEKMHOPCTXIJSoaeiknptuABEIKMNOPTYX";

    [GeneratedRegex(@"<[^<>]{0,40}>", RegexOptions.CultureInvariant)]
    private static partial Regex Tags();

    private static bool Bounded(string text, int at, int length) =>
        (at == 0 || !(char.IsLetterOrDigit(text[at - 1]) || text[at - 1] == '_')) &&
        (at + length == text.Length || !(char.IsLetterOrDigit(text[at + length]) || text[at + length] == '_'));

    /// <summary>Zero-width and joining characters, direction overrides and isolates, and the Unicode tag block (U+E0000 to U+E007F).</summary>
    private static bool Hidden(string text, int i)
    {
        var c = text[i];
        if (c is '\u200B' or '\u200C' or '\u200D' or '\u200E' or '\u200F' or '\u2060' or '\u2061' or '\u2062' or '\u2063' or '\u2064' or '\u00AD'
            || c is >= '\u202A' and <= '\u202E' || c is >= '\u2066' and <= '\u2069' || (c == '\uFEFF' && i > 0))
        {
            return true;
        }

        return char.IsHighSurrogate(c) && i + 1 < text.Length && char.ConvertToUtf32(c, text[i + 1]) is >= 0xE0000 and <= 0xE007F;
    }

    private static string Excerpt(string text, int at)
    {
        var start = Math.Max(0, at - 20);
        var slice = text.Substring(start, Math.Min(100, text.Length - start));
        var shown = new StringBuilder();
        foreach (var rune in slice.EnumerateRunes())
        {
            shown.Append(Rune.GetUnicodeCategory(rune) is UnicodeCategory.Format or UnicodeCategory.Control or UnicodeCategory.OtherNotAssigned or UnicodeCategory.Surrogate
                ? $"<U+{rune.Value:X4}>" : rune.ToString());
        }

        return (start > 0 ? "…" : "") + shown + (start + slice.Length < text.Length ? "…" : "");
    }

    private static readonly (Regex Pattern, string Why)[] Shapes =
    [
        (Overrides(), "it tells the reader to set aside its instructions"),
        (Forget(), "it tells the reader to set aside its instructions"),
        (Persona(), "it tries to give the reader a new role or instructions"),
        (AddressesModel(), "it addresses an AI model or agent and tells it what to do"),
        (Markup(), "it has chat markup that forges a turn of the conversation (system, assistant, user)"),
        (Secrecy(), "it tells the reader to keep something from the user"),
    ];

    [GeneratedRegex(@"\b(ignore|disregard|forget|override|bypass)\b[^.\n]{0,30}?\b(previous|prior|above|earlier|preceding|original|initial|existing|your|system|all)\s+(\w+\s+)?(instructions?|prompts?|rules|directions|guidelines|guardrails|constraints)\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 200)]
    private static partial Regex Overrides();

    [GeneratedRegex(@"\b(ignore|disregard|forget)\s+(the|these|those|any|all)\s+(\w+\s+)?(instructions?|prompts?)\b|\bforget\s+(everything|all)\s+(you('ve| have)?\s+(been\s+|were\s+)?told|above|before|so far)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 200)]
    private static partial Regex Forget();

    [GeneratedRegex(@"\b(you are now|you're now|from now on,? you|new instructions?\s*:|updated instructions?\s*:|system prompt|developer mode|jailbreak|act as (an?|the) (ai|assistant|agent|admin))",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 200)]
    private static partial Regex Persona();

    [GeneratedRegex(@"\b(dear|attention|note to( the)?|hey|hi|hello|to the)\s+(ai|assistant|agent|model|llm|chatbot|bot|claude|gpt|chatgpt|copilot|gemini)\b|\b(ai|llm|language model|ai assistant|ai agent)s?\b[^.\n]{0,30}\b(must|should|shall|needs? to|are instructed to|will now|has to)\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 200)]
    private static partial Regex AddressesModel();

    [GeneratedRegex(@"<\|\s*(im_start|im_end|system|user|assistant|endoftext)\s*\|>|\[/?INST\]|</?\s*(system|assistant|instructions?)\s*>|(^|\n)\s*#{0,3}\s*(system|assistant)\s*:",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 200)]
    private static partial Regex Markup();

    [GeneratedRegex(@"\b(do not|don't|dont|never)\s+(tell|inform|mention|reveal|show|notify)\b[^.\n]{0,25}\b(the )?(user|human|operator|customer|anyone|them)\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 200)]
    private static partial Regex Secrecy();

    [GeneratedRegex(@"\b(call|invoke|run|use|execute|trigger|please)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 200)]
    private static partial Regex Imperative();
}
