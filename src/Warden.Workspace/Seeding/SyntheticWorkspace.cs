using System.Globalization;
using Microsoft.Data.Sqlite;
using Warden.Core;

namespace Warden.Workspace.Seeding;

/// <summary>
/// The synthetic marketing workspace: a DACH-centred outdoor retailer's contact base with its
/// history. Deterministic: every record comes from its own random stream keyed by (seed, index),
/// never from the clock or Guid.NewGuid, so the same seed, count and "now" give the same bytes.
///
/// Distributions (shares of all contacts unless said otherwise):
/// <list type="bullet">
/// <item>Email consent: subscribed ≈ 62%, unsubscribed ≈ 23%, unknown ≈ 15%. Subscribed by form 50%,
///   import 25%, preference centre 15%, request 10%; unsubscribed via preference centre 55%, request
///   25%, import 12%, form 8%; unknown has no time and, for 30%, the source "import". A fifth of
///   the unsubscribes since the first sent campaign came from a campaign's unsubscribe link (with
///   the matching open, click and unsubscribe events).</item>
/// <item>Lifecycle funnel: subscriber 40%, lead 30%, mql 14%, sql 8%, opportunity 5%, customer 3%.
///   lead_score (0–100) rises with the stage: subscriber ≈ 12, lead ≈ 27, mql ≈ 57, sql ≈ 70,
///   opportunity ≈ 80, customer ≈ 70.</item>
/// <item>Country: DE 22, US 14, GB 10, FR 8, NL 6, AT 5, CH 5, ES 5, IT 5, SE 3, BE 2.5, PL 2, DK, IE,
///   CA 1.5, NO, FI, AU, PT 1, CZ, LU 0.5 (relative weights); 4% of free-mail contacts have none.</item>
/// <item>lead_source: web 28, organic_search 14, import 14, paid_social 12, webinar 12, referral 8,
///   trade_show 8, none 4 (relative weights); last month's trade-show import adds ≈ 1.5% new leads.</item>
/// <item>Companies: one per 20 contacts; 75% of contacts work at one (more at bigger companies,
///   by the square root of the head count), the rest use free mail. Head counts are heavy-tailed
///   (median ≈ 40, 1.5% above 20,000). 4% of companies are a second spelling of another company.</item>
/// <item>Duplicates ≈ 2%: the same person again, the address differing only by case, surrounding
///   spaces or a +tag (10% identical), sometimes at the other spelling of the company; half came
///   in with last month's trade-show import.</item>
/// <item>Stale ≈ 10%: not updated for more than three years. Soft-deleted ≈ 1%.</item>
/// <item>legacy_region: on 92% of contacts created before it was retired (≈ 3.4 years ago), 2%
///   after; 4% of the values are outdated labels.</item>
/// <item>Phone on ≈ 55% (some in local format), job title on ≈ 59%, date of birth on 18%.</item>
/// <item>Owner: 60% of MQLs and every SQL, opportunity and customer, from the first routing rule that
///   matches.</item>
/// <item>Suppression: 0.5% of contacts on the global list (three in four of them unsubscribed too),
///   0.4% old hard bounces, every hard bounce of a sent campaign, and 0.15% of addresses whose
///   contacts were erased. Sent campaigns: 1.2% bounce (70% hard), 22–40% open by stage (less when
///   stale), 14% of openers click.</item>
/// </list>
/// </summary>
internal sealed class SyntheticWorkspace
{
    public const string Generator = "warden-synthetic/1";

    /// <summary>The tables a seed fills, in the schema's order.</summary>
    public static readonly string[] Tables =
    [
        "companies", "contacts", "lists", "list_members", "segments", "suppression_lists", "suppression", "campaigns",
        "campaign_sends", "campaign_events", "nurture_flows", "nurture_members", "scoring_rules", "routing_rules",
        "audience_syncs", "reports", "field_dependencies",
    ];

    private readonly int seed;
    private readonly int count;
    private readonly long now;
    private readonly SeedCalendar calendar;
    private readonly int[] sentToList;
    private readonly int[] sentToSegment;

