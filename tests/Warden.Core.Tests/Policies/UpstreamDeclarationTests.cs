using Warden.Core.Diagnostics;
using static Warden.Core.Tests.TestPolicies;

namespace Warden.Core.Tests.Policies;

/// <summary>An upstream MCP server the policy declares (kind: mcp): how Warden reaches it, checked where it is written, and its tools named by its id.</summary>
public sealed class UpstreamDeclarationTests
{
    private const string Files = """
        systems:
          - id: files
            kind: mcp
            command: [npx, mcp-server-filesystem, /srv/share]
            environment: sandbox
            env: { FS_TOKEN: env:FILES_TOKEN }
            timeout: 5s
            tools:
              - { name: read_text_file, kind: read, result: { "$.content": [pii] } }
        data_classes:
          pii: [contacts.email]
        """;

    private const string Crm = """
        systems:
          - id: crm
            kind: mcp
            connections:
              sandbox: { url: "http://127.0.0.1:9/mcp", headers: { Authorization: env:CRM_SANDBOX } }
              production: { url: "https://crm.example.com/mcp", headers: { Authorization: secret:crm } }
        """;

    private static Diagnostic Error(string text, DiagnosticCode code)
    {
        var result = Load(text);
        Assert.False(result.Succeeded, "it loaded: " + string.Join("\n", result.Diagnostics));
        return Assert.Single(result.Errors, d => d.Code == code);
    }

    [Fact]
    public void A_stdio_upstream_is_declared_with_its_command_references_and_timeout()
    {
        var policy = Valid(With(Files));
        var declared = Assert.Single(policy.Declared);
        Assert.Equal("mcp", declared.Kind);
        var endpoint = declared.Endpoints["sandbox"];
        Assert.Equal(["npx", "mcp-server-filesystem", "/srv/share"], endpoint.Command);
        Assert.Equal("env:FILES_TOKEN", endpoint.Environment["FS_TOKEN"]);
        Assert.Equal(TimeSpan.FromSeconds(5), declared.Timeout);
    }

    [Fact]
    public void An_upstreams_annotated_tools_are_named_by_its_id_with_their_result_classes()
    {
        var policy = Valid(With(Files));
        var tool = Assert.Single(policy.Tools, t => t.System == "files");
        Assert.Equal("files.read_text_file", tool.Name);
        Assert.Equal(["pii"], tool.ResultClasses["$.content"]);
    }

    [Fact]
    public void An_http_upstream_may_have_an_endpoint_per_environment()
    {
        var declared = Assert.Single(Valid(With(Crm)).Declared);
        Assert.Equal("https://crm.example.com/mcp", declared.Endpoints["production"].Url);
        Assert.Equal("secret:crm", declared.Endpoints["production"].Headers["Authorization"]);
    }

    [Fact]
    public void A_header_value_written_in_the_policy_is_an_error_at_its_place()
    {
        var error = Error(With(Crm.Replace("env:CRM_SANDBOX", "\"Bearer sk-live-123\"", StringComparison.Ordinal)), DiagnosticCode.SecretInPolicy);
        Assert.Contains("the header Authorization of system 'crm' is written in the policy", error.Message, StringComparison.Ordinal);
        Assert.True(error.Location.Line > 0);
    }

