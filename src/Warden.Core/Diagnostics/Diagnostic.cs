namespace Warden.Core;

/// <summary>How bad a diagnostic is. Errors stop a policy from loading; warnings do not.</summary>
public enum Severity
{
    /// <summary>The policy loads, but something deserves a look.</summary>
    Warning,

    /// <summary>The policy does not load.</summary>
    Error,
}

/// <summary>
/// One finding about a policy or a test file: where, what, and a hint when there is one.
/// Errors are data (as in Npgsql's PostgresException): tests match on <see cref="Code"/>.
/// </summary>
public sealed record Diagnostic(Severity Severity, DiagnosticCode Code, SourceLocation Location, string Message, string? Hint = null)
{
    /// <inheritdoc />
    public override string ToString()
    {
        var severity = Severity == Severity.Error ? "error" : "warning";
        var text = $"{Location}: {severity}: {Message}";
        return Hint is null ? text : $"{text} ({Hint})";
    }
}