    public SyntheticWorkspace(SeedOptions options)
    {
        seed = options.Seed;
        count = options.Contacts;
        calendar = new SeedCalendar(options.Now);
        now = calendar.NowMs;
        Companies = new SyntheticCompanies(seed, count);
        Plan = new SeedPlan(calendar, Companies, SeedPlan.Scale(count));
        Contacts = new SyntheticContacts(seed, count, calendar, Companies, Plan);
        sentToList = [.. Plan.SentCampaigns.Select(c => c.List is null ? -1 : IndexOf(Plan.Lists, c.List))];
        sentToSegment = [.. Plan.SentCampaigns.Select(c => c.Segment is null ? -1 : IndexOf(Plan.Segments, c.Segment))];
    }

    public SyntheticCompanies Companies { get; }

    public SeedPlan Plan { get; }

    public SyntheticContacts Contacts { get; }


    /// <summary>Writes every table inside the transaction the caller opened on the connection, and returns the rows per table.</summary>
    public IReadOnlyDictionary<string, long> Write(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, IProgress<SeedProgress>? progress,
        CancellationToken cancellationToken)
    {
        using var inserts = new Inserts(connection, transaction);
        WriteCompanies(inserts.Companies, progress, cancellationToken);
        WriteObjects(inserts);
        var members = WriteContacts(inserts, progress, cancellationToken);
        WriteErasedAddresses(inserts.Suppression);
        WriteSyncs(inserts.AudienceSyncs, members);
        WriteDependencies(inserts.FieldDependencies);

        inserts.Flush();
        var rows = new OrderedDictionary<string, long>();
        foreach (var table in Tables)
        {
            rows[table] = inserts.All.Single(i => i.Table == table).Rows;
        }

        return rows;
    }

    /// <summary>The workspace_info entries that record how the data was made.</summary>
    public IEnumerable<(string Key, string Value)> Info(SeedOptions options) =>
    [
        ("seed.generator", Generator),
        ("seed.seed", options.Seed.ToString(CultureInfo.InvariantCulture)),
        ("seed.contacts", options.Contacts.ToString(CultureInfo.InvariantCulture)),
        ("seed.now", IsoTime.Format(now)),
    ];

