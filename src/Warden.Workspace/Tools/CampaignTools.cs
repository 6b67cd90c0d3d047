using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Warden.Workspace.Journal;
using Warden.Core;

namespace Warden.Workspace.Tools;

/// <summary>
/// Sends a campaign to its audience, after suppression and consent. Irreversible: journaled for the
/// record, never rolled back. The plan binds what goes out: each recipient with the address it is
/// sent to (the keys), and the campaign's subject, sender and content (the binding), so a change
/// to any of them after approval voids it. It goes out in batches (see MarketingWorkspace.Apply):
/// the recipients are queued when the plan is checked, each batch re-checks every address's
/// consent as it is sent, and a send stopped between batches (the kill switch) says how far it got;
/// sending the campaign again reaches only those it has not reached.
/// </summary>
internal sealed class SendChange(string campaign, string name, Audience audience) : Change
{
    private IReadOnlyList<SqlArg> Parameters => [.. audience.Parameters, new SqlArg("@campaign", campaign)];

    /// <summary>Those the campaign reaches and has not reached yet (a send stopped earlier is resumed, never repeated).</summary>
    private string Pending => $"SELECT id, email FROM ({audience.Reached}) AS picked WHERE id NOT IN (SELECT contact_id FROM campaign_sends WHERE campaign_id = @campaign)";

    public override IEnumerable<string> Keys(ToolContext context) => context.Keys($"SELECT id || '|' || email FROM ({Pending}) AS picked ORDER BY id", Parameters);

    public override string? Binding(ToolContext context) => JsonSerializer.Serialize(Message(context));

