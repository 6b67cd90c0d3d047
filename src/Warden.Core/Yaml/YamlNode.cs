using YamlDotNet.Core;

namespace Warden.Core.Yaml;

/// <summary>
/// A YAML node with the place it came from. Warden reads policies into this small tree instead of
/// deserialising into objects, so every later error can point at a line and column.
/// </summary>
internal abstract class YamlNode(SourceLocation start)
{
    public SourceLocation Start { get; } = start;

    /// <summary>What a user would call this kind of value, for "expected X, found Y" messages.</summary>
    public abstract string Describe { get; }
}

internal sealed class YamlScalar(SourceLocation start, SourceLocation end, string value, ScalarStyle style, long startIndex, long endIndex)
    : YamlNode(start)
{
    public string Value { get; } = value;

    public ScalarStyle Style { get; } = style;

    public SourceLocation End { get; } = end;

    /// <summary>Character offsets of the scalar in the source, to map positions inside it.</summary>
    public long StartIndex { get; } = startIndex;

    public long EndIndex { get; } = endIndex;

    public bool IsPlain => Style is ScalarStyle.Plain or ScalarStyle.Any;

    /// <summary>A plain <c>null</c>, <c>~</c> or empty value, as YAML's core schema reads it.</summary>
    public bool IsNull => IsPlain && Value is "" or "~" or "null" or "Null" or "NULL";

    public override string Describe => IsNull ? "nothing (null)" : $"'{Truncate(Value)}'";

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..37] + "...";
}

internal sealed class YamlSequence(SourceLocation start, List<YamlNode> items) : YamlNode(start)
{
    public List<YamlNode> Items { get; } = items;

    public override string Describe => "a list";
}

internal sealed class YamlMapping(SourceLocation start, List<KeyValuePair<YamlScalar, YamlNode>> entries) : YamlNode(start)
{
    public List<KeyValuePair<YamlScalar, YamlNode>> Entries { get; } = entries;

    public override string Describe => "a mapping";

    public YamlNode? this[string key]
    {
        get
        {
            foreach (var (k, v) in Entries)
            {
                if (k.Value == key)
                {
                    return v;
                }
            }

            return null;
        }
    }
}
