using Warden.Core.Cel;
using Warden.Core.Decisions;
using Warden.Workspace;
using Warden.Core;

namespace Warden.Core.Tests.Cel;

/// <summary>Conditions that must be refused before a policy loads, each with the place and the reason.</summary>
public sealed class CelCheckTests
{
    private static CelProblem Problem(string expression)
    {
        var condition = CelCondition.Compile(expression, ConditionVariables.All, out var problems, out _);
        Assert.Null(condition);
        Assert.NotEmpty(problems);
        return problems[0];
    }

    [Theory]
    [InlineData("records > '5'", "an int cannot be ordered against a string")]
    [InlineData("records == 5.0", "an int cannot be compared with a double")]
    [InlineData("records in [1.0, 2.0]", "an int can never be in a list(double)")]
    [InlineData("external == 1", "a bool cannot be compared with an int")]
    [InlineData("classes.startsWith('p')", "startsWith() works on strings, not a list(string)")]
    [InlineData("size(records) > 1", "size() takes a string, list or map, not an int")]
    [InlineData("records", "a condition must be true or false, but this one is an int")]
    [InlineData("!records", "'!' needs true or false, not an int")]
    [InlineData("records && true", "'&&' needs true or false on both sides, but the left side is an int")]
    [InlineData("'pii' in environment", "'in' needs a list or map on its right, not a string")]
    [InlineData("fields.exists(f, size(f))", "the condition inside exists() must be true or false, not an int")]
    [InlineData("records.exists(r, true)", "exists() needs a list or map, not an int")]
    [InlineData("tool.matches(environment)", "matches() needs its pattern written as a literal string")]
    public void Conditions_that_do_not_type_check_are_refused(string expression, string message) =>
        Assert.StartsWith(message, Problem(expression).Message);

    [Theory]
    [InlineData("recrods > 5", "unknown name 'recrods'", "did you mean 'records'?")]
    [InlineData("classes.exist(c, c == 'pii')", "unknown function 'exist'", "did you mean 'exists'?")]
    [InlineData("lenght(fields) > 1", "unknown function 'lenght'", null)]
    public void Unknown_names_get_a_suggestion(string expression, string message, string? hint)
    {
        var problem = Problem(expression);
        Assert.Equal(message, problem.Message);
        if (hint is not null)
        {
            Assert.Equal(hint, problem.Hint);
        }
    }

    [Fact]
    public void A_type_error_points_at_the_offending_part()
    {
        var problem = Problem("records > 10 && tool == 5");
        Assert.Equal("records > 10 && ".Length, problem.Start);
        Assert.Equal("records > 10 && tool == 5".Length, problem.End);
    }

    [Fact]
    public void Every_type_error_in_a_condition_is_reported()
    {
        CelCondition.Compile("records == 'a' || tool > 1 || nope", ConditionVariables.All, out var problems, out _);
        Assert.Equal(3, problems.Count);
    }

    [Fact]
    public void An_invalid_regular_expression_is_refused_at_load() =>
        Assert.StartsWith("this pattern is not a regular expression Warden accepts", Problem("tool.matches('(unclosed')").Message);

    [Fact]
    public void Backreferences_are_refused_as_RE2_would() =>
        Assert.StartsWith("this pattern is not a regular expression Warden accepts", Problem("tool.matches('(a)\\\\1')").Message);

    [Fact]
    public void Arguments_are_checked_against_the_tools_a_rule_targets()
    {
        var tools = WorkspaceCatalogue.Tools.Where(t => t.Name == "contacts.update").ToList();
        var variables = ConditionVariables.ForTools(tools, allKnown: true);
        CelCondition.Compile("args.fliter == 'x'", variables, out var problems, out _);
        var problem = Assert.Single(problems);
        Assert.Equal("'fliter' is not among the arguments of contacts.update", problem.Message);
        Assert.Equal("did you mean 'filter'?", problem.Hint);
    }

    [Fact]
    public void Known_argument_types_are_checked()
    {
        var tools = WorkspaceCatalogue.Tools.Where(t => t.Name == "contacts.update").ToList();
        var variables = ConditionVariables.ForTools(tools, allKnown: true);
        CelCondition.Compile("args.all == 'yes'", variables, out var problems, out _);
        Assert.StartsWith("a bool cannot be compared with a string", Assert.Single(problems).Message);
    }

    [Theory]
    [InlineData("records > 10 && records < 5", "no value of records is at least 11 and at most 4")]
    [InlineData("records < 0", "records is a count and is never below zero")]
    [InlineData("environment == 'sandbox' && environment == 'production'", "environment cannot equal both 'sandbox' and 'production'")]
    [InlineData("false", "it is always false")]
    [InlineData("1 > 2 || false", "it is always false")]
    public void A_condition_that_can_never_be_true_is_recognised(string expression, string reason)
    {
        var condition = CelCondition.Compile(expression, ConditionVariables.All, out var problems, out _);
        Assert.True(condition is not null, string.Join("; ", problems.Select(p => p.Message)));
        Assert.Equal(reason, condition.NeverTrueReason());
    }

    [Theory]
    [InlineData("records > 10 && records <= 11")]
    [InlineData("records > 10 || records < 5")]
    [InlineData("true")]
    public void A_satisfiable_condition_is_not_flagged(string expression)
    {
        var condition = CelCondition.Compile(expression, ConditionVariables.All, out _, out _);
        Assert.Null(condition!.NeverTrueReason());
    }

    [Theory]
    [InlineData("tool.matches('a(?=b)')", "lookahead and lookbehind are not part of RE2")]
    [InlineData("tool.matches('[a-z-[aeiou]]')", "character class subtraction is not part of RE2")]
    [InlineData("tool.matches('\\\\Qa.b\\\\E')", "\\Q...\\E is not supported; escape each special character instead")]
    [InlineData("tool.matches('(?x)a b')", "only the flags i, m and s are supported")]
    public void Patterns_outside_RE2_are_refused(string expression, string reason) =>
        Assert.Equal($"this pattern is not a regular expression Warden accepts: {reason}", Problem(expression).Message);
}