    /// <summary>What the campaign says now.</summary>
    private SendMessage Message(ToolContext context)
    {
        var row = context.Row(Tables.Campaigns, campaign)!;
        var subject = (string)row["subject"]!;
        var sender = (string)row["sender"]!;
        var content = (string)row["content"]!;
        var hash = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new[] { subject, sender, content }))));
        var preview = content.Length <= 280 ? content : content[..280] + "…";
        return new SendMessage(campaign, (string)row["name"]!, subject, sender, preview, hash);
    }

    public override PlanDetails Describe(ToolContext context, long records)
    {
        var excluded = audience.Exclusions(context);
        var left = excluded.Sum(e => e.Records);
        var already = context.Count("SELECT count(*) FROM campaign_sends WHERE campaign_id = @campaign", Parameters);
        var summary = $"campaigns.send: send '{name}' to {records:N0} {(records == 1 ? "person" : "people")} in {audience.Name}"
                      + (left > 0 ? $"; {left:N0} left out ({string.Join(", ", excluded.Select(e => $"{e.Records:N0} {e.Reason}"))})" : "")
                      + (already > 0 ? $"; {already:N0} reached by an earlier send of it, which stopped" : "")
                      + ". A send cannot be taken back.";
        var sample = context.Keys($"SELECT id FROM ({Pending}) AS picked ORDER BY id LIMIT 5", Parameters)
            .Select(id => new RecordChange(id, new Dictionary<string, string?> { ["sent"] = "no" }, new Dictionary<string, string?> { ["sent"] = "yes" })).ToList();
        var message = Message(context);
        summary += $" From {message.Sender}, subject \"{message.Subject}\".";
        return new PlanDetails(["contacts.email", "contacts.email_consent"], ["campaigns.status", "campaign_sends.contact_id"],
            [new FieldChange("campaigns.status", 1, [], "sent")], sample, summary, records, excluded)
        {
            Message = message,
        };
    }

    public override JsonElement Write(ToolContext context, ActionJournal journal) =>
        throw new InvalidOperationException("a send goes out in batches: MarketingWorkspace.Apply queues and delivers it");

    /// <summary>Queues the recipients the plan was checked against and marks the campaign as sending. Returns how many.</summary>
    public long Queue(ToolContext context, ActionJournal journal)
    {
        var queued = journal.Execute(
            $"INSERT INTO send_queue (action_id, position, contact_id, email) SELECT @action, row_number() OVER (ORDER BY id), id, email FROM ({Pending}) AS picked ORDER BY id",
            [.. Parameters, new SqlArg("@action", journal.ActionId)]);
        SetStatus(context, journal, "sending", null);
        return queued;
    }

    /// <summary>
    /// The queued recipients at positions @from..@to whom the
    /// campaign may still reach now: the contact still holds the address it was queued with, is
    /// live and subscribed, and its mailbox is not suppressed or unsubscribed (consent checked
    /// again at the moment of sending).
    /// </summary>
    private static readonly string StillReachable = $"""
        SELECT q.contact_id AS contact_id, q.email AS email FROM send_queue q JOIN contacts c ON c.id = q.contact_id
        WHERE q.action_id = @sending AND q.position BETWEEN @from AND @to
          AND c.deleted_at IS NULL AND c.email = q.email AND c.email_consent = 'subscribed'
          AND {ConsentLedger.Mailbox("c.email")} NOT IN (SELECT {ConsentLedger.Mailbox("email")} FROM suppression)
          AND {ConsentLedger.Mailbox("c.email")} NOT IN (SELECT mailbox FROM unsubscribed_addresses)
          AND NOT EXISTS (SELECT 1 FROM contacts o WHERE {ConsentLedger.Mailbox("o.email")} = {ConsentLedger.Mailbox("c.email")} AND o.email_consent = 'unsubscribed')
        """;

    /// <summary>Sends one batch; returns how many went out.</summary>
    public long Deliver(ToolContext context, ActionJournal journal, long from, long to)
    {
        var parameters = new List<SqlArg>
        {
            new("@campaign", campaign), new("@sending", journal.ActionId), new("@from", from), new("@to", to), new("@now", context.NowText),
        };
        journal.JournalRows(Tables.CampaignSends, "insert",
            $"SELECT @campaign || '|' || contact_id AS record_key, NULL AS before, {context.Sql.Object("'campaign_id', @campaign, 'contact_id', contact_id, 'email', email, 'sent_at', @now")} AS after FROM ({StillReachable}) AS picked",
            parameters);
        return journal.Execute($"INSERT INTO campaign_sends (campaign_id, contact_id, email, sent_at) SELECT @campaign, contact_id, email, @now FROM ({StillReachable}) AS picked", parameters);
    }

    /// <summary>Ends the send: the campaign is sent, or stopped (and can be sent again to the rest); the queue is emptied.</summary>
    public JsonElement Finish(ToolContext context, ActionJournal journal, long queued, long sent, string? stopped)
    {
        journal.Execute("DELETE FROM send_queue WHERE action_id = @action", [new SqlArg("@action", journal.ActionId)]);
        SetStatus(context, journal, stopped is null ? "sent" : "stopped", context.NowText);
        return stopped is null
            ? Output(new { Sent = sent, Campaign = campaign, LeftOutAtSending = queued - sent })
            : Output(new { Sent = sent, Campaign = campaign, Stopped = stopped, NotSent = queued - sent });
    }

    /// <summary>
    /// True while the send's recipients are still queued: another replica's recovery, taking the
    /// send for one a stopped gateway left, ends it by emptying its queue (<see cref="StopInterrupted"/>).
    /// </summary>
    public static bool StillQueued(ToolContext context, string actionId) =>
        context.Count("SELECT count(*) FROM (SELECT 1 FROM send_queue WHERE action_id = @action LIMIT 1) AS queued", ("@action", actionId)) > 0;

    /// <summary>What a send another replica ended says: it sent no more, and wrote nothing more.</summary>
    public JsonElement EndedElsewhere(long queued, long sent, string stopped) =>
        Output(new { Sent = sent, Campaign = campaign, Stopped = stopped, NotSent = queued - sent });

    /// <summary>Ends a send a stopped gateway left half-way: the campaign is stopped (and can be sent again to the rest), the queue emptied.</summary>
    public static void StopInterrupted(ToolContext context, ActionJournal journal, string campaign)
    {
        journal.Execute("DELETE FROM send_queue WHERE action_id = @action", [new SqlArg("@action", journal.ActionId)]);
        SetStatus(context, journal, campaign, "stopped", context.NowText);
    }

    private void SetStatus(ToolContext context, ActionJournal journal, string status, string? sentAt) => SetStatus(context, journal, campaign, status, sentAt);

    private static void SetStatus(ToolContext context, ActionJournal journal, string campaign, string status, string? sentAt)
    {
        var row = context.Row(Tables.Campaigns, campaign)!;
        var version = Convert.ToInt64(row["version"], CultureInfo.InvariantCulture);
        journal.Execute("UPDATE campaigns SET status = @status, sent_at = coalesce(@at, sent_at), version = version + 1 WHERE id = @campaign",
            [new("@status", status), new("@at", (object?)sentAt ?? DBNull.Value), new("@campaign", campaign)]);
        journal.Record(Tables.Campaigns, campaign, "update",
            ActionJournal.Image(new Dictionary<string, object?> { ["status"] = row["status"], ["sent_at"] = row["sent_at"], ["version"] = version }),
            ActionJournal.Image(new Dictionary<string, object?> { ["status"] = status, ["sent_at"] = sentAt ?? row["sent_at"], ["version"] = version + 1 }));
    }
}

