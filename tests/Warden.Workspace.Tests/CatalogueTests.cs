using System.Text.Json;
using Microsoft.Data.Sqlite;
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

    private const string Policy = """
        version: 1
        id: catalogue-test
        environments: [sandbox]
        owners:
          - { id: ana, name: Ana Lind, email: ana@example.com, roles: [approver, business_owner, technical_owner, data_owner, risk_owner] }
        use_cases:
          - id: look
            classification: { access: low, autonomy: low, data_sensitivity: low, customer_impact: low, compliance_exposure: low, reversibility: low }
            owners: { business: ana, technical: ana, data: ana, risk: ana }
            escalation: ana
        agents:
          - { id: reader, use_case: look, environments: [sandbox], auth: { token: env:T_READER } }
        """;

    [Fact]
    public void A_column_added_to_the_schema_with_a_class_is_masked_without_any_other_change()
    {
        // What a developer does to add a mobile number: one line in Schema.sql, nothing in Core,
        // nothing in the policy.
        var schema = WithLineAfterPhone("    mobile TEXT,                            -- an SMS number; classes: pii");
        Assert.NotEqual(WorkspaceStore.Schema, schema);
        var catalogue = WorkspaceCatalogue.Build(schema);
        var policy = PolicyLoader.Load(Policy, "policy.yaml", new PolicyLoadOptions { Systems = [catalogue] }).Policy!;

        var mask = ReadMask.For(policy, policy.FindAgent("reader")!);

        Assert.Contains("mobile", mask.Fields);
        using var contact = JsonDocument.Parse("""{"id": "c-1", "mobile": "+49 170 5550100", "country": "DE"}""");
        var read = mask.Apply(contact.RootElement);
        Assert.Equal("+***", read.GetProperty("mobile").GetString());
        Assert.Equal("DE", read.GetProperty("country").GetString());
    }

    /// <summary>The schema with one more line after contacts.phone's, as a developer adds a column.</summary>
    private static string WithLineAfterPhone(string line)
    {
        var phone = WorkspaceStore.Schema.IndexOf("    phone TEXT,", StringComparison.Ordinal);
        var end = WorkspaceStore.Schema.IndexOf('\n', phone) + 1;
        return WorkspaceStore.Schema[..end] + line + "\n" + WorkspaceStore.Schema[end..];
    }

    [Theory]
    [InlineData("    mobile TEXT,                            -- Classes: pii")]
    [InlineData("    mobile TEXT,                            -- classes: pii.")]
    [InlineData("    mobile TEXT,                            -- classes: pii (GDPR art. 4)")]
    [InlineData("    mobile TEXT,                            -- classes: PII")]
    [InlineData("    mobile TEXT,                            -- class: pii")]
    public void A_column_whose_comment_mentions_classes_it_cannot_read_stops_the_catalogue_instead_of_leaving_it_unmasked(string line)
    {
        var refused = Assert.Throws<InvalidOperationException>(() => WorkspaceCatalogue.Build(WithLineAfterPhone(line)));

        Assert.Contains("mentions classes but does not list them", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Classes_may_be_listed_without_spaces_and_after_another_remark()
    {
        var catalogue = WorkspaceCatalogue.Build(WithLineAfterPhone("    mobile TEXT,                            -- E.164, e.g. +4917055501; classes:pii,restricted"));

        Assert.Equal(["pii", "restricted"], catalogue.ClassesOf("contacts.mobile"));
    }

    [Fact]
    public void The_schema_s_classes_hold_even_when_the_policy_names_none()
    {
        var policy = PolicyLoader.Load(Policy, "policy.yaml", new PolicyLoadOptions { Systems = [WorkspaceCatalogue.Catalogue] }).Policy!;

        Assert.Contains("pii", policy.ClassesOf("contacts.email"));
        Assert.Contains("consent", policy.ClassesOf("contacts.email_consent"));
        Assert.Contains("email", ReadMask.For(policy, policy.FindAgent("reader")!).Fields);
    }

    [Fact]
    public void Every_column_of_the_database_is_a_field_of_the_catalogue_and_journaled()
    {
        var path = Path.Combine(Path.GetTempPath(), $"warden-catalogue-{Guid.NewGuid():N}.db");
        try
        {
            using (WorkspaceStore.Open(path))
            {
            }

            using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            foreach (var table in new[] { "contacts", "companies", "suppression", "campaigns", "segments", "list_members" })
            {
                command.CommandText = $"SELECT name FROM pragma_table_info('{table}')";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    Assert.Contains($"{table}.{reader.GetString(0)}", WorkspaceCatalogue.Fields);
                }
            }

            // And the journal keeps every column of the tables it journals, as the file has them.
            foreach (var table in Tables.ByName.Values)
            {
                command.CommandText = $"SELECT name FROM pragma_table_info('{table.Name}') ORDER BY cid";
                var columns = new List<string>();
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    columns.Add(reader.GetString(0));
                }

                Assert.Equal(columns, table.Columns);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Warden_s_own_tables_are_not_fields_agents_or_policies_meet()
    {
        Assert.DoesNotContain(WorkspaceCatalogue.Fields, f => f.StartsWith("journal.", StringComparison.Ordinal) || f.StartsWith("actions.", StringComparison.Ordinal)
                                                            || f.StartsWith("send_queue.", StringComparison.Ordinal));
    }
}
