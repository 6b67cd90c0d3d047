using System.Text.Json;
using Warden.Workspace.Journal;
using Warden.Core;

namespace Warden.Workspace.Tools;

/// <summary>
/// Changes a rule that selects contacts: a segment's rule, a scoring or routing rule. The affected
/// set is the contacts whose outcome changes (joining or leaving, or re-scored / re-routed), so the
/// plan hash and an approval bind to the rule's real reach, not just to the rule's row.
/// </summary>
internal sealed class RuleChange(TableInfo table, string kind, string id, string name, ContactFilter before, ContactFilter after,
    IReadOnlyDictionary<string, object?> set, string tool) : Change
{
    private readonly bool _conditionChanges = before.Text != after.Text;

    private IReadOnlyList<SqlArg> Parameters => _conditionChanges ? [.. before.Parameters, .. after.Parameters] : before.Parameters;

    private string Joining => $"SELECT id FROM contacts WHERE deleted_at IS NULL AND {after.Predicate} AND NOT {before.Predicate}";

    private string Leaving => $"SELECT id FROM contacts WHERE deleted_at IS NULL AND {before.Predicate} AND NOT {after.Predicate}";

    private string Matching => $"SELECT id FROM contacts WHERE deleted_at IS NULL AND {after.Predicate}";

    private string ConditionColumn => table == Tables.Segments ? "rule" : "condition";

    public override IEnumerable<string> Keys(ToolContext context)
    {
        yield return $"{kind}:{id}";
        var sql = _conditionChanges
            ? $"SELECT '+' || id FROM ({Joining}) AS picked UNION ALL SELECT '-' || id FROM ({Leaving}) AS picked ORDER BY 1"
            : $"SELECT '~' || id FROM ({Matching}) AS picked ORDER BY 1";
        foreach (var key in context.Keys(sql, Parameters))
        {
            yield return key;
        }
    }

    public override PlanDetails Describe(ToolContext context, long records)
    {
        var joining = _conditionChanges ? context.Count($"SELECT count(*) FROM ({Joining}) AS picked", Parameters) : 0;
        var leaving = _conditionChanges ? context.Count($"SELECT count(*) FROM ({Leaving}) AS picked", Parameters) : 0;
        var matching = context.Count($"SELECT count(*) FROM ({Matching}) AS picked", Parameters);
        var row = context.Row(table, id)!;
        var beforeValues = set.ToDictionary(s => s.Key, s => Convert.ToString(row[s.Key], System.Globalization.CultureInfo.InvariantCulture));
        var changes = set.Select(s => new FieldChange($"{table.Name}.{s.Key}", 1, [new ValueCount(beforeValues[s.Key], 1)], Convert.ToString(s.Value, System.Globalization.CultureInfo.InvariantCulture))).ToList();
        var sample = new List<RecordChange>
        {
            new($"{kind}:{id}", beforeValues, set.ToDictionary(s => s.Key, s => Convert.ToString(s.Value, System.Globalization.CultureInfo.InvariantCulture))),
        };
        var reach = _conditionChanges
            ? $"{joining:N0} contact{(joining == 1 ? "" : "s")} join and {leaving:N0} leave; it will select {matching:N0}"
            : $"it applies to {matching:N0} contact{(matching == 1 ? "" : "s")}";
        var summary = $"{tool}: change {kind.Replace('_', ' ')} '{name}' ({string.Join(", ", set.Select(s => $"{s.Key} → {s.Value}"))}); {reach}.";
        return new PlanDetails([.. before.Fields.Concat(after.Fields).Distinct().Order()], [.. set.Keys.Select(k => $"{table.Name}.{k}")], changes, sample, summary);
    }

    public override IEnumerable<Dependent> MoreDependents(ToolContext context)
    {
        if (table != Tables.Segments)
        {
            return [];
        }

        var parameters = new[] { new SqlArg("@id", id) };
        return context.Keys("SELECT 'audience_sync|' || id || '|' || destination FROM audience_syncs WHERE segment_id = @id ORDER BY id", parameters)
            .Concat(context.Keys("SELECT 'campaign|' || id || '|' || name FROM campaigns WHERE audience = @id AND status <> 'sent' ORDER BY id", parameters))
            .Select(k => k.Split('|', 3)).Select(k => new Dependent(k[0], k[1], k[2], $"{table.Name}.{ConditionColumn}")).ToList();
    }

    public override JsonElement Write(ToolContext context, ActionJournal journal)
    {
        var current = context.Row(table, id)!;
        var version = Convert.ToInt64(current["version"], System.Globalization.CultureInfo.InvariantCulture);
        var was = set.Keys.ToDictionary(k => k, k => current[k]);
        was["version"] = version;
        var now = set.ToDictionary(s => s.Key, s => s.Value);
        now["version"] = version + 1;
        journal.Execute($"UPDATE {table.Name} SET {string.Join(", ", set.Keys.Select((k, i) => $"\"{k}\" = @v{i}"))}, version = version + 1 WHERE id = @id",
            [.. set.Values.Select((v, i) => new SqlArg($"@v{i}", v ?? DBNull.Value)), new SqlArg("@id", id)]);
        journal.Record(table, id, "update", ActionJournal.Image(was), ActionJournal.Image(now));

        if (_conditionChanges)
        {
            // The dependency map follows the rule: what it reads now, journaled like any change.
            var parameters = new[] { new SqlArg("@kind", kind), new SqlArg("@id", id), new SqlArg("@fields", JsonSerializer.Serialize(after.Fields)) };
            var sql = context.Sql;
            journal.JournalRows(Tables.FieldDependencies, "delete",
                $"SELECT object_kind || '|' || object_id || '|' || field AS record_key, {sql.Object("'object_kind', object_kind, 'object_id', object_id, 'field', field")} AS before, NULL AS after " +
                $"FROM field_dependencies WHERE object_kind = @kind AND object_id = @id AND field NOT IN ({sql.Values("@fields")})", parameters);
            journal.Execute($"DELETE FROM field_dependencies WHERE object_kind = @kind AND object_id = @id AND field NOT IN ({sql.Values("@fields")})", parameters);
            var adding = $"SELECT value AS field FROM ({sql.Values("@fields")}) AS listed WHERE value NOT IN (SELECT field FROM field_dependencies WHERE object_kind = @kind AND object_id = @id)";
            journal.JournalRows(Tables.FieldDependencies, "insert",
                $"SELECT @kind || '|' || @id || '|' || field AS record_key, NULL AS before, {sql.Object("'object_kind', @kind, 'object_id', @id, 'field', field")} AS after FROM ({adding}) AS picked", parameters);
            journal.Execute($"INSERT INTO field_dependencies (object_kind, object_id, field) SELECT @kind, @id, field FROM ({adding}) AS picked", parameters);
        }

        return Output(new { Changed = 1 });
    }

    public static SystemResult<Change> Prepare(ToolContext context, string tool, TableInfo table, string kind, string id, string? newCondition,
        IReadOnlyDictionary<string, object?> otherChanges)
    {
        var conditionColumn = table == Tables.Segments ? "rule" : "condition";
        var row = context.Row(table, id);
        if (row is null)
        {
            return SystemError.NotFound($"there is no {kind.Replace('_', ' ')} '{id}'; {tool} changed nothing");
        }

        var oldText = (string)row[conditionColumn]!;
        var before = ContactFilter.Compile(oldText, "old", context.Sql, out _) ?? ContactFilter.Nothing(oldText);
        var after = before;
        var set = new Dictionary<string, object?>(otherChanges, StringComparer.Ordinal);
        if (newCondition is not null)
        {
            after = ContactFilter.Compile(newCondition, "new", context.Sql, out var error);
            if (after is null)
            {
                return SystemError.InvalidArguments($"the new {conditionColumn} of {tool} is not a valid filter: {error}");
            }

            set[conditionColumn] = newCondition;
        }

        if (set.Count == 0)
        {
            return SystemError.InvalidArguments($"{tool} changes nothing: give a new {conditionColumn}{(otherChanges.Count == 0 && table != Tables.Segments ? " or another field" : "")}");
        }

        return new RuleChange(table, kind, id, (string)row["name"]!, before, after, set, tool);
    }
}

