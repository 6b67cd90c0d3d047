namespace Warden.Core.Cel;

/// <summary>A rule's condition, parsed, type-checked and compiled once when the policy loads.</summary>
internal sealed class CelCondition
{
    private readonly CelEval _eval;

    private CelCondition(string text, CelExpr syntax, CelEval eval)
    {
        Text = text;
        Syntax = syntax;
        _eval = eval;
    }

    public string Text { get; }

    public CelExpr Syntax { get; }

    public static CelCondition? Compile(string text, IReadOnlyDictionary<string, CelVariable> variables, out IReadOnlyList<CelProblem> problems, out bool syntaxError) =>
        Compile(text, variables, static (checker, syntax) => checker.CheckCondition(syntax), out problems, out syntaxError);

    /// <summary>Compiles an expression that counts (a whole number), such as a tool's <c>records: args.ids.size()</c>.</summary>
    public static CelCondition? CompileCount(string text, IReadOnlyDictionary<string, CelVariable> variables, out IReadOnlyList<CelProblem> problems, out bool syntaxError) =>
        Compile(text, variables, static (checker, syntax) => checker.CheckCount(syntax), out problems, out syntaxError);

    private static CelCondition? Compile(string text, IReadOnlyDictionary<string, CelVariable> variables, Action<CelChecker, CelExpr> check,
        out IReadOnlyList<CelProblem> problems, out bool syntaxError)
    {
        var (syntax, syntaxProblem) = CelParser.Parse(text);
        syntaxError = syntax is null;
        if (syntax is null)
        {
            problems = [syntaxProblem!];
            return null;
        }

        var checker = new CelChecker(variables);
        check(checker, syntax);
        problems = checker.Problems;
        return problems.Count > 0 ? null : new CelCondition(text, syntax, new CelCompiler(variables, checker.Patterns).Compile(syntax));
    }

    /// <summary>The count over a call's arguments, or why there is none (an error, or not a whole number at least 0).</summary>
    public bool TryCount(System.Text.Json.JsonElement arguments, out long count, out string? problem)
    {
        var activation = new CelActivation(new ConditionInput(PlanFacts.None, [], arguments, "", "", "", "", "", "", false, false, 0, 0));
        var value = _eval(ref activation);
        (count, problem) = value.Kind == CelKind.Int && value.AsInt >= 0 ? (value.AsInt, null)
            : value.IsError ? (0L, value.Error.Message)
            : (0L, $"'{Text}' gave {value}, not a whole number of records");
        return problem is null;
    }

    public CelValue Evaluate(ref CelActivation activation) => _eval(ref activation);

    /// <summary>
    /// Why the condition can never be true, when that can be seen without a call: it is a constant
    /// false, or its top-level conjunction bounds a count so that no number fits ("records &gt; 10
    /// &amp;&amp; records &lt; 5").
    /// </summary>
    public string? NeverTrueReason()
    {
        if (!Identifiers(Syntax).Any())
        {
            var activation = new CelActivation(new ConditionInput(PlanFacts.None, [], default, "", "", "", "", "", "", false, false, 0, 0));
            var value = _eval(ref activation);
            return value.IsFalse ? "it is always false" : null;
        }

        var bounds = new Dictionary<string, (long Low, long High)>();
        var equals = new Dictionary<string, string>();
        foreach (var term in Conjuncts(Syntax))
        {
            if (term is not CelBinary { Op: "==" or "<" or "<=" or ">" or ">=" } comparison)
            {
                continue;
            }

            var (name, op, literal) = comparison switch
            {
                { Left: CelIdent i, Right: CelLiteral l } => (i.Name, comparison.Op, l.Value),
                { Left: CelLiteral l, Right: CelIdent i } => (i.Name, Flip(comparison.Op), l.Value),
                _ => (null, null, default(CelValue)),
            };
            if (name is null)
            {
                continue;
            }

            if (literal.Kind == CelKind.String && op == "==")
            {
                if (equals.TryGetValue(name, out var other) && other != literal.AsString)
                {
                    return $"{name} cannot equal both '{other}' and '{literal.AsString}'";
                }

                equals[name] = literal.AsString;
                continue;
            }

            if (literal.Kind != CelKind.Int || comparison.Left.Type.Kind != CelTypeKind.Int && comparison.Right.Type.Kind != CelTypeKind.Int)
            {
                continue;
            }

            // records, recipients, deleted and changed are counts: never below zero.
            var (low, high) = bounds.TryGetValue(name, out var b) ? b : (name is "records" or "recipients" or "deleted" or "changed" ? 0 : long.MinValue, long.MaxValue);
            var c = literal.AsInt;
            switch (op)
            {
                case "==": low = Math.Max(low, c); high = Math.Min(high, c); break;
                case "<": high = Math.Min(high, c == long.MinValue ? c : c - 1); break;
                case "<=": high = Math.Min(high, c); break;
                case ">": low = Math.Max(low, c == long.MaxValue ? c : c + 1); break;
                case ">=": low = Math.Max(low, c); break;
            }

            if (low > high)
            {
                return high < 0 && name is "records" or "recipients" or "deleted" or "changed"
                    ? $"{name} is a count and is never below zero"
                    : $"no value of {name} is at least {low} and at most {high}";
            }

            bounds[name] = (low, high);
        }

        return null;
    }

