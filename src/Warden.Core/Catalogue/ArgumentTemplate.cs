using System.Text.Json;
using System.Text.Json.Nodes;
using Warden.Core.Cel;
using Warden.Core.Yaml;

namespace Warden.Core;

/// <summary>
/// The arguments of a call Warden makes for a proxied call (its preview's read, its undo), built
/// from values it already holds: the call's <c>args</c>, the preview's result <c>before</c>, and
/// one affected <c>record</c> of it. Written in the policy as YAML, a mapping or list per JSON
/// object or array, and each scalar an expression in CEL's syntax, of a deliberately small kind: a
/// value's members and items (<c>args.ids</c>, <c>before.records[0]</c>, <c>record['id']</c>),
/// literals, lists, and <c>pick(value, names)</c>, the members of an object named by another
/// object's keys or by a list (the old values of exactly the fields a call sets). Nothing computes:
/// what is built can be read off the policy.
/// </summary>
internal sealed class ArgumentTemplate
{
    private abstract record Node;

    private sealed record ObjectNode(List<(string Name, Node Value)> Members) : Node;

    private sealed record ArrayNode(List<Node> Items) : Node;

    private sealed record ValueNode(string Text, CelExpr Expr) : Node;

    private readonly Node _root;

    private ArgumentTemplate(Node root, IReadOnlySet<string> uses)
    {
        _root = root;
        Uses = uses;
    }

    /// <summary>The values it reads (args, before, record).</summary>
    public IReadOnlySet<string> Uses { get; }

    /// <summary>A problem in a template, where it is.</summary>
    public sealed record Problem(SourceLocation At, string Message, string? Hint);

    /// <summary>
    /// Compiles a template; null with the problems when one of its expressions is not of the
    /// allowed kind or reads a value not in <paramref name="variables"/>.
    /// </summary>
    public static ArgumentTemplate? Compile(YamlNode node, string source, IReadOnlyCollection<string> variables, List<Problem> problems)
    {
        var uses = new HashSet<string>(StringComparer.Ordinal);
        var before = problems.Count;
        var root = Compile(node, source, variables, uses, problems);
        return problems.Count > before || root is null ? null : new ArgumentTemplate(root, uses);
    }

    private static Node? Compile(YamlNode node, string source, IReadOnlyCollection<string> variables, HashSet<string> uses, List<Problem> problems)
    {
        switch (node)
        {
            case YamlMapping mapping:
                var members = new List<(string, Node)>();
                foreach (var (key, value) in mapping.Entries)
                {
                    if (Compile(value, source, variables, uses, problems) is { } compiled)
                    {
                        members.Add((key.Value, compiled));
                    }
                }

                return new ObjectNode(members);
            case YamlSequence sequence:
                return new ArrayNode([.. sequence.Items.Select(i => Compile(i, source, variables, uses, problems)).OfType<Node>()]);
            case YamlScalar scalar:
                var (expr, syntax) = CelParser.Parse(scalar.Value);
                if (expr is null)
                {
                    problems.Add(new Problem(ScalarPositions.Locate(scalar, source, syntax!.Start, syntax.End), syntax.Message, syntax.Hint ?? "write a value such as args.id, before.record or 'text' (quoted)"));
                    return null;
                }

                foreach (var (start, end, message) in Check(expr, variables, uses))
                {
                    problems.Add(new Problem(ScalarPositions.Locate(scalar, source, start, end), message,
                        "only args, before and record, their members and items, literals, lists and pick(value, names) build arguments"));
                }

                return new ValueNode(scalar.Value, expr);
            default:
                return null;
        }
    }

    /// <summary>What in an expression is outside the allowed kind.</summary>
    private static IEnumerable<(int Start, int End, string Message)> Check(CelExpr expr, IReadOnlyCollection<string> variables, HashSet<string> uses)
    {
        switch (expr)
        {
            case CelLiteral:
                yield break;
            case CelIdent ident when variables.Contains(ident.Name):
                uses.Add(ident.Name);
                yield break;
            case CelIdent ident:
                yield return (ident.Start, ident.End, $"'{ident.Name}' is not a value here; {string.Join(", ", variables)} {(variables.Count == 1 ? "is" : "are")}");
                yield break;
            case CelSelect { IsPresenceTest: false } select:
                foreach (var problem in Check(select.Operand, variables, uses))
                {
                    yield return problem;
                }

                yield break;
            case CelIndex { Key: CelLiteral } index:
                foreach (var problem in Check(index.Operand, variables, uses))
                {
                    yield return problem;
                }

                yield break;
            case CelList list:
                foreach (var problem in list.Items.SelectMany(i => Check(i, variables, uses)))
                {
                    yield return problem;
                }

                yield break;
            case CelCall { Target: null, Function: "pick", Args.Count: 2 } pick:
                foreach (var problem in pick.Args.SelectMany(a => Check(a, variables, uses)))
                {
                    yield return problem;
                }

                yield break;
            default:
                yield return (expr.Start, expr.End, "this builds nothing Warden can read off the policy");
                yield break;
        }
    }