    private void WriteCompanies(TableInsert insert, IProgress<SeedProgress>? progress, CancellationToken cancellationToken)
    {
        progress?.Report(new SeedProgress("companies", 0, Companies.Count));
        for (var k = 0; k < Companies.Count; k++)
        {
            if ((k & 4095) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var row = Companies.Row(k);
            insert.Text(0, row.Id).Text(1, row.Name).Text(2, row.Domain).Text(3, row.Industry).Number(4, row.Employees)
                .Number(5, row.AnnualRevenue).Text(6, row.Country).Insert();
        }

        progress?.Report(new SeedProgress("companies", Companies.Count, Companies.Count));
    }

    private void WriteObjects(Inserts inserts)
    {
        foreach (var list in Plan.Lists)
        {
            inserts.Lists.Text(0, list.Id).Text(1, list.Name).Insert();
        }

        foreach (var segment in Plan.Segments)
        {
            inserts.Segments.Text(0, segment.Id).Text(1, segment.Name).Text(2, segment.Rule).Number(3, segment.Version).Insert();
        }

        inserts.SuppressionLists.Text(0, "global").Text(1, "Global suppression").Insert();
        inserts.SuppressionLists.Text(0, "hard-bounces").Text(1, "Hard bounces").Insert();
        foreach (var campaign in Plan.Campaigns)
        {
            inserts.Campaigns.Text(0, campaign.Id).Text(1, campaign.Name).Text(2, campaign.Status).Text(3, campaign.Audience)
                .Text(4, campaign.Subject).Text(5, campaign.Content).Text(6, campaign.Sender).Time(7, campaign.ScheduledAt)
                .Time(8, campaign.SentAt).Number(9, 1).Insert();
        }

        foreach (var flow in Plan.Flows)
        {
            inserts.NurtureFlows.Text(0, flow.Id).Text(1, flow.Name).Insert();
        }

        foreach (var rule in Plan.ScoringRules)
        {
            inserts.ScoringRules.Text(0, rule.Id).Text(1, rule.Name).Text(2, rule.Condition).Number(3, rule.Points).Number(4, rule.Version).Insert();
        }

        foreach (var rule in Plan.RoutingRules)
        {
            inserts.RoutingRules.Text(0, rule.Id).Text(1, rule.Name).Text(2, rule.Condition).Text(3, rule.Owner).Number(4, rule.Version).Insert();
        }

        foreach (var report in Plan.Reports)
        {
            inserts.Reports.Text(0, report.Id).Text(1, report.Name).Insert();
        }
    }

    /// <summary>
    /// Streams the contacts in id order, each one's lists, flows, suppressions, sends and events
    /// right after it; nothing about a contact is kept once it is written. Returns how many
    /// subscribed, live contacts each segment selects, for the audience syncs.
    /// </summary>
    private long[] WriteContacts(Inserts inserts, IProgress<SeedProgress>? progress, CancellationToken cancellationToken)
    {
        const int ReportEvery = 10_000;
        var contact = new SyntheticContact();
        var segments = Plan.Segments;
        var members = new long[segments.Count];
        var matches = new bool[segments.Count];
        var joined = new long[Plan.Lists.Count];
        progress?.Report(new SeedProgress("contacts", 0, count));
        for (var i = 0; i < count; i++)
        {
            if ((i & 1023) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            Contacts.Fill(i, contact);
            WriteContact(inserts.Contacts, contact);

            for (var s = 0; s < segments.Count; s++)
            {
                matches[s] = segments[s].Matches(contact);
                if (matches[s] && contact.Consent == Consents.Subscribed && !contact.IsDeleted)
                {
                    members[s]++;
                }
            }

            var random = SeedRandom.For(seed, i, SeedStream.Memberships);
            WriteMemberships(inserts, contact, joined, ref random);
            WriteSuppression(inserts.Suppression, contact);
            WriteSends(inserts, contact, matches, joined, ref random);

            if ((i + 1) % ReportEvery == 0 && i + 1 < count)
            {
                progress?.Report(new SeedProgress("contacts", i + 1, count));
            }
        }

        progress?.Report(new SeedProgress("contacts", count, count));
        return members;
    }

    private static void WriteContact(TableInsert insert, SyntheticContact c) =>
        insert.Text(0, c.Id).Text(1, c.Email).Text(2, c.FirstName).Text(3, c.LastName).Text(4, c.Phone).Text(5, c.DateOfBirth)
            .Text(6, c.CompanyId).Text(7, c.JobTitle).Text(8, c.CountryCode).Text(9, c.Stage).Number(10, c.LeadScore)
            .Text(11, c.LeadSource).Text(12, c.Owner).Text(13, c.Consent).Time(14, c.ConsentAt).Text(15, c.ConsentSource)
            .Text(16, c.LegacyRegion).Time(17, c.CreatedAt).Time(18, c.UpdatedAt).Time(19, c.DeletedAt).Number(20, 1).Insert();

    private void WriteMemberships(Inserts inserts, SyntheticContact contact, long[] joined, ref SeedRandom random)
    {
        var lists = Plan.Lists;
        for (var l = 0; l < lists.Count; l++)
        {
            joined[l] = SyntheticContact.None;
            if (lists[l].Eligible(contact) && random.Chance(lists[l].Share))
            {
                joined[l] = Math.Clamp(lists[l].JoinedAt(contact, ref random), contact.CreatedAt, now);
                inserts.ListMembers.Text(0, lists[l].Id).Text(1, contact.Id).Time(2, joined[l]).Insert();
            }
        }

        foreach (var flow in Plan.Flows)
        {
            if (flow.Eligible(contact) && random.Chance(flow.Share))
            {
                var at = Math.Clamp(flow.JoinedAt(contact, ref random), contact.CreatedAt, now);
                inserts.NurtureMembers.Text(0, flow.Id).Text(1, contact.Id).Time(2, at).Insert();
            }
        }
    }

    private static void WriteSuppression(TableInsert insert, SyntheticContact contact)
    {
        if (contact.GloballySuppressedAt != SyntheticContact.None)
        {
            insert.Text(0, "global").Text(1, contact.SuppressionEmail).Text(2, contact.SuppressionReason).Time(3, contact.GloballySuppressedAt).Insert();
        }

        if (contact.LegacyBounceAt != SyntheticContact.None)
        {
            insert.Text(0, "hard-bounces").Text(1, contact.SuppressionEmail).Text(2, "hard bounce (imported from the previous email provider)")
                .Time(3, contact.LegacyBounceAt).Insert();
        }
    }

    private void WriteSends(Inserts inserts, SyntheticContact contact, bool[] matches, long[] joined, ref SeedRandom random)
    {
        var bouncedAt = contact.LegacyBounceAt;
        var sent = Plan.SentCampaigns;
        for (var ci = 0; ci < sent.Count; ci++)
        {
            var campaign = sent[ci];
            var at = campaign.SentAt;
            var unsubscribes = contact.UnsubscribedFrom == ci;
            if (!unsubscribes && !Receives(contact, ci, at, bouncedAt, matches, joined))
            {
                continue;
            }

            var sendAt = at + random.NextLong(90 * IsoTime.Minute);
            inserts.CampaignSends.Text(0, campaign.Id).Text(1, contact.Id).Text(2, contact.Email).Time(3, sendAt).Insert();
            var events = inserts.CampaignEvents;
            if (!unsubscribes && random.Chance(0.012))
            {
                var bounce = sendAt + IsoTime.Second + random.NextLong(5 * IsoTime.Minute);
                events.Text(0, campaign.Id).Text(1, contact.Id).Text(2, "bounce").Time(3, bounce).Insert();
                if (random.Chance(0.7))
                {
                    inserts.Suppression.Text(0, "hard-bounces").Text(1, contact.SuppressionEmail).Text(2, "hard bounce: mailbox does not exist")
                        .Time(3, bounce).Insert();
                    bouncedAt = bounce;
                }

                continue;
            }

            var delivered = sendAt + IsoTime.Second + random.NextLong(5 * IsoTime.Minute);
            events.Text(0, campaign.Id).Text(1, contact.Id).Text(2, "delivered").Time(3, delivered).Insert();
            var opens = unsubscribes || random.Chance(OpenRate(contact));
            var openedAt = unsubscribes
                ? random.Between(delivered, contact.ConsentAt)
                : delivered + OpenDelay(ref random);
            if (!opens || openedAt > now)
            {
                continue;
            }

            events.Text(0, campaign.Id).Text(1, contact.Id).Text(2, "open").Time(3, openedAt).Insert();
            if (unsubscribes || random.Chance(0.14))
            {
                var clickedAt = unsubscribes ? contact.ConsentAt : openedAt + 5 * IsoTime.Second + random.NextLong(30 * IsoTime.Minute);
                if (clickedAt <= now)
                {
                    events.Text(0, campaign.Id).Text(1, contact.Id).Text(2, "click").Time(3, clickedAt).Insert();
                }
            }

            if (unsubscribes)
            {
                events.Text(0, campaign.Id).Text(1, contact.Id).Text(2, "unsubscribe").Time(3, contact.ConsentAt).Insert();
            }
        }
    }

    /// <summary>Whether a sent campaign went to the contact: in its audience, existing and subscribed at the time, not suppressed or bounced before.</summary>
    private bool Receives(SyntheticContact contact, int campaign, long at, long bouncedAt, bool[] matches, long[] joined)
    {
        if (contact.CreatedAt > at - IsoTime.Hour || (contact.IsDeleted && contact.DeletedAt <= at))
        {
            return false;
        }

        var subscribedThen = (contact.Consent == Consents.Subscribed && contact.ConsentAt <= at)
                             || (contact.Consent == Consents.Unsubscribed && contact.ConsentAt > at);
        if (!subscribedThen
            || (contact.GloballySuppressedAt != SyntheticContact.None && contact.GloballySuppressedAt <= at)
            || (bouncedAt != SyntheticContact.None && bouncedAt <= at))
        {
            return false;
        }

        var list = sentToList[campaign];
        return list >= 0
            ? joined[list] != SyntheticContact.None && joined[list] <= at
            : matches[sentToSegment[campaign]];
    }

    /// <summary>Most opens come within hours, a few days later: 18 h × u³, mean 4.5 h.</summary>
    private static long OpenDelay(ref SeedRandom random)
    {
        var u = random.NextDouble();
        return IsoTime.Minute + (long)(u * u * u * 18 * IsoTime.Hour);
    }

    private static double OpenRate(SyntheticContact contact)
    {
        var rate = contact.Stage switch
        {
            Stages.Subscriber => 0.22,
            Stages.Lead => 0.26,
            Stages.Mql => 0.32,
            Stages.Sql => 0.35,
            Stages.Opportunity => 0.38,
            _ => 0.40,
        };
        return contact.IsStale ? rate * 0.3 : rate;
    }

    private void WriteErasedAddresses(TableInsert insert)
    {
        // Addresses suppressed long ago whose contacts were erased since: they match no contact.
        var erased = Math.Max(1, (int)(count * 0.0015));
        for (var j = 0; j < erased; j++)
        {
            var random = SeedRandom.For(seed, j, SeedStream.Erased);
            var pool = random.Pick(Vocabulary.Pools);
            var email = $"{pool.FirstAscii[random.Next(NamePool.Firsts)]}.{pool.LastAscii[random.Next(NamePool.Lasts)]}.{j + 1}@{Vocabulary.ErasedMailDomain}";
            insert.Text(0, "global").Text(1, email).Text(2, "erasure request (contact erased)").Time(3, random.Between(calendar.Oldest, now)).Insert();
        }
    }

    private void WriteSyncs(TableInsert insert, long[] members)
    {
        foreach (var sync in Plan.Syncs)
        {
            var size = members[IndexOf(sync.Segment)];
            // A failed sync still shows the size of its last good run, a little behind today's.
            var shown = sync.Status switch { "synced" => size, "failed" => size * 97 / 100, _ => 0 };
            insert.Text(0, sync.Id).Text(1, sync.Segment.Id).Text(2, sync.Destination).Text(3, sync.Status).Time(4, sync.LastSyncedAt)
                .Number(5, shown).Insert();
        }
    }

    private void WriteDependencies(TableInsert insert)
    {
        var rows = new SortedSet<(string Kind, string Id, string Field)>();
        foreach (var segment in Plan.Segments)
        {
            rows.UnionWith(segment.Fields.Select(f => ("segment", segment.Id, f)));
        }

        foreach (var rule in Plan.ScoringRules)
        {
            rows.UnionWith(rule.Fields.Select(f => ("scoring_rule", rule.Id, f)));
        }

        foreach (var rule in Plan.RoutingRules)
        {
            rows.UnionWith(rule.Fields.Select(f => ("routing_rule", rule.Id, f)));
        }

        foreach (var sync in Plan.Syncs)
        {
            rows.UnionWith(sync.Segment.Fields.Select(f => ("audience_sync", sync.Id, f)));
        }

        foreach (var report in Plan.Reports)
        {
            rows.UnionWith(report.Fields.Select(f => ("report", report.Id, f)));
        }

        foreach (var (kind, id, field) in rows)
        {
            insert.Text(0, kind).Text(1, id).Text(2, "contacts." + field).Insert();
        }
    }

    private int IndexOf(SeedSegment segment) => IndexOf(Plan.Segments, segment);

    private static int IndexOf<T>(IReadOnlyList<T> items, T item) where T : class
    {
        for (var i = 0; i < items.Count; i++)
        {
            if (ReferenceEquals(items[i], item))
            {
                return i;
            }
        }

        throw new InvalidOperationException("the plan does not hold this object");
    }

    /// <summary>The prepared inserts, one per table.</summary>
    private sealed class Inserts : IDisposable
    {
        public Inserts(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction)
        {
            TableInsert Make(string table, bool ignoreDuplicates, params string[] columns) => connection is SqliteConnection sqlite
                ? new SqliteTableInsert(sqlite, table, columns, ignoreDuplicates)
                : new BatchedTableInsert(connection, transaction, table, columns, ignoreDuplicates);
            Companies = Make("companies", false, "id", "name", "domain", "industry", "employees", "annual_revenue", "country");
            Contacts = Make("contacts", false, "id", "email", "first_name", "last_name", "phone", "date_of_birth", "company_id", "job_title",
                "country", "lifecycle_stage", "lead_score", "lead_source", "owner", "email_consent", "email_consent_at", "email_consent_source",
                "legacy_region", "created_at", "updated_at", "deleted_at", "version");
            Lists = Make("lists", false, "id", "name");
            ListMembers = Make("list_members", false, "list_id", "contact_id", "added_at");
            Segments = Make("segments", false, "id", "name", "rule", "version");
            SuppressionLists = Make("suppression_lists", false, "id", "name");
            // A duplicate's address is suppressed once: the same address after lower-casing and trimming.
            Suppression = Make("suppression", true, "list_id", "email", "reason", "added_at");
            Campaigns = Make("campaigns", false, "id", "name", "status", "audience", "subject", "content", "sender", "scheduled_at", "sent_at", "version");
            CampaignSends = Make("campaign_sends", false, "campaign_id", "contact_id", "email", "sent_at");
            CampaignEvents = Make("campaign_events", false, "campaign_id", "contact_id", "kind", "at");
            NurtureFlows = Make("nurture_flows", false, "id", "name");
            NurtureMembers = Make("nurture_members", false, "flow_id", "contact_id", "joined_at");
            ScoringRules = Make("scoring_rules", false, "id", "name", "condition", "points", "version");
            RoutingRules = Make("routing_rules", false, "id", "name", "condition", "owner", "version");
            AudienceSyncs = Make("audience_syncs", false, "id", "segment_id", "destination", "status", "last_synced_at", "members");
            Reports = Make("reports", false, "id", "name");
            FieldDependencies = Make("field_dependencies", false, "object_kind", "object_id", "field");
            All = [Companies, Contacts, Lists, ListMembers, Segments, SuppressionLists, Suppression, Campaigns, CampaignSends, CampaignEvents,
                   NurtureFlows, NurtureMembers, ScoringRules, RoutingRules, AudienceSyncs, Reports, FieldDependencies];
        }

        public TableInsert Companies { get; }
        public TableInsert Contacts { get; }
        public TableInsert Lists { get; }
        public TableInsert ListMembers { get; }
        public TableInsert Segments { get; }
        public TableInsert SuppressionLists { get; }
        public TableInsert Suppression { get; }
        public TableInsert Campaigns { get; }
        public TableInsert CampaignSends { get; }
        public TableInsert CampaignEvents { get; }
        public TableInsert NurtureFlows { get; }
        public TableInsert NurtureMembers { get; }
        public TableInsert ScoringRules { get; }
        public TableInsert RoutingRules { get; }
        public TableInsert AudienceSyncs { get; }
        public TableInsert Reports { get; }
        public TableInsert FieldDependencies { get; }
        public IReadOnlyList<TableInsert> All { get; }

        /// <summary>Writes what any insert still holds back.</summary>
        public void Flush()
        {
            foreach (var insert in All)
            {
                insert.Flush();
            }
        }

        public void Dispose()
        {
            foreach (var insert in All)
            {
                insert.Dispose();
            }
        }
    }
}
