using System.CommandLine;
using Spectre.Console;
using Warden.Core.Audit;

namespace Warden.Cli.Commands;

/// <summary><c>warden audit verify-proof FILE (--witness FILE | --public-key BASE64)</c>: check a proof offline, without the trail.</summary>
internal static class AuditVerifyProofCommand
{
    public static Command Create(IAnsiConsole console, TimeProvider clock)
    {
        var file = new Argument<string>("file") { Description = "The proof, as written by warden audit prove." };
        var witness = new Option<string?>("--witness") { Description = "Trust the public key in this witness file (and check the checkpoint against its copy).", HelpName = "FILE" };
        var publicKey = new Option<string?>("--public-key") { Description = "Trust this public key (base64).", HelpName = "BASE64" };
        var command = new Command("verify-proof", "Check an inclusion proof against a public key you trust, without the trail.") { file, witness, publicKey };
        command.SetAction(parse => Execute(parse.GetValue(file)!, parse.GetValue(witness), parse.GetValue(publicKey), console));
        return command;
    }

    public static int Execute(string path, string? witnessPath, string? publicKey, IAnsiConsole console)
    {
        // The key inside the proof proves nothing: whoever forged the proof chose it. Trust must come from elsewhere.
        if ((witnessPath is null) == (publicKey is null))
        {
            return AuditCommand.Fail(console, "say which key to trust, with exactly one of --witness FILE or --public-key BASE64");
        }

        if (!File.Exists(path))
        {
            return AuditCommand.Fail(console, $"{path}: no such file");
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return AuditCommand.Fail(console, $"{path}: cannot be read ({e.Message.TrimEnd('.')})");
        }

        if (!InclusionProof.TryParse(text, out var proof, out var error))
        {
            return AuditCommand.Fail(console, $"{path}: {error}", ExitCodes.Findings);
        }

        Witness? witness = null;
        if (witnessPath is not null && !AuditVerifyCommand.TryReadWitness(witnessPath, console, out witness, out var exit))
        {
            return exit;
        }

        var problem = Check(proof!, witness, witnessPath, publicKey ?? witness!.PublicKey);
        if (problem is not null)
        {
            return AuditCommand.Fail(console, $"{path}: {problem}", ExitCodes.Findings);
        }

        AuditText.TryReadFrame(proof!.Entry, out var frame);
        console.MarkupLine($"[green]proof holds:[/] entry {frame.Seq:N0} is in checkpoint {proof.Checkpoint.Number:N0} of trail {Markup.Escape(proof.Trail)}");
        return ExitCodes.Ok;
    }

    private static string? Check(InclusionProof proof, Witness? witness, string? witnessPath, string trustedKey)
    {
        if (witness is not null && witness.Trail != proof.Trail)
        {
            return $"the proof is for trail {proof.Trail} but the witness {witnessPath} is of trail {witness.Trail}";
        }

        string? failure;
        try
        {
            failure = proof.Verify(trustedKey);
        }
        catch (ArgumentException)
        {
            // TryParse lets null through for the entry and the path's hashes; Verify then throws.
            return "it is not a well-formed inclusion proof (its entry or a hash of its path is null)";
        }

        if (failure is not null)
        {
            return failure;
        }

        // A signed checkpoint the witness holds differently means the key signed two histories.
        if (witness?.Checkpoints.FirstOrDefault(c => c.Number == proof.Checkpoint.Number) is { } copy && copy.Text() != proof.Checkpoint.Text())
        {
            return $"{proof.Checkpoint} differs from the witness's copy in {witnessPath}: the trail was rewritten after it was witnessed";
        }

        return null;
    }
}
