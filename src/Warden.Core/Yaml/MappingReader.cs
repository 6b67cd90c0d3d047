using System.Globalization;
using System.Text.RegularExpressions;
using Warden.Core.Diagnostics;

namespace Warden.Core.Yaml;

/// <summary>A value with the place it was written, so later checks can point at it.</summary>
internal readonly record struct Located<T>(T Value, SourceLocation At);

/// <summary>
/// Reads the fields of one YAML mapping against a fixed set of names. Unknown fields, wrong types
/// and bad values are reported (with "did you mean") and read as absent, so binding goes on and
/// every mistake in the file is found in one pass.
/// </summary>
internal sealed partial class MappingReader
{
    private static readonly YamlMapping Empty = new(default, []);
    private readonly YamlMapping _map;
    private readonly DiagnosticBag _diagnostics;

    public MappingReader(YamlNode node, string what, DiagnosticBag diagnostics, IReadOnlyCollection<string> fields)
    {
        What = what;
        _diagnostics = diagnostics;
        if (node is YamlMapping map)
        {
            _map = map;
            foreach (var (key, value) in map.Entries)
            {
                if (!fields.Contains(key.Value))
                {
                    diagnostics.Error(DiagnosticCode.UnknownField, key.Start, $"unknown field '{key.Value}' in {what}",
                        Suggest.HintOrChoices(key.Value, fields));
                }
                else if (value is YamlScalar { IsNull: true })
                {
                    // An empty 'agent:' or 'when:' must not quietly mean "any agent" or "always".
                    diagnostics.Error(DiagnosticCode.MissingField, key.Start, $"'{key.Value}' in {what} has no value",
                        "give it one, or remove the line");
                }
            }
        }
        else
        {
            _map = Empty;
            diagnostics.Error(DiagnosticCode.WrongType, node.Start, $"{what} should be a mapping of fields, not {node.Describe}");
        }
    }

    public string What { get; }

    public SourceLocation At => _map.Start;

    public bool IsValid => !ReferenceEquals(_map, Empty);

    public YamlNode? Node(string key) => _map[key] is { } node && !(node is YamlScalar s && s.IsNull) ? node : null;

    public bool Has(string key) => Node(key) is not null;

    public void Missing(string key, string? hint = null) =>
        _diagnostics.Error(DiagnosticCode.MissingField, At, $"{What} has no '{key}'", hint);

    public YamlScalar? Scalar(string key, bool required = false, string? hint = null)
    {
        var node = Node(key);
        if (node is null)
        {
            if (required)
            {
                Missing(key, hint);
            }

            return null;
        }

        if (node is YamlScalar scalar)
        {
            return scalar;
        }

        _diagnostics.Error(DiagnosticCode.WrongType, node.Start, $"'{key}' in {What} should be a single value, not {node.Describe}", hint);
        return null;
    }

    public Located<string>? String(string key, bool required = false, string? hint = null) =>
        Scalar(key, required, hint) is { } s ? new Located<string>(s.Value, s.Start) : null;

    public string Text(string key) => String(key)?.Value ?? "";

    /// <summary>A name that others refer to: letters, digits, '-', '_' and '.'.</summary>
    public Located<string>? Id(string key = "id", bool required = true)
    {
        var value = String(key, required);
        if (value is { } v && !IdPattern().IsMatch(v.Value))
        {
            _diagnostics.Error(DiagnosticCode.InvalidValue, v.At, $"'{v.Value}' is not a valid name for {What}",
                "names are letters, digits, '-', '_' and '.', starting with a letter or digit, at most 100 characters");
            return null;
        }

        return value;
    }

