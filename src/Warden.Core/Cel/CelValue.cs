using System.Runtime.InteropServices;
using System.Text.Json;

namespace Warden.Core.Cel;

internal enum CelKind : byte { Error, Null, Bool, Int, Double, String, List, Map }

/// <summary>An evaluation error, such as a missing key. Created once per node at compile time, so
/// failing evaluations allocate nothing either.</summary>
internal sealed class CelError(string message)
{
    public static readonly CelError NoMatchingOverload = new("no matching overload");

    public string Message { get; } = message;
}

/// <summary>
/// A runtime value. A struct, so evaluating a condition allocates nothing: strings and lists from
/// the call's facts are referenced, and values from the call's JSON arguments stay as
/// <see cref="JsonElement"/>s until an operation really needs a .NET string.
/// </summary>
internal readonly struct CelValue
{
    public static readonly CelValue Null = new(CelKind.Null);
    public static readonly CelValue True = new(CelKind.Bool, 1);
    public static readonly CelValue False = new(CelKind.Bool, 0);
    public static readonly CelValue EmptyMap = FromJson(JsonDocument.Parse("{}").RootElement);

    private readonly object? _ref;
    private readonly JsonElement _json;
    private readonly long _int;
    private readonly double _double;
    private readonly bool _isJson;

    public readonly CelKind Kind;

    private CelValue(CelKind kind, long i = 0, double d = 0, object? reference = null)
    {
        Kind = kind;
        _int = i;
        _double = d;
        _ref = reference;
    }

    private CelValue(CelKind kind, JsonElement json)
    {
        Kind = kind;
        _json = json;
        _isJson = true;
    }

    public static CelValue Of(bool b) => b ? True : False;

    public static CelValue Of(long i) => new(CelKind.Int, i);

    public static CelValue Of(double d) => new(CelKind.Double, d: d);

    public static CelValue Of(string s) => new(CelKind.String, reference: s);

    /// <summary>A list of strings, such as the call's fields or data classes.</summary>
    public static CelValue Of(IReadOnlyList<string> items) => new(CelKind.List, reference: items);

    public static CelValue Of(CelValue[] items) => new(CelKind.List, reference: items);

    public static CelValue Fail(CelError error) => new(CelKind.Error, reference: error);

    /// <summary>Reads a JSON value as CEL reads JSON: numbers, strings, booleans, null, lists and maps.</summary>
    public static CelValue FromJson(JsonElement json)
    {
        switch (json.ValueKind)
        {
            case JsonValueKind.String:
                return new CelValue(CelKind.String, json);
            case JsonValueKind.Number:
                // Whole numbers stay exact as int; CEL's numeric equality makes 5 and 5.0 equal either way.
                if (json.TryGetInt64(out var i))
                {
                    return Of(i);
                }

                return json.TryGetDouble(out var d) && double.IsFinite(d) ? Of(d) : Fail(new CelError("a number in the arguments is out of range"));
            case JsonValueKind.True:
                return True;
            case JsonValueKind.False:
                return False;
            case JsonValueKind.Array:
                return new CelValue(CelKind.List, json);
            case JsonValueKind.Object:
                return new CelValue(CelKind.Map, json);
            default:
                return Null;
        }
    }

    public bool IsError => Kind == CelKind.Error;

    public bool IsTrue => Kind == CelKind.Bool && _int != 0;

    public bool IsFalse => Kind == CelKind.Bool && _int == 0;

    public bool AsBool => _int != 0;

    public long AsInt => _int;

    public double AsDouble => _double;

    public CelError Error => (CelError)_ref!;

    /// <summary>The string; allocates only for strings that come from JSON arguments.</summary>
    public string AsString => _isJson ? _json.GetString()! : (string)_ref!;

    /// <summary>
    /// The UTF-8 bytes of a string from the JSON arguments, straight from the document, when it has
    /// no escapes: string functions then compare bytes instead of allocating a .NET string.
    /// </summary>
    public bool TryGetJsonUtf8(out ReadOnlySpan<byte> utf8)
    {
        utf8 = default;
        if (!_isJson || Kind != CelKind.String)
        {
            return false;
        }

        var raw = JsonMarshal.GetRawUtf8Value(_json);
        if (raw.Length >= 2 && raw[0] == (byte)'"')
        {
            raw = raw[1..^1];
        }

        if (raw.Contains((byte)'\\'))
        {
            return false;
        }

        utf8 = raw;
        return true;
    }

    /// <summary>String equality without turning a JSON string into a .NET string when the other side is one already.</summary>
    public bool StringEquals(in CelValue other)
    {
        if (!other._isJson)
        {
            return StringEquals((string)other._ref!);
        }

        return _isJson ? string.Equals(AsString, other.AsString, StringComparison.Ordinal) : other.StringEquals((string)_ref!);
    }

    public bool StringEquals(string other) => _isJson ? _json.ValueEquals(other) : string.Equals((string?)_ref, other, StringComparison.Ordinal);

    public int Count
    {
        get
        {
            if (_isJson)
            {
                if (Kind == CelKind.List)
                {
                    return _json.GetArrayLength();
                }

                var count = 0;
                foreach (var _ in _json.EnumerateObject())
                {
                    count++;
                }

                return count;
            }

            return _ref switch
            {
                IReadOnlyList<string> strings => strings.Count,
                CelValue[] values => values.Length,
                _ => 0,
            };
        }
    }

    public ListEnumerator GetListEnumerator() => new(this);

    /// <summary>Looks a key up in a map without allocating.</summary>
    public bool TryGetField(string name, out CelValue value)
    {
        if (Kind == CelKind.Map && _isJson && _json.TryGetProperty(name, out var element))
        {
            value = FromJson(element);
            return true;
        }

        value = Null;
        return false;
    }

    public bool TryGetIndex(long index, out CelValue value)
    {
        value = Null;
        if (index < 0 || index >= Count)
        {
            return false;
        }

        if (_isJson)
        {
            value = FromJson(_json[(int)index]);
        }
        else if (_ref is IReadOnlyList<string> strings)
        {
            value = Of(strings[(int)index]);
        }
        else
        {
            value = ((CelValue[])_ref!)[index];
        }

        return true;
    }

    /// <summary>Map keys, for comprehensions over maps (CEL iterates a map's keys).</summary>
    public IEnumerable<string> MapKeys()
    {
        foreach (var property in _json.EnumerateObject())
        {
            yield return property.Name;
        }
    }

    public override string ToString() => Kind switch
    {
        CelKind.Error => "error: " + Error.Message,
        CelKind.Null => "null",
        CelKind.Bool => AsBool ? "true" : "false",
        CelKind.Int => _int.ToString(System.Globalization.CultureInfo.InvariantCulture),
        CelKind.Double => _double.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        CelKind.String => JsonSerializer.Serialize(AsString),
        _ when _isJson => _json.GetRawText(),
        CelKind.List => "[" + string.Join(", ", Items()) + "]",
        _ => "?",
    };

    private IEnumerable<string> Items()
    {
        var e = GetListEnumerator();
        while (e.MoveNext())
        {
            yield return e.Current.ToString();
        }
    }

    /// <summary>Walks any of the three list representations without allocating.</summary>
    public struct ListEnumerator
    {
        private readonly CelValue _list;
        private JsonElement.ArrayEnumerator _json;
        private int _index;

        public ListEnumerator(CelValue list)
        {
            _list = list;
            _index = -1;
            if (list._isJson)
            {
                _json = list._json.EnumerateArray();
            }
        }

        public CelValue Current { get; private set; }

        public bool MoveNext()
        {
            if (_list._isJson)
            {
                if (!_json.MoveNext())
                {
                    return false;
                }

                Current = FromJson(_json.Current);
                return true;
            }

            _index++;
            switch (_list._ref)
            {
                case IReadOnlyList<string> strings when _index < strings.Count:
                    Current = Of(strings[_index]);
                    return true;
                case CelValue[] values when _index < values.Length:
                    Current = values[_index];
                    return true;
                default:
                    return false;
            }
        }
    }

    /// <summary>Number of Unicode code points, which is what CEL's size() counts for strings.</summary>
    public static long CodePoints(string s)
    {
        long count = 0;
        foreach (var _ in s.EnumerateRunes())
        {
            count++;
        }

        return count;
    }

    public static int CompareCodePoints(string a, string b)
    {
        // UTF-16 order differs from code-point order only where surrogates meet U+E000..U+FFFF.
        var length = Math.Min(a.Length, b.Length);
        for (var i = 0; i < length; i++)
        {
            var x = a[i];
            var y = b[i];
            if (x != y)
            {
                return Fix(x).CompareTo(Fix(y));
            }
        }

        return a.Length.CompareTo(b.Length);

        static int Fix(char c) => c >= 0xD800 ? (c <= 0xDFFF ? c + 0x2000 : c - 0x800) : c;
    }
}
