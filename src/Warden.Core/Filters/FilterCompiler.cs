using System.Globalization;
using Warden.Core.Cel;

namespace Warden.Core;

/// <summary>The type of a column a filter can test.</summary>
public enum FilterFieldType
{
    /// <summary>Text, including ISO-8601 timestamps (which order as text).</summary>
    Text,
    /// <summary>A whole number.</summary>
    Integer,
}

/// <summary>A column a filter may name, with its type.</summary>
public sealed record FilterField(string Name, FilterFieldType Type);

/// <summary>The SQL engine a filter is written for.</summary>
public enum SqlDialect
{
    /// <summary>SQLite.</summary>
    Sqlite,
    /// <summary>PostgreSQL.</summary>
    Postgres,
}

/// <summary>A filter compiled to a parameterised SQL predicate: <c>@f0</c>, <c>@f1</c>, ... (or another prefix) bound to <see cref="Parameters"/>.</summary>
public sealed record SqlFilter(string Sql, IReadOnlyList<object> Parameters, IReadOnlyList<string> Fields);

/// <summary>
/// Compiles a filter written in Warden's CEL subset (the language of policy conditions) over a
/// table's columns into a parameterised SQL predicate: no value is ever spliced into SQL text.
/// A column without a value is false under ==, &lt;, &gt;, in and the string tests, and true
/// under != (CEL compares null as a value), so that ! always means "not".
/// </summary>
public static class FilterCompiler
{
    /// <summary>Compiles the filter; on failure returns false with a sentence saying what and where.</summary>
    public static bool TryCompile(string filter, IReadOnlyList<FilterField> fields, SqlDialect dialect, out SqlFilter? sql, out string? error) =>
        TryCompile(filter, fields, dialect, "f", out sql, out error);

    /// <summary>As above, naming parameters @{prefix}0, @{prefix}1, ... so that two filters can share one statement.</summary>
    public static bool TryCompile(string filter, IReadOnlyList<FilterField> fields, SqlDialect dialect, string parameterPrefix, out SqlFilter? sql, out string? error)
    {
        sql = null;
        var (syntax, problem) = CelParser.Parse(filter);
        if (syntax is null)
        {
            error = Describe(filter, problem!);
            return false;
        }

        var variables = fields.ToDictionary(f => f.Name, f => new CelVariable(f.Name, f.Type == FilterFieldType.Integer ? CelType.Int : CelType.String,
            static (ref CelActivation _) => CelValue.Null, f.Name), StringComparer.Ordinal);
        // Columns may be empty: comparing one with null is how a filter asks "has no value".
        var checker = new CelChecker(variables) { NullComparable = true };
        checker.CheckCondition(syntax);
        if (checker.Problems.Count > 0)
        {
            error = Describe(filter, checker.Problems[0]);
            return false;
        }

        var translation = new Translation(dialect, parameterPrefix);
        if (!translation.Predicate(syntax, out var text))
        {
            error = Describe(filter, translation.Problem!);
            return false;
        }

        sql = new SqlFilter(text, translation.Parameters, [.. translation.Fields]);
        error = null;
        return true;
    }

    private static string Describe(string filter, CelProblem problem)
    {
        var near = problem.End > problem.Start && problem.End <= filter.Length ? $" (at '{filter[problem.Start..problem.End]}', character {problem.Start + 1})" : "";
        var hint = problem.Hint is null ? "" : $"; {problem.Hint}";
        return $"{problem.Message}{near}{hint}";
    }

    private sealed class Translation(SqlDialect dialect, string prefix)
    {
        public List<object> Parameters { get; } = [];

        public SortedSet<string> Fields { get; } = new(StringComparer.Ordinal);

        public CelProblem? Problem { get; private set; }

