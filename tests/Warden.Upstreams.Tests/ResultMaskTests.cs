using System.Text.Json.Nodes;

namespace Warden.Upstreams.Tests;

/// <summary>The JSON paths of a tool's result classes, followed exactly: what they name is masked, nothing else.</summary>
public sealed class ResultMaskTests
{
    private const string Result = """{"records":[{"email":"ada@example.com","name":"Ada","n":7},{"email":"bob@example.com","name":"Bob","n":8}],"owner":{"email":"o@example.com"}}""";

    [Theory]
    [InlineData("$.records[*].email", """{"records":[{"email":"a***@example.com","name":"Ada","n":7},{"email":"b***@example.com","name":"Bob","n":8}],"owner":{"email":"o@example.com"}}""")]
    [InlineData("$.records[1].n", """{"records":[{"email":"ada@example.com","name":"Ada","n":7},{"email":"bob@example.com","name":"Bob","n":"***"}],"owner":{"email":"o@example.com"}}""")]
    [InlineData("$['owner'].email", """{"records":[{"email":"ada@example.com","name":"Ada","n":7},{"email":"bob@example.com","name":"Bob","n":8}],"owner":{"email":"o***@example.com"}}""")]
    // records is an array where the path names a member: of another shape than the path expects, so masked whole.
    [InlineData("$.*.email", """{"records":[{"email":"a***@example.com","name":"A***","n":"***"},{"email":"b***@example.com","name":"B***","n":"***"}],"owner":{"email":"o***@example.com"}}""")]
    [InlineData("$.owner", """{"records":[{"email":"ada@example.com","name":"Ada","n":7},{"email":"bob@example.com","name":"Bob","n":8}],"owner":{"email":"o***@example.com"}}""")]
    [InlineData("$.missing[*].x", Result)]
    public void A_path_masks_exactly_what_it_names(string path, string expected)
    {
        Assert.Equal(expected, ResultMask.Apply(JsonNode.Parse(Result), [path])!.ToJsonString());
    }

    [Theory]
    [InlineData("""{"records":[[{"email":"ada@example.com"}]]}""")]
    [InlineData("""{"records":"[{\"email\":\"ada@example.com\"}]"}""")]
    [InlineData("""{"records":{"x":{"email":["ada@example.com"]},"y":"ada@example.com"}}""")]
    [InlineData("""{"records":[{"email":"bob@example.com"},7,"ada@example.com"]}""")]
    public void A_value_in_another_shape_than_its_path_expects_is_masked_whole(string result)
    {
        Assert.DoesNotContain("ada@", ResultMask.Apply(JsonNode.Parse(result), ["$.records[*].email"])!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_masked_text_keeps_no_address_but_a_lone_ones_domain()
    {
        var masked = ResultMask.Apply(JsonNode.Parse("""{"a":"ada@example.com","b":"ada@example.com, bob@example.com","c":"x @ bob@example.com"}"""), ["$.*"])!;
        Assert.Equal("""{"a":"a***@example.com","b":"a***","c":"x***"}""", masked.ToJsonString());
    }

    [Fact]
    public void The_root_path_masks_everything()
    {
        Assert.DoesNotContain("ada@example.com", ResultMask.Apply(JsonNode.Parse(Result), ["$"])!.ToJsonString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("records[*]")]
    [InlineData("$..email")]
    [InlineData("$.records[?(@.n > 1)]")]
    public void A_path_outside_the_subset_is_not_followed(string path) => Assert.Null(ResultMask.Steps(path));
}
