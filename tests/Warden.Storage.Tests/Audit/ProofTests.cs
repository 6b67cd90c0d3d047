using Warden.Core.Audit;
using Warden.Storage.Audit;

namespace Warden.Storage.Tests.Audit;

/// <summary>Inclusion proofs: one entry shown to be in a signed checkpoint, checked offline against a key kept elsewhere.</summary>
public sealed class ProofTests : IDisposable
{
    private readonly TrailFixture _trail = new();

    public ProofTests() => _trail.Fill(25);

    public void Dispose() => _trail.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(14)]
    [InlineData(20)]
    [InlineData(25)]
    public void A_proof_of_an_entry_holds_against_the_witnessed_key(long seq)
    {
        var witness = AuditLog.Witness(_trail.Path);
        var proof = AuditLog.Prove(_trail.Path, seq);
        Assert.True(InclusionProof.TryParse(proof.ToJson(), out var read, out var error), error);
        Assert.Null(read!.Verify(witness.PublicKey));
    }

    [Fact]
    public void A_proof_whose_entry_was_altered_fails()
    {
        var proof = AuditLog.Prove(_trail.Path, 14);
        var altered = proof with { Entry = proof.Entry.Replace("\"allow\"", "\"deny\"", StringComparison.Ordinal) };
        Assert.Equal("entry 14 with this path does not lead to the root of checkpoint 2 (entries 11–20): the entry or the path was altered", altered.Verify(AuditLog.Witness(_trail.Path).PublicKey));
    }

    [Fact]
    public void A_proof_checked_against_another_key_fails()
    {
        var proof = AuditLog.Prove(_trail.Path, 14);
        var message = proof.Verify(AuditKey.Generate().PublicKeyText);
        Assert.StartsWith("checkpoint 2 (entries 11–20) is not signed by the trusted key", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_proof_that_moves_the_entry_to_another_leaf_fails()
    {
        var proof = AuditLog.Prove(_trail.Path, 14);
        Assert.Equal("the entry is number 14 but leaf 4 of checkpoint 2 (entries 11–20) is entry 15", (proof with { LeafIndex = 4 }).Verify(AuditLog.Witness(_trail.Path).PublicKey));
    }

    [Fact]
    public async Task An_entry_not_yet_in_a_checkpoint_cannot_be_proven_yet()
    {
        await using (var trail = _trail.Open(new AuditTrailOptions { CheckpointEvery = 1000 }))
        {
            await trail.AppendAsync(TrailFixture.Call(26), TestContext.Current.CancellationToken);
            var refused = Assert.Throws<AuditTrailException>(() => AuditLog.Prove(_trail.Path, 26));
            Assert.StartsWith("entry 26 is not in a checkpoint yet", refused.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_malformed_proof_file_is_refused_with_a_sentence()
    {
        Assert.False(InclusionProof.TryParse("{\"format\": \"something else\"}", out _, out var error));
        Assert.Equal("it is not a Warden inclusion proof (no \"format\": \"warden-audit-inclusion-proof\")", error);
        Assert.False(InclusionProof.TryParse("{\"format\": \"warden-audit-inclusion-proof\", \"trail\": ", out _, out error));
        Assert.StartsWith("it is not a well-formed inclusion proof", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_witness_file_cut_off_mid_line_is_refused_with_the_line()
    {
        var writer = new StringWriter();
        AuditLog.Witness(_trail.Path).Write(writer);
        var text = writer.ToString();
        Assert.True(Witness.TryRead(text, out var whole, out _));
        Assert.Equal(3, whole!.Checkpoints.Count);
        Assert.False(Witness.TryRead(text[..(text.Length - 40)], out _, out var error));
        Assert.Equal("the witness file is cut off: line 4 does not end", error);
    }
}
