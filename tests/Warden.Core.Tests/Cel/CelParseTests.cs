using Warden.Core.Cel;

namespace Warden.Core.Tests.Cel;

/// <summary>Syntax errors say what and where; what is outside the subset is refused with a sentence, not a parse failure.</summary>
public sealed class CelParseTests
{
    private static CelProblem Problem(string expression)
    {
        var (expr, problem) = CelParser.Parse(expression);
        Assert.Null(expr);
        return problem!;
    }

    [Theory]
    [InlineData("records +", "arithmetic ('+') is not part of Warden's CEL subset")]
    [InlineData("records * 2 > 5", "arithmetic ('*') is not part of Warden's CEL subset")]
    [InlineData("external ? true : false", "the conditional operator 'a ? b : c' is not part of Warden's CEL subset")]
    [InlineData("{'a': 1}.size() > 0", "map literals are not part of Warden's CEL subset")]
    [InlineData("fields.map(f, f)", "the macro map() is not part of Warden's CEL subset")]
    [InlineData("records > 5u", "unsigned integers (with a 'u' suffix) are not part of Warden's CEL subset")]
    [InlineData("b'abc' == b'abc'", "byte strings are not part of Warden's CEL subset")]
    public void Features_outside_the_subset_are_named(string expression, string message) =>
        Assert.Equal(message, Problem(expression).Message);

    [Theory]
    [InlineData("records = 5", 8, "'=' is not an operator in CEL")]
    [InlineData("records > ", 10, "the condition ends too early")]
    [InlineData("", 0, "the condition is empty")]
    [InlineData("tool == 'unclosed", 8, "this string is not closed")]
    [InlineData("(records > 5", 12, "expected ')' to close the parenthesis, found the end of the condition")]
    [InlineData("records > 5 records", 12, "unexpected 'records' after the end of the expression")]
    [InlineData("records > 99999999999999999999", 10, "99999999999999999999 does not fit in a 64-bit integer")]
    [InlineData("tool & x", 5, "unexpected character '&'")]
    [InlineData("if > 1", 0, "'if' is a reserved word in CEL")]
    public void Syntax_errors_say_what_and_where(string expression, int position, string message)
    {
        var problem = Problem(expression);
        Assert.Equal(message, problem.Message);
        Assert.Equal(position, problem.Start);
    }

    [Fact]
    public void Deep_nesting_is_an_error_not_a_stack_overflow()
    {
        var problem = Problem(new string('(', 40) + "true" + new string(')', 40));
        Assert.Equal("the condition nests deeper than 32 levels", problem.Message);
    }

    [Fact]
    public void Deep_negation_is_an_error_not_a_stack_overflow() =>
        Assert.Equal("the condition nests deeper than 32 levels", Problem(new string('!', 40) + "true").Message);

    [Fact]
    public void An_overlong_condition_is_refused() =>
        Assert.StartsWith("the condition is 9,000 characters long", Problem(new string(' ', 8989) + "records > 1").Message);

    [Fact]
    public void A_long_chain_of_alternatives_parses()
    {
        var chain = string.Join(" || ", Enumerable.Range(0, 200).Select(i => $"records == {i}"));
        var (expr, problem) = CelParser.Parse(chain);
        Assert.Null(problem);
        Assert.NotNull(expr);
    }

    [Fact]
    public void A_long_chain_becomes_a_balanced_tree()
    {
        var chain = string.Join(" || ", Enumerable.Range(0, 200).Select(i => $"records == {i}"));
        var (expr, _) = CelParser.Parse(chain);
        Assert.True(Depth(expr!) <= 10, $"depth {Depth(expr!)}");

        static int Depth(CelExpr e) => e is CelBinary b ? 1 + Math.Max(Depth(b.Left), Depth(b.Right)) : 1;
    }

    [Fact]
    public void A_condition_with_too_many_parts_is_refused() =>
        Assert.Equal("the condition has 1,602 parts; the limit is 1,000",
            Problem("args" + string.Concat(Enumerable.Repeat(".f", 800))).Message);

    [Fact]
    public void An_escape_beyond_unicode_is_a_syntax_error_not_a_crash() =>
        Assert.Equal("this escape is not a valid code point", Problem("tool == '\\UFFFFFFFF'").Message);

    [Fact]
    public void A_double_literal_too_large_is_refused() =>
        Assert.Equal("1e999 is too large for a double", Problem("records > 1e999").Message);

    [Fact]
    public void Only_ascii_whitespace_separates_tokens() =>
        Assert.StartsWith("unexpected character", Problem("records\u00a0> 5").Message);
}
