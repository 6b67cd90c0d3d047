using System.Text.RegularExpressions;

namespace Warden.Core.Cel;

/// <summary>
/// Turns a checked condition into a tree of delegates, once, when the policy loads. Evaluation is
/// then a handful of direct calls over structs: no interpretation of the syntax tree, no boxing,
/// no allocation. (The CEL packages on NuGet interpret protobuf values and are far slower.)
/// </summary>
internal sealed class CelCompiler
{
    private readonly IReadOnlyDictionary<string, CelVariable> _variables;
    private readonly IReadOnlyDictionary<CelExpr, Regex> _patterns;
    private readonly List<(string Name, int Slot)> _scope = [];

    public CelCompiler(IReadOnlyDictionary<string, CelVariable> variables, IReadOnlyDictionary<CelExpr, Regex> patterns)
    {
        _variables = variables;
        _patterns = patterns;
    }

    public CelEval Compile(CelExpr expr)
    {
        switch (expr)
        {
            case CelLiteral literal:
                var constant = literal.Value;
                return (ref CelActivation _) => constant;
            case CelIdent ident:
                return CompileIdent(ident);
            case CelSelect select:
                return CompileSelect(select);
            case CelIndex index:
                return CompileIndex(index);
            case CelCall call:
                return CompileCall(call);
            case CelUnary unary:
                var operand = Compile(unary.Operand);
                if (unary.Op == "!")
                {
                    return (ref CelActivation a) => CelOps.Not(operand(ref a));
                }

                var overflow = new CelError("negating the smallest int overflows");
                return (ref CelActivation a) => CelOps.Negate(operand(ref a), overflow);
            case CelBinary binary:
                return CompileBinary(binary);
            case CelList list:
                return CompileList(list);
            case CelComprehension comprehension:
                return CompileComprehension(comprehension);
            default:
                throw new InvalidOperationException("unknown node " + expr.GetType().Name);
        }
    }

    private CelEval CompileIdent(CelIdent ident)
    {
        for (var i = _scope.Count - 1; i >= 0; i--)
        {
            if (_scope[i].Name == ident.Name)
            {
                var slot = _scope[i].Slot;
                return (ref CelActivation a) => a.Slots[slot];
            }
        }

        return _variables[ident.Name].Read;
    }

    private CelEval CompileSelect(CelSelect select)
    {
        var operand = Compile(select.Operand);
        var field = select.Field;
        if (select.IsPresenceTest)
        {
            var notAMap = new CelError($"has() needs a map to look '{field}' up in");
            return (ref CelActivation a) =>
            {
                var map = operand(ref a);
                return map.Kind switch
                {
                    CelKind.Map => CelValue.Of(map.TryGetField(field, out _)),
                    CelKind.Error => map,
                    _ => CelValue.Fail(notAMap),
                };
            };
        }

        var noSuchKey = new CelError($"no such key: '{field}'");
        var notSelectable = new CelError($"'{field}' cannot be selected from a value that is not a map");
        return (ref CelActivation a) =>
        {
            var map = operand(ref a);
            if (map.Kind == CelKind.Map)
            {
                return map.TryGetField(field, out var value) ? value : CelValue.Fail(noSuchKey);
            }

            return map.IsError ? map : CelValue.Fail(notSelectable);
        };
    }

    private CelEval CompileIndex(CelIndex index)
    {
        var operand = Compile(index.Operand);
        var key = Compile(index.Key);
        var outOfRange = new CelError("index out of range");
        var noSuchKey = new CelError("no such key");
        return (ref CelActivation a) =>
        {
            var container = operand(ref a);
            if (container.IsError)
            {
                return container;
            }

            var k = key(ref a);
            if (k.IsError)
            {
                return k;
            }

            switch (container.Kind)
            {
                case CelKind.List when k.Kind == CelKind.Int:
                    return container.TryGetIndex(k.AsInt, out var item) ? item : CelValue.Fail(outOfRange);
                case CelKind.List when k.Kind == CelKind.Double && k.AsDouble == Math.Floor(k.AsDouble):
                    return container.TryGetIndex((long)k.AsDouble, out var element) ? element : CelValue.Fail(outOfRange);
                case CelKind.Map when k.Kind == CelKind.String:
                    return container.TryGetField(k.AsString, out var value) ? value : CelValue.Fail(noSuchKey);
                case CelKind.Map:
                    return CelValue.Fail(noSuchKey);
                default:
                    return CelValue.Fail(CelError.NoMatchingOverload);
            }
        };
    }

