namespace Warden.Core.Tests.Filters;

/// <summary>Filters compile to parameterised SQL; no value reaches the SQL text. (Their results on a real database are tested with the workspace.)</summary>
public sealed class FilterCompilerTests
{
    private static readonly FilterField[] Fields =
    [
        new("country", FilterFieldType.Text), new("lead_score", FilterFieldType.Integer), new("email", FilterFieldType.Text),
        new("phone", FilterFieldType.Text), new("lifecycle_stage", FilterFieldType.Text),
    ];

    private static SqlFilter Compile(string filter)
    {
        Assert.True(FilterCompiler.TryCompile(filter, Fields, SqlDialect.Sqlite, out var sql, out var error), error);
        return sql!;
    }

    private static string Error(string filter)
    {
        Assert.False(FilterCompiler.TryCompile(filter, Fields, SqlDialect.Sqlite, out _, out var error));
        return error!;
    }

    [Fact]
    public void Values_become_parameters_never_sql_text()
    {
        var sql = Compile("country == \"DE' OR 1=1 --\" && lead_score >= 40");
        Assert.DoesNotContain("OR 1=1", sql.Sql);
        Assert.Equal(["DE' OR 1=1 --", 40L], sql.Parameters);
        Assert.Equal("((\"country\" IS NOT NULL AND \"country\" = @f0) AND (\"lead_score\" IS NOT NULL AND \"lead_score\" >= @f1))", sql.Sql);
    }

    [Fact]
    public void The_fields_a_filter_reads_are_listed() =>
        Assert.Equal(["country", "email", "lead_score"], Compile("lead_score > 5 || country in ['DE'] || email.endsWith('@x.com')").Fields);

    [Fact]
    public void Not_equal_is_true_for_an_empty_column() =>
        Assert.Equal("(\"phone\" IS NULL OR \"phone\" <> @f0)", Compile("phone != '123'").Sql);

    [Fact]
    public void Comparing_with_null_asks_whether_a_column_is_empty() =>
        Assert.Equal("NOT (\"phone\" IS NULL)", Compile("!(phone == null)").Sql);

    [Fact]
    public void Postgres_gets_its_own_substring_function()
    {
        Assert.True(FilterCompiler.TryCompile("email.contains('@')", Fields, SqlDialect.Postgres, out var sql, out _));
        Assert.Contains("strpos(", sql!.Sql);
    }

    [Theory]
    [InlineData("contry == 'DE'", "unknown name 'contry' (at 'contry', character 1); did you mean 'country'?")]
    [InlineData("lead_score > 'high'", "an int cannot be ordered against a string with '>'")]
    [InlineData("size(email) > 3", "filters do not support size() here")]
    [InlineData("email.matches('x')", "filters do not support matches() here")]
    [InlineData("country == lead_score", "a string cannot be compared with an int using '=='")]
    [InlineData("country = 'DE'", "'=' is not an operator in CEL")]
    [InlineData("email.startsWith(country)", "filters do not support startsWith() here")]
    public void Filters_outside_what_sql_can_say_get_a_sentence(string filter, string message) =>
        Assert.StartsWith(message, Error(filter));
}
