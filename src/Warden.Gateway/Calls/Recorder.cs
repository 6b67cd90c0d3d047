using Warden.Core;
using Warden.Core.Audit;
using Warden.Storage.Audit;

namespace Warden.Gateway.Calls;

/// <summary>Writes the gateway's entries to the trail, stamped with the policy in force (unless the entry names the one it was decided under), each durable before its caller goes on.</summary>
internal sealed class Recorder(AuditTrail trail, PolicyInForce policies)
{
    /// <summary>
    /// Appends and waits until the entry is on the disk. Not cancellable: the entry records
    /// something that happened (or was refused), and a caller who hung up does not undo it.
    /// </summary>
    public async ValueTask<long> RecordAsync(AuditEntry entry) =>
        (await trail.AppendAsync(entry with { PolicyHash = entry.PolicyHash ?? policies.Current.Hash }, CancellationToken.None).ConfigureAwait(false)).Seq;
}