    /// <summary>One value or a list of values, read as a list.</summary>
    public List<Located<string>> Strings(string key, bool required = false)
    {
        var node = Node(key);
        var result = new List<Located<string>>();
        switch (node)
        {
            case null:
                if (required)
                {
                    Missing(key);
                }

                break;
            case YamlScalar scalar:
                result.Add(new(scalar.Value, scalar.Start));
                break;
            case YamlSequence { Items.Count: 0 } when required:
                _diagnostics.Error(DiagnosticCode.MissingField, node.Start, $"'{key}' in {What} is an empty list", "name at least one");
                break;
            case YamlSequence sequence:
                foreach (var item in sequence.Items)
                {
                    if (item is YamlScalar s && !s.IsNull)
                    {
                        result.Add(new(s.Value, s.Start));
                    }
                    else
                    {
                        _diagnostics.Error(DiagnosticCode.WrongType, item.Start, $"each entry of '{key}' in {What} should be a single value, not {item.Describe}");
                    }
                }

                break;
            default:
                _diagnostics.Error(DiagnosticCode.WrongType, node.Start, $"'{key}' in {What} should be a value or a list of values, not {node.Describe}");
                break;
        }

        return result;
    }

    public YamlSequence? Sequence(string key)
    {
        var node = Node(key);
        if (node is null or YamlSequence)
        {
            return (YamlSequence?)node;
        }

        _diagnostics.Error(DiagnosticCode.WrongType, node.Start, $"'{key}' in {What} should be a list, not {node.Describe}");
        return null;
    }

    public YamlMapping? Mapping(string key, bool required = false)
    {
        var node = Node(key);
        if (node is null)
        {
            if (required)
            {
                Missing(key);
            }

            return null;
        }

        if (node is YamlMapping map)
        {
            return map;
        }

        _diagnostics.Error(DiagnosticCode.WrongType, node.Start, $"'{key}' in {What} should be a mapping of fields, not {node.Describe}");
        return null;
    }