    private CelEval CompileCall(CelCall call)
    {
        switch (call.Function)
        {
            case "size":
                var subject = Compile(call.Target ?? call.Args[0]);
                return (ref CelActivation a) => CelOps.Size(subject(ref a));
            case "matches":
                var text = Compile(call.Target ?? call.Args[0]);
                if (!_patterns.TryGetValue(call, out var regex))
                {
                    // Only a dyn pattern gets here; the checker insists on literals for typed ones.
                    return (ref CelActivation _) => CelValue.Fail(new CelError("matches() needs a literal pattern"));
                }

                return (ref CelActivation a) =>
                {
                    var s = text(ref a);
                    return s.Kind switch
                    {
                        CelKind.String => CelValue.Of(regex.IsMatch(s.AsString)),
                        CelKind.Error => s,
                        _ => CelValue.Fail(CelError.NoMatchingOverload),
                    };
                };
            default:
                return CompileStringTest(call);
        }
    }

    private CelEval CompileStringTest(CelCall call)
    {
        var target = Compile(call.Target!);
        var argument = Compile(call.Args[0]);
        var function = call.Function;

        // With a literal argument, a JSON string is tested on its UTF-8 bytes: no allocation.
        // (Byte-wise prefix, suffix and substring tests agree with char-wise ones on valid UTF-8.)
        var literal = call.Args[0] is CelLiteral { Value.Kind: CelKind.String } l ? System.Text.Encoding.UTF8.GetBytes(l.Value.AsString) : null;
        return (ref CelActivation a) =>
        {
            var s = target(ref a);
            if (s.IsError)
            {
                return s;
            }

            if (literal is not null && s.TryGetJsonUtf8(out var utf8))
            {
                return CelValue.Of(function switch
                {
                    "startsWith" => utf8.StartsWith(literal),
                    "endsWith" => utf8.EndsWith(literal),
                    _ => utf8.IndexOf(literal) >= 0,
                });
            }

            var p = argument(ref a);
            if (p.IsError)
            {
                return p;
            }

            if (s.Kind != CelKind.String || p.Kind != CelKind.String)
            {
                return CelValue.Fail(CelError.NoMatchingOverload);
            }

            var text = s.AsString;
            var part = p.AsString;
            return CelValue.Of(function switch
            {
                "startsWith" => text.StartsWith(part, StringComparison.Ordinal),
                "endsWith" => text.EndsWith(part, StringComparison.Ordinal),
                _ => text.Contains(part, StringComparison.Ordinal),
            });
        };
    }

