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

    public static CelCondition? Compile(string text, IReadOnlyDictionary<string, CelVariable> variables, out IReadOnlyList<CelProblem> problems, out bool syntaxError)
    {
        var (syntax, syntaxProblem) = CelParser.Parse(text);
        syntaxError = syntax is null;
        if (syntax is null)
        {
            problems = [syntaxProblem!];
            return null;
        }

        var checker = new CelChecker(variables);
        checker.CheckCondition(syntax);
        problems = checker.Problems;
        if (problems.Count > 0)
        {
            return null;
        }

        var eval = new CelCompiler(variables, checker.Patterns).Compile(syntax);
        return new CelCondition(text, syntax, eval);
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
