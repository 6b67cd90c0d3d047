using System.Text.Json;
using System.Text.Json.Nodes;
using Warden.Core.Diagnostics;
using static Warden.Core.Tests.TestPolicies;

namespace Warden.Core.Tests.Policies;

/// <summary>A proxied write's preview (a read of the same server) and undo (the call that reverses it), as the policy declares them.</summary>
public sealed class ProxiedWriteDeclarationTests
{
    private const string Crm = """
        systems:
          - id: crm
            kind: mcp
            url: http://127.0.0.1:9/mcp
            environment: sandbox
            tools:
              - { name: get_records, kind: read, arguments: { ids: string_list } }
              - { name: update_record, kind: write, arguments: { id: string, fields: object } }
              - name: bulk_update
                kind: write
                arguments: { ids: string_list, fields: object }
                preview: { tool: get_records, arguments: { ids: args.ids }, records: "$.records[*]" }
                undo: { tool: update_record, arguments: { id: record.id, fields: "pick(record, args.fields)" } }
        """;

    private static Diagnostic Error(string text, DiagnosticCode code)
    {
        var result = Load(With(text));
        Assert.False(result.Succeeded, "it loaded: " + string.Join("\n", result.Diagnostics));
        return Assert.Single(result.Errors, d => d.Code == code);
    }

    private static ToolDefinition Bulk(string text = Crm) => Assert.Single(Valid(With(text)).Tools, t => t.Name == "crm.bulk_update");

    private static JsonElement Args(string json) => JsonDocument.Parse(json).RootElement;

    [Fact]
    public void A_write_with_an_undo_is_compensable_and_its_preview_reads_the_records_it_names()
    {
        var tool = Bulk();
        Assert.Equal(Reversibility.Compensable, tool.Reversibility);
        Assert.Equal("crm.get_records", tool.Preview!.Tool);
        Assert.Equal("""{"ids":["c-1","c-2"]}""", tool.Preview.Arguments(Args("""{"ids":["c-1","c-2"],"fields":{"lifecycle":"mql"}}"""), out _)!.ToJsonString());
        var before = JsonNode.Parse("""{"records":[{"id":"c-1","lifecycle":"lead","email":"a@x"},{"id":"c-2","lifecycle":"customer"}]}""");
        Assert.Equal(2, tool.Preview.Affected(before).Count);
    }

    [Fact]
    public void An_undo_picks_the_old_values_of_exactly_the_fields_the_call_set()
    {
        var tool = Bulk();
        Assert.True(tool.Undo!.PerRecord);
        var record = JsonNode.Parse("""{"id":"c-1","lifecycle":"lead","email":"a@x"}""");
        var undo = tool.Undo.Arguments(Args("""{"ids":["c-1"],"fields":{"lifecycle":"mql","owner":"sam"}}"""), null, record, out var problem);
        Assert.Null(problem);
        // owner was not there before: restoring it means clearing it.
        Assert.Equal("""{"id":"c-1","fields":{"lifecycle":"lead","owner":null}}""", undo!.ToJsonString());
    }

    [Fact]
    public void An_undo_whose_values_are_missing_says_which_instead_of_guessing()
    {
        var tool = Bulk();
        var undo = tool.Undo!.Arguments(Args("""{"ids":["c-1"],"fields":{}}"""), null, JsonNode.Parse("""{"name":"no id"}"""), out var problem);
        Assert.Null(undo);
        Assert.Equal("record.id: record has no member 'id'", problem);
    }

    [Fact]
    public void A_write_without_an_undo_is_irreversible_whatever_it_claims_and_the_checker_says_why()
    {
        var text = Crm.Replace("{ name: update_record, kind: write,", "{ name: update_record, kind: write, reversibility: compensable,", StringComparison.Ordinal);
        var result = Load(With(text));
        var update = Assert.Single(result.Policy!.Tools, t => t.Name == "crm.update_record");
        Assert.Equal(Reversibility.Irreversible, update.Reversibility);
        Assert.Contains(result.Diagnostics, d => d.Severity == Severity.Warning && d.Message.Contains("Warden cannot undo it without an undo call", StringComparison.Ordinal));
    }

