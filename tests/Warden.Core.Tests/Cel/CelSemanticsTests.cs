using System.Text.Json;
using Warden.Core.Cel;
using Warden.Core.Decisions;

namespace Warden.Core.Tests.Cel;

/// <summary>
/// An expression in Warden's subset must mean what it means in CEL. Each row is an expression and
/// what the CEL specification says it evaluates to ("error" for an evaluation error).
/// </summary>
public sealed class CelSemanticsTests
{
    private static readonly PlanFacts Facts = new()
    {
        Records = 1200,
        Recipients = 0,
        Fields = ["contacts.email", "contacts.lead_source"],
        Classes = ["pii"],
    };

    private const string Args = """{"limit": 5, "ratio": 0.5, "name": "Spring sale", "ids": ["a", "b"], "nested": {"flag": true}, "none": null, "escaped": "caf\u00e9 \"bar\""}""";

    private static string Evaluate(string expression)
    {
        var condition = CelCondition.Compile(expression, ConditionVariables.All, out var problems, out _);
        Assert.True(condition is not null, string.Join("; ", problems.Select(p => p.Message)));
        var input = new ConditionInput(Facts, Facts.Classes, JsonDocument.Parse(Args).RootElement, "production", "bot", "ops", "workspace", "contacts.update", "write", false, true, 0, Facts.Records);
        var activation = new CelActivation(input);
        var value = condition.Evaluate(ref activation);
        return value.IsError ? "error" : value.ToString();
    }

    [Theory]
    [InlineData("records > 1000", "true")]
    [InlineData("records == 1200", "true")]
    [InlineData("records < 1200.5", "true")]
    [InlineData("records >= 1200.0", "true")]
    [InlineData("args.limit == 5", "true")]
    [InlineData("args.limit == 5.0", "true")]
    [InlineData("args.ratio < 1", "true")]
    [InlineData("9223372036854775807 > 9223372036854775806.0", "false")]
    [InlineData("-9223372036854775808 < 0", "true")]
    public void Numbers_compare_exactly_across_int_and_double(string expression, string expected) =>
        Assert.Equal(expected, Evaluate(expression));

    [Theory]
    [InlineData("args.name == 'Spring sale'", "true")]
    [InlineData("args.name == 5", "false")]
    [InlineData("args.none == null", "true")]
    [InlineData("args.ids == ['a', 'b']", "true")]
    [InlineData("args.nested == args.nested", "true")]
    [InlineData("args.limit != 'five'", "true")]
    public void Values_of_different_types_are_unequal_not_errors(string expression, string expected) =>
        Assert.Equal(expected, Evaluate(expression));

    [Theory]
    [InlineData("args.missing == 1 || true", "true")]
    [InlineData("true || args.missing == 1", "true")]
    [InlineData("args.missing == 1 && false", "false")]
    [InlineData("false && args.missing == 1", "false")]
    [InlineData("args.missing == 1 && true", "error")]
    [InlineData("args.missing == 1 || false", "error")]
    [InlineData("!(args.missing == 1)", "error")]
    public void Logical_operators_absorb_errors_as_CEL_does(string expression, string expected) =>
        Assert.Equal(expected, Evaluate(expression));

    [Theory]
    [InlineData("has(args.limit)", "true")]
    [InlineData("has(args.missing)", "false")]
    [InlineData("has(args.nested.flag)", "true")]
    [InlineData("args.missing > 1", "error")]
    [InlineData("args.nested.flag", "true")]
    [InlineData("args['name'] == 'Spring sale'", "true")]
    [InlineData("args.ids[1] == 'b'", "true")]
    [InlineData("args.ids[2] == 'c'", "error")]
    [InlineData("'limit' in args", "true")]
    [InlineData("'nope' in args", "false")]
    public void Missing_keys_are_errors_and_has_tests_presence(string expression, string expected) =>
        Assert.Equal(expected, Evaluate(expression));