        /// <summary>A boolean expression, always two-valued (never SQL NULL), so NOT keeps its meaning.</summary>
        public bool Predicate(CelExpr expr, out string sql)
        {
            sql = "";
            switch (expr)
            {
                case CelLiteral { Value.Kind: CelKind.Bool } literal:
                    sql = literal.Value.AsBool ? "1 = 1" : "1 = 0";
                    return true;
                case CelUnary { Op: "!" } not:
                    if (!Predicate(not.Operand, out var inner))
                    {
                        return false;
                    }

                    sql = $"NOT ({inner})";
                    return true;
                case CelBinary { Op: "&&" or "||" } logical:
                    if (!Predicate(logical.Left, out var left) || !Predicate(logical.Right, out var right))
                    {
                        return false;
                    }

                    sql = $"({left} {(logical.Op == "&&" ? "AND" : "OR")} {right})";
                    return true;
                case CelBinary { Op: "==" or "!=" or "<" or "<=" or ">" or ">=" } comparison:
                    return Comparison(comparison, out sql);
                case CelBinary { Op: "in" } membership:
                    return Membership(membership, out sql);
                case CelCall { Function: "startsWith" or "endsWith" or "contains", Target: CelIdent field } call when call.Args[0] is CelLiteral { Value.Kind: CelKind.String } text:
                    var column = Column(field);
                    var p = Parameter(text.Value.AsString);
                    var length = text.Value.AsString.Length;
                    sql = call.Function switch
                    {
                        "startsWith" => $"({column} IS NOT NULL AND substr({column}, 1, {length}) = {p})",
                        "endsWith" => $"({column} IS NOT NULL AND length({column}) >= {length} AND substr({column}, length({column}) - {length} + 1) = {p})",
                        _ => dialect == SqlDialect.Postgres ? $"({column} IS NOT NULL AND strpos({column}, {p}) > 0)" : $"({column} IS NOT NULL AND instr({column}, {p}) > 0)",
                    };
                    return true;
                default:
                    return Fail(expr, expr is CelCall c ? $"filters do not support {c.Function}() here" : "filters support comparisons of fields with values, in [...], startsWith, endsWith and contains, combined with &&, || and !",
                        expr is CelCall { Function: "startsWith" or "endsWith" or "contains" } ? "write it on a field with a quoted value, e.g. email.endsWith('@example.com')" : null);
            }
        }

        private bool Comparison(CelBinary comparison, out string sql)
        {
            sql = "";
            var (field, value, op) = comparison switch
            {
                { Left: CelIdent f, Right: var v } => (f, v, comparison.Op),
                { Left: var v, Right: CelIdent f } => (f, v, Flip(comparison.Op)),
                _ => (null, null, comparison.Op),
            };
            if (field is null)
            {
                var call = comparison.Left as CelCall ?? comparison.Right as CelCall;
                return Fail(comparison, call is null ? "a comparison in a filter needs a field on one side" : $"filters do not support {call.Function}() here");
            }

            var column = Column(field);
            if (value is CelLiteral { Value.Kind: CelKind.Null })
            {
                sql = op switch
                {
                    "==" => $"{column} IS NULL",
                    "!=" => $"{column} IS NOT NULL",
                    _ => "",
                };
                return sql.Length > 0 || Fail(comparison, "null can only be compared with == or !=");
            }

            string other;
            if (value is CelIdent otherField)
            {
                other = Column(otherField);
                var bothSet = $"{column} IS NOT NULL AND {other} IS NOT NULL";
                sql = op == "!=" ? $"({column} IS NULL OR {other} IS NULL OR {column} <> {other})" : $"({bothSet} AND {column} {Sql(op)} {other})";
                return true;
            }

            if (!Literal(value!, out other))
            {
                return false;
            }

            sql = op == "!=" ? $"({column} IS NULL OR {column} <> {other})" : $"({column} IS NOT NULL AND {column} {Sql(op)} {other})";
            return true;
        }

        private bool Membership(CelBinary membership, out string sql)
        {
            sql = "";
            if (membership.Left is not CelIdent field || membership.Right is not CelList list)
            {
                return Fail(membership, "'in' in a filter is written field in ['a', 'b']");
            }

            if (list.Items.Count == 0)
            {
                sql = "1 = 0";
                return true;
            }

            var values = new List<string>();
            foreach (var item in list.Items)
            {
                if (!Literal(item, out var p))
                {
                    return false;
                }

                values.Add(p);
            }

            var column = Column(field);
            sql = $"({column} IS NOT NULL AND {column} IN ({string.Join(", ", values)}))";
            return true;
        }

        private bool Literal(CelExpr expr, out string parameter)
        {
            parameter = "";
            if (expr is not CelLiteral literal || literal.Value.Kind is CelKind.Null or CelKind.Bool or CelKind.List)
            {
                return Fail(expr, "compare fields with quoted text or numbers");
            }

            parameter = Parameter(literal.Value.Kind switch
            {
                CelKind.Int => literal.Value.AsInt,
                CelKind.Double => literal.Value.AsDouble,
                _ => literal.Value.AsString,
            });
            return true;
        }

        private string Column(CelIdent field)
        {
            Fields.Add(field.Name);
            // Names come from the declared fields (the checker refused any other), so quoting is enough.
            return $"\"{field.Name}\"";
        }

        private string Parameter(object value)
        {
            Parameters.Add(value);
            return "@" + prefix + (Parameters.Count - 1).ToString(CultureInfo.InvariantCulture);
        }

        private bool Fail(CelExpr at, string message, string? hint = null)
        {
            Problem = new CelProblem(at.Start, at.End, message, hint);
            return false;
        }

        private static string Sql(string op) => op switch { "==" => "=", "!=" => "<>", _ => op };

        private static string Flip(string op) => op switch { "<" => ">", "<=" => ">=", ">" => "<", ">=" => "<=", _ => op };
    }
}