    /// <summary>The arguments, or null with why (a member the values do not have, a value of another shape).</summary>
    public JsonNode? Build(IReadOnlyDictionary<string, JsonNode?> values, out string? problem)
    {
        try
        {
            problem = null;
            return Build(_root, values);
        }
        catch (TemplateException e)
        {
            problem = e.Message;
            return null;
        }
    }

    private sealed class TemplateException(string message) : Exception(message);

    private static JsonNode? Build(Node node, IReadOnlyDictionary<string, JsonNode?> values) => node switch
    {
        ObjectNode o => new JsonObject(o.Members.Select(m => KeyValuePair.Create(m.Name, Build(m.Value, values)))),
        ArrayNode a => new JsonArray([.. a.Items.Select(i => Build(i, values))]),
        ValueNode v => Evaluate(v.Expr, v.Text, values)?.DeepClone(),
        _ => null,
    };

    private static JsonNode? Evaluate(CelExpr expr, string text, IReadOnlyDictionary<string, JsonNode?> values)
    {
        string Part(CelExpr e) => text[e.Start..e.End];
        switch (expr)
        {
            case CelLiteral literal:
                var value = literal.Value;
                return value.Kind switch
                {
                    CelKind.Null => null,
                    CelKind.Bool => JsonValue.Create(value.AsBool),
                    CelKind.Int => JsonValue.Create(value.AsInt),
                    CelKind.Double => JsonValue.Create(value.AsDouble),
                    _ => JsonValue.Create(value.AsString),
                };
            case CelIdent ident:
                return values.TryGetValue(ident.Name, out var bound) ? bound : throw new TemplateException($"{ident.Name} is not known here");
            case CelSelect select:
                return Member(Evaluate(select.Operand, text, values), select.Field, Part(expr), Part(select.Operand));
            case CelIndex { Key: CelLiteral key } index:
                var operand = Evaluate(index.Operand, text, values);
                if (key.Value.Kind == CelKind.String)
                {
                    return Member(operand, key.Value.AsString, Part(expr), Part(index.Operand));
                }

                if (key.Value.Kind == CelKind.Int && operand is JsonArray array)
                {
                    return key.Value.AsInt >= 0 && key.Value.AsInt < array.Count ? array[(int)key.Value.AsInt]
                        : throw new TemplateException($"{Part(expr)}: {Part(index.Operand)} has {array.Count} items");
                }

                throw new TemplateException($"{Part(expr)}: {Part(index.Operand)} is {Describe(operand)}, not a list");
            case CelList list:
                return new JsonArray([.. list.Items.Select(i => Evaluate(i, text, values)?.DeepClone())]);
            case CelCall { Function: "pick" } pick:
                var from = Evaluate(pick.Args[0], text, values);
                var names = Evaluate(pick.Args[1], text, values);
                if (from is not JsonObject source)
                {
                    throw new TemplateException($"{Part(expr)}: {Part(pick.Args[0])} is {Describe(from)}, not an object");
                }

                var keys = names switch
                {
                    JsonObject o => o.Select(p => p.Key).ToList(),
                    JsonArray a when a.All(i => i is JsonValue v && v.GetValueKind() == JsonValueKind.String) => a.Select(i => i!.GetValue<string>()).ToList(),
                    _ => throw new TemplateException($"{Part(expr)}: {Part(pick.Args[1])} is {Describe(names)}, not an object or a list of names"),
                };
                // A name the object does not have is picked as null: restoring it means clearing what the call set.
                return new JsonObject(keys.Distinct(StringComparer.Ordinal).Select(k => KeyValuePair.Create(k, source[k]?.DeepClone())));
            default:
                throw new TemplateException($"{Part(expr)} cannot be built");
        }
    }

    private static JsonNode? Member(JsonNode? node, string name, string whole, string operand) =>
        node is JsonObject obj
            ? obj.TryGetPropertyValue(name, out var member) ? member : throw new TemplateException($"{whole}: {operand} has no member '{name}'")
            : throw new TemplateException($"{whole}: {operand} is {Describe(node)}, not an object");

    private static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "a list",
        _ => node.GetValueKind() switch { JsonValueKind.String => "text", JsonValueKind.Number => "a number", _ => "true or false" },
    };
}