    /// <summary>
    /// The names a condition compares the call with, as written: <c>tool == 'contacts.merge'</c>,
    /// <c>agent in ['a', 'b']</c>, <c>'pii' in classes</c>, <c>fields.exists(f, f == 'contacts.email')</c>.
    /// The checker looks each up, so that a misspelt one is an error instead of a test that is never true.
    /// </summary>
    public IReadOnlyList<CelName> Names()
    {
        var names = new List<CelName>();
        Collect(Syntax, NameScope.Empty, names);
        return names;
    }

    /// <summary>The identity variables whose values are names of the policy or the catalogue.</summary>
    private static readonly HashSet<string> NameVariables = new(StringComparer.Ordinal) { "tool", "agent", "use_case", "system", "environment", "kind" };

    /// <summary>Which variable an identifier stands for here: itself when free, the list it ranges over when a macro binds it.</summary>
    /// <summary>What the identifiers in scope hold: a macro binds its variable to one item of the list it ranges over.</summary>
    private sealed class NameScope(string? variable, string? range, NameScope? outer)
    {
        public static readonly NameScope Empty = new(null, null, null);

        private string? Variable { get; } = variable;

        private string? Range { get; } = range;

        private NameScope? Outer { get; } = outer;

        public NameScope Bind(string name, string? rangeOf) => new(name, rangeOf, this);

        /// <summary>
        /// The variable one name of which <paramref name="name"/> holds: tool, agent ... when free,
        /// classes or fields when a macro binds it to their items; null otherwise.
        /// </summary>
        public string? OneName(string name) =>
            Bound(name, out var range) ? range : NameVariables.Contains(name) ? name : null;

        /// <summary>classes or fields, when <paramref name="name"/> is that list itself (not a macro's variable).</summary>
        public string? List(string name) => !Bound(name, out _) && IsList(name) ? name : null;

        private bool Bound(string name, out string? range)
        {
            for (var scope = this; scope is not null; scope = scope.Outer)
            {
                if (scope.Variable == name)
                {
                    range = scope.Range;
                    return true;
                }
            }

            range = null;
            return false;
        }
    }

