using Warden.Core;

namespace Warden.Workspace;

/// <summary>
/// The workspace's writes, waited for here (linked into the test projects and the benchmarks, in
/// the workspace's namespace so that its callers find it): a test or a probe drives one step at a time, where
/// the gateway awaits them (a write waiting for another holds no thread there).
/// </summary>
internal static class WorkspaceSteps
{
    public static SystemResult<AppliedAction> Apply(this MarketingWorkspace workspace, Plan plan, ApplyControl? control = null) =>
        workspace.ApplyAsync(plan, control).GetAwaiter().GetResult();

    public static SystemResult<RollbackResult> RollBack(this MarketingWorkspace workspace, RollbackRequest request, ConflictResolution resolution, string actor) =>
        workspace.RollBackAsync(request, resolution, actor).GetAwaiter().GetResult();

    public static IReadOnlyList<InterruptedSend> StopInterrupted(this MarketingWorkspace workspace) =>
        workspace.StopInterruptedAsync(cancellationToken: default).GetAwaiter().GetResult();
}
