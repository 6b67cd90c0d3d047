using System.Diagnostics;
using System.Text.Json;
using Warden.Core.Audit;

namespace Warden.Core.Tests.Audit;

/// <summary>
/// Secrets are taken out of the trail by what they look like, wherever an agent or a person puts
/// them: only the secret goes, and the mark says what it was. Ordinary marketing text is left alone.
/// </summary>
public sealed class RedactionTests
{
    // Made-up credentials in the real formats (none of them works anywhere).
    private const string GitHub = "ghp_R2fQ8vX1mN4bK7sT0wZ3yL6cJ9hD5gA2eP8u";
    private const string Aws = "AKIAIOSFODNN7EXAMPLE";
    private const string Jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzYW0iLCJpYXQiOjE3MDAwMDAwMDB9.Qm9ndXNTaWduYXR1cmVfbm90X3JlYWw";
    private const string OpenAi = "sk-proj-4fT9xQ2mZ8kL1vB7nR3cW6yH0jD5sG2pA9eU4tK8";
    private const string Anthropic = "sk-ant-api03-Xq7Lm2Rt9Vb4Nc8Kp1Zs6Hd3Jf0Wg5Ye2Ua7Ti4Oo9";
    private const string Pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1x2y3z\nq9w8e7r6t5y4u3i2o1p0\n-----END RSA PRIVATE KEY-----";

    [Theory]
    [InlineData("Authorization: Bearer " + GitHub, "Authorization: [redacted: bearer token]")]
    [InlineData("call the API with Bearer eyJabc1234567890xyzQW please", "call the API with [redacted: bearer token] please")]
    [InlineData("Bearer abc", "[redacted: bearer token]")]
    [InlineData("Basic dXNlcjpwYXNz", "[redacted: basic credentials]")]
    [InlineData("send it with basic dXNlcjpodW50ZXIy to the old server", "send it with [redacted: basic credentials] to the old server")]
    [InlineData("header Authorization: Token 9f8e7d6c5b4a, then retry", "header Authorization: [redacted: authorization header], then retry")]
    [InlineData("Cookie: session=abc123; theme=dark", "Cookie: [redacted: cookie]")]
    [InlineData("use " + Aws + " for the export bucket", "use [redacted: AWS access key] for the export bucket")]
    [InlineData("token " + GitHub + " works", "token [redacted: GitHub token] works")]
    [InlineData("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123", "[redacted: GitHub token]")]
    [InlineData("post to xoxb-1234567890-0987654321-AbCdEfGhIjKl now", "post to [redacted: Slack token] now")]
    [InlineData("webhook https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXX", "webhook https://[redacted: Slack webhook]")]
    [InlineData("refund via sk_live_4eC39HqLyjWDarjtT1zdp7dc", "refund via [redacted: Stripe key]")]
    [InlineData("restricted rk_live_51HxAbCdEfGh12345678", "restricted [redacted: Stripe key]")]
    [InlineData("model key " + OpenAi + ".", "model key [redacted: OpenAI API key].")]
    [InlineData("claude key " + Anthropic, "claude key [redacted: Anthropic API key]")]
    [InlineData("maps AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW ok", "maps [redacted: Google API key] ok")]
    [InlineData("session " + Jwt + " expires", "session [redacted: JWT] expires")]
    [InlineData("key:\n" + Pem + "\nthanks", "key:\n[redacted: private key]\nthanks")]
    [InlineData("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA (cut off", "[redacted: private key]")]
    [InlineData("-----BEGIN EC\nPRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY----- done", "[redacted: private key] done")]
    [InlineData("https://bob:s3cr3t@db.example.com/marketing", "https://bob:[redacted: password]@db.example.com/marketing")]
    [InlineData("postgres://warden:hunter2@10.0.0.5:5432/crm?sslmode=require", "postgres://warden:[redacted: password]@10.0.0.5:5432/crm?sslmode=require")]
    [InlineData("https://crm.example.com/export?user=sam&password=hunter2&format=csv", "https://crm.example.com/export?user=sam&password=[redacted: password]&format=csv")]
    [InlineData("https://api.example.com/v1?api_key=9f8e7d6c5b4a3210", "https://api.example.com/v1?api_key=[redacted: key]")]
    [InlineData("Server=db;User Id=sa;Password=Pa55word!;", "Server=db;User Id=sa;Password=[redacted: password];")]
    [InlineData("the new db_password: correct-horse-battery", "the new db_password: [redacted: password]")]
    [InlineData("""{"client_secret": "abc def 123"}""", """{"client_secret": "[redacted: secret]"}""")]
    [InlineData("""{\"access_token\":\"ya29.a0AfH6SMB\"}""", """{\"access_token\":\"[redacted: token]\"}""")]
    public void A_secret_is_replaced_by_a_mark_that_says_what_it_was_and_the_rest_stays(string text, string expected) =>
        Assert.Equal(expected, Redaction.Secrets.Redact(text));