internal sealed class CampaignsSendTool() : WorkspaceTool("campaigns.send")
{
    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context)
    {
        var id = args.String("campaign")!;
        var campaign = context.Row(Tables.Campaigns, id);
        if (campaign is null)
        {
            return SystemError.NotFound($"there is no campaign '{id}'; nothing was sent");
        }

        if ((string)campaign["status"]! == "sent")
        {
            return SystemError.Refused($"campaign '{id}' was already sent on {campaign["sent_at"]}; nothing was sent");
        }

        if ((string)campaign["status"]! == "sending")
        {
            return SystemError.Refused($"campaign '{id}' is being sent now; nothing more was sent");
        }

        var audience = Audience.Resolve(context, (string)campaign["audience"]!, Name);
        return audience.Succeeded ? new SendChange(id, (string)campaign["name"]!, audience.Value!) : audience.Error!;
    }
}

/// <summary>Syncs a segment's reachable members to an outside ad audience. Irreversible: the destination keeps what it got.</summary>
internal sealed class SyncChange(string segment, string destination, Audience audience, string syncId) : Change
{
    // Each member with the address that goes out: the destination matches people by it.
    public override IEnumerable<string> Keys(ToolContext context) => context.Keys($"SELECT id || '|' || email FROM ({audience.Reached}) AS picked ORDER BY id", audience.Parameters);

    public override PlanDetails Describe(ToolContext context, long records)
    {
        var excluded = audience.Exclusions(context);
        var left = excluded.Sum(e => e.Records);
        var summary = $"audiences.sync: upload {records:N0} {(records == 1 ? "person" : "people")} from {audience.Name} to {destination}"
                      + (left > 0 ? $"; {left:N0} left out ({string.Join(", ", excluded.Select(e => $"{e.Records:N0} {e.Reason}"))})." : ".")
                      + " What the destination receives cannot be taken back.";
        var sample = context.Keys($"SELECT id FROM ({audience.Reached}) AS picked ORDER BY id LIMIT 5", audience.Parameters)
            .Select(id => new RecordChange(id, new Dictionary<string, string?> { ["in_audience"] = "no" }, new Dictionary<string, string?> { ["in_audience"] = "yes" })).ToList();
        return new PlanDetails(["contacts.email", "contacts.email_consent"], ["audience_syncs.members"],
            [new FieldChange("audience_syncs.members", 1, [], records.ToString(CultureInfo.InvariantCulture))], sample, summary, records, excluded)
        {
            Destination = destination,
        };
    }

    public override JsonElement Write(ToolContext context, ActionJournal journal)
    {
        var members = context.Count($"SELECT count(*) FROM ({audience.Reached}) AS picked", audience.Parameters);
        var existing = context.Row(Tables.AudienceSyncs, syncId);
        var after = new Dictionary<string, object?>
        {
            ["id"] = syncId, ["segment_id"] = segment, ["destination"] = destination, ["status"] = "synced", ["last_synced_at"] = context.NowText, ["members"] = members,
        };
        if (existing is null)
        {
            journal.Execute("INSERT INTO audience_syncs (id, segment_id, destination, status, last_synced_at, members) VALUES (@id, @s, @d, 'synced', @now, @m)",
                [new("@id", syncId), new("@s", segment), new("@d", destination), new("@now", context.NowText), new("@m", members)]);
            journal.Record(Tables.AudienceSyncs, syncId, "insert", null, ActionJournal.Image(after));
        }
        else
        {
            journal.Execute("UPDATE audience_syncs SET status = 'synced', last_synced_at = @now, members = @m WHERE id = @id",
                [new("@id", syncId), new("@now", context.NowText), new("@m", members)]);
            journal.Record(Tables.AudienceSyncs, syncId, "update", ActionJournal.Image(existing), ActionJournal.Image(after));
        }

        return Output(new { Synced = members, Destination = destination });
    }
}

internal sealed partial class AudiencesSyncTool() : WorkspaceTool("audiences.sync")
{
    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context)
    {
        var segment = args.String("segment")!;
        var destination = args.String("destination")!;
        if (!DestinationPattern().IsMatch(destination))
        {
            return SystemError.InvalidArguments($"'{destination}' is not a destination; write provider:audience, e.g. linkedin:matched-audience-42 (providers: linkedin, google_ads, meta)");
        }

        if (context.Row(Tables.Segments, segment) is null)
        {
            return SystemError.NotFound($"there is no segment '{segment}'; nothing was synced");
        }

        var audience = Audience.Resolve(context, segment, Name);
        if (!audience.Succeeded)
        {
            return audience.Error!;
        }

        var syncId = context.Text("SELECT id FROM audience_syncs WHERE segment_id = @s AND destination = @d", ("@s", segment), ("@d", destination))
                     ?? $"sync-{segment}-{destination.Replace(':', '-')}";
        return new SyncChange(segment, destination, audience.Value!, syncId);
    }

    [GeneratedRegex("^(linkedin|google_ads|meta):[a-z0-9][a-z0-9_-]{0,99}$")]
    private static partial Regex DestinationPattern();
}

