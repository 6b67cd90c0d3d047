using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Spectre.Console;
using Warden.Core.Audit;
using Warden.Storage.Audit;

namespace Warden.Cli.Tests;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class AuditCommandTests
{
    [Fact]
    public async Task Verify_reports_the_entries_and_checkpoints_of_a_sound_trail()
    {
        var path = await NewTrail(12);
        var (exit, output) = Cli.Run("audit", "verify", "--trail", path);
        Assert.Equal(0, exit);
        Assert.Contains("verified: 12 entries, 3 checkpoints", output);
    }

    [Fact]
    public async Task An_interactive_console_gets_a_status_while_verifying_and_the_same_result()
    {
        var path = await NewTrail(12);
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(writer),
        });
        var exit = WardenCli.Run(["audit", "verify", "--trail", path], console, new FixedClock(Cli.Now));
        Assert.Equal(0, exit);
        Assert.Contains("verified: 12 entries, 3 checkpoints", writer.ToString());
    }

    [Fact]
    public async Task Verify_reports_an_edited_entry_and_exits_1()
    {
        var path = await NewTrail(12);
        Sql(path, "UPDATE audit_entries SET entry = replace(entry, 'allow', 'deny') WHERE seq = 3");
        var (exit, output) = Cli.Run("audit", "verify", "--trail", path);
        Assert.Equal(1, exit);
        Assert.Contains("error[entry_edited]: entry 3 was changed after it was written", output);
        Assert.Contains($"--> {path}, entry 3", output);
        Assert.Contains($"{path} does not verify", output);
    }

    [Fact]
    public void Verify_of_a_missing_trail_exits_1_with_a_sentence()
    {
        var path = Path.Combine(NewDirectory(), "audit.db");
        var (exit, output) = Cli.Run("audit", "verify", "--trail", path);
        Assert.Equal(1, exit);
        Assert.Contains($"there is no audit trail at {path}", output);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task A_witness_written_by_the_witness_command_verifies_the_trail()
    {
        var path = await NewTrail(12);
        var witness = Path.Combine(Path.GetDirectoryName(path)!, "witness.jsonl");
        var (exit, output) = Cli.Run("audit", "witness", "--trail", path, "--out", witness);
        Assert.Equal(0, exit);
        Assert.Contains($"to {witness}: 3 checkpoints (entries 1–12)", output);
        Assert.True(Witness.TryRead(File.ReadAllText(witness), out var read, out _));
        Assert.Equal(3, read!.Checkpoints.Count);

        (exit, output) = Cli.Run("audit", "verify", "--trail", path, "--from-witness", witness);
        Assert.Equal(0, exit);
        Assert.Contains($"verified: 12 entries, 3 checkpoints, against the witness {witness}", output);
    }

    [Fact]
    public async Task Verify_with_a_truncated_witness_file_exits_1_and_names_the_file()
    {
        var path = await NewTrail(12);
        var witness = Path.Combine(Path.GetDirectoryName(path)!, "witness.jsonl");
        Assert.Equal(0, Cli.Run("audit", "witness", "--trail", path, "--out", witness).ExitCode);
        var text = File.ReadAllText(witness);
        File.WriteAllText(witness, text[..(text.Length - 40)]);
        var (exit, output) = Cli.Run("audit", "verify", "--trail", path, "--from-witness", witness);
        Assert.Equal(1, exit);
        Assert.Contains($"error: {witness}: the witness file is cut off: line 4 does not end", output);
    }

    [Fact]
    public async Task A_witness_header_without_a_public_key_is_a_damaged_witness()
    {
        var path = await NewTrail(3);
        var witness = Path.Combine(Path.GetDirectoryName(path)!, "witness.jsonl");
        Assert.Equal(0, Cli.Run("audit", "witness", "--trail", path, "--out", witness).ExitCode);
        var lines = File.ReadAllText(witness).Split('\n');
        var header = JsonNode.Parse(lines[0])!;
        header["public_key"] = null;
        File.WriteAllText(witness, string.Join('\n', [header.ToJsonString(), .. lines[1..]]));
        var (exit, output) = Cli.Run("audit", "verify", "--trail", path, "--from-witness", witness);
        Assert.Equal(1, exit);
        Assert.Contains($"error: {witness}: line 1 of the witness names no trail or no public key", output);
    }

    [Fact]
    public async Task Verify_with_a_witness_file_that_does_not_exist_exits_2()
    {
        var path = await NewTrail(3);
        var witness = Path.Combine(Path.GetDirectoryName(path)!, "nowhere.jsonl");
        var (exit, output) = Cli.Run("audit", "verify", "--trail", path, "--from-witness", witness);
        Assert.Equal(2, exit);
        Assert.Contains($"error: {witness}: no such witness file", output);
    }

    [Fact]
    public async Task A_file_that_is_not_a_database_gets_a_sentence_not_a_trace()
    {
        var path = Cli.Temp("audit.db", "these are notes, not an audit trail\n");
        foreach (var args in new[] { new[] { "audit", "list" }, ["audit", "export", "--format", "csv"], ["audit", "prove", "1"], ["audit", "witness", "--out", path + ".w"] })
        {
            var (exit, output) = Cli.Run([.. args, "--trail", path]);
            Assert.Equal(2, exit);
            Assert.Contains($"the audit trail {path}", output);
            Assert.Contains("is not a readable database", output);
            Assert.DoesNotContain("unexpectedly", output);
        }

        Assert.Equal(1, Cli.Run("audit", "verify", "--trail", path).ExitCode);
    }

    [Fact]
    public async Task Verify_against_a_witness_shows_checkpoints_that_were_removed()
    {
        var path = await NewTrail(12);
        var witness = Path.Combine(Path.GetDirectoryName(path)!, "witness.jsonl");
        Assert.Equal(0, Cli.Run("audit", "witness", "--trail", path, "--out", witness).ExitCode);
        Sql(path, "DELETE FROM audit_entries WHERE seq > 10; DELETE FROM audit_checkpoints WHERE number = 3; DELETE FROM audit_index WHERE checkpoint = 3; DELETE FROM audit_record_filters WHERE checkpoint = 3");
        Assert.Equal(0, Cli.Run("audit", "verify", "--trail", path).ExitCode);
        var (exit, output) = Cli.Run("audit", "verify", "--trail", path, "--from-witness", witness);
        Assert.Equal(1, exit);
        Assert.Contains("error[tail_truncated]: the trail ends at entry 10 but the witness holds checkpoint 3 (entries 11–12): the tail was cut off", output);
    }

    [Fact]
    public async Task The_witness_command_will_not_overwrite_a_witness_the_trail_no_longer_matches()
    {
        var path = await NewTrail(12);
        var witness = Path.Combine(Path.GetDirectoryName(path)!, "witness.jsonl");
        Assert.Equal(0, Cli.Run("audit", "witness", "--trail", path, "--out", witness).ExitCode);
        var kept = File.ReadAllText(witness);
        Sql(path, "DELETE FROM audit_entries WHERE seq > 10; DELETE FROM audit_checkpoints WHERE number = 3; DELETE FROM audit_index WHERE checkpoint = 3; DELETE FROM audit_record_filters WHERE checkpoint = 3");
        var (exit, output) = Cli.Run("audit", "witness", "--trail", path, "--out", witness);
        Assert.Equal(1, exit);
        Assert.Contains("the trail no longer holds checkpoint 3 (entries 11–12)", output);
        Assert.Equal(kept, File.ReadAllText(witness));
    }

    [Fact]
    public async Task A_proof_from_prove_holds_under_the_trails_public_key_and_under_its_witness()
    {
        var path = await NewTrail(12);
        var directory = Path.GetDirectoryName(path)!;
        var proof = Path.Combine(directory, "proof-7.json");
        var witness = Path.Combine(directory, "witness.jsonl");
        var (exit, output) = Cli.Run("audit", "prove", "7", "--trail", path, "--out", proof);
        Assert.Equal(0, exit);
        Assert.Contains($"wrote the proof that entry 7 is in checkpoint 2 (entries 6–10) to {proof}", output);
        Assert.Equal(0, Cli.Run("audit", "witness", "--trail", path, "--out", witness).ExitCode);

        (exit, output) = Cli.Run("audit", "verify-proof", proof, "--public-key", PublicKey(path));
        Assert.Equal(0, exit);
        Assert.Contains($"proof holds: entry 7 is in checkpoint 2 of trail {TrailId(path)}", output);

        (exit, output) = Cli.Run("audit", "verify-proof", proof, "--witness", witness);
        Assert.Equal(0, exit);
        Assert.Contains("proof holds: entry 7 is in checkpoint 2", output);
    }

    [Fact]
    public async Task Prove_without_out_prints_the_proof_json()
    {
        var path = await NewTrail(12);
        var (exit, output) = Cli.Run("audit", "prove", "11", "--trail", path);
        Assert.Equal(0, exit);
        Assert.True(InclusionProof.TryParse(output, out var proof, out var error), error);
        Assert.Null(proof!.Verify(PublicKey(path)));
        Assert.Equal(3, proof.Checkpoint.Number);
    }

    [Fact]
    public async Task A_proof_whose_entry_was_altered_fails_and_exits_1()
    {
        var path = await NewTrail(12);
        var proof = Path.Combine(Path.GetDirectoryName(path)!, "proof.json");
        Assert.Equal(0, Cli.Run("audit", "prove", "3", "--trail", path, "--out", proof).ExitCode);
        var json = JsonNode.Parse(File.ReadAllText(proof))!;
        json["entry"] = json["entry"]!.GetValue<string>().Replace("allow", "deny", StringComparison.Ordinal);
        File.WriteAllText(proof, json.ToJsonString());

        var (exit, output) = Cli.Run("audit", "verify-proof", proof, "--public-key", PublicKey(path));
        Assert.Equal(1, exit);
        Assert.Contains($"error: {proof}: entry 3 with this path does not lead to the root of checkpoint 1 (entries 1–5): the entry or the path was altered", output);
    }

    [Theory]
    [InlineData("a flipped hash in the path", "does not lead to the root")]
    [InlineData("a dropped node", "does not lead to the root")]
    [InlineData("an extra node", "does not lead to the root")]
    [InlineData("a wrong tree size", "the proof's tree has 6 leaves but checkpoint 2 (entries 6–10) covers 5")]
    [InlineData("a wrong leaf index", "the entry is number 7 but leaf 2 of checkpoint 2 (entries 6–10) is entry 8")]
    [InlineData("a null entry", "it is not a well-formed inclusion proof")]
    public async Task A_broken_copy_of_a_valid_proof_fails_and_exits_1(string broken, string message)
    {
        var path = await NewTrail(12);
        var proof = Path.Combine(Path.GetDirectoryName(path)!, "proof.json");
        Assert.Equal(0, Cli.Run("audit", "prove", "7", "--trail", path, "--out", proof).ExitCode);
        var json = JsonNode.Parse(File.ReadAllText(proof))!;
        var hashes = json["path"]!.AsArray();
        switch (broken)
        {
            case "a flipped hash in the path":
                var first = hashes[0]!.GetValue<string>();
                hashes[0] = (first[0] == '0' ? "1" : "0") + first[1..];
                break;
            case "a dropped node":
                hashes.RemoveAt(hashes.Count - 1);
                break;
            case "an extra node":
                hashes.Add(new string('a', 64));
                break;
            case "a wrong tree size":
                json["tree_size"] = 6;
                break;
            case "a wrong leaf index":
                json["leaf_index"] = 2;
                break;
            default:
                json["entry"] = null;
                break;
        }

        File.WriteAllText(proof, json.ToJsonString());
        var (exit, output) = Cli.Run("audit", "verify-proof", proof, "--public-key", PublicKey(path));
        Assert.Equal(1, exit);
        Assert.Contains(message, output);
    }

    [Fact]
    public async Task A_proof_checked_against_another_trails_key_fails()
    {
        var path = await NewTrail(6);
        var other = await NewTrail(1);
        var proof = Path.Combine(Path.GetDirectoryName(path)!, "proof.json");
        Assert.Equal(0, Cli.Run("audit", "prove", "2", "--trail", path, "--out", proof).ExitCode);
        var (exit, output) = Cli.Run("audit", "verify-proof", proof, "--public-key", PublicKey(other));
        Assert.Equal(1, exit);
        Assert.Contains("is not signed by the trusted key", output);
    }

    [Fact]
    public async Task A_file_that_is_not_a_proof_fails_with_the_parsers_sentence()
    {
        var path = await NewTrail(2);
        var proof = Cli.Temp("proof.json", "{\"hello\": 1}");
        var (exit, output) = Cli.Run("audit", "verify-proof", proof, "--public-key", PublicKey(path));
        Assert.Equal(1, exit);
        Assert.Contains($"error: {proof}: it is not a Warden inclusion proof", output);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public async Task Verify_proof_needs_exactly_one_trusted_key(bool witness, bool publicKey)
    {
        var path = await NewTrail(6);
        var proof = Path.Combine(Path.GetDirectoryName(path)!, "proof.json");
        Assert.Equal(0, Cli.Run("audit", "prove", "2", "--trail", path, "--out", proof).ExitCode);
        List<string> args = ["audit", "verify-proof", proof];
        if (witness)
        {
            args.AddRange(["--witness", proof]);
        }

        if (publicKey)
        {
            args.AddRange(["--public-key", PublicKey(path)]);
        }

        var (exit, output) = Cli.Run([.. args]);
        Assert.Equal(2, exit);
        Assert.Contains("error: say which key to trust, with exactly one of --witness FILE or --public-key BASE64", output);
    }

    [Fact]
    public async Task Prove_of_an_entry_the_trail_does_not_have_exits_2()
    {
        var path = await NewTrail(4);
        var (exit, output) = Cli.Run("audit", "prove", "9", "--trail", path);
        Assert.Equal(2, exit);
        Assert.Contains("error: the trail has no entry 9 (it ends at entry 4)", output);
    }

    [Fact]
    public async Task Export_jsonl_writes_one_line_per_entry_with_the_export_fields()
    {
        var path = await NewTrail(12);
        var (exit, output) = Cli.Run("audit", "export", "--format", "jsonl", "--trail", path);
        Assert.Equal(0, exit);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(12, lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            using var line = JsonDocument.Parse(lines[i]);
            Assert.Equal(AuditLog.ExportFields, line.RootElement.EnumerateObject().Select(p => p.Name));
            Assert.Equal(i + 1, line.RootElement.GetProperty("seq").GetInt64());
            Assert.Equal(Agent(i + 1), line.RootElement.GetProperty("agent").GetString());
        }
    }

    [Fact]
    public async Task Export_csv_starts_with_the_export_fields_as_its_header()
    {
        var path = await NewTrail(12);
        var file = Path.Combine(Path.GetDirectoryName(path)!, "export.csv");
        var (exit, output) = Cli.Run("audit", "export", "--format", "csv", "--out", file, "--trail", path);
        Assert.Equal(0, exit);
        Assert.Contains($"exported 12 entries as csv to {file}", output);
        var lines = File.ReadAllText(file).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(string.Join(',', AuditLog.ExportFields), lines[0]);
        Assert.Equal(13, lines.Length);
    }

    [Fact]
    public async Task Export_since_a_time_after_every_entry_writes_nothing()
    {
        var path = await NewTrail(3);
        var (exit, output) = Cli.Run("audit", "export", "--format", "jsonl", "--since", "2999-01-01T00:00:00Z", "--trail", path);
        Assert.Equal(0, exit);
        Assert.Equal("", output);
    }

    [Theory]
    [InlineData("xml", "error: --format must be jsonl or csv, not 'xml'")]
    [InlineData("JSON", "error: --format must be jsonl or csv, not 'JSON'")]
    public async Task A_bad_format_exits_2(string format, string message)
    {
        var path = await NewTrail(2);
        var (exit, output) = Cli.Run("audit", "export", "--format", format, "--trail", path);
        Assert.Equal(2, exit);
        Assert.Contains(message, output);
    }

    [Fact]
    public async Task A_bad_since_time_exits_2()
    {
        var path = await NewTrail(2);
        var (exit, output) = Cli.Run("audit", "export", "--format", "csv", "--since", "last tuesday", "--trail", path);
        Assert.Equal(2, exit);
        Assert.Contains("error: --since: 'last tuesday' is not a time", output);
    }

    [Fact]
    public async Task List_with_an_effect_the_trail_never_records_is_an_error_with_a_suggestion_not_an_empty_answer()
    {
        var path = await NewTrail(3);

        var (exit, output) = Cli.Run("audit", "list", "--effect", "denyy", "--trail", path);

        Assert.Equal(2, exit);
        Assert.Contains("'denyy' is not an effect the trail records", output, StringComparison.Ordinal);
        Assert.Contains("did you mean 'deny'", output, StringComparison.Ordinal);
        Assert.DoesNotContain("no entries match", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_of_an_archived_entry_says_where_it_went()
    {
        var path = await Archived();

        var (exit, output) = Flat(Cli.Run("audit", "show", "1", "--trail", path));

        Assert.Equal(1, exit);
        Assert.Contains("entry 1 was moved to an archive file", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_for_an_agent_the_trail_never_names_is_an_error_with_a_suggestion()
    {
        var path = await NewTrail(12); // indexed through entry 10, the last two read from their text

        var (exit, output) = Cli.Run("audit", "list", "--agent", "hygeine-bot", "--trail", path);

        Assert.Equal(2, exit);
        Assert.Contains("no entry of the trail names agent 'hygeine-bot'; did you mean 'hygiene-bot'?", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_with_known_values_that_match_nothing_together_says_so_and_succeeds()
    {
        var path = await NewTrail(12);

        var (exit, output) = Cli.Run("audit", "list", "--agent", "report-bot", "--effect", "deny", "--trail", path);

        Assert.Equal(0, exit);
        Assert.Contains("no entries match", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_filters_by_agent_newest_first()
    {
        var path = await NewTrail(12);
        var (exit, output) = Cli.Run("audit", "list", "--agent", "report-bot", "--trail", path);
        Assert.Equal(0, exit);
        Assert.Contains("report-bot", output);
        Assert.DoesNotContain("hygiene-bot", output);
        var seqs = Rows(output).Select(r => long.Parse(r[0], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal([12, 9, 6, 3], seqs);
        Assert.DoesNotContain("more:", output);
    }

    [Fact]
    public async Task List_says_where_the_next_page_starts()
    {
        var path = await NewTrail(12);
        var (exit, output) = Cli.Run("audit", "list", "--limit", "5", "--trail", path);
        Assert.Equal(0, exit);
        Assert.Equal(["12", "11", "10", "9", "8"], Rows(output).Select(r => r[0]));
        Assert.Contains("more: --before 8", output);

        (exit, output) = Cli.Run("audit", "list", "--limit", "5", "--before", "8", "--trail", path);
        Assert.Equal(0, exit);
        Assert.Equal(["7", "6", "5", "4", "3"], Rows(output).Select(r => r[0]));
    }

    [Fact]
    public async Task A_limit_out_of_range_exits_2()
    {
        var path = await NewTrail(2);
        var (exit, output) = Cli.Run("audit", "list", "--limit", "5000", "--trail", path);
        Assert.Equal(2, exit);
        Assert.Contains("error: --limit must be a whole number from 1 to 1,000, not '5000'", output);
    }

    [Fact]
    public async Task Checkpoint_of_a_trail_whose_entries_are_all_signed_has_nothing_to_do()
    {
        var path = await NewTrail(12);
        var (exit, output) = Cli.Run("audit", "checkpoint", "--trail", path);
        Assert.Equal(0, exit);
        Assert.Contains("nothing to checkpoint: every entry is in a checkpoint already (the last is checkpoint 3 (entries 11–12))", output);
    }

    [Fact]
    public async Task Checkpoint_on_a_trail_with_unsigned_entries_signs_them()
    {
        var path = await NewTrail(12);
        Sql(path, "DELETE FROM audit_checkpoints WHERE number = 3; DELETE FROM audit_index WHERE checkpoint = 3; DELETE FROM audit_record_filters WHERE checkpoint = 3");
        var (exit, output) = Cli.Run("audit", "checkpoint", "--trail", path);
        Assert.Equal(0, exit);
        Assert.Contains("signed checkpoint 3 (entries 11–12)", output);
        Assert.Contains("verified: 12 entries, 3 checkpoints", Cli.Run("audit", "verify", "--trail", path).Output);
    }

    [Fact]
    public async Task Checkpoint_refuses_a_trail_that_does_not_verify_and_exits_1()
    {
        var path = await NewTrail(12);
        Sql(path, "UPDATE audit_entries SET entry = replace(entry, 'allow', 'deny') WHERE seq = 12");
        var (exit, output) = Cli.Run("audit", "checkpoint", "--trail", path);
        Assert.Equal(1, exit);
        Assert.Contains("error[entry_edited]: the audit trail", output);
        Assert.Contains("entry 12 was changed after it was written", output);
    }

    [Fact]
    public void Checkpoint_of_a_missing_trail_creates_nothing_and_exits_2()
    {
        var path = Path.Combine(NewDirectory(), "audit.db");
        var (exit, output) = Cli.Run("audit", "checkpoint", "--trail", path);
        Assert.Equal(2, exit);
        Assert.Contains($"error: there is no audit trail at {path}", output);
        Assert.False(File.Exists(path));
        Assert.False(File.Exists(path + ".key"));
    }

    private static string Agent(int i) => i % 3 == 0 ? "report-bot" : "hygiene-bot";

    private static AuditEntry Entry(int i) => new()
    {
        Kind = AuditKinds.Call,
        Environment = "sandbox",
        Agent = Agent(i),
        Tool = i % 2 == 0 ? "contacts.update" : "contacts.query",
        Effect = "allow",
        Outcome = "ok",
    };

    [Fact]
    public async Task Archive_moves_old_entries_to_a_file_that_verifies_and_the_trail_still_verifies_with_it()
    {
        var path = await NewTrail(12); // checkpoints 1 (1–5), 2 (6–10), 3 (11–12)
        var archive = ArchivePath(path);
        var (exit, output) = Cli.Run("audit", "archive", "--trail", path, "--through", "2", "--out", archive, "--by", "alice@example.com");
        Assert.Equal(0, exit);
        Assert.Contains("archived entries 1–10", output);
        Assert.Contains("recorded as entry 13: archived by alice@example.com at ", output);
        (exit, output) = Cli.Run("audit", "verify", "--archive", archive);
        Assert.Equal(0, exit);
        Assert.Contains("verified: 10 entries, 2 checkpoints", output);
        (exit, output) = Cli.Run("audit", "verify", "--trail", path);
        Assert.Equal(0, exit);
        Assert.Contains("verified: 3 entries, 4 checkpoints, and 10 entries in 1 archive file", output);
    }

    [Fact]
    public async Task Archive_through_a_checkpoint_that_does_not_exist_exits_1_and_moves_nothing()
    {
        var path = await NewTrail(12);
        var archive = ArchivePath(path);
        var (exit, output) = Cli.Run("audit", "archive", "--trail", path, "--through", "7", "--out", archive, "--by", "alice@example.com");
        Assert.Equal(1, exit);
        Assert.Contains("there is no checkpoint 7 to archive through", output);
        Assert.False(File.Exists(archive));
    }

    [Fact]
    public async Task Archive_without_by_is_refused_with_a_clear_error_and_moves_nothing()
    {
        var path = await NewTrail(12);
        var archive = ArchivePath(path);
        var (exit, output) = Cli.Run("audit", "archive", "--trail", path, "--through", "2", "--out", archive);
        Assert.Equal(2, exit);
        Assert.Contains("error: say who is archiving with --by PERSON: the trail records who moved its entries out, with the file and its digest; nothing was archived", output);
        Assert.False(File.Exists(archive));
        Assert.Equal(0, Cli.Run("audit", "verify", "--trail", path).ExitCode);
        Assert.Contains("verified: 12 entries", Cli.Run("audit", "verify", "--trail", path).Output);
    }

    [Fact]
    public async Task The_archive_entry_names_the_person_and_the_reason_in_the_export()
    {
        var path = await Archived(reason: "the store grows");
        var (_, output) = Cli.Run("audit", "export", "--trail", path, "--format", "jsonl");
        var entry = JsonNode.Parse(output.Trim().Split('\n')[^1])!;
        Assert.Equal(("archive", "alice@example.com", "the store grows", 10L), ((string?)entry["kind"], (string?)entry["person"], (string?)entry["reason"], (long?)entry["archived_through"]));
        Assert.Contains($"moved to {ArchivePath(path)} (sha256 ", (string?)entry["detail"]);
    }

    [Fact]
    public async Task Verify_reports_an_archive_deleted_after_archiving_and_exits_1()
    {
        var path = await Archived();
        File.Delete(ArchivePath(path));
        var (exit, output) = Flat(Cli.Run("audit", "verify", "--trail", path));
        Assert.Equal(1, exit);
        Assert.Contains("error[archive_missing]: entries 1–10 left the store with an archive that is not there: alice@example.com archived them at ", output);
        Assert.Contains($"(entry 13) to {ArchivePath(path)}", output);
        Assert.Contains($"{path} does not verify", output);
    }

    [Fact]
    public async Task Verify_reports_an_archive_with_one_entry_edited_and_exits_1()
    {
        var path = await Archived();
        var archive = ArchivePath(path);
        var lines = File.ReadAllLines(archive);
        lines[3] = lines[3].Replace("\"allow\"", "\"deny\"", StringComparison.Ordinal);
        File.WriteAllLines(archive, lines);
        var (exit, output) = Flat(Cli.Run("audit", "verify", "--trail", path));
        Assert.Equal(1, exit);
        Assert.Contains($"error[archive_altered]: the archive at {archive} is not the file alice@example.com archived entries 1–10 to at ", output);
        Assert.Contains("(entry 4 in the archive does not link to entry 3: one of them was altered)", output);
    }

    [Fact]
    public async Task Verify_reports_an_archive_replaced_by_another_trails_valid_archive_and_exits_1()
    {
        var path = await Archived();
        var other = await Archived();
        Assert.Equal(0, Cli.Run("audit", "verify", "--archive", ArchivePath(other)).ExitCode);
        File.Copy(ArchivePath(other), ArchivePath(path), overwrite: true);
        var (exit, output) = Flat(Cli.Run("audit", "verify", "--trail", path));
        Assert.Equal(1, exit);
        Assert.Contains("error[archive_altered]", output);
        Assert.Contains("it is another trail's archive", output);
    }

    [Fact]
    public async Task Verify_finds_a_moved_archive_where_archive_says_it_is()
    {
        var path = await Archived();
        var moved = Path.Combine(NewDirectory(), "cold-archive.jsonl");
        File.Move(ArchivePath(path), moved);
        Assert.Equal(1, Cli.Run("audit", "verify", "--trail", path).ExitCode);
        var (exit, output) = Cli.Run("audit", "verify", "--trail", path, "--archive", moved);
        Assert.Equal(0, exit);
        Assert.Contains("and 10 entries in 1 archive file", output);
    }

    [Fact]
    public async Task Verify_from_witness_detects_a_missing_archive_even_when_the_stores_records_were_rewritten()
    {
        var path = await Archived();
        var witness = Path.Combine(Path.GetDirectoryName(path)!, "witness.jsonl");
        Assert.Equal(0, Cli.Run("audit", "witness", "--trail", path, "--out", witness).ExitCode);
        File.Delete(ArchivePath(path));
        Sql(path, "DELETE FROM audit_archives");
        var (exit, output) = Flat(Cli.Run("audit", "verify", "--trail", path, "--from-witness", witness));
        Assert.Equal(1, exit);
        Assert.Contains("error[archive_missing]: the witness records the archive of entries 1–10 (archived by alice@example.com", output);
        Assert.Contains("which is not there, and the trail's store no longer records it", output);
    }

    [Fact]
    public async Task Witness_will_not_write_over_a_witness_whose_archive_is_missing()
    {
        var path = await Archived();
        var witness = Path.Combine(Path.GetDirectoryName(path)!, "witness.jsonl");
        Assert.Equal(0, Cli.Run("audit", "witness", "--trail", path, "--out", witness).ExitCode);
        var kept = File.ReadAllText(witness);
        File.Delete(ArchivePath(path));
        var (exit, output) = Flat(Cli.Run("audit", "witness", "--trail", path, "--out", witness));
        Assert.Equal(1, exit);
        Assert.Contains("records the archive of entries 1–10 (archived by alice@example.com", output);
        Assert.Contains("and it is not there; the witness was kept as it is", output);
        Assert.Equal(kept, File.ReadAllText(witness));
    }

    [Fact]
    public async Task Destroy_archive_records_who_and_why_and_verify_reports_it_as_a_note()
    {
        var path = await Archived();
        var (exit, output) = Flat(Cli.Run("audit", "destroy-archive", ArchivePath(path), "--trail", path, "--by", "bob@example.com", "--reason", "retention of 7 years ended"));
        Assert.Equal(0, exit);
        Assert.Contains("destroyed the archive of entries 1–10", output);
        Assert.Contains("recorded as entry 14: destroyed by bob@example.com at ", output);
        Assert.False(File.Exists(ArchivePath(path)));
        (exit, output) = Flat(Cli.Run("audit", "verify", "--trail", path));
        Assert.Equal(0, exit);
        Assert.Contains("note[archive_destroyed]: entries 1–10 are gone, on the record: bob@example.com destroyed their archive at ", output);
        Assert.Contains("because: retention of 7 years ended", output);
    }

    [Theory]
    [InlineData("--by", "bob@example.com")]
    [InlineData("--reason", "retention")]
    public async Task Destroy_archive_without_a_person_and_a_reason_destroys_nothing(string option, string value)
    {
        var path = await Archived();
        var (exit, output) = Cli.Run("audit", "destroy-archive", ArchivePath(path), "--trail", path, option, value);
        Assert.Equal(2, exit);
        Assert.Contains("say who destroys the archive and why, with --by PERSON and --reason TEXT", output);
        Assert.True(File.Exists(ArchivePath(path)));
    }

    [Fact]
    public async Task An_export_written_with_out_is_readable_by_its_owner_only()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "file modes are Unix's");
        var path = await NewTrail(3);
        var export = Path.Combine(Path.GetDirectoryName(path)!, "export.jsonl");
        Assert.Equal(0, Cli.Run("audit", "export", "--trail", path, "--format", "jsonl", "--out", export).ExitCode);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(export));
    }

    [Fact]
    public void A_umask_of_000_loosens_nothing_warden_creates()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "file modes and umask are Unix's");
        var folder = NewDirectory();
        var data = Path.Combine(folder, "data");
        // The gateway over stdio opens (creating) the data folder, the workspace, the trail, its key
        // and the store, records the policy load, and stops at the end of its input.
        var (exit, output) = Cli.Umask000("mcp", "--agent", "hygiene-bot", "--policy", Cli.Example("policy.yaml"), "--data", data, "--demo", "--no-api");
        Assert.True(exit == 0, output);
        var trail = Path.Combine(data, "audit.db");
        (exit, output) = Cli.Umask000("audit", "checkpoint", "--trail", trail);
        Assert.True(exit == 0, output);
        (exit, output) = Cli.Umask000("audit", "archive", "--trail", trail, "--through", "1", "--out", Path.Combine(folder, "archive.jsonl"), "--by", "alice");
        Assert.True(exit == 0, output);
        foreach (var (command, file) in new[] { ("export", "export.jsonl"), ("witness", "witness.jsonl") })
        {
            string[] arguments = command == "export" ? ["audit", "export", "--trail", trail, "--format", "csv", "--out", Path.Combine(folder, file)] : ["audit", "witness", "--trail", trail, "--out", Path.Combine(folder, file)];
            (exit, output) = Cli.Umask000(arguments);
            Assert.True(exit == 0, output);
        }

        var created = Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        foreach (var name in (string[])["data/audit.db", "data/audit.db.key", "data/gateway.db", "data/workspace.db", "data/demo-tokens.json", "archive.jsonl", "export.jsonl", "witness.jsonl"])
        {
            Assert.Contains(Path.Combine(folder, name), created);
        }

        const UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        Assert.All(created, e => Assert.Equal((e, Directory.Exists(e) ? ownerOnly | UnixFileMode.UserExecute : ownerOnly), (e, File.GetUnixFileMode(e))));
    }

    /// <summary>A trail of <paramref name="entries"/> calls, checkpointed every five and closed (which signs the rest).</summary>
    private static async Task<string> NewTrail(int entries)
    {
        var path = Path.Combine(NewDirectory(), "audit.db");
        await using var trail = AuditTrail.Open(path, new AuditTrailOptions { CheckpointEvery = 5 });
        for (var i = 1; i <= entries; i++)
        {
            await trail.AppendAsync(Entry(i));
        }

        return path;
    }

    /// <summary>A trail of 12 entries whose first 10 were archived by alice (entry 13 records it).</summary>
    private static async Task<string> Archived(string? reason = null)
    {
        var path = await NewTrail(12);
        string[] arguments = ["audit", "archive", "--trail", path, "--through", "2", "--out", ArchivePath(path), "--by", "alice@example.com"];
        var (exit, output) = Cli.Run(reason is null ? arguments : [.. arguments, "--reason", reason]);
        Assert.True(exit == 0, output);
        return path;
    }

    /// <summary>The output as one line, to find a long message in it whatever the console's wrapping did to the space where it broke a line.</summary>
    private static (int Exit, string Output) Flat((int Exit, string Output) run) => (run.Exit, System.Text.RegularExpressions.Regex.Replace(run.Output, @"\s*\n\s*", " "));

    private static string ArchivePath(string trail) => Path.Combine(Path.GetDirectoryName(trail)!, "archive-1.jsonl");

    private static string NewDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "warden-cli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        return directory;
    }

    private static void Sql(string path, string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static string PublicKey(string path) => AuditLog.Witness(path).PublicKey;

    private static string TrailId(string path) => AuditLog.Witness(path).Trail;

    /// <summary>The cells of a Spectre table's body rows.</summary>
    private static List<string[]> Rows(string output) =>
    [
        .. output.Split('\n')
            .Where(l => l.StartsWith('│'))
            .Select(l => l.Trim().Trim('│').Split('│').Select(c => c.Trim()).ToArray())
            .Where(cells => cells[0] != "seq"),
    ];
}
