namespace Warden.Workspace.Tools;

/// <summary>Every implemented tool. A test checks that it matches the catalogue exactly.</summary>
internal static class ToolRegistry
{
    public static IEnumerable<WorkspaceTool> All() =>
    [
        new ContactsUpdateTool(),
        new LifecycleSetStageTool(),
        new ConsentUpdateTool(),
        new ContactsDeleteTool(),
    ];
}
