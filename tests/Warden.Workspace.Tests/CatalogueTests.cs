using System.Text.Json;
using Warden.Core;

namespace Warden.Workspace.Tests;

public sealed class CatalogueTests
{
    [Fact]
    public void Every_catalogue_tool_is_implemented_and_nothing_else() =>
        Assert.Equal(WorkspaceCatalogue.Tools.Select(t => t.Name).Order(), Tools.ToolRegistry.All().Select(t => t.Name).Order());

    [Fact]
    public void Every_tool_has_a_json_schema_with_a_description_for_each_argument()
    {
        foreach (var tool in MarketingWorkspace.Tools)
        {
            using var schema = JsonDocument.Parse(tool.InputSchema()!);
            Assert.Equal("object", schema.RootElement.GetProperty("type").GetString());
            Assert.False(schema.RootElement.GetProperty("additionalProperties").GetBoolean());
            foreach (var property in schema.RootElement.GetProperty("properties").EnumerateObject())
            {
                Assert.False(string.IsNullOrWhiteSpace(property.Value.GetProperty("description").GetString()), $"{tool.Name}.{property.Name}");
            }
        }
    }

    [Fact]
    public void Sends_and_syncs_are_external_and_irreversible()
    {
        foreach (var name in new[] { "campaigns.send", "audiences.sync" })
        {
            var tool = MarketingWorkspace.Tools.Single(t => t.Name == name);
            Assert.True(tool.External && tool.Reversibility == Reversibility.Irreversible, name);
        }
    }
}
