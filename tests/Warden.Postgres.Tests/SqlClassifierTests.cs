using Warden.Tests;

namespace Warden.Postgres.Tests;

/// <summary>
/// What another server's SQL answers, as PostgreSQL describes it before it runs: each label of the
/// result traced to the columns its values may hold, so that a renamed or computed column is
/// masked as what it carries.
/// </summary>
public sealed class SqlClassifierTests(PostgresServer server) : IAsyncLifetime
{
    private Warehouse _warehouse = null!;
    private SqlClassifier _classifier = null!;

    public async ValueTask InitializeAsync()
    {
        _warehouse = await Warehouse.CreateAsync(server, contacts: 50);
        _classifier = await SqlClassifier.OpenAsync(server.Governed(_warehouse.Database), TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _classifier.DisposeAsync();
        await _warehouse.DisposeAsync();
    }

    private async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> Outputs(string sql)
    {
        var statement = _classifier.Classify(sql);
        Assert.True(statement.Succeeded, statement.Error?.Message);
        var outputs = await _classifier.OutputsAsync(sql, statement.Value!, TestContext.Current.CancellationToken);
        Assert.True(outputs.Succeeded, outputs.Error?.Message);
        return outputs.Value!;
    }

    [Fact]
    public async Task A_renamed_column_is_traced_to_the_column_it_is()
    {
        var outputs = await Outputs("SELECT email AS handle, id FROM contacts WHERE id = 3");
        Assert.Equal(["contacts.email"], outputs["handle"]);
        Assert.Equal(["contacts.id"], outputs["id"]);
    }

    [Fact]
    public async Task A_column_named_as_another_is_traced_to_the_one_it_holds()
    {
        var outputs = await Outputs("SELECT email AS id, id AS email FROM contacts");
        Assert.Equal(["contacts.email"], outputs["id"]);
        Assert.Equal(["contacts.id"], outputs["email"]);
    }

    [Fact]
    public async Task A_computed_column_may_hold_any_column_the_statement_reads()
    {
        var outputs = await Outputs("SELECT upper(c.email) AS shout FROM contacts c WHERE c.id < 5");
        Assert.Contains("contacts.email", outputs["shout"]);
    }

    [Fact]
    public async Task A_whole_row_as_json_may_hold_every_column_of_its_table()
    {
        var outputs = await Outputs("SELECT row_to_json(c) AS j FROM contacts c WHERE c.id = 1");
        Assert.Contains("contacts.email", outputs["j"]);
        Assert.Contains("contacts.first_name", outputs["j"]);
    }

    [Fact]
    public async Task A_column_of_a_subquery_is_traced_through_it()
    {
        var outputs = await Outputs("SELECT x FROM (SELECT lower(email) AS x FROM contacts) s");
        Assert.Contains("contacts.email", outputs["x"]);
    }

    [Fact]
    public async Task A_returning_clause_is_described_and_nothing_is_deleted()
    {
        var outputs = await Outputs("DELETE FROM contacts WHERE id < 10 RETURNING email AS gone");
        Assert.Equal(["contacts.email"], outputs["gone"]);
        Assert.Equal(50, await _warehouse.CountAsync());
    }

    [Fact]
    public async Task Columns_of_several_statements_are_each_traced_and_computed_ones_may_hold_any_column()
    {
        var outputs = await Outputs("SELECT email AS a FROM contacts; SELECT 'x' || first_name AS b FROM contacts");
        Assert.Equal(["contacts.email"], outputs["a"]);
        Assert.Contains("contacts.first_name", outputs["b"]);
        Assert.Contains("events.kind", outputs["b"]);
    }

    [Fact]
    public async Task Two_columns_of_one_label_are_traced_to_both()
    {
        var outputs = await Outputs("SELECT id AS v, email AS v FROM contacts");
        Assert.Contains("contacts.email", outputs["v"]);
        Assert.Contains("contacts.id", outputs["v"]);
    }

    [Fact]
    public async Task A_statement_whose_result_cannot_be_described_is_an_error()
    {
        var sql = "SELECT 1; SELECT v FROM t2";
        var statement = _classifier.Classify(sql);
        var outputs = await _classifier.OutputsAsync(sql, statement.Value!, TestContext.Current.CancellationToken);
        Assert.False(outputs.Succeeded);
        Assert.Contains("t2", outputs.Error!.Message, StringComparison.Ordinal);
    }
}
