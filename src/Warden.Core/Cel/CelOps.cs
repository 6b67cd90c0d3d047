namespace Warden.Core.Cel;

/// <summary>
/// CEL's runtime semantics for the operators Warden supports. Where CEL is subtle, this follows the
/// spec: equality across int and double compares numbers exactly; values of different types are
/// simply unequal; ordering across types other than numbers is an error; strings order by code point.
/// </summary>
internal static class CelOps
{
    private static readonly CelError CannotOrder = new("these values cannot be ordered");
    private static readonly CelError NotAContainer = new("'in' needs a list or a map on its right");
    private static readonly CelError NoSize = new("size() takes a string, list or map");

    public static CelValue Equal(in CelValue a, in CelValue b)
    {
        if (a.IsError)
        {
            return a;
        }

        return b.IsError ? b : CelValue.Of(EqualCore(a, b));
    }

    public static CelValue NotEqual(in CelValue a, in CelValue b)
    {
        var equal = Equal(a, b);
        return equal.IsError ? equal : CelValue.Of(!equal.AsBool);
    }

    public static bool EqualCore(in CelValue a, in CelValue b)
    {
        if (IsNumber(a) && IsNumber(b))
        {
            return CompareNumbers(a, b) == 0;
        }

        if (a.Kind != b.Kind)
        {
            return false;
        }

        switch (a.Kind)
        {
            case CelKind.Null:
                return true;
            case CelKind.Bool:
                return a.AsBool == b.AsBool;
            case CelKind.String:
                return a.StringEquals(b);
            case CelKind.List:
                if (a.Count != b.Count)
                {
                    return false;
                }

                var left = a.GetListEnumerator();
                var right = b.GetListEnumerator();
                while (left.MoveNext() && right.MoveNext())
                {
                    if (!EqualCore(left.Current, right.Current))
                    {
                        return false;
                    }
                }

                return true;
            case CelKind.Map:
                if (a.Count != b.Count)
                {
                    return false;
                }

                foreach (var key in a.MapKeys())
                {
                    if (!a.TryGetField(key, out var x) || !b.TryGetField(key, out var y) || !EqualCore(x, y))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return false;
        }
    }

    /// <summary>Ordering for &lt; &lt;= &gt; &gt;=: the comparison, or an error value when the types do not order.</summary>
    public static CelValue Compare(in CelValue a, in CelValue b, string op)
    {
        if (a.IsError)
        {
            return a;
        }

        if (b.IsError)
        {
            return b;
        }

        int? order;
        if (IsNumber(a) && IsNumber(b))
        {
            order = CompareNumbers(a, b);
        }
        else if (a.Kind == CelKind.String && b.Kind == CelKind.String)
        {
            order = CelValue.CompareCodePoints(a.AsString, b.AsString);
        }
        else if (a.Kind == CelKind.Bool && b.Kind == CelKind.Bool)
        {
            order = a.AsBool.CompareTo(b.AsBool);
        }
        else
        {
            return CelValue.Fail(CannotOrder);
        }

        // NaN orders with nothing: every comparison with it is false, as in CEL.
        if (order is null)
        {
            return CelValue.False;
        }

        return CelValue.Of(op switch
        {
            "<" => order < 0,
            "<=" => order <= 0,
            ">" => order > 0,
            _ => order >= 0,
        });
    }

    public static CelValue In(in CelValue element, in CelValue container)
    {
        if (element.IsError)
        {
            return element;
        }

        if (container.IsError)
        {
            return container;
        }

        switch (container.Kind)
        {
            case CelKind.List:
                var items = container.GetListEnumerator();
                while (items.MoveNext())
                {
                    if (EqualCore(element, items.Current))
                    {
                        return CelValue.True;
                    }
                }

                return CelValue.False;
            case CelKind.Map:
                return CelValue.Of(element.Kind == CelKind.String && container.TryGetField(element.AsString, out _));
            default:
                return CelValue.Fail(NotAContainer);
        }
    }

    public static CelValue Size(in CelValue value) => value.Kind switch
    {
        CelKind.Error => value,
        CelKind.String => CelValue.Of(CelValue.CodePoints(value.AsString)),
        CelKind.List or CelKind.Map => CelValue.Of((long)value.Count),
        _ => CelValue.Fail(NoSize),
    };

    public static CelValue Not(in CelValue value) => value.Kind switch
    {
        CelKind.Error => value,
        CelKind.Bool => CelValue.Of(!value.AsBool),
        _ => CelValue.Fail(CelError.NoMatchingOverload),
    };

    public static CelValue Negate(in CelValue value, CelError overflow) => value.Kind switch
    {
        CelKind.Error => value,
        CelKind.Int => value.AsInt == long.MinValue ? CelValue.Fail(overflow) : CelValue.Of(-value.AsInt),
        CelKind.Double => CelValue.Of(-value.AsDouble),
        _ => CelValue.Fail(CelError.NoMatchingOverload),
    };

    private static bool IsNumber(in CelValue v) => v.Kind is CelKind.Int or CelKind.Double;

    /// <summary>Exact comparison of int and double, as CEL does: no rounding of large ints to double.</summary>
    private static int? CompareNumbers(in CelValue a, in CelValue b)
    {
        if (a.Kind == CelKind.Int && b.Kind == CelKind.Int)
        {
            return a.AsInt.CompareTo(b.AsInt);
        }

        if (a.Kind == CelKind.Double && b.Kind == CelKind.Double)
        {
            return double.IsNaN(a.AsDouble) || double.IsNaN(b.AsDouble) ? null : a.AsDouble.CompareTo(b.AsDouble);
        }

        return a.Kind == CelKind.Int ? CompareIntDouble(a.AsInt, b.AsDouble) : -CompareIntDouble(b.AsInt, a.AsDouble);
    }

    private static int? CompareIntDouble(long i, double d)
    {
        if (double.IsNaN(d))
        {
            return null;
        }

        // 2^63 is exactly representable; every long is below it and at or above -2^63.
        if (d >= 9223372036854775808.0)
        {
            return -1;
        }

        if (d < -9223372036854775808.0)
        {
            return 1;
        }

        var truncated = (long)d;
        if (i != truncated)
        {
            return i < truncated ? -1 : 1;
        }

        var fraction = d - truncated;
        return fraction > 0 ? -1 : fraction < 0 ? 1 : 0;
    }
}