    [Fact]
    public void A_preview_must_be_a_read()
    {
        var error = Error(Crm.Replace("preview: { tool: get_records,", "preview: { tool: update_record,", StringComparison.Ordinal), DiagnosticCode.InvalidValue);
        Assert.Contains("the preview of tool 'bulk_update' of system 'crm' is crm.update_record, which is not annotated as a read", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ name: send_email, kind: send, arguments: { ids: string_list } }", "send_email")]
    [InlineData("{ name: notify_partner, kind: write, external: true, arguments: { id: string } }", "notify_partner")]
    public void An_undo_may_not_reach_outside_since_a_rollback_runs_it_without_a_person(string declared, string name)
    {
        // A rollback runs the undo calls with no approval: an undo that sends would make a send of one.
        var text = Crm.Replace("      - { name: update_record,", $"      - {declared}\n      - {{ name: update_record,", StringComparison.Ordinal)
            .Replace("undo: { tool: update_record,", $"undo: {{ tool: {name},", StringComparison.Ordinal);
        var error = Error(text, DiagnosticCode.InvalidValue);
        Assert.Contains($"the undo of tool 'bulk_update' of system 'crm' is crm.{name}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_preview_may_not_be_a_tool_that_takes_sql_since_Warden_sends_a_preview_unclassified()
    {
        // execute_sql annotated as a read, and the preview handing it the agent's own statement: planning would run it.
        var text = Crm.Replace("      - { name: get_records,", "      - { name: execute_sql, kind: read, arguments: { sql: string }, sql: args.sql }\n      - { name: get_records,", StringComparison.Ordinal)
            .Replace("preview: { tool: get_records, arguments: { ids: args.ids }", "preview: { tool: execute_sql, arguments: { sql: args.fields.sql }", StringComparison.Ordinal)
            .Replace("    environment: sandbox\n", "    environment: sandbox\n    sql_connection: env:CLASSIFY\n", StringComparison.Ordinal);
        var error = Error(text, DiagnosticCode.InvalidValue);
        Assert.Contains("the preview of tool 'bulk_update' of system 'crm' is crm.execute_sql, which takes SQL", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_preview_or_undo_naming_a_tool_not_annotated_is_an_error_with_a_suggestion()
    {
        var error = Error(Crm.Replace("undo: { tool: update_record,", "undo: { tool: update_recrod,", StringComparison.Ordinal), DiagnosticCode.UnknownReference);
        Assert.Contains("'update_recrod'", error.Message, StringComparison.Ordinal);
        Assert.Contains("update_record", error.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void An_undo_without_a_preview_is_an_error()
    {
        var text = Crm.Replace("""preview: { tool: get_records, arguments: { ids: args.ids }, records: "$.records[*]" }""", "", StringComparison.Ordinal);
        Assert.Contains("has an undo but no preview", Error(text, DiagnosticCode.MissingField).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_undo_on_a_tool_declared_irreversible_is_a_contradiction()
    {
        var text = Crm.Replace("name: bulk_update\n", "name: bulk_update\n        reversibility: irreversible\n", StringComparison.Ordinal);
        Assert.Contains("is declared irreversible and has an undo", Error(text, DiagnosticCode.InvalidValue).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("record.id", "before.records.size()", "this builds nothing Warden can read off the policy")]
    [InlineData("record.id", "secret", "'secret' is not a value here")]
    [InlineData("record.id", "args.fields + 1", "arithmetic")]
    [InlineData("record.id", "record.id == 1", "this builds nothing Warden can read off the policy")]
    public void An_undo_argument_that_computes_or_reads_what_it_may_not_is_an_error_at_its_place(string old, string written, string message)
    {
        var text = Crm.Replace(old, $"\"{written}\"", StringComparison.Ordinal);
        var error = Error(text, DiagnosticCode.ConditionSyntax);
        Assert.True(error.Message.Contains(message, StringComparison.Ordinal), error.Message);
        Assert.Contains("in the undo of tool 'bulk_update' of system 'crm'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_preview_argument_may_not_read_the_before_image_it_is_about_to_read()
    {
        var error = Error(Crm.Replace("arguments: { ids: args.ids }", "arguments: { ids: before.ids }", StringComparison.Ordinal), DiagnosticCode.ConditionSyntax);
        Assert.Contains("'before' is not a value here; args is", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_preview_records_path_Warden_cannot_follow_is_an_error()
    {
        var error = Error(Crm.Replace("\"$.records[*]\"", "\"$.records[?(@.id)]\"", StringComparison.Ordinal), DiagnosticCode.InvalidValue);
        Assert.Contains("is not a JSON path Warden follows", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>A database server's SQL tool: where its statement is, and the connection Warden classifies it with.</summary>
public sealed class SqlToolDeclarationTests
{
    private const string Dbhub = """
        systems:
          - id: dbhub
            kind: mcp
            command: [npx, dbhub]
            environment: sandbox
            sql_connection: env:DBHUB_CLASSIFY
            tools:
              - { name: execute_sql, kind: read, arguments: { sql: string }, sql: args.sql }
        """;

    [Fact]
    public void A_sql_tool_takes_its_statement_from_the_argument_the_policy_names()
    {
        var policy = Valid(With(Dbhub));
        var tool = Assert.Single(policy.Tools, t => t.Name == "dbhub.execute_sql");
        Assert.Equal("DROP TABLE x", tool.Sql!.Statement(System.Text.Json.JsonDocument.Parse("""{"sql":"DROP TABLE x"}""").RootElement, out _));
        Assert.Null(tool.Sql.Statement(System.Text.Json.JsonDocument.Parse("""{"sql":["DROP TABLE x"]}""").RootElement, out var problem));
        Assert.Equal("args.sql is not text", problem);
        Assert.Equal("env:DBHUB_CLASSIFY", Assert.Single(policy.Declared).SqlConnection);
    }

    [Fact]
    public void A_sql_tool_without_a_connection_to_classify_with_is_an_error()
    {
        var result = Load(With(Dbhub.Replace("    sql_connection: env:DBHUB_CLASSIFY\n", "", StringComparison.Ordinal)));
        Assert.Contains("has no sql_connection to classify it with", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_classification_connection_written_in_the_policy_is_an_error()
    {
        var result = Load(With(Dbhub.Replace("env:DBHUB_CLASSIFY", "Host=db;Password=hunter2", StringComparison.Ordinal)));
        Assert.Equal(DiagnosticCode.SecretInPolicy, Assert.Single(result.Errors).Code);
    }

    [Theory]
    [InlineData(ActionKind.Read, ActionKind.Write, ActionKind.Write)]
    [InlineData(ActionKind.Read, ActionKind.Configure, ActionKind.Configure)]
    [InlineData(ActionKind.Write, ActionKind.Read, ActionKind.Write)]
    [InlineData(ActionKind.Send, ActionKind.Write, ActionKind.Send)]
    public void What_a_plan_found_a_call_does_only_ever_makes_it_more_dangerous(ActionKind annotated, ActionKind found, ActionKind governed) =>
        Assert.Equal(governed, GuardAmounts.Effective(annotated, new PlanFacts { Kind = found }));
}

/// <summary>The data classes a tool's arguments hold, by JSON path.</summary>
public sealed class ArgumentClassTests
{
    private const string Crm = """
        systems:
          - id: crm
            kind: mcp
            url: http://127.0.0.1:9/mcp
            environment: sandbox
            tools:
              - name: update_record
                kind: write
                arguments: { id: string, fields: object }
                argument_classes: { "$.fields.email": [pii] }
        data_classes:
          pii: [contacts.email]
        """;

    [Fact]
    public void A_call_touches_the_classes_of_the_arguments_it_has()
    {
        var tool = Assert.Single(Valid(With(Crm)).Tools, t => t.Name == "crm.update_record");
        Assert.Equal(["pii"], tool.ClassesIn(System.Text.Json.JsonDocument.Parse("""{"id":"c-1","fields":{"email":"a@b.c"}}""").RootElement));
        Assert.Empty(tool.ClassesIn(System.Text.Json.JsonDocument.Parse("""{"id":"c-1","fields":{"lifecycle":"mql"}}""").RootElement));
    }

    [Fact]
    public void An_argument_class_that_is_not_declared_is_an_error_with_a_suggestion()
    {
        var result = Load(With(Crm.Replace("[pii] }", "[pi] }", StringComparison.Ordinal)));
        var error = Assert.Single(result.Errors);
        Assert.Contains("the argument classes of tool 'update_record' of system 'crm' names the data class 'pi'", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>A tool's version pinned in the policy itself.</summary>
public sealed class PolicyPinTests
{
    private static string Crm(string pin) => $$"""
        systems:
          - id: crm
            kind: mcp
            url: http://127.0.0.1:9/mcp
            environment: sandbox
            tools:
              - { name: search, kind: read, pin: "{{pin}}" }
        """;

    [Fact]
    public void A_pinned_version_is_kept_with_the_tool()
    {
        var pin = "sha256:" + new string('a', 64);
        Assert.Equal(pin, Assert.Single(Valid(With(Crm(pin))).Tools, t => t.Name == "crm.search").Pin);
    }

    [Fact]
    public void A_pin_that_is_not_a_version_is_an_error_that_says_what_to_copy()
    {
        var error = Assert.Single(Load(With(Crm("sha256:abc"))).Errors);
        Assert.Contains("the pin of tool 'search' of system 'crm' is not a tool version", error.Message, StringComparison.Ordinal);
        Assert.Contains("warden upstreams list", error.Hint, StringComparison.Ordinal);
    }
}
