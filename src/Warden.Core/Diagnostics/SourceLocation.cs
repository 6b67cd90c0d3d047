namespace Warden.Core;

/// <summary>A place in a source file: 1-based line and column.</summary>
public readonly record struct SourceLocation(string Source, int Line, int Column)
{
    /// <summary>The location used when no better one is known (the whole file).</summary>
    public static SourceLocation File(string source) => new(source, 0, 0);

    /// <inheritdoc />
    public override string ToString() => Line > 0 ? $"{Source}:{Line}:{Column}" : Source;
}
