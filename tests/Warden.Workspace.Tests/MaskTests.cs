using System.Text.Json;
using Warden.Core;

namespace Warden.Workspace.Tests;

/// <summary>What an agent reads of a field it may not see, written in one pass over the tool's output.</summary>
public sealed class MaskTests
{
    private const string Policy = """
        version: 1
        id: mask-test
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

    private static readonly ReadMask Mask = ReadMaskOf("reader");

    private static ReadMask ReadMaskOf(string agent)
    {
        var policy = PolicyLoader.Load(Policy, "policy.yaml", new PolicyLoadOptions { Systems = [WorkspaceCatalogue.Catalogue] }).Policy!;
        return ReadMask.For(policy, policy.FindAgent(agent)!);
    }

    private static string Masked(string json)
    {
        using var document = JsonDocument.Parse(json);
        return Mask.Apply(document.RootElement).GetRawText();
    }

    [Fact]
    public void A_masked_field_is_masked_at_any_depth_and_every_other_byte_is_kept()
    {
        Assert.Contains("email", Mask.Fields);
        Assert.Contains("first_name", Mask.Fields);
        Assert.DoesNotContain("country", Mask.Fields);

        // Numbers keep their text (1.50, 1e3), other strings their characters as the serializer
        // escapes them, nulls stay null whether masked or not; a masked field holding an object or
        // an array has every value in it masked, numbers and booleans hidden.
        var read = Masked("""
            {"contacts": [
               {"id": "c-1", "email": "jo@example.com", "first_name": "Ülla", "country": "DE", "lead_score": 1.50, "note": "a<b & \"c\""},
               {"id": "c-2", "email": null, "first_name": "J", "country": null, "lead_score": 1e3, "tags": [true, null, "x"]}
             ],
             "email": {"home": "ann@home.example", "score": 7, "ok": false, "more": [null, "bob@x.example", {"first_name": 3}]},
             "first_name": ["Ann", 2, null],
             "matching": 2, "next_cursor": null}
            """);

        Assert.Equal(
            """{"contacts":[{"id":"c-1","email":"j***@example.com","first_name":"\u00DC***","country":"DE","lead_score":1.50,"note":"a\u003Cb \u0026 \u0022c\u0022"},{"id":"c-2","email":null,"first_name":"***","country":null,"lead_score":1e3,"tags":[true,null,"x"]}],"email":{"home":"a***@home.example","score":"***","ok":"***","more":[null,"b***@x.example",{"first_name":"***"}]},"first_name":["A***","***",null],"matching":2,"next_cursor":null}""",
            read);
    }

    [Fact]
    public void A_field_whose_name_is_written_with_escapes_is_masked_as_its_plain_name()
    {
        Assert.Equal(
            """{"email":"j***@example.com","first_name":"A***","t\u00EBst":"x","country":"DE"}""",
            Masked("""{"em\u0061il": "jo@example.com", "f\u0069rst_name": "Ann", "tëst": "x", "country": "DE"}"""));
    }

    [Fact]
    public void Output_without_a_masked_value_is_handed_on_as_it_is()
    {
        using var document = JsonDocument.Parse("""{"id": "c-1", "email": null, "country": "DE"}""");
        Assert.Equal("""{"id": "c-1", "email": null, "country": "DE"}""", Mask.Apply(document.RootElement).GetRawText());
    }
}
