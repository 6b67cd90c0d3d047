namespace Warden.Workspace.Tools;

/// <summary>Every implemented tool. A test checks that it matches the catalogue exactly.</summary>
internal static class ToolRegistry
{
    public static IEnumerable<WorkspaceTool> All() =>
    [
        new WorkspaceDescribeTool(),
        new ContactsSearchTool(),
        new ContactsGetTool(),
        new SegmentsMembersTool(),
        new CampaignsGetTool(),
        new CampaignsStatsTool(),
        new ContactsUpdateTool(),
        new LifecycleSetStageTool(),
        new ConsentUpdateTool(),
        new ContactsDeleteTool(),
        new ContactsMergeTool(),
        new ContactsPurgeTool(),
        new ListsAddMembersTool(),
        new ListsRemoveMembersTool(),
        new NurtureRemoveMembersTool(),
        new SuppressionAddTool(),
        new SuppressionRemoveTool(),
        new SegmentsUpdateRuleTool(),
        new ScoringUpdateRuleTool(),
        new RoutingUpdateRuleTool(),
        new CampaignsCreateDraftTool(),
        new CampaignsScheduleTool(),
        new CampaignsSendTool(),
        new AudiencesSyncTool(),
    ];
}
