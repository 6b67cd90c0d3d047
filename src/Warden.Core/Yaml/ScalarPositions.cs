namespace Warden.Core.Yaml;

/// <summary>
/// Maps a character offset inside a scalar's value back to a line and column of the file, so an
/// error in a condition points into the condition, whether it is written plain, quoted or as a
/// block. Quoting and folding change the text, so the place is found by locating the same text in
/// the source; when that fails, the scalar's own start is the answer.
/// </summary>
internal static class ScalarPositions
{
    public static SourceLocation Locate(YamlScalar scalar, string source, int start, int end)
    {
        var value = scalar.Value;
        if (value.Length == 0)
        {
            return scalar.Start;
        }

        start = Math.Clamp(start, 0, value.Length);
        end = Math.Clamp(end, start, value.Length);
        if (scalar.IsPlain && scalar.Start.Line == scalar.End.Line)
        {
            return scalar.Start with { Column = scalar.Start.Column + start };
        }

        var from = (int)Math.Clamp(scalar.StartIndex, 0, source.Length);
        var to = (int)Math.Clamp(scalar.EndIndex, from, source.Length);
        var region = source.AsSpan(from, to - from);

        // Search for the problem's own text (its first line), or the text just before an empty span.
        var probeStart = end > start ? start : Math.Max(0, start - 1);
        var probe = value.AsSpan(probeStart, Math.Max(1, Math.Min(end, value.Length) - probeStart));
        var newline = probe.IndexOfAny('\n', '\r');
        if (newline > 0)
        {
            probe = probe[..newline];
        }

        if (probe.IsEmpty || probe.IsWhiteSpace())
        {
            return scalar.Start;
        }

        // The same text may occur earlier in the value: skip as many occurrences in the source.
        var skip = CountOccurrences(value.AsSpan(0, probeStart), probe);
        var index = -1;
        var offset = 0;
        for (var i = 0; i <= skip; i++)
        {
            var found = region[offset..].IndexOf(probe, StringComparison.Ordinal);
            if (found < 0)
            {
                return scalar.Start;
            }

            index = offset + found;
            offset = index + 1;
        }

        var absolute = from + index + (end > start ? 0 : 1);
        return LocationOf(source, absolute, scalar.Start);
    }

    private static int CountOccurrences(ReadOnlySpan<char> text, ReadOnlySpan<char> probe)
    {
        var count = 0;
        var offset = 0;
        while (offset <= text.Length - probe.Length)
        {
            var found = text[offset..].IndexOf(probe, StringComparison.Ordinal);
            if (found < 0)
            {
                break;
            }

            count++;
            offset += found + 1;
        }

        return count;
    }

    private static SourceLocation LocationOf(string source, int absolute, SourceLocation template)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < absolute && i < source.Length; i++)
        {
            if (source[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        return template with { Line = line, Column = absolute - lineStart + 1 };
    }
}