    [Theory]
    [InlineData("Normalise the titles of German contacts.")]
    [InlineData("Email jane.doe@example.com and maria.lopez@northwind.example about c-0000042.")]
    [InlineData("plan sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 approved")]
    [InlineData("Black Friday 2026 — Outdoor Gear (DE/AT) — v2")]
    [InlineData("sk-ii-summer-glow-campaign-2026-de-at-launch")]
    [InlineData("task-force-management-strategy-2026-q4-review")]
    [InlineData("the bearer of this voucher gets 10% off")]
    [InlineData("basic information about the campaign")]
    [InlineData("https://www.northwind.example:8443/landing?utm_source=newsletter&utm_campaign=bf-2026")]
    [InlineData("country == 'DE' && email.endsWith('@example.com') && lead_score >= 40")]
    [InlineData("Reset-password emails go out on Monday; tokens of appreciation for the top 10 leads.")]
    [InlineData("apr-01J9Z3K4M5N6P7Q8R9S0T1V2W3 act-01J9Z3K4M5N6P7Q8R9S0T1V2W3")]
    [InlineData("Add c-0000042, c-0000043 to list lst-webinar-2026-11; keyword: outdoor")]
    public void Ordinary_marketing_text_is_not_redacted(string text) =>
        Assert.Same(text, Redaction.Secrets.Redact(text));

    [Fact]
    public void A_secret_under_an_innocent_name_deep_in_the_arguments_is_redacted()
    {
        var body = AuditText.Body(new AuditEntry
        {
            Kind = AuditKinds.Call,
            Arguments = JsonDocument.Parse($$"""{"set": {"job_title": "Buyer", "notes": ["call back", {"misc": "ops key {{GitHub}} (rotate)"}]}, "ids": ["c-0000042"]}""").RootElement,
        });
        Assert.DoesNotContain(GitHub, body, StringComparison.Ordinal);
        Assert.Contains("\"misc\":\"ops key [redacted: GitHub token] (rotate)\"", body, StringComparison.Ordinal);
        Assert.Contains("\"ids\":[\"c-0000042\"]", body, StringComparison.Ordinal);
    }

    [Fact]
    public void A_secret_in_a_name_of_the_arguments_is_redacted()
    {
        var body = AuditText.Body(new AuditEntry { Kind = AuditKinds.Call, Arguments = JsonDocument.Parse($$$"""{"set": {"{{{Aws}}}": "x"}}""").RootElement });
        Assert.DoesNotContain(Aws, body, StringComparison.Ordinal);
    }

    [Fact]
    public void Secrets_in_every_text_of_an_entry_are_redacted_before_it_is_hashed()
    {
        var entry = new AuditEntry
        {
            Kind = AuditKinds.Call,
            Tool = "contacts." + GitHub,
            Instruction = "Update the titles; the CRM token is " + GitHub + ", use it if needed.",
            Reason = "'" + Jwt + "' is not a lifecycle stage",
            PlanSummary = "contacts where owner == 'https://sam:hunter2@crm.example.com'",
            Comment = "approved, and here is the key:\n" + Pem,
            Detail = "webhook failed: Authorization: Bearer " + OpenAi,
            Person = "sam",
        };
        var body = AuditText.Body(entry);
        foreach (var secret in new[] { GitHub, Jwt, "hunter2", "MIIEpAIBAAKCAQEA1x2y3z", OpenAi })
        {
            Assert.DoesNotContain(secret, body, StringComparison.Ordinal);
        }

        Assert.Contains("\"instruction\":\"Update the titles; the CRM token is [redacted: GitHub token], use it if needed.\"", body, StringComparison.Ordinal);
        Assert.Equal(body, System.Text.Encoding.UTF8.GetString(AuditText.BodyUtf8(entry)));
        Assert.Equal("contacts.[redacted: GitHub token]", AuditText.Read(AuditText.Entry(body, "00", 1, TestPolicies.Now), "h").Entry.Tool);
        Assert.Equal("contacts.[redacted: GitHub token]", AuditText.Redact(entry.Tool));
    }

    [Fact]
    public void Redacting_a_redacted_text_changes_nothing()
    {
        var once = Redaction.Secrets.Redact($"password={GitHub} https://u:p4ss@h.example Authorization: Bearer {OpenAi} Cookie: a=b {Pem}");
        Assert.Equal(once, Redaction.Secrets.Redact(once));
    }

    [Fact]
    public void A_text_with_more_secrets_than_are_looked_at_one_by_one_loses_the_rest_whole()
    {
        var text = string.Concat(Enumerable.Range(0, 150).Select(i => $"password=hunter{i} "));
        var redacted = Redaction.Secrets.Redact(text);
        Assert.DoesNotContain("hunter", redacted, StringComparison.Ordinal);
        Assert.StartsWith("password=[redacted: password] password=[redacted: password]", redacted, StringComparison.Ordinal);
        Assert.EndsWith("[redacted: the rest of a text with more than 100 secrets]", redacted, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("password=")]
    [InlineData("-----BEGIN PRIVATE KEY-----")]
    [InlineData("sk-aaaaaaaaaaaaaaaaaaaa-")]
    [InlineData("https://a:")]
    [InlineData("Bearer ")]
    [InlineData("eyJaaaaaaaaaaa.")]
    public void A_hostile_text_is_redacted_in_linear_time(string unit)
    {
        // 200,000 characters of near-misses and half-secrets: a backtracking expression would take
        // minutes on some of these; a linear scan takes milliseconds.
        var text = string.Concat(Enumerable.Repeat(unit, 200_000 / unit.Length));
        Redaction.Secrets.Redact(text[..1000]);
        var clock = Stopwatch.StartNew();
        Redaction.Secrets.Redact(text);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
    }
}
