using System.Text.RegularExpressions;
using Warden.Core.Diagnostics;

namespace Warden.Core.Cel;

/// <summary>
/// Type-checks a parsed condition against the declared variables, as CEL's checker does: equality
/// needs the same type on both sides (or dyn), ordering also allows int against double, and the
/// whole condition must be a bool. Reports every problem it finds, each with its place.
/// </summary>
internal sealed class CelChecker
{
    public static readonly string[] Functions = ["size", "startsWith", "endsWith", "contains", "matches", "exists", "all", "has"];

    private readonly IReadOnlyDictionary<string, CelVariable> _variables;
    private readonly List<CelProblem> _problems = [];
    private readonly List<(string Name, CelType Type)> _scope = [];
    private int _comprehensionDepth;

    public CelChecker(IReadOnlyDictionary<string, CelVariable> variables)
    {
        _variables = variables;
    }

    /// <summary>Regexes compiled while checking, keyed by node, reused by the compiler.</summary>
    public Dictionary<CelExpr, Regex> Patterns { get; } = [];

    public IReadOnlyList<CelProblem> Problems => _problems;

    /// <summary>Lets == and != compare any type with null (for filters over nullable columns); CEL itself does not.</summary>
    public bool NullComparable { get; init; }

    /// <summary>Checks an expression that counts (a tool's records: over its arguments): a whole number.</summary>
    public void CheckCount(CelExpr root)
    {
        var type = Check(root);
        if (type.Kind is not (CelTypeKind.Int or CelTypeKind.Dyn or CelTypeKind.Error))
        {
            Report(root, $"a count must be a whole number, but this one is {Article(type)}");
        }
    }

    public void CheckCondition(CelExpr root)
    {
        var type = Check(root);
        if (type.Kind is not (CelTypeKind.Bool or CelTypeKind.Dyn or CelTypeKind.Error))
        {
            Report(root, $"a condition must be true or false, but this one is {Article(type)}");
        }
    }

    private CelType Check(CelExpr expr)
    {
        var type = CheckCore(expr);
        expr.Type = type;
        return type;
    }

    private CelType CheckCore(CelExpr expr)
    {
        switch (expr)
        {
            case CelLiteral literal:
                return literal.Value.Kind switch
                {
                    CelKind.Bool => CelType.Bool,
                    CelKind.Int => CelType.Int,
                    CelKind.Double => CelType.Double,
                    CelKind.String => CelType.String,
                    _ => CelType.Null,
                };
            case CelIdent ident:
                return CheckIdent(ident);
            case CelSelect select:
                return CheckSelect(select);
            case CelIndex index:
                return CheckIndex(index);
            case CelCall call:
                return CheckCall(call);
            case CelUnary unary:
                return CheckUnary(unary);
            case CelBinary binary:
                return CheckBinary(binary);
            case CelList list:
                return CheckList(list);
            case CelComprehension comprehension:
                return CheckComprehension(comprehension);
            default:
                throw new InvalidOperationException("unknown node " + expr.GetType().Name);
        }
    }

    private CelType CheckIdent(CelIdent ident)
    {
        for (var i = _scope.Count - 1; i >= 0; i--)
        {
            if (_scope[i].Name == ident.Name)
            {
                return _scope[i].Type;
            }
        }

        if (_variables.TryGetValue(ident.Name, out var variable))
        {
            return variable.Type;
        }

        var names = _variables.Keys.Concat(_scope.Select(s => s.Name)).ToList();
        Report(ident, $"unknown name '{ident.Name}'", Suggest.Hint(ident.Name, names) ?? "a condition can use: " + string.Join(", ", _variables.Keys));
        return CelType.Error;
    }

    private CelType CheckSelect(CelSelect select)
    {
        var operand = Check(select.Operand);
        if (operand.IsDynOrError)
        {
            return select.IsPresenceTest ? CelType.Bool : operand;
        }

        if (operand.Kind != CelTypeKind.Map)
        {
            Report(select, $"'{select.Field}' cannot be selected from {Article(operand)}");
            return CelType.Error;
        }

        if (select.Operand is CelIdent ident && _variables.TryGetValue(ident.Name, out var variable) && variable.Fields is { } fields
            && !_scope.Any(s => s.Name == ident.Name))
        {
            if (fields.TryGetValue(select.Field, out var fieldType))
            {
                return select.IsPresenceTest ? CelType.Bool : fieldType;
            }

            if (variable.FieldsClosed)
            {
                Report(select, $"'{select.Field}' is not among {variable.FieldsDescription}",
                    Suggest.Hint(select.Field, fields.Keys) ?? (fields.Count == 0 ? "they take no arguments" : "they are: " + string.Join(", ", fields.Keys.Order())));
                return CelType.Error;
            }
        }

        return select.IsPresenceTest ? CelType.Bool : operand.Element!;
    }