/// <summary>Inserts or updates one campaign row (draft, schedule).</summary>
internal sealed class CampaignRowChange(string id, IReadOnlyDictionary<string, object?> values, bool create, string summary) : Change
{
    public override IEnumerable<string> Keys(ToolContext context) => [id];

    public override PlanDetails Describe(ToolContext context, long records)
    {
        var row = create ? null : context.Row(Tables.Campaigns, id);
        var before = values.Keys.ToDictionary(k => k, k => row is null ? null : Convert.ToString(row[k], CultureInfo.InvariantCulture));
        var after = values.ToDictionary(v => v.Key, v => Convert.ToString(v.Value, CultureInfo.InvariantCulture));
        return new PlanDetails([], [.. values.Keys.Select(k => "campaigns." + k)],
            [.. values.Select(v => new FieldChange("campaigns." + v.Key, 1, [new ValueCount(before[v.Key], 1)], after[v.Key]))],
            [new RecordChange(id, before, after)], summary);
    }

    public override JsonElement Write(ToolContext context, ActionJournal journal)
    {
        if (create)
        {
            var row = new Dictionary<string, object?>(values) { ["id"] = id, ["version"] = 1L };
            journal.Execute($"INSERT INTO campaigns ({string.Join(", ", row.Keys)}) VALUES ({string.Join(", ", row.Keys.Select(k => "@" + k))})",
                row.Select(r => new SqlArg("@" + r.Key, r.Value ?? DBNull.Value)));
            journal.Record(Tables.Campaigns, id, "insert", null, ActionJournal.Image(row));
            return Output(new { Campaign = id, Status = values["status"] });
        }

        var current = context.Row(Tables.Campaigns, id)!;
        var version = Convert.ToInt64(current["version"], CultureInfo.InvariantCulture);
        journal.Execute($"UPDATE campaigns SET {string.Join(", ", values.Keys.Select(k => $"{k} = @{k}"))}, version = version + 1 WHERE id = @id",
            values.Select(v => new SqlArg("@" + v.Key, v.Value ?? DBNull.Value)).Append(new SqlArg("@id", id)));
        var was = values.Keys.ToDictionary(k => k, k => current[k]);
        was["version"] = version;
        var now = new Dictionary<string, object?>(values) { ["version"] = version + 1 };
        journal.Record(Tables.Campaigns, id, "update", ActionJournal.Image(was), ActionJournal.Image(now));
        return Output(new { Campaign = id, Status = values["status"] });
    }
}

internal sealed class CampaignsCreateDraftTool() : WorkspaceTool("campaigns.create_draft")
{
    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context)
    {
        var audience = Audience.Resolve(context, args.String("audience")!, Name);
        if (!audience.Succeeded)
        {
            return audience.Error!;
        }

        var sender = args.String("sender")!;
        if (!EmailAddress.IsValid(sender))
        {
            return SystemError.InvalidArguments($"'{sender}' is not a sender address");
        }

        // The id is chosen when planning, so the plan (and an approval of it) names the campaign it creates.
        var id = $"cmp-{context.Now.UtcDateTime:yyyyMMdd}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
        var values = new Dictionary<string, object?>
        {
            ["name"] = args.String("name"), ["status"] = "draft", ["audience"] = args.String("audience"), ["subject"] = args.String("subject"),
            ["content"] = args.String("content"), ["sender"] = sender, ["scheduled_at"] = null, ["sent_at"] = null,
        };
        return new CampaignRowChange(id, values, create: true, $"campaigns.create_draft: create draft '{args.String("name")}' ({id}) for {audience.Value!.Name}.");
    }

}

internal sealed class CampaignsScheduleTool() : WorkspaceTool("campaigns.schedule")
{
    public override SystemResult<Change> Prepare(ArgumentReader args, ToolContext context)
    {
        var id = args.String("campaign")!;
        var campaign = context.Row(Tables.Campaigns, id);
        if (campaign is null)
        {
            return SystemError.NotFound($"there is no campaign '{id}'");
        }

        if ((string)campaign["status"]! != "draft")
        {
            return SystemError.Refused($"campaign '{id}' is {campaign["status"]}; only a draft can be scheduled");
        }

        if (!DateTimeOffset.TryParse(args.String("at"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) || !args.String("at")!.Contains('T', StringComparison.Ordinal))
        {
            return SystemError.InvalidArguments($"'at' of {Name} is not a time; write it like 2026-12-01T09:00:00Z");
        }

        if (at <= context.Now)
        {
            return SystemError.InvalidArguments($"'at' of {Name} is in the past; a schedule is for later");
        }

        var when = ToolContext.Timestamp(at);
        return new CampaignRowChange(id, new Dictionary<string, object?> { ["status"] = "scheduled", ["scheduled_at"] = when }, create: false,
            $"campaigns.schedule: schedule '{campaign["name"]}' for {when}; it can be unscheduled until it is sent.");
    }
}
