using Warden.Tests;
using Warden.Core;
namespace Warden.Workspace.Tests;

/// <summary>Bad input gets a clear error and the store is exactly as it was.</summary>
public sealed class BadInputOnSqliteTests() : BadInputTests(null);

public sealed class BadInputOnPostgresTests(PostgresServer server) : BadInputTests(server);

public abstract class BadInputTests(PostgresServer? server)
{
    private readonly WorkspaceFixture _workspace = new(server);

    private SystemError Refused(string tool, string arguments)
    {
        var before = _workspace.Dump();
        var plan = _workspace.Workspace.Plan(WorkspaceFixture.Call(tool, arguments));
        Assert.False(plan.Succeeded, "expected a refusal");
        Assert.Equal(before, _workspace.Dump());
        return plan.Error!;
    }

    [Fact]
    public void An_unknown_tool_is_refused_with_a_suggestion() =>
        Assert.Equal("'contacts.updte' is not a workspace tool; did you mean 'contacts.update'?", Refused("contacts.updte", "{}").Message);

    // PostgreSQL cannot store a NUL in text (it failed with an exception); SQLite stored it, cutting the value short where C reads it.
    [Theory]
    [InlineData("""{"ids": ["c-01"], "set": {"job_title": "a\u0000b"}}""", "'set.job_title'")]
    [InlineData("""{"ids": ["c-01"], "set": {"email": "ann@ex\u0000ample.com"}}""", "'set.email'")]
    [InlineData("""{"ids": ["c-01\u0000"], "set": {"owner": "sam"}}""", "'ids[0]'")]
    [InlineData("""{"filter": "country == 'DE\u0000'", "set": {"owner": "sam"}}""", "'filter'")]
    public void Text_holding_a_NUL_character_is_refused(string arguments, string where) =>
        Assert.StartsWith($"{where} of contacts.update holds a NUL character", Refused("contacts.update", arguments).Message, StringComparison.Ordinal);

    [Fact]
    public void An_unknown_argument_is_refused() =>
        Assert.Equal("contacts.update has no argument 'fliter'; did you mean 'filter'?", Refused("contacts.update", """{"fliter": "x", "set": {"owner": "sam"}}""").Message);

    [Fact]
    public void An_unknown_field_is_refused() =>
        Assert.Equal("contacts have no field 'lead_sorce' that contacts.update can set; did you mean 'lead_source'?",
            Refused("contacts.update", """{"ids": ["c-01"], "set": {"lead_sorce": "web"}}""").Message);

    [Fact]
    public void A_field_with_a_tool_of_its_own_is_refused() =>
        Assert.Equal("contacts.update cannot set 'email_consent': use consent.update",
            Refused("contacts.update", """{"ids": ["c-01"], "set": {"email_consent": "subscribed"}}""").Message);

    [Theory]
    [InlineData("""{"ids": "c-01", "set": {"owner": "sam"}}""", "'ids' of contacts.update must be a list of strings")]
    [InlineData("""{"ids": ["c-01"], "set": {"lead_score": "high"}}""", "'lead_score' must be a whole number from -1,000 to 10,000")]
    [InlineData("""{"ids": ["c-01"], "set": {"country": "Germany"}}""", "'country' 'Germany' is not a two-letter country code such as DE")]
    [InlineData("""{"ids": ["c-01"], "set": {"company_id": "co-9"}}""", "'company_id' names no company: 'co-9'")]
    [InlineData("""{"ids": ["c-01"]}""", "contacts.update needs 'set': Field changes: field name to new value.")]
    [InlineData("""{"ids": ["c-01"], "set": {}}""", "'set' of contacts.update is empty; name at least one field to change")]
    [InlineData("""{"ids": ["c-01"], "filter": "country == 'DE'", "set": {"owner": "sam"}}""", "contacts.update takes ids or a filter, not both")]
    public void Wrong_types_and_shapes_are_refused(string arguments, string message) =>
        Assert.Equal(message, Refused("contacts.update", arguments).Message);

    [Fact]
    public void A_filter_that_does_not_compile_is_refused() =>
        Assert.StartsWith("the filter of contacts.update is not valid: unknown name 'contry'", Refused("contacts.update", """{"filter": "contry == 'DE'", "set": {"owner": "sam"}}""").Message);

    [Fact]
    public void Acting_on_every_contact_must_be_said()
    {
        Assert.Equal("say which contacts contacts.update acts on: ids, a filter, or all: true to mean every contact",
            Refused("contacts.update", """{"set": {"owner": "sam"}}""").Message);
    }

    [Fact]
    public void A_filter_that_selects_every_contact_must_be_meant()
    {
        var error = Refused("contacts.update", """{"filter": "lead_score >= 0", "set": {"owner": "sam"}}""");
        Assert.Equal("matches_everything", error.Code);
        Assert.Equal("the filter 'lead_score >= 0' selects every contact (41); pass all: true if that is what you mean", error.Message);
        Assert.Equal(41, _workspace.Plan("contacts.update", """{"filter": "lead_score >= 0", "all": true, "set": {"owner": "sam"}}""").Records);
    }

    [Fact]
    public void An_id_that_does_not_exist_is_refused() =>
        Assert.Equal("no contact c-99; contacts.update changed nothing", Refused("contacts.update", """{"ids": ["c-01", "c-99"], "set": {"owner": "sam"}}""").Message);

    [Fact]
    public void A_hundred_megabyte_argument_is_refused()
    {
        var huge = "{\"ids\": [\"c-01\"], \"set\": {\"job_title\": \"" + new string('x', 100 * 1024 * 1024) + "\"}}";
        var error = Refused("contacts.update", huge);
        Assert.Equal("the arguments of contacts.update are 104,857,643 bytes; the limit is 1,048,576", error.Message);
    }

    [Fact]
    public void Arguments_that_are_not_an_object_are_refused() =>
        Assert.Equal("the arguments of contacts.update must be a JSON object", Refused("contacts.update", "[1, 2]").Message);
}