    private CelType CheckIndex(CelIndex index)
    {
        var operand = Check(index.Operand);
        var key = Check(index.Key);
        switch (operand.Kind)
        {
            case CelTypeKind.Dyn or CelTypeKind.Error:
                return operand;
            case CelTypeKind.List:
                if (!key.IsDynOrError && key.Kind != CelTypeKind.Int)
                {
                    Report(index.Key, $"a list is indexed by an int, not {Article(key)}");
                }

                return operand.Element!;
            case CelTypeKind.Map:
                if (!CelType.Compatible(key, operand.Key!))
                {
                    Report(index.Key, $"this map is indexed by {Article(operand.Key!)}, not {Article(key)}");
                }

                return operand.Element!;
            default:
                Report(index, $"{Article(operand)} cannot be indexed");
                return CelType.Error;
        }
    }

    private CelType CheckCall(CelCall call)
    {
        if (!Functions.Contains(call.Function))
        {
            // Report the function alone: its arguments may only make sense to the function meant.
            Report(call, $"unknown function '{call.Function}'", Suggest.Hint(call.Function, Functions)
                ?? "Warden's CEL subset has: " + string.Join(", ", Functions));
            return CelType.Error;
        }

        var target = call.Target is null ? null : Check(call.Target);
        var args = call.Args.Select(Check).ToList();
        switch (call.Function)
        {
            case "size":
                var subject = target ?? (args.Count == 1 ? args[0] : null);
                if (subject is null || (target is not null && args.Count != 0))
                {
                    Report(call, "size() takes one value: size(fields) or fields.size()");
                    return CelType.Int;
                }

                if (!subject.IsDynOrError && subject.Kind is not (CelTypeKind.String or CelTypeKind.List or CelTypeKind.Map))
                {
                    Report(call, $"size() takes a string, list or map, not {Article(subject)}");
                }

                return CelType.Int;
            case "startsWith" or "endsWith" or "contains":
                if (target is null || args.Count != 1)
                {
                    Report(call, $"write {call.Function} as a method with one argument, e.g. tool.{call.Function}(\"contacts.\")");
                    return CelType.Bool;
                }

                RequireString(call.Target!, target, call.Function);
                RequireString(call.Args[0], args[0], call.Function);
                return CelType.Bool;
            case "matches":
                var (text, pattern, patternType) = target is not null && args.Count == 1 ? (call.Target!, call.Args[0], args[0])
                    : target is null && args.Count == 2 ? (call.Args[0], call.Args[1], args[1])
                    : (null, null, null);
                if (text is null)
                {
                    Report(call, "write matches as s.matches(\"pattern\")");
                    return CelType.Bool;
                }

                RequireString(text, text.Type, "matches");
                CheckPattern(call, pattern!, patternType!);
                return CelType.Bool;
            default:
                // exists, all and has are macros the parser expands; written as calls they are misused.
                Report(call, $"{call.Function}() is written {(call.Function == "has" ? "has(args.field)" : $"list.{call.Function}(x, condition)")}");
                return CelType.Error;
        }
    }

