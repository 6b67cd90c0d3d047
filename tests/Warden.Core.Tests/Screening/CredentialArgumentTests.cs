using System.Text.Json;

namespace Warden.Core.Tests.Screening;

/// <summary>Credentials an agent puts in a call's arguments, found by name or by shape, never echoed.</summary>
public sealed class CredentialArgumentTests
{
    private static IReadOnlyList<string> In(string json) => CredentialArguments.Find(JsonDocument.Parse(json).RootElement);

    [Theory]
    [InlineData("""{"id":"c-1","api_key":"k-123"}""", "args.api_key is named as a credential")]
    [InlineData("""{"auth":{"Password":"hunter2"}}""", "args.auth.Password is named as a credential")]
    [InlineData("""{"headers":{"X-Api-Key":"abc"}}""", "args.headers['X-Api-Key'] is named as a credential")]
    [InlineData("""{"note":"Bearer 0123456789abcdefghij"}""", "args.note holds an Authorization header's credential")]
    [InlineData("""{"ids":["c-1","eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"]}""", "args.ids[1] holds a JSON Web Token")]
    [InlineData("""{"dsn":"postgres://admin:s3cret@db.internal:5432/crm"}""", "args.dsn holds a URL with a password in it")]
    [InlineData("""{"text":"use sk_live_51HxxxxxxxxxxxxxxxxxxxxY to pay"}""", "args.text holds an API key of a known provider")]
    [InlineData("""{"key":"-----BEGIN RSA PRIVATE KEY-----\nMIIE..."}""", "args.key holds a private key")]
    public void A_credential_in_the_arguments_is_found_by_name_or_shape(string arguments, string expected) =>
        Assert.Equal(expected, Assert.Single(In(arguments)));

    [Theory]
    [InlineData("""{"id":"c-1","fields":{"lifecycle":"mql","owner":"sam"}}""")]
    [InlineData("""{"query":"Bearer of bad news"}""")]
    [InlineData("""{"password":""}""")]
    [InlineData("""{"url":"https://example.com/landing?utm_source=mail"}""")]
    [InlineData("""{"next_page_token":"eyJwYWdlIjoyfQ"}""")]
    [InlineData("""{"sql":"SELECT email FROM contacts WHERE id = 7"}""")]
    public void Ordinary_arguments_are_not_taken_for_credentials(string arguments) => Assert.Empty(In(arguments));

    [Fact]
    public void What_is_found_never_repeats_the_value()
    {
        var found = Assert.Single(In("""{"token":"very-secret-value-123"}"""));
        Assert.DoesNotContain("very-secret", found, StringComparison.Ordinal);
    }
}
