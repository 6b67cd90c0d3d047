namespace Warden.Core.Tests.Json;

public sealed class StrictJsonTests
{
    [Fact]
    public void Duplicate_keys_are_refused_with_their_path()
    {
        Assert.False(StrictJson.TryParse("""{"set": {"a": 1, "a": 2}}""", out _, out var error));
        Assert.Equal("the key at $.set.a appears twice", error);
    }

    [Fact]
    public void Malformed_json_says_where()
    {
        Assert.False(StrictJson.TryParse("{\"a\": 1,\n \"b\": }", out _, out var error));
        Assert.StartsWith("this is not valid JSON (line 2, position", error);
    }

    [Fact]
    public void Deep_nesting_is_refused()
    {
        Assert.False(StrictJson.TryParse(new string('[', 100) + new string(']', 100), out _, out var error));
        Assert.StartsWith("this is not valid JSON", error);
    }

    [Fact]
    public void Arguments_must_be_an_object()
    {
        Assert.False(StrictJson.TryParseObject("[1]", out _, out var error));
        Assert.Equal("expected a JSON object like {\"id\": \"c-1\"}, found a list", error);
    }

    [Fact]
    public void A_huge_argument_is_refused_before_parsing()
    {
        Assert.False(StrictJson.TryParse("\"" + new string('x', 2_000_000) + "\"", out _, out var error));
        Assert.Equal("the JSON is 2,000,002 characters long; the limit is 1,048,576", error);
    }

    [Fact]
    public void Facts_are_read_with_their_types()
    {
        Assert.True(StrictJson.TryParse("""{"records": 12, "classes": ["pii"], "external": true}""", out var json, out _));
        Assert.True(StrictJson.TryReadFacts(json, out var facts, out _));
        Assert.Equal((12L, "pii", (bool?)true), (facts.Records, facts.Classes.Single(), facts.External));
    }

    [Theory]
    [InlineData("""{"records": -1}""", "'records' should be a whole number of at least 0")]
    [InlineData("""{"records": 1.5}""", "'records' should be a whole number of at least 0")]
    [InlineData("""{"classes": "pii"}""", "'classes' should be a list of strings")]
    [InlineData("""{"external": "yes"}""", "'external' should be true or false")]
    [InlineData("""{"recipient": 5}""", "'recipient' is not a plan fact; did you mean 'recipients'?")]
    public void Wrong_facts_are_refused_with_a_sentence(string json, string message)
    {
        Assert.True(StrictJson.TryParse(json, out var element, out _));
        Assert.False(StrictJson.TryReadFacts(element, out _, out var error));
        Assert.Equal(message, error);
    }
}
