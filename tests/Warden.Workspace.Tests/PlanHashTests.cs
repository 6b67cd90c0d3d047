using Warden.Tests;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Warden.Core;

namespace Warden.Workspace.Tests;

/// <summary>
/// A plan hash is stored with every held call and compared when it is approved and when it is
/// applied: the bytes it covers must not change when the code that writes them does (a gateway
/// upgraded while calls wait would otherwise find every approval stale, or worse, two calls alike).
/// </summary>
public sealed class PlanHashOnSqliteTests() : PlanHashTests(null);

public sealed class PlanHashOnPostgresTests(PostgresServer server) : PlanHashTests(server);

public abstract class PlanHashTests(PostgresServer? server)
{
    private readonly WorkspaceFixture _workspace = new(server);

    /// <summary>The call's header as plans hashed it when it was built as an object and made canonical.</summary>
    private static byte[] HeaderAsAnObject(ToolCall call, ToolDefinition tool, string? binding)
    {
        var header = JsonSerializer.SerializeToElement(new Dictionary<string, object>
        {
            ["tool"] = tool.Name,
            ["system"] = tool.System,
            ["kind"] = tool.Kind.ToString(),
            ["reversibility"] = tool.Reversibility.ToString(),
            ["external"] = tool.External,
            ["arguments"] = call.Arguments.ValueKind == JsonValueKind.Undefined ? JsonDocument.Parse("{}").RootElement : call.Arguments,
            ["agent"] = call.Agent,
            ["environment"] = call.Environment,
        });
        if (binding is not null)
        {
            header = JsonSerializer.SerializeToElement(new Dictionary<string, object> { ["call"] = header, ["binding"] = binding });
        }

        return CanonicalJson.Bytes(header);
    }

    [Theory]
    [InlineData("contacts.get", """{"id": "c-07"}""", "reporting-bot", null)]
    [InlineData("contacts.update", """{"set": {"job_title": "Gérant \"R&D\" <ü> 🚀", "a": [3, 1.50, null, true]}, "ids": ["c-01", "c-02"]}""", "agent-ç\u2028", null)]
    [InlineData("campaigns.send", """{"campaign": "cmp-news"}""", "hygiene-bot", """{"subject":"Hé \"you\" <b>","content":"line\nline\u2029"}""")]
    public void The_header_a_plan_hash_covers_is_the_canonical_json_of_the_call_as_an_object(string tool, string arguments, string agent, string? binding)
    {
        var call = WorkspaceFixture.Call(tool, arguments, agent);
        var definition = MarketingWorkspace.Tools.Single(t => t.Name == tool);
        Assert.Equal(Encoding.UTF8.GetString(HeaderAsAnObject(call, definition, binding)), Encoding.UTF8.GetString(MarketingWorkspace.Header(call, definition, binding)));
    }

    [Fact]
    public void A_point_read_is_hashed_as_its_canonical_call_and_its_one_key()
    {
        var call = WorkspaceFixture.Call("contacts.get", """{"id": "c-07"}""", "reporting-bot");
        var expected = HeaderAsAnObject(call, MarketingWorkspace.Tools.Single(t => t.Name == "contacts.get"), null).Concat("\nc-07"u8.ToArray()).ToArray();
        var planned = _workspace.Workspace.Plan(call);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(expected)), planned.Value?.Hash ?? planned.Error!.Message);
    }
}