    private void CheckPattern(CelCall call, CelExpr pattern, CelType type)
    {
        if (pattern is not CelLiteral { Value.Kind: CelKind.String } literal)
        {
            if (!type.IsDynOrError)
            {
                Report(pattern, "matches() needs its pattern written as a literal string, so it can be checked before the policy loads");
            }

            return;
        }

        if (Re2Pattern.Translate(literal.Value.AsString, out var unsupported) is not { } translated)
        {
            Report(pattern, $"this pattern is not a regular expression Warden accepts: {unsupported}", "CEL patterns follow RE2");
            return;
        }

        try
        {
            // NonBacktracking runs in linear time, like the RE2 engine CEL specifies.
            Patterns[call] = new Regex(translated, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            Report(pattern, "this pattern is not a regular expression Warden accepts: " + e.Message.TrimEnd('.'),
                "CEL patterns follow RE2: no backreferences or lookaround");
        }
    }

    private void RequireString(CelExpr at, CelType type, string function)
    {
        if (!type.IsDynOrError && type.Kind != CelTypeKind.String)
        {
            Report(at, $"{function}() works on strings, not {Article(type)}",
                type.Kind == CelTypeKind.List ? "for a list, use 'x in list' or list.exists(v, v.startsWith(...))" : null);
        }
    }

    private CelType CheckUnary(CelUnary unary)
    {
        var operand = Check(unary.Operand);
        if (operand.IsDynOrError)
        {
            return unary.Op == "!" ? CelType.Bool : operand;
        }

        if (unary.Op == "!")
        {
            if (operand.Kind != CelTypeKind.Bool)
            {
                Report(unary, $"'!' needs true or false, not {Article(operand)}");
            }

            return CelType.Bool;
        }

        if (!operand.IsNumeric)
        {
            Report(unary, $"'-' needs a number, not {Article(operand)}");
            return CelType.Error;
        }

        return operand;
    }

    private CelType CheckBinary(CelBinary binary)
    {
        var left = Check(binary.Left);
        var right = Check(binary.Right);
        switch (binary.Op)
        {
            case "&&" or "||":
                RequireBool(binary.Left, left, binary.Op, "left");
                RequireBool(binary.Right, right, binary.Op, "right");
                return CelType.Bool;
            case "==" or "!=":
                if (!CelType.Compatible(left, right) && !(NullComparable && (left.Kind == CelTypeKind.Null || right.Kind == CelTypeKind.Null)))
                {
                    Report(binary, $"{Article(left)} cannot be compared with {Article(right)} using '{binary.Op}'",
                        left.IsNumeric && right.IsNumeric ? "write both numbers the same way, e.g. 5 or 5.0"
                        : right.Kind == CelTypeKind.String || left.Kind == CelTypeKind.String ? "a quoted value is a string; numbers and true/false are written without quotes"
                        : null);
                }

                return CelType.Bool;
            case "<" or "<=" or ">" or ">=":
                var orderable = left.IsDynOrError || right.IsDynOrError
                    || (left.IsNumeric && right.IsNumeric)
                    || (left.Kind == right.Kind && left.Kind is CelTypeKind.String or CelTypeKind.Bool);
                if (!orderable)
                {
                    Report(binary, $"{Article(left)} cannot be ordered against {Article(right)} with '{binary.Op}'",
                        right.Kind == CelTypeKind.String && left.IsNumeric ? "numbers are written without quotes" : null);
                }

                return CelType.Bool;
            case "in":
                switch (right.Kind)
                {
                    case CelTypeKind.Dyn or CelTypeKind.Error:
                        break;
                    case CelTypeKind.List:
                        if (!CelType.Compatible(left, right.Element!))
                        {
                            Report(binary, $"{Article(left)} can never be in {Article(right)}");
                        }

                        break;
                    case CelTypeKind.Map:
                        if (!CelType.Compatible(left, right.Key!))
                        {
                            Report(binary, $"{Article(left)} can never be a key of {Article(right)}");
                        }

                        break;
                    default:
                        Report(binary.Right, $"'in' needs a list or map on its right, not {Article(right)}",
                            right.Kind == CelTypeKind.String ? "for a substring, write s.contains(\"...\")" : null);
                        break;
                }

                return CelType.Bool;
            default:
                throw new InvalidOperationException("unknown operator " + binary.Op);
        }
    }

    private void RequireBool(CelExpr at, CelType type, string op, string side)
    {
        if (!type.IsDynOrError && type.Kind != CelTypeKind.Bool)
        {
            Report(at, $"'{op}' needs true or false on both sides, but the {side} side is {Article(type)}");
        }
    }

    private CelType CheckList(CelList list)
    {
        var types = list.Items.Select(Check).ToList();
        if (types.Count == 0)
        {
            return CelType.DynList;
        }

        var first = types[0];
        return types.All(t => t.Kind == first.Kind && CelType.Compatible(t, first)) ? CelType.List(first) : CelType.DynList;
    }

    private CelType CheckComprehension(CelComprehension comprehension)
    {
        var range = Check(comprehension.Range);
        var variable = range.Kind switch
        {
            CelTypeKind.List => range.Element!,
            CelTypeKind.Map => range.Key!,
            CelTypeKind.Dyn or CelTypeKind.Error => range,
            _ => null,
        };
        if (variable is null)
        {
            Report(comprehension.Range, $"{(comprehension.IsAll ? "all" : "exists")}() needs a list or map, not {Article(range)}");
            variable = CelType.Error;
        }

        if (_comprehensionDepth >= CelActivation.MaxNestedComprehensions)
        {
            Report(comprehension, $"exists() and all() nest at most {CelActivation.MaxNestedComprehensions} deep");
            return CelType.Bool;
        }

        comprehension.Slot = _comprehensionDepth++;
        _scope.Add((comprehension.Variable, variable));
        var predicate = Check(comprehension.Predicate);
        _scope.RemoveAt(_scope.Count - 1);
        _comprehensionDepth--;
        if (!predicate.IsDynOrError && predicate.Kind != CelTypeKind.Bool)
        {
            Report(comprehension.Predicate, $"the condition inside {(comprehension.IsAll ? "all" : "exists")}() must be true or false, not {Article(predicate)}");
        }

        return CelType.Bool;
    }

    private void Report(CelExpr at, string message, string? hint = null) => _problems.Add(new CelProblem(at.Start, at.End, message, hint));

    private static string Article(CelType type) => type.Kind switch
    {
        CelTypeKind.Int => "an int",
        CelTypeKind.Null => "null",
        CelTypeKind.Error => "an invalid value",
        _ => "a " + type,
    };
}
