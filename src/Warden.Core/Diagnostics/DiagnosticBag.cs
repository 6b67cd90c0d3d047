namespace Warden.Core.Diagnostics;

/// <summary>Collects every finding before anything is reported, so a user fixes all of them in one pass.</summary>
internal sealed class DiagnosticBag
{
    private readonly List<Diagnostic> _items = [];

    public IReadOnlyList<Diagnostic> Items => _items;

    public bool HasErrors => ErrorCount > 0;

    public int ErrorCount { get; private set; }

    public void Error(DiagnosticCode code, SourceLocation at, string message, string? hint = null)
    {
        _items.Add(new Diagnostic(Severity.Error, code, at, message, hint));
        ErrorCount++;
    }

    public void Warning(DiagnosticCode code, SourceLocation at, string message, string? hint = null) =>
        _items.Add(new Diagnostic(Severity.Warning, code, at, message, hint));

    /// <summary>Errors first, then by place in the file, so output reads top to bottom.</summary>
    public IReadOnlyList<Diagnostic> Sorted() =>
        [.. _items.OrderByDescending(d => d.Severity).ThenBy(d => d.Location.Line).ThenBy(d => d.Location.Column)];
}
