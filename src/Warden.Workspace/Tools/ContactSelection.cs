using System.Text.Json;
using Warden.Core;

namespace Warden.Workspace.Tools;

/// <summary>
/// Which contacts a call acts on: listed ids, a filter, or all of them, which must be said with
/// all: true. Soft-deleted contacts are never selected. The selection is a SQL predicate with
/// parameters, so a hundred thousand contacts are selected by the database, not in memory.
/// </summary>
internal sealed class ContactSelection
{
    private ContactSelection(string predicate, IReadOnlyList<SqlArg> parameters, IReadOnlyList<string> fieldsRead, IReadOnlyList<string>? ids, bool all, string? filter)
    {
        Predicate = predicate;
        Parameters = parameters;
        FieldsRead = fieldsRead;
        Ids = ids;
        All = all;
        Filter = filter;
    }

    public string Predicate { get; }

    /// <summary>The part of the predicate that keeps soft-deleted contacts out (or lets them in).</summary>
    private string Live { get; init; } = "deleted_at IS NULL";

    public IReadOnlyList<SqlArg> Parameters { get; }

    /// <summary>Fields the filter reads, as table.field.</summary>
    public IReadOnlyList<string> FieldsRead { get; }

    public IReadOnlyList<string>? Ids { get; }

    public bool All { get; }

    public string? Filter { get; }

    public string Describe => Ids is not null ? $"{Ids.Count:N0} listed contact{(Ids.Count == 1 ? "" : "s")}" : Filter is not null ? $"contacts where {Filter}" : "every contact";

    /// <param name="args">The call's ids, filter and all.</param>
    /// <param name="tool">For messages.</param>
    /// <param name="includeDeleted">Also select soft-deleted contacts (an erasure must reach them too).</param>
    /// <param name="sql">The workspace's engine.</param>
    public static SystemResult<ContactSelection> From(ArgumentReader args, string tool, WorkspaceSql sql, bool includeDeleted = false) =>
        From(args.Strings("ids"), args.String("filter"), args.Boolean("all"), tool, sql, includeDeleted);

    public static SystemResult<ContactSelection> From(IReadOnlyList<string>? ids, string? filter, bool all, string tool, WorkspaceSql dialect, bool includeDeleted = false)
    {
        var live = includeDeleted ? "1 = 1" : "deleted_at IS NULL";
        if (ids is not null && filter is not null)
        {
            return SystemError.InvalidArguments($"{tool} takes ids or a filter, not both");
        }

        if (ids is not null)
        {
            if (ids.Count == 0)
            {
                return SystemError.InvalidArguments($"'ids' of {tool} is empty; name at least one contact");
            }

            var json = JsonSerializer.Serialize(ids);
            return new ContactSelection($"{live} AND id IN ({dialect.Values("@ids")})", [new SqlArg("@ids", json)], [], ids, all, null) { Live = live };
        }

        if (filter is not null)
        {
            if (!FilterCompiler.TryCompile(filter, Tables.ContactFilterFields, dialect.Filters, out var sql, out var error))
            {
                return SystemError.InvalidArguments($"the filter of {tool} is not valid: {error}");
            }

            var parameters = sql!.Parameters.Select((value, i) => new SqlArg($"@f{i}", value)).ToList();
            return new ContactSelection($"{live} AND {sql.Sql}", parameters, [.. sql.Fields.Select(f => "contacts." + f)], null, all, filter) { Live = live };
        }

        if (!all)
        {
            return SystemError.InvalidArguments($"say which contacts {tool} acts on: ids, a filter, or all: true to mean every contact");
        }

        return new ContactSelection(live, [], [], null, all: true, null) { Live = live };
    }

    /// <summary>Contacts the selection could reach at most: all rows less the soft-deleted ones, both counted from indexes.</summary>
    private long Total(ToolContext context) =>
        context.Count("SELECT count(*) FROM contacts") - (Live == "1 = 1" ? 0 : context.Count("SELECT count(*) FROM contacts WHERE deleted_at IS NOT NULL"));

    /// <summary>Listed ids must all exist; a filter that selects every contact must be meant.</summary>
    public SystemError? Check(ToolContext context, long records, string tool)
    {
        if (Ids is not null)
        {
            var missing = context.Keys($"SELECT value FROM ({context.Sql.Values("@ids")}) AS listed WHERE value NOT IN (SELECT id FROM contacts WHERE {Live}) ORDER BY value",
                Parameters).Take(6).ToList();
            if (missing.Count > 0)
            {
                var list = string.Join(", ", missing.Take(5));
                return SystemError.NotFound($"no contact {list}{(missing.Count > 5 ? " (and more)" : "")}; {tool} changed nothing");
            }
        }

        if (Filter is not null && !All && records > 0 && records == Total(context))
        {
            return SystemError.MatchesEverything($"the filter '{Filter}' selects every contact ({records:N0}); pass all: true if that is what you mean");
        }

        return null;
    }
}
