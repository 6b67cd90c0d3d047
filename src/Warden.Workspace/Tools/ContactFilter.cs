using Warden.Core;

namespace Warden.Workspace.Tools;

/// <summary>A filter over contacts (a segment rule, a scoring or routing condition) compiled for the workspace's engine.</summary>
internal sealed record ContactFilter(string Text, string Predicate, IReadOnlyList<SqlArg> Parameters, IReadOnlyList<string> Fields)
{
    public static ContactFilter? Compile(string text, string prefix, WorkspaceSql dialect, out string? error)
    {
        if (!FilterCompiler.TryCompile(text, Tables.ContactFilterFields, dialect.Filters, prefix, out var sql, out error))
        {
            return null;
        }

        return new ContactFilter(text, $"({sql!.Sql})", [.. sql.Parameters.Select((v, i) => new SqlArg($"@{prefix}{i}", v))],
            [.. sql.Fields.Select(f => "contacts." + f)]);
    }

    /// <summary>A filter that selects nothing, for a stored rule that no longer compiles.</summary>
    public static ContactFilter Nothing(string text) => new(text, "(1 = 0)", [], []);
}
