using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Warden.Core.Audit;

namespace Warden.Benchmarks;

/// <summary>
/// What redaction costs an append: the body of a typical call entry (no secret, the common case,
/// which one vectorised search dismisses), the same with secrets in its instruction and a nested
/// argument, and a 20,000-character argument (the largest a string may be) full of near misses.
/// </summary>
[MemoryDiagnoser]
public class RedactionBenchmarks
{
    private static readonly AuditEntry Typical = new()
    {
        Kind = AuditKinds.Call, Environment = "sandbox", Agent = "hygiene-bot", UseCase = "data-hygiene", Tool = "contacts.update",
        Arguments = JsonDocument.Parse("""{"filter": "country == 'DE' && lifecycle_stage == 'lead'", "set": {"job_title": "Buyer", "owner": "sam"}}""").RootElement,
        Instruction = "Normalise the titles of German contacts before the Black Friday 2026 campaign.",
        Effect = "approve", Rule = "hygiene-bulk-changes", Reason = "Rule 'hygiene-bulk-changes' holds this call for approval: 1 of owner:data within 24h.",
        PlanSummary = "Set job_title on 592 contacts where country == 'DE' && lifecycle_stage == 'lead'.", PlanHash = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        Outcome = "pending",
    };

    private static readonly AuditEntry WithSecrets = Typical with
    {
        Arguments = JsonDocument.Parse("""{"filter": "country == 'DE'", "set": {"job_title": "Buyer", "notes": ["crm login https://sam:hunter2@crm.example.com"]}}""").RootElement,
        Instruction = "Use Authorization: Bearer ghp_R2fQ8vX1mN4bK7sT0wZ3yL6cJ9hD5gA2eP8u for the CRM if asked.",
    };

    private static readonly AuditEntry Hostile = Typical with
    {
        Arguments = JsonSerializer.SerializeToElement(new { note = string.Concat(Enumerable.Repeat("password= sk-aaaa Bearer x https://a: eyJb.", 20_000 / 40)) }),
    };

    [Benchmark(Baseline = true)]
    public int TypicalCall() => AuditText.BodyUtf8(Typical).Length;

    [Benchmark]
    public int CallWithSecrets() => AuditText.BodyUtf8(WithSecrets).Length;

    [Benchmark]
    public int Sentence() => Redaction.Secrets.Redact(Typical.Instruction!).Length;

    [Benchmark]
    public int HostileArgument() => AuditText.BodyUtf8(Hostile).Length;
}
