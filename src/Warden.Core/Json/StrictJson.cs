using System.Text.Json;

namespace Warden.Core;

/// <summary>
/// Parses JSON the way Warden needs it for arguments and facts: bounded depth and size, and
/// duplicate keys refused (two values for one key would let a reviewer and the tool see different
/// arguments). Errors say what and where instead of throwing.
/// </summary>
public static class StrictJson
{
    /// <summary>The largest JSON text accepted, in characters.</summary>
    public const int MaxChars = 1024 * 1024;

    /// <summary>The deepest nesting accepted.</summary>
    public const int MaxDepth = 32;

    /// <summary>Parses JSON text; on failure returns false with a sentence saying what is wrong and where.</summary>
    public static bool TryParse(string text, out JsonElement value, out string? error)
    {
        value = default;
        if (text.Length > MaxChars)
        {
            error = $"the JSON is {text.Length:N0} characters long; the limit is {MaxChars:N0}";
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = MaxDepth });
            if (FindDuplicateKey(document.RootElement, "$") is { } path)
            {
                error = $"the key at {path} appears twice";
                return false;
            }

            value = document.RootElement.Clone();
            error = null;
            return true;
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" (line {line + 1}, position {e.BytePositionInLine + 1})" : "";
            error = $"this is not valid JSON{where}: {FirstSentence(e.Message)}";
            return false;
        }
    }

    /// <summary>Parses a JSON object (the shape of tool arguments).</summary>
    public static bool TryParseObject(string text, out JsonElement value, out string? error)
    {
        if (!TryParse(text, out value, out error))
        {
            return false;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            error = $"expected a JSON object like {{\"id\": \"c-1\"}}, found {Describe(value.ValueKind)}";
            return false;
        }

        return true;
    }

    /// <summary>Reads plan facts from a JSON object: records, recipients, deleted, changed, destination, fields, classes, external, reversible.</summary>
    private static readonly string[] StatementKinds = ["read", "insert", "update", "delete", "merge", "schema", "permission", "multiple", "other"];

    /// <summary>A statement's facts, as a database would classify it: {"kind": "delete", "tables": ["contacts"], "where": true}.</summary>
    private static bool TryReadStatement(JsonElement value, out StatementFacts? statement, out string? error)
    {
        statement = null;
        error = null;
        if (value.ValueKind != JsonValueKind.Object)
        {
            error = "'statement' should be an object like {\"kind\": \"delete\", \"tables\": [\"contacts\"], \"where\": true}";
            return false;
        }

        string kind = "";
        IReadOnlyList<string> tables = [];
        var where = false;
        foreach (var property in value.EnumerateObject())
        {
            switch (property.Name)
            {
                case "kind" when property.Value.ValueKind == JsonValueKind.String && StatementKinds.Contains(property.Value.GetString()):
                    kind = property.Value.GetString()!;
                    break;
                case "kind":
                    error = $"'statement.kind' should be one of {string.Join(", ", StatementKinds)}";
                    return false;
                case "tables" when property.Value.ValueKind == JsonValueKind.Array && property.Value.EnumerateArray().All(t => t.ValueKind == JsonValueKind.String):
                    tables = [.. property.Value.EnumerateArray().Select(t => t.GetString()!)];
                    break;
                case "tables":
                    error = "'statement.tables' should be a list of strings";
                    return false;
                case "where" when property.Value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                    where = property.Value.GetBoolean();
                    break;
                case "where":
                    error = "'statement.where' should be true or false";
                    return false;
                default:
                    error = $"'statement.{property.Name}' is not a statement fact; they are kind, tables, where";
                    return false;
            }
        }

        if (kind.Length == 0)
        {
            error = $"'statement' needs a kind: one of {string.Join(", ", StatementKinds)}";
            return false;
        }

        statement = new StatementFacts(kind, tables, where);
        return true;
    }

    public static bool TryReadFacts(JsonElement json, out PlanFacts facts, out string? error)
    {
        facts = PlanFacts.None;
        error = null;
        if (json.ValueKind != JsonValueKind.Object)
        {
            error = $"facts should be an object like {{\"records\": 120, \"classes\": [\"pii\"]}}, not {Describe(json.ValueKind)}";
            return false;
        }

        string[] known = ["records", "recipients", "deleted", "changed", "destination", "fields", "classes", "external", "reversible", "statement"];
        foreach (var property in json.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "records" or "recipients" or "deleted" or "changed":
                    if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var count) || count < 0)
                    {
                        error = $"'{property.Name}' should be a whole number of at least 0";
                        return false;
                    }

                    facts = property.Name switch
                    {
                        "records" => facts with { Records = count },
                        "recipients" => facts with { Recipients = count },
                        "deleted" => facts with { Deleted = count },
                        _ => facts with { Changed = count },
                    };
                    break;
                case "destination":
                    if (value.ValueKind != JsonValueKind.String)
                    {
                        error = "'destination' should be a string such as linkedin:matched-audience-42";
                        return false;
                    }

                    facts = facts with { Destination = value.GetString() };
                    break;
                case "fields" or "classes":
                    if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String))
                    {
                        error = $"'{property.Name}' should be a list of strings";
                        return false;
                    }

                    var items = value.EnumerateArray().Select(v => v.GetString()!).ToArray();
                    facts = property.Name == "fields" ? facts with { Fields = items } : facts with { Classes = items };
                    break;
                case "external" or "reversible":
                    if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    {
                        error = $"'{property.Name}' should be true or false";
                        return false;
                    }

                    facts = property.Name == "external" ? facts with { External = value.GetBoolean() } : facts with { Reversible = value.GetBoolean() };
                    break;
                case "statement":
                    if (!TryReadStatement(value, out var statement, out error))
                    {
                        return false;
                    }

                    facts = facts with { Statement = statement };
                    break;
                default:
                    error = $"'{property.Name}' is not a plan fact; " +
                            (Diagnostics.Suggest.Hint(property.Name, known) ?? "the facts are " + string.Join(", ", known));
                    return false;
            }
        }

        return true;
    }

    /// <summary>Where a key first appears twice in <paramref name="element"/>, as a path like $.set.job_title; null when none does.</summary>
    public static string? DuplicateKey(JsonElement element) => FindDuplicateKey(element, "$");

    private static string? FindDuplicateKey(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    var child = $"{path}.{property.Name}";
                    if (!seen.Add(property.Name))
                    {
                        return child;
                    }

                    if (FindDuplicateKey(property.Value, child) is { } found)
                    {
                        return found;
                    }
                }

                return null;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (FindDuplicateKey(item, $"{path}[{index++}]") is { } found)
                    {
                        return found;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "true or false",
        JsonValueKind.Null => "null",
        _ => "an object",
    };

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return (end > 0 ? message[..end] : message).TrimEnd('.');
    }
}