    private CelEval CompileBinary(CelBinary binary)
    {
        var left = Compile(binary.Left);
        if (binary.Op == "in" && binary.Right is CelList { Items.Count: > 0 } literalList && !literalList.Items.All(i => i is CelLiteral))
        {
            // x in [a, b] with computed items: test each without building the list. As in CEL, an
            // item that fails makes the whole list (and so the test) an error, found or not.
            var items = literalList.Items.Select(Compile).ToArray();
            return (ref CelActivation a) =>
            {
                var x = left(ref a);
                var found = false;
                foreach (var item in items)
                {
                    var value = item(ref a);
                    if (value.IsError)
                    {
                        return value;
                    }

                    found = found || (!x.IsError && CelOps.EqualCore(x, value));
                }

                return x.IsError ? x : CelValue.Of(found);
            };
        }

        var right = Compile(binary.Right);
        switch (binary.Op)
        {
            case "&&":
                // CEL's logical operators are commutative over errors: false && error is false.
                return (ref CelActivation a) =>
                {
                    var l = left(ref a);
                    if (l.IsFalse)
                    {
                        return l;
                    }

                    var r = right(ref a);
                    if (r.IsFalse)
                    {
                        return r;
                    }

                    if (l.IsTrue && r.IsTrue)
                    {
                        return r;
                    }

                    return l.IsError ? l : r.IsError ? r : CelValue.Fail(CelError.NoMatchingOverload);
                };
            case "||":
                return (ref CelActivation a) =>
                {
                    var l = left(ref a);
                    if (l.IsTrue)
                    {
                        return l;
                    }

                    var r = right(ref a);
                    if (r.IsTrue)
                    {
                        return r;
                    }

                    if (l.IsFalse && r.IsFalse)
                    {
                        return r;
                    }

                    return l.IsError ? l : r.IsError ? r : CelValue.Fail(CelError.NoMatchingOverload);
                };
            case "==":
                return (ref CelActivation a) => CelOps.Equal(left(ref a), right(ref a));
            case "!=":
                return (ref CelActivation a) => CelOps.NotEqual(left(ref a), right(ref a));
            case "in":
                return (ref CelActivation a) => CelOps.In(left(ref a), right(ref a));
            default:
                var op = binary.Op;
                return (ref CelActivation a) => CelOps.Compare(left(ref a), right(ref a), op);
        }
    }

    private CelEval CompileList(CelList list)
    {
        if (list.Items.All(i => i is CelLiteral))
        {
            var values = list.Items.Select(i => ((CelLiteral)i).Value).ToArray();
            var constant = values.All(v => v.Kind == CelKind.String)
                ? CelValue.Of(values.Select(v => v.AsString).ToArray())
                : CelValue.Of(values);
            return (ref CelActivation _) => constant;
        }

        // A list of computed values is built per evaluation; conditions rarely need one outside 'in'.
        var items = list.Items.Select(Compile).ToArray();
        return (ref CelActivation a) =>
        {
            var result = new CelValue[items.Length];
            for (var i = 0; i < items.Length; i++)
            {
                result[i] = items[i](ref a);
                if (result[i].IsError)
                {
                    return result[i];
                }
            }

            return CelValue.Of(result);
        };
    }

    private CelEval CompileComprehension(CelComprehension comprehension)
    {
        var range = Compile(comprehension.Range);
        var slot = comprehension.Slot;
        _scope.Add((comprehension.Variable, slot));
        var predicate = Compile(comprehension.Predicate);
        _scope.RemoveAt(_scope.Count - 1);
        var isAll = comprehension.IsAll;
        var notIterable = new CelError($"{(isAll ? "all" : "exists")}() needs a list or a map");

        // exists: true if any element is true, else an error if any was an error, else false. all: the dual.
        return (ref CelActivation a) =>
        {
            var items = range(ref a);
            if (items.IsError)
            {
                return items;
            }

            CelValue? error = null;
            if (items.Kind == CelKind.List)
            {
                var e = items.GetListEnumerator();
                while (e.MoveNext())
                {
                    a.Slots[slot] = e.Current;
                    var result = predicate(ref a);
                    if (Decides(result, isAll))
                    {
                        return result;
                    }

                    error ??= result.IsError || result.Kind != CelKind.Bool ? Error(result) : null;
                }
            }
            else if (items.Kind == CelKind.Map)
            {
                foreach (var key in items.MapKeys())
                {
                    a.Slots[slot] = CelValue.Of(key);
                    var result = predicate(ref a);
                    if (Decides(result, isAll))
                    {
                        return result;
                    }

                    error ??= result.IsError || result.Kind != CelKind.Bool ? Error(result) : null;
                }
            }
            else
            {
                return CelValue.Fail(notIterable);
            }

            return error ?? CelValue.Of(isAll);
        };

        static bool Decides(in CelValue result, bool isAll) => isAll ? result.IsFalse : result.IsTrue;

        static CelValue Error(in CelValue result) => result.IsError ? result : CelValue.Fail(CelError.NoMatchingOverload);
    }
}