internal sealed class SegmentsUpdateRuleTool() : WorkspaceTool("segments.update_rule")
{
    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context) =>
        RuleChange.Prepare(context, Name, Tables.Segments, "segment", args.String("segment")!, args.String("rule"), new Dictionary<string, object?>());
}

internal sealed class ScoringUpdateRuleTool() : WorkspaceTool("scoring.update_rule")
{
    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context)
    {
        var other = new Dictionary<string, object?>();
        if (args.Integer("points") is { } points)
        {
            if (points is < -100 or > 100)
            {
                return SystemError.InvalidArguments($"'points' of {Name} must be from -100 to 100, not {points}");
            }

            other["points"] = points;
        }

        return RuleChange.Prepare(context, Name, Tables.ScoringRules, "scoring_rule", args.String("rule")!, args.String("condition"), other);
    }
}

internal sealed class RoutingUpdateRuleTool() : WorkspaceTool("routing.update_rule")
{
    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context)
    {
        var other = new Dictionary<string, object?>();
        if (args.String("owner") is { } owner)
        {
            if (owner.Length is 0 or > 100)
            {
                return SystemError.InvalidArguments($"'owner' of {Name} must name someone");
            }

            other["owner"] = owner;
        }

        return RuleChange.Prepare(context, Name, Tables.RoutingRules, "routing_rule", args.String("rule")!, args.String("condition"), other);
    }
}