    private static void Collect(CelExpr expr, NameScope scope, List<CelName> names)
    {
        switch (expr)
        {
            case CelBinary { Op: "==" or "!=" } b:
                Compared(b.Left, b.Right, scope, names);
                Compared(b.Right, b.Left, scope, names);
                Collect(b.Left, scope, names);
                Collect(b.Right, scope, names);
                break;
            case CelBinary { Op: "in" } b:
                // tool in ['a', 'b'] (one name each), and 'pii' in classes (the name in the list).
                if (b.Left is CelIdent item && scope.OneName(item.Name) is { } variable && b.Right is CelList list)
                {
                    foreach (var element in list.Items)
                    {
                        Literal(variable, element, names);
                    }
                }
                else if (b.Right is CelIdent range && scope.List(range.Name) is { } listVariable)
                {
                    Literal(listVariable, b.Left, names);
                }

                Collect(b.Left, scope, names);
                Collect(b.Right, scope, names);
                break;
            case CelBinary b:
                Collect(b.Left, scope, names);
                Collect(b.Right, scope, names);
                break;
            case CelUnary u:
                Collect(u.Operand, scope, names);
                break;
            case CelComprehension m:
                Collect(m.Range, scope, names);
                var rangeOf = m.Range is CelIdent r ? scope.List(r.Name) : null;
                Collect(m.Predicate, scope.Bind(m.Variable, rangeOf), names);
                break;
            case CelCall c:
                if (c.Target is not null)
                {
                    Collect(c.Target, scope, names);
                }

                foreach (var argument in c.Args)
                {
                    Collect(argument, scope, names);
                }

                break;
            case CelSelect s:
                Collect(s.Operand, scope, names);
                break;
            case CelIndex i:
                Collect(i.Operand, scope, names);
                Collect(i.Key, scope, names);
                break;
            case CelList l:
                foreach (var element in l.Items)
                {
                    Collect(element, scope, names);
                }

                break;
        }
    }

    private static bool IsList(string variable) => variable is "classes" or "fields";

    private static void Compared(CelExpr side, CelExpr other, NameScope scope, List<CelName> names)
    {
        // A variable that holds one name (tool), or a macro's variable over a list of them (f in fields).
        if (side is CelIdent ident && scope.OneName(ident.Name) is { } variable)
        {
            Literal(variable, other, names);
        }
    }

    private static void Literal(string variable, CelExpr expr, List<CelName> names)
    {
        if (expr is CelLiteral { Value.Kind: CelKind.String } literal)
        {
            names.Add(new CelName(variable, literal.Value.AsString, literal.Start, literal.End));
        }
    }

    private static string Flip(string op) => op switch { "<" => ">", "<=" => ">=", ">" => "<", ">=" => "<=", _ => op };

    private static IEnumerable<CelExpr> Conjuncts(CelExpr expr)
    {
        var pending = new Stack<CelExpr>();
        pending.Push(expr);
        while (pending.Count > 0)
        {
            var next = pending.Pop();
            if (next is CelBinary { Op: "&&" } and)
            {
                pending.Push(and.Right);
                pending.Push(and.Left);
            }
            else
            {
                yield return next;
            }
        }
    }

    private static IEnumerable<string> Identifiers(CelExpr expr)
    {
        var pending = new Stack<CelExpr>();
        pending.Push(expr);
        while (pending.Count > 0)
        {
            switch (pending.Pop())
            {
                case CelIdent ident:
                    yield return ident.Name;
                    break;
                case CelSelect s:
                    pending.Push(s.Operand);
                    break;
                case CelIndex i:
                    pending.Push(i.Operand);
                    pending.Push(i.Key);
                    break;
                case CelCall c:
                    if (c.Target is not null)
                    {
                        pending.Push(c.Target);
                    }

                    foreach (var a in c.Args)
                    {
                        pending.Push(a);
                    }

                    break;
                case CelUnary u:
                    pending.Push(u.Operand);
                    break;
                case CelBinary b:
                    pending.Push(b.Left);
                    pending.Push(b.Right);
                    break;
                case CelList l:
                    foreach (var item in l.Items)
                    {
                        pending.Push(item);
                    }

                    break;
                case CelComprehension m:
                    // The loop variable is bound inside; only the range names facts of the call.
                    pending.Push(m.Range);
                    foreach (var name in Identifiers(m.Predicate).Where(n => n != m.Variable))
                    {
                        yield return name;
                    }

                    break;
            }
        }
    }
}

/// <summary>A name a condition compares a variable with, and where the quoted name is in the condition.</summary>
internal readonly record struct CelName(string Variable, string Value, int Start, int End);