    public Located<long>? Integer(string key, long min, long max, bool required = false)
    {
        if (Scalar(key, required) is not { } s)
        {
            return null;
        }

        if (!s.IsPlain || !long.TryParse(s.Value.Replace("_", "", StringComparison.Ordinal), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            _diagnostics.Error(DiagnosticCode.WrongType, s.Start, $"'{key}' in {What} should be a whole number, not {s.Describe}");
            return null;
        }

        if (value < min || value > max)
        {
            _diagnostics.Error(DiagnosticCode.InvalidValue, s.Start, $"'{key}' in {What} is {value}; it must be between {min:N0} and {max:N0}");
            return null;
        }

        return new(value, s.Start);
    }

    public Located<bool>? Boolean(string key)
    {
        if (Scalar(key) is not { } s)
        {
            return null;
        }

        if (s.IsPlain && bool.TryParse(s.Value, out var value))
        {
            return new(value, s.Start);
        }

        _diagnostics.Error(DiagnosticCode.WrongType, s.Start, $"'{key}' in {What} should be true or false, not {s.Describe}",
            s.Value is "yes" or "no" or "on" or "off" ? "write true or false" : null);
        return null;
    }

    public Located<T>? Choice<T>(string key, IReadOnlyDictionary<string, T> choices, bool required = false)
        where T : struct
    {
        var s = Scalar(key, required, "expected one of: " + string.Join(", ", choices.Keys));
        return s is null ? null : ChoiceOf(s, key, choices);
    }

    public Located<T>? ChoiceOf<T>(YamlScalar s, string key, IReadOnlyDictionary<string, T> choices)
        where T : struct
    {
        if (choices.TryGetValue(s.Value, out var value))
        {
            return new(value, s.Start);
        }

        _diagnostics.Error(DiagnosticCode.InvalidValue, s.Start, $"'{key}' in {What} cannot be {s.Describe}",
            Suggest.HintOrChoices(s.Value, choices.Keys.ToList()));
        return null;
    }

    /// <summary>One value or a list of values, each from a fixed set (roles, kinds); unknown ones are reported.</summary>
    public List<Located<T>> Choices<T>(string key, IReadOnlyDictionary<string, T> choices, string noun)
    {
        var result = new List<Located<T>>();
        foreach (var item in Strings(key))
        {
            if (choices.TryGetValue(item.Value, out var value))
            {
                result.Add(new(value, item.At));
            }
            else
            {
                _diagnostics.Error(DiagnosticCode.InvalidValue, item.At, $"'{item.Value}' is not {noun}", Suggest.HintOrChoices(item.Value, choices.Keys.ToList()));
            }
        }

        return result;
    }

    /// <summary>A duration such as 30m, 24h, 7d or 1h30m.</summary>
    public Located<TimeSpan>? Duration(string key, bool required = false)
    {
        if (Scalar(key, required, "write a duration such as 30m, 24h or 7d") is not { } s)
        {
            return null;
        }

        if (TryParseDuration(s.Value, out var value) && value > TimeSpan.Zero)
        {
            return new(value, s.Start);
        }

        _diagnostics.Error(DiagnosticCode.InvalidValue, s.Start, $"'{key}' in {What} should be a duration, not {s.Describe}",
            "write a number and a unit: s, m, h, d or w, e.g. 30m, 24h, 7d, 1h30m");
        return null;
    }

    /// <summary>A moment with its zone, e.g. 2026-11-27T18:00:00Z.</summary>
    public Located<DateTimeOffset>? Time(string key, bool required = false)
    {
        if (Scalar(key, required) is not { } s)
        {
            return null;
        }

        if (TimePattern().IsMatch(s.Value)
            && DateTimeOffset.TryParse(s.Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value))
        {
            return new(value, s.Start);
        }

        _diagnostics.Error(DiagnosticCode.InvalidValue, s.Start, $"'{key}' in {What} should be a time with its zone, not {s.Describe}",
            "write it like 2026-11-27T18:00:00Z, so nobody has to guess the zone");
        return null;
    }

    public Located<DateOnly>? Date(string key)
    {
        if (Scalar(key) is not { } s)
        {
            return null;
        }

        if (DateOnly.TryParseExact(s.Value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var value))
        {
            return new(value, s.Start);
        }

        _diagnostics.Error(DiagnosticCode.InvalidValue, s.Start, $"'{key}' in {What} should be a date like 2026-09-30, not {s.Describe}");
        return null;
    }

    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        var match = DurationPattern().Match(text);
        if (!match.Success)
        {
            return false;
        }

        try
        {
            foreach (Capture part in match.Groups["part"].Captures)
            {
                var number = long.Parse(part.Value[..^1], CultureInfo.InvariantCulture);
                value += part.Value[^1] switch
                {
                    's' => TimeSpan.FromSeconds(number),
                    'm' => TimeSpan.FromMinutes(number),
                    'h' => TimeSpan.FromHours(number),
                    'd' => TimeSpan.FromDays(number),
                    _ => TimeSpan.FromDays(7 * number),
                };
            }
        }
        catch (Exception e) when (e is OverflowException or ArgumentOutOfRangeException)
        {
            return false;
        }

        return true;
    }

    /// <summary>The inverse of <see cref="TryParseDuration"/>, for messages: 1h30m, 7d.</summary>
    public static string FormatDuration(TimeSpan value)
    {
        // Whole days read as days from two days up; a day reads as 24h, as people write approval windows.
        if (value.TotalDays >= 2 && value.Ticks % TimeSpan.TicksPerDay == 0)
        {
            return $"{(long)value.TotalDays}d";
        }

        var parts = new List<string>();
        var hours = value.Days <= 1 ? (int)value.TotalHours : value.Hours;
        if (value.Days > 1) parts.Add($"{value.Days}d");
        if (hours > 0) parts.Add($"{hours}h");
        if (value.Minutes > 0) parts.Add($"{value.Minutes}m");
        if (value.Seconds > 0) parts.Add($"{value.Seconds}s");
        return parts.Count == 0 ? "0s" : string.Concat(parts);
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex(@"^(?<part>\d{1,9}[smhdw])+$")]
    private static partial Regex DurationPattern();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$")]
    private static partial Regex TimePattern();
}
