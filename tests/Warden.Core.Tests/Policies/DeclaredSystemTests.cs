using Warden.Core.Diagnostics;
using static Warden.Core.Tests.TestPolicies;

namespace Warden.Core.Tests.Policies;

/// <summary>A database the policy declares (kind: postgres): checked where it is written, and its tools its own.</summary>
public sealed class DeclaredSystemTests
{
    private const string Warehouse = """
        systems:
          - id: warehouse
            kind: postgres
            connections: { sandbox: env:WAREHOUSE_SANDBOX }
            tables: [contacts]
        """;

    private static Diagnostic Error(string text, DiagnosticCode code)
    {
        var result = Load(text);
        Assert.False(result.Succeeded, "it loaded: " + string.Join("\n", result.Diagnostics));
        return Assert.Single(result.Errors, d => d.Code == code);
    }

    [Fact]
    public void A_declared_database_offers_its_tools_to_rules()
    {
        var policy = Valid(With(Warehouse + "\n" + """
            rules:
              - { id: q, agent: look-bot, tool: warehouse.query, effect: allow }
            """));
        Assert.Equal(["warehouse.describe", "warehouse.query", "warehouse.execute"], policy.Tools.Where(t => t.System == "warehouse").Select(t => t.Name));
        Assert.Equal("env:WAREHOUSE_SANDBOX", Assert.Single(policy.Declared).Connections["sandbox"]);
    }

    [Fact]
    public void A_connection_string_written_in_the_policy_is_an_error_at_its_place()
    {
        var error = Error(With(Warehouse.Replace("env:WAREHOUSE_SANDBOX", "\"Host=db;Password=hunter2\"", StringComparison.Ordinal)), DiagnosticCode.SecretInPolicy);
        Assert.Contains("the connection of system 'warehouse' in sandbox is written in the policy", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_connection_in_an_environment_the_policy_lacks_is_an_error_with_did_you_mean()
    {
        var error = Error(With(Warehouse.Replace("sandbox:", "sandbx:", StringComparison.Ordinal)), DiagnosticCode.UnknownReference);
        Assert.Contains("'sandbx'", error.Message, StringComparison.Ordinal);
        Assert.Contains("sandbox", error.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_kind_is_an_error_with_did_you_mean()
    {
        var error = Error(With(Warehouse.Replace("kind: postgres", "kind: postgre", StringComparison.Ordinal)), DiagnosticCode.InvalidValue);
        Assert.Contains("kind 'postgre'", error.Message, StringComparison.Ordinal);
        Assert.Contains("postgres", error.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void An_upstream_tool_cannot_take_a_declared_databases_tool_name()
    {
        var error = Error(With(Warehouse + "\n" + """
              - id: crm
                tools:
                  - { name: warehouse.execute, kind: read }
            """), DiagnosticCode.DuplicateName);
        Assert.Contains("'warehouse.execute' is offered by", error.Message, StringComparison.Ordinal);
    }
}