    [Theory]
    [InlineData("'pii' in classes", "true")]
    [InlineData("'consent' in classes", "false")]
    [InlineData("environment in ['sandbox', 'production']", "true")]
    [InlineData("records in [1, 1200]", "true")]
    [InlineData("args.limit in [1.0, 5.0]", "true")]
    [InlineData("tool in [agent, 'contacts.update']", "true")]
    [InlineData("tool in ['contacts.update', args.missing]", "error")]
    public void In_tests_membership(string expression, string expected) =>
        Assert.Equal(expected, Evaluate(expression));

    [Theory]
    [InlineData("size(fields) == 2", "true")]
    [InlineData("fields.size() == 2", "true")]
    [InlineData("size('héllo') == 5", "true")]
    [InlineData("size('😀') == 1", "true")]
    [InlineData("size(args) == 7", "true")]
    [InlineData("size(args.ids) == 2", "true")]
    public void Size_counts_elements_and_code_points(string expression, string expected) =>
        Assert.Equal(expected, Evaluate(expression));

    [Theory]
    [InlineData("fields.exists(f, f.startsWith('contacts.lead'))", "true")]
    [InlineData("fields.all(f, f.startsWith('contacts.'))", "true")]
    [InlineData("fields.all(f, f.endsWith('email'))", "false")]
    [InlineData("[].exists(x, x == 1)", "false")]
    [InlineData("[].all(x, x == 1)", "true")]
    [InlineData("args.ids.exists(i, i == 'b')", "true")]
    [InlineData("[1, 2].exists(x, x == 2 || args.missing == 1)", "true")]
    [InlineData("[1, 2].exists(x, args.missing == x)", "error")]
    [InlineData("[1, 2].all(x, x == 3 && args.missing == 1)", "false")]
    [InlineData("fields.exists(f, classes.exists(c, c == 'pii' && f == 'contacts.email'))", "true")]
    public void Exists_and_all_follow_the_macro_definitions(string expression, string expected) =>
        Assert.Equal(expected, Evaluate(expression));

    [Theory]
    [InlineData("tool.startsWith('contacts.')", "true")]
    [InlineData("tool.endsWith('.update')", "true")]
    [InlineData("args.name.contains('ring')", "true")]
    [InlineData("args.name.matches('^Spring')", "true")]
    [InlineData("args.name.matches('sale')", "true")]
    [InlineData("matches(args.name, '^sale')", "false")]
    [InlineData("args.escaped.startsWith('café')", "true")]
    [InlineData("args.escaped.endsWith('\"bar\"')", "true")]
    [InlineData("args.escaped.contains('é \"')", "true")]
    [InlineData("args.name.endsWith('Sale')", "false")]
    [InlineData("args.name.startsWith(args.name)", "true")]
    [InlineData("'abc\\n'.matches('^[a-z]+$')", "false")]
    [InlineData("'abc'.matches('^[a-z]+$')", "true")]
    [InlineData("'a\\nb'.matches('(?m)^b$')", "true")]
    [InlineData("'\u0661\u0662'.matches('^\\\\d+$')", "false")]
    [InlineData("'42'.matches('^\\\\d+$')", "true")]
    [InlineData("'é'.matches('^\\\\w$')", "false")]
    [InlineData("'x1'.matches('(?P<letter>[a-z])[[:digit:]]')", "true")]
    [InlineData("'a'.matches('[]a]')", "true")]
    [InlineData("'a' < 'b'", "true")]
    [InlineData("'\uffff' < '😀'", "true")]
    [InlineData("false < true", "true")]
    public void String_functions_and_ordering(string expression, string expected) =>
        Assert.Equal(expected, Evaluate(expression));

    [Theory]
    [InlineData("\"a\\tb\" == 'a\tb'", "true")]
    [InlineData("'\\x41\\u00e9\\101' == 'AéA'", "true")]
    [InlineData("r'\\d' == '\\\\d'", "true")]
    [InlineData("'''multi'line''' == \"multi'line\"", "true")]
    [InlineData("0x10 == 16", "true")]
    [InlineData("1e3 == 1000.0", "true")]
    public void Literals_follow_CEL_syntax(string expression, string expected) =>
        Assert.Equal(expected, Evaluate(expression));
}