    [Fact]
    public void An_environment_variable_written_in_the_policy_is_an_error()
    {
        var error = Error(With(Files.Replace("env:FILES_TOKEN", "hunter2", StringComparison.Ordinal)), DiagnosticCode.SecretInPolicy);
        Assert.Contains("FS_TOKEN", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_password_in_the_url_is_an_error()
    {
        var error = Error(With(Crm.Replace("https://crm", "https://bot:hunter2@crm", StringComparison.Ordinal)), DiagnosticCode.SecretInPolicy);
        Assert.Contains("user and password", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_upstream_in_an_environment_the_policy_lacks_is_an_error_with_did_you_mean()
    {
        var error = Error(With(Files.Replace("environment: sandbox", "environment: sandbx", StringComparison.Ordinal)), DiagnosticCode.UnknownReference);
        Assert.Contains("'sandbx'", error.Message, StringComparison.Ordinal);
        Assert.Contains("sandbox", error.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void An_upstream_with_neither_command_nor_url_is_an_error()
    {
        var error = Error(With("""
            systems:
              - { id: files, kind: mcp, environment: sandbox }
            """), DiagnosticCode.MissingField);
        Assert.Contains("neither how to start it nor where it is", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_upstream_with_both_command_and_url_is_an_error()
    {
        var error = Error(With(Files.Replace("environment: sandbox", "environment: sandbox\n    url: http://127.0.0.1:9/mcp", StringComparison.Ordinal)), DiagnosticCode.InvalidValue);
        Assert.Contains("both a command and a url", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_result_path_Warden_cannot_follow_is_an_error()
    {
        var error = Error(With(Files.Replace("$.content", "$..content[?(@.x)]", StringComparison.Ordinal)), DiagnosticCode.InvalidValue);
        Assert.Contains("not a JSON path Warden follows", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_result_class_the_policy_does_not_declare_is_an_error_with_did_you_mean()
    {
        var error = Error(With(Files.Replace("[pii]", "[pi]", StringComparison.Ordinal)), DiagnosticCode.UnknownReference);
        Assert.Contains("'pi'", error.Message, StringComparison.Ordinal);
        Assert.Contains("pii", error.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void An_upstream_cannot_take_an_id_that_would_name_its_tools_as_workspace_tools()
    {
        // contacts.update is the workspace's: a server named contacts offering 'update' must not answer for it.
        var error = Error(With(Files.Replace("id: files", "id: contacts", StringComparison.Ordinal)), DiagnosticCode.DuplicateName);
        Assert.Contains("the workspace names contacts.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_upstream_id_with_a_dot_is_an_error()
    {
        var error = Error(With(Files.Replace("id: files", "id: files.v2", StringComparison.Ordinal)), DiagnosticCode.InvalidValue);
        Assert.Contains("has a '.'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rule_naming_an_upstreams_tool_without_its_system_is_an_error_with_did_you_mean()
    {
        var error = Error(With(Files + "\n" + """
            rules:
              - { id: r, agent: look-bot, system: files, tool: read_text_file, effect: allow }
            """), DiagnosticCode.UnknownReference);
        Assert.Contains("'files.read_text_file'", error.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void An_upstream_tool_named_like_another_systems_tool_stays_under_its_own_system()
    {
        // A server offering 'contacts.update' offers files.contacts.update, never the workspace's tool.
        var policy = Valid(With(Files.Replace("name: read_text_file", "name: contacts.update", StringComparison.Ordinal)));
        Assert.Equal("workspace", Assert.Single(policy.Tools, t => t.Name == "contacts.update").System);
        Assert.Contains(policy.Tools, t => t.Name == "files.contacts.update" && t.System == "files");
    }

    [Fact]
    public void A_rule_over_an_unannotated_upstream_tool_is_decided_as_destructive_and_held()
    {
        var policy = Valid(With(Files + "\n" + """
            rules:
              - { id: w, agent: ops-bot, system: files, tool: files.write_file, effect: approve, approval: { approvers: [ana] } }
            """));
        var decision = policy.Decide(Call("ops-bot", "files.write_file", system: "files"));
        Assert.Equal(Effect.Approve, decision.Effect);
        Assert.Equal(Effect.Deny, policy.Decide(Call("tidy-bot", "files.write_file", system: "files")).Effect);
    }

    [Fact]
    public void An_unannotated_upstream_tool_is_granted_only_by_a_rule_naming_it_and_only_held()
    {
        var policy = Valid(With(Files + "\n" + """
            rules:
              - { id: w, agent: ops-bot, system: files, tool: files.write_file, effect: approve, approval: { approvers: [ana] } }
            """));
        var write = ToolDefinition.Unannotated("files", "files.write_file");
        Assert.Equal(Effect.Approve, policy.GrantUnannotated("ops-bot", "sandbox", write)!.BestCase);
        Assert.Null(policy.GrantUnannotated("ops-bot", "sandbox", ToolDefinition.Unannotated("files", "files.move_file")));
        Assert.Null(policy.GrantUnannotated("tidy-bot", "sandbox", write));
    }

    private const string Bulk = """
        systems:
          - id: crm
            kind: mcp
            url: http://127.0.0.1:9/mcp
            environment: sandbox
            tools:
              - { name: bulk_update, kind: write, reversibility: compensable, records: args.ids.size() }
        """;

    [Fact]
    public void A_tools_records_are_counted_from_its_arguments()
    {
        var tool = Assert.Single(Valid(With(Bulk)).Tools, t => t.Name == "crm.bulk_update");
        Assert.True(tool.TryCountRecords(System.Text.Json.JsonDocument.Parse("""{"ids":["a","b","c"]}""").RootElement, out var records, out _));
        Assert.Equal(3, records);
        // Without the list the count cannot be worked out: a problem, never a guess of one.
        Assert.False(tool.TryCountRecords(System.Text.Json.JsonDocument.Parse("{}").RootElement, out _, out var problem));
        Assert.NotNull(problem);
    }

    [Fact]
    public void A_records_expression_that_is_not_a_count_is_an_error_at_its_place()
    {
        var typed = Bulk.Replace("records: args.ids.size()", "arguments: { ids: string_list }, records: args.ids", StringComparison.Ordinal);
        var error = Error(With(typed), DiagnosticCode.ConditionType);
        Assert.Contains("in the records of tool 'bulk_update' of system 'crm': a count must be a whole number", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_records_expression_may_read_only_the_arguments()
    {
        var error = Error(With(Bulk.Replace("args.ids.size()", "recipients", StringComparison.Ordinal)), DiagnosticCode.ConditionType);
        Assert.Contains("recipients", error.Message, StringComparison.Ordinal);
    }
}
