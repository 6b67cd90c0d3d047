using System.Globalization;
using System.Text;
using System.Text.Json;
using Warden.Core.Audit;
using Warden.Storage.Audit;

// Appends to the audit trail at args[0] (checkpointing every args[1] entries) from 16 concurrent
// writers until it is killed, and prints "acked SEQ HASH" for each entry once AppendAsync has
// returned, that is once the trail has told its caller the entry is on disk. The crash test kills
// this process with SIGKILL at a random moment and checks every printed entry is in the file.
if (args.Length != 2 || !int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out var checkpointEvery))
{
    Console.Error.WriteLine("usage: Warden.Storage.CrashPeer <trail path> <checkpoint every>");
    return 2;
}

// The test closes our standard input when it is done (or dies): then we stop, so a peer never
// outlives the test that started it.
_ = Task.Run(() =>
{
    Console.OpenStandardInput().CopyTo(Stream.Null);
    Environment.Exit(3);
});

// One write and one flush per line, under a lock: a line reaches the pipe whole, and only after
// its entry was acknowledged, so the test never sees an ack the trail did not give.
var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false, NewLine = "\n" };
var gate = new Lock();
await using var trail = AuditTrail.Open(args[0], new AuditTrailOptions { CheckpointEvery = checkpointEvery });
lock (gate)
{
    output.WriteLine($"opened {trail.LastSeq.ToString(CultureInfo.InvariantCulture)}");
    output.Flush();
}

var writers = Enumerable.Range(0, 16).Select(writer => Task.Run(async () =>
{
    for (var i = 0; ; i++)
    {
        var appended = await trail.AppendAsync(Call(writer, i));
        var line = string.Create(CultureInfo.InvariantCulture, $"acked {appended.Seq} {appended.Hash}");
        lock (gate)
        {
            output.WriteLine(line);
            output.Flush();
        }
    }
}));
await Task.WhenAll(writers);
return 0;

static AuditEntry Call(int writer, int i)
{
    var id = string.Create(CultureInfo.InvariantCulture, $"c-{writer:D2}{i:D7}");
    return new AuditEntry
    {
        Kind = AuditKinds.Call,
        Environment = "sandbox",
        Agent = $"crash-bot-{writer % 4}",
        UseCase = "data-hygiene",
        Tool = "contacts.update",
        Arguments = JsonSerializer.SerializeToElement(new { ids = new[] { id }, set = new { lead_source = "web" } }),
        Effect = "allow",
        Rule = "hygiene-small-updates",
        RecordsChanged = [id],
        Outcome = "ok",
    };
}
