using Warden.Core;
namespace Warden.Workspace.Seeding;

/// <summary>When a contact joined a list or flow.</summary>
internal delegate long JoinTime(SyntheticContact contact, ref SeedRandom random);

internal sealed record SeedList(string Id, string Name, Func<SyntheticContact, bool> Eligible, double Share, JoinTime JoinedAt);

internal sealed record SeedFlow(string Id, string Name, Func<SyntheticContact, bool> Eligible, double Share, JoinTime JoinedAt);

/// <summary>A segment: its rule as stored (CEL over contact fields) and the same rule as code, which decides sends and audience sizes.</summary>
internal sealed record SeedSegment(string Id, string Name, string Rule, int Version, Func<SyntheticContact, bool> Matches)
{
    public IReadOnlyList<string> Fields { get; } = RuleFields.Read(Rule);
}

internal sealed record SeedCampaign(string Id, string Name, string Status, string Subject, string Content, string Sender,
    long ScheduledAt, long SentAt, SeedList? List, SeedSegment? Segment)
{
    public string Audience => List?.Id ?? Segment!.Id;
}

internal sealed record SeedScoringRule(string Id, string Name, string Condition, int Points, int Version)
{
    public IReadOnlyList<string> Fields { get; } = RuleFields.Read(Condition);
}

internal sealed record SeedRoutingRule(string Id, string Name, string Condition, string Owner, int Version, Func<SyntheticContact, bool> Matches)
{
    public IReadOnlyList<string> Fields { get; } = RuleFields.Read(Condition);
}

internal sealed record SeedSync(string Id, SeedSegment Segment, string Destination, string Status, long LastSyncedAt);

internal sealed record SeedReport(string Id, string Name, string[] Fields);

/// <summary>
/// Everything in the workspace besides contacts and companies: lists, segments, campaigns, flows,
/// rules, audience syncs and reports. Each segment, list and flow carries its membership as code
/// next to its stored rule, so sends, flows and audience sizes agree with the data. The set is
/// fixed, plus a few more of each per order of magnitude of contacts (the scale).
/// </summary>
internal sealed class SeedPlan
{
    public const string Sender = "Northwind Outdoor <news@northwind.example>";

    private static readonly string[] Dach = ["DE", "AT", "CH"];
    private static readonly string[] UkIe = ["GB", "IE"];
    private static readonly string[] NorthAmerica = ["US", "CA"];
    private static readonly string[] Nordics = ["SE", "DK", "NO", "FI"];
    private static readonly string[] Benelux = ["NL", "BE", "LU", "FR"];
    private static readonly string[] South = ["ES", "IT", "PT"];
    private static readonly string[] Pipeline = [Stages.Sql, Stages.Opportunity];
    private static readonly string[] Qualified = [Stages.Mql, Stages.Sql];
    private static readonly string[] Engaged = [Stages.Mql, Stages.Sql, Stages.Opportunity];
    private static readonly string[] Late = [Stages.Sql, Stages.Opportunity, Stages.Customer];
    private static readonly string[] Open = [Stages.Lead, Stages.Mql];
    private static readonly string[] PaidOrSearch = [Sources.PaidSocial, Sources.OrganicSearch];
    private static readonly string[] SelfService = ["form", "preference_center"];
    private static readonly string[] FreeMailSuffixes = [.. Vocabulary.FreeMailDomains.Select(d => "@" + d)];

    private static readonly (string Country, string Stage, string Label)[] ExtraSegments =
    [
        ("FR", Stages.Lead, "France, leads"), ("NL", Stages.Mql, "Netherlands, MQLs"), ("ES", Stages.Lead, "Spain, leads"),
        ("IT", Stages.Mql, "Italy, MQLs"), ("GB", Stages.Lead, "United Kingdom, leads"), ("SE", Stages.Mql, "Sweden, MQLs"),
        ("PL", Stages.Lead, "Poland, leads"), ("BE", Stages.Mql, "Belgium, MQLs"), ("AT", Stages.Lead, "Austria, leads"),
        ("CH", Stages.Mql, "Switzerland, MQLs"),
    ];

    private static readonly (string City, string Country)[] EventCities =
    [
        ("berlin", "DE"), ("london", "GB"), ("paris", "FR"), ("amsterdam", "NL"), ("madrid", "ES"), ("milan", "IT"),
        ("stockholm", "SE"), ("warsaw", "PL"), ("vienna", "AT"), ("zurich", "CH"),
    ];

    public SeedPlan(SeedCalendar calendar, SyntheticCompanies companies, int scale)
    {
        var now = calendar.NowMs;

        // --- static lists -------------------------------------------------------------------
        var newsletter = new SeedList("newsletter", "Newsletter",
            c => c.Consent != Consents.Unknown && In(c.ConsentSource, SelfService), 0.30,
            (SyntheticContact c, ref SeedRandom r) => c.Consent == Consents.Subscribed ? c.ConsentAt : r.Between(c.CreatedAt, c.ConsentAt));
        var tradeShow = new SeedList($"trade-show-{calendar.TradeShowMonth}", $"Trade show {calendar.TradeShowMonth}: badge scans",
            c => c.FromTradeShow, 1.0, (SyntheticContact c, ref SeedRandom r) => c.CreatedAt);
        var webinarAt = calendar.At(-2, 17, 16);
        var lists = new List<SeedList>
        {
            newsletter,
            tradeShow,
            new($"webinar-{calendar.Month(-2)}-attendees", $"Webinar {calendar.Month(-2)}: attendees",
                c => c.LeadSource == Sources.Webinar && c.CreatedAt < webinarAt, 0.25,
                (SyntheticContact c, ref SeedRandom r) => webinarAt + r.NextLong(90 * IsoTime.Minute)),
            new("customer-advisory-board", "Customer advisory board", c => c.Stage == Stages.Customer && !c.IsDeleted, 0.08,
                (SyntheticContact c, ref SeedRandom r) => r.Between(c.CreatedAt, now)),
            new("roadshow-dach-invitees", "DACH roadshow invitees", c => In(c.CountryCode, Dach) && In(c.Stage, Engaged), 0.30,
                (SyntheticContact c, ref SeedRandom r) => r.Between(Math.Max(c.CreatedAt, now - 30 * IsoTime.Day), now)),
            new("beta-testers", "Beta testers: trail-running app", c => !c.IsDeleted, 0.005,
                (SyntheticContact c, ref SeedRandom r) => r.Between(Math.Max(c.CreatedAt, now - 120 * IsoTime.Day), now)),
            new("vip-accounts", "VIP accounts", c => c.Company >= 0 && companies.EmployeesOf(c.Company) >= 5000 && In(c.Stage, Late), 0.5,
                (SyntheticContact c, ref SeedRandom r) => r.Between(c.CreatedAt, now)),
            new("legacy-crm-import", "Legacy CRM import", c => c.CreatedAt < calendar.Oldest + 2 * 365 * IsoTime.Day, 0.6,
                (SyntheticContact c, ref SeedRandom r) => c.CreatedAt),
        };
        for (var j = 0; j < 2 * scale && j < EventCities.Length; j++)
        {
            var (city, country) = EventCities[j];
            var month = -(2 + j);
            var at = calendar.At(month, 12, 18);
            lists.Add(new SeedList($"event-{calendar.Month(month)}-{city}", $"Customer evening {city} {calendar.Month(month)}: guests",
                c => c.CountryCode == country && c.CreatedAt < at, 0.06, (SyntheticContact c, ref SeedRandom r) => at + r.NextLong(3 * IsoTime.Hour)));
        }

        Lists = lists;

        // --- segments -------------------------------------------------------------------------
        var recent = IsoTime.Format(calendar.RecentCutoff);
        var dachMql = new SeedSegment("seg-dach-mql", "DACH MQLs", "lifecycle_stage == 'mql' && country in ['DE', 'AT', 'CH']", 2,
            c => c.Stage == Stages.Mql && In(c.CountryCode, Dach));
        // The three segments that read lead_source (with one routing rule), as the policy's lead_source guard expects.
        var webinarWarm = new SeedSegment("seg-webinar-warm", "Warm webinar leads", "lead_source == 'webinar' && lead_score >= 40", 3,
            c => c.LeadSource == Sources.Webinar && c.LeadScore >= 40);
        var tradeShowLeads = new SeedSegment("seg-trade-show-follow-up", "Trade-show leads to follow up",
            "lead_source == 'trade_show' && lifecycle_stage in ['lead', 'mql']", 1,
            c => c.LeadSource == Sources.TradeShow && In(c.Stage, Open));
        var retargeting = new SeedSegment("seg-paid-retargeting", "Paid and search leads, not yet customers",
            "lead_source in ['paid_social', 'organic_search'] && lifecycle_stage != 'customer' && email_consent == 'subscribed'", 2,
            c => In(c.LeadSource, PaidOrSearch) && c.Stage != Stages.Customer && c.Consent == Consents.Subscribed);
        var subscribed = new SeedSegment("seg-subscribed", "Everyone subscribed", "email_consent == 'subscribed'", 1,
            c => c.Consent == Consents.Subscribed);
        var customers = new SeedSegment("seg-customers", "Subscribed customers", "lifecycle_stage == 'customer' && email_consent == 'subscribed'", 1,
            c => c.Stage == Stages.Customer && c.Consent == Consents.Subscribed);
        var usPipeline = new SeedSegment("seg-us-pipeline", "US pipeline", "country == 'US' && lifecycle_stage in ['sql', 'opportunity']", 1,
            c => c.CountryCode == "US" && In(c.Stage, Pipeline));
        var nordics = new SeedSegment("seg-nordics-subscribed", "Nordics, subscribed",
            "country in ['SE', 'DK', 'NO', 'FI'] && email_consent == 'subscribed'", 1,
            c => In(c.CountryCode, Nordics) && c.Consent == Consents.Subscribed);
        var segments = new List<SeedSegment>
        {
            dachMql, webinarWarm, tradeShowLeads, retargeting, subscribed, customers, usPipeline, nordics,
            new("seg-uk-ie-customers", "UK and Ireland customers", "lifecycle_stage == 'customer' && country in ['GB', 'IE']", 1,
                c => c.Stage == Stages.Customer && In(c.CountryCode, UkIe)),
            new("seg-senior-titles", "Senior decision makers",
                "job_title.startsWith('Head of') || job_title.startsWith('VP') || job_title.startsWith('Chief') || job_title.contains('Director')", 4,
                c => c.JobTitle is { } t && (t.StartsWith("Head of", StringComparison.Ordinal) || t.StartsWith("VP", StringComparison.Ordinal)
                                             || t.StartsWith("Chief", StringComparison.Ordinal) || t.Contains("Director", StringComparison.Ordinal))),
            new("seg-free-mail", "Free-mail addresses",
                "email.endsWith('@mail.example.com') || email.endsWith('@inbox.example.net') || email.endsWith('@post.example.org') || email.endsWith('@webmail.example.com')", 1,
                c => EndsWithAny(c.Email, FreeMailSuffixes)),
            new("seg-new-without-consent", "New contacts without consent", $"email_consent == 'unknown' && created_at >= '{recent}'", 1,
                c => c.Consent == Consents.Unknown && c.CreatedAt >= calendar.RecentCutoff),
            new("seg-cold-leads", "Cold leads outside North America", "lifecycle_stage == 'lead' && lead_score < 20 && !(country in ['US', 'CA'])", 2,
                c => c.Stage == Stages.Lead && c.LeadScore < 20 && !In(c.CountryCode, NorthAmerica)),
            new("seg-high-intent", "High intent", "lead_score >= 75 && lifecycle_stage in ['mql', 'sql'] && email_consent != 'unsubscribed'", 1,
                c => c.LeadScore >= 75 && In(c.Stage, Qualified) && c.Consent != Consents.Unsubscribed),
        };
        var extraSegments = new List<SeedSegment>();
        for (var j = 0; j < 2 * scale && j < ExtraSegments.Length; j++)
        {
            var (country, stage, label) = ExtraSegments[j];
            var segment = new SeedSegment($"seg-{country.ToLowerInvariant()}-{stage}s", label, $"country == '{country}' && lifecycle_stage == '{stage}'", 1,
                c => c.CountryCode == country && c.Stage == stage);
            extraSegments.Add(segment);
            segments.Add(segment);
        }

        Segments = segments;

        // --- campaigns, oldest first: sent, then scheduled, then drafts ------------------------
        var campaigns = new List<SeedCampaign>();
        for (var j = scale - 1; j >= 0 && j < extraSegments.Count; j--)
        {
            var segment = extraSegments[j];
            var month = -(4 + j);
            campaigns.Add(Sent($"cmp-{calendar.Month(month)}-{segment.Id[4..]}-promo", $"{segment.Name}: seasonal offer",
                "Our new season is here", calendar.At(month, 14, 9), segment: segment));
        }

        campaigns.Add(Sent($"cmp-{calendar.Month(-3)}-newsletter", $"Newsletter {calendar.Month(-3)}", "Trails, kit and a few stories", calendar.At(-3, 8, 9), list: newsletter));
        campaigns.Add(Sent($"cmp-{calendar.Month(-3)}-webinar-invite", "Webinar invitation, DACH", "Einladung: Outdoor-Handel 2027", calendar.At(-3, 16, 10), segment: dachMql));
        campaigns.Add(Sent($"cmp-{calendar.Month(-2)}-newsletter", $"Newsletter {calendar.Month(-2)}", "Autumn routes and what to pack", calendar.At(-2, 8, 9), list: newsletter));
        campaigns.Add(Sent($"cmp-{calendar.Month(-2)}-product-update", "Product update for customers", "What is new in your account", calendar.At(-2, 21, 9), segment: customers));
        campaigns.Add(Sent($"cmp-{calendar.Month(-1)}-newsletter", $"Newsletter {calendar.Month(-1)}", "Winter is coming: layer up", calendar.At(-1, 8, 9), list: newsletter));
        campaigns.Add(Sent($"cmp-{calendar.Month(-1)}-webinar-follow-up", "Webinar follow-up", "The recording and the slides", calendar.At(-1, 12, 14), segment: webinarWarm));
        campaigns.Add(Sent($"cmp-{calendar.TradeShowMonth}-trade-show-follow-up", "Trade-show follow-up", "Great to meet you at our booth", calendar.At(-1, 24, 9), list: tradeShow));
        campaigns.Add(Sent($"cmp-{calendar.Month(0)}-early-access", "Early access, US pipeline", "Your early access to the 2027 range",
            calendar.DaysFromToday(-15, 15), segment: usPipeline));
        campaigns.Add(new SeedCampaign($"cmp-{calendar.Month(0)}-black-friday", "Black Friday", "scheduled", "Black Friday: 30% on all outerwear",
            Content("Black Friday: 30% on all outerwear"), Sender, calendar.DaysFromToday(2, 8), SyntheticContact.None, null, subscribed));
        campaigns.Add(new SeedCampaign($"cmp-{calendar.Month(1)}-newsletter", $"Newsletter {calendar.Month(1)}", "scheduled", "Gifts for people who go outside",
            Content("Gifts for people who go outside"), Sender, calendar.At(1, 8, 9), SyntheticContact.None, newsletter, null));
        campaigns.Add(Draft($"cmp-{calendar.Month(1)}-holiday-greetings", "Holiday greetings to customers", "Thank you for a great year", segment: customers));
        campaigns.Add(Draft($"cmp-{calendar.Month(2)}-new-year-webinar", "New-year webinar invitation", "Plan 2027 with us: live webinar", segment: webinarWarm));
        campaigns.Add(Draft($"cmp-{calendar.Month(1)}-nordics-launch", "Nordics store launch", "We are opening in Stockholm", segment: nordics));
        Campaigns = campaigns;
        SentCampaigns = [.. campaigns.Where(c => c.Status == "sent")];

        // --- nurture flows ----------------------------------------------------------------------
        var flows = new List<SeedFlow>
        {
            new("onboarding", "New subscriber onboarding",
                c => c.Stage == Stages.Subscriber && c.Consent == Consents.Subscribed && c.CreatedAt >= now - 45 * IsoTime.Day, 1.0,
                (SyntheticContact c, ref SeedRandom r) => Math.Min(now, c.CreatedAt + r.NextLong(10 * IsoTime.Minute))),
            new("webinar-follow-up", "Webinar follow-up", c => c.LeadSource == Sources.Webinar && c.CreatedAt >= now - 120 * IsoTime.Day, 0.8,
                (SyntheticContact c, ref SeedRandom r) => Math.Min(now, c.CreatedAt + IsoTime.Hour + r.NextLong(2 * IsoTime.Day))),
            new("trade-show-follow-up", "Trade-show follow-up", c => c.FromTradeShow, 0.9,
                (SyntheticContact c, ref SeedRandom r) => calendar.TradeShowImportEnd + r.NextLong(2 * IsoTime.Day)),
            new("re-engagement", "Re-engagement", c => c.Consent == Consents.Subscribed && !c.IsStale && c.UpdatedAt < calendar.RecentCutoff, 0.25,
                (SyntheticContact c, ref SeedRandom r) => r.Between(now - 60 * IsoTime.Day, now)),
            new("customer-onboarding", "Customer onboarding", c => c.Stage == Stages.Customer && c.CreatedAt >= now - 180 * IsoTime.Day, 1.0,
                (SyntheticContact c, ref SeedRandom r) => r.Between(c.CreatedAt, now)),
            new("mql-acceleration", "MQL acceleration", c => c.Stage == Stages.Mql && c.Consent == Consents.Subscribed, 0.5,
                (SyntheticContact c, ref SeedRandom r) => r.Between(Math.Max(c.CreatedAt, now - 90 * IsoTime.Day), now)),
        };
        for (var j = 0; j < scale && j < EventCities.Length; j++)
        {
            var country = EventCities[j].Country;
            flows.Add(new SeedFlow($"welcome-{country.ToLowerInvariant()}", $"Welcome series ({country})",
                c => c.CountryCode == country && c.Stage == Stages.Subscriber && c.CreatedAt >= now - 90 * IsoTime.Day, 0.9,
                (SyntheticContact c, ref SeedRandom r) => Math.Min(now, c.CreatedAt + r.NextLong(IsoTime.Day))));
        }

        Flows = flows;

        // --- scoring and routing ------------------------------------------------------------------
        var stale = IsoTime.Format(calendar.StaleCutoff);
        ScoringRules =
        [
            new("score-senior-title", "Senior job title", "job_title.startsWith('Head of') || job_title.startsWith('VP') || job_title.startsWith('Chief') || job_title.contains('Director')", 15, 2),
            new("score-target-country", "Target market", "country in ['DE', 'AT', 'CH', 'GB', 'US']", 5, 1),
            new("score-subscribed", "Subscribed to email", "email_consent == 'subscribed'", 5, 1),
            new("score-unsubscribed", "Unsubscribed from email", "email_consent == 'unsubscribed'", -10, 1),
            new("score-business-address", "Business address", "!(email.endsWith('@mail.example.com') || email.endsWith('@inbox.example.net') || email.endsWith('@post.example.org') || email.endsWith('@webmail.example.com'))", 10, 3),
            new("score-qualified", "Qualified by marketing or sales", "lifecycle_stage in ['mql', 'sql']", 20, 1),
            new("score-stale-decay", "No activity for three years", $"updated_at < '{stale}'", -15, 2),
            new("score-known-company", "Works at a known company", "company_id.startsWith('co-')", 5, 1),
            new("score-phone", "Left a phone number", "phone.startsWith('+')", 3, 1),
        ];

        RoutingRules =
        [
            new("route-dach", "DACH to Jonas", "country in ['DE', 'AT', 'CH'] && lifecycle_stage in ['mql', 'sql']", Vocabulary.SalesReps[0], 2,
                c => In(c.CountryCode, Dach) && In(c.Stage, Qualified)),
            new("route-uk-ie", "UK and Ireland to Olivia", "country in ['GB', 'IE'] && lifecycle_stage in ['mql', 'sql']", Vocabulary.SalesReps[1], 1,
                c => In(c.CountryCode, UkIe) && In(c.Stage, Qualified)),
            new("route-north-america", "North America to Ethan", "country in ['US', 'CA'] && lifecycle_stage in ['mql', 'sql']", Vocabulary.SalesReps[2], 1,
                c => In(c.CountryCode, NorthAmerica) && In(c.Stage, Qualified)),
            // The routing rule that reads lead_source.
            new("route-partner-referrals", "Partner referrals to the partner desk", "lead_source == 'referral' && lead_score >= 50", Vocabulary.SalesReps[6], 3,
                c => c.LeadSource == Sources.Referral && c.LeadScore >= 50),
            new("route-benelux-france", "Benelux and France to Claire", "country in ['NL', 'BE', 'LU', 'FR']", Vocabulary.SalesReps[3], 1,
                c => In(c.CountryCode, Benelux)),
            new("route-southern-europe", "Southern Europe to Lucia", "country in ['ES', 'IT', 'PT']", Vocabulary.SalesReps[4], 1,
                c => In(c.CountryCode, South)),
            new("route-nordics", "Nordics to Erik", "country in ['SE', 'DK', 'NO', 'FI']", Vocabulary.SalesReps[5], 1,
                c => In(c.CountryCode, Nordics)),
            new("route-fallback", "Everyone else to inside sales", "lead_score >= 0", Vocabulary.SalesReps[7], 1,
                c => c.LeadScore >= 0),
        ];

        // --- audience syncs and reports -----------------------------------------------------------
        var syncs = new List<SeedSync>
        {
            new("sync-linkedin-retargeting", retargeting, "linkedin:matched-audience-42", "synced", now - 5 * IsoTime.Hour),
            new("sync-google-webinar", webinarWarm, "google_ads:customer-match-7", "synced", now - 26 * IsoTime.Hour),
            new("sync-linkedin-dach", dachMql, "linkedin:matched-audience-57", "failed", now - 3 * IsoTime.Day),
            new("sync-meta-customers", customers, "meta:custom-audience-12", "synced", now - 2 * IsoTime.Hour),
            new("sync-google-us-pipeline", usPipeline, "google_ads:customer-match-9", "never", SyntheticContact.None),
        };
        for (var j = 0; j < scale && j < extraSegments.Count; j++)
        {
            syncs.Add(new SeedSync($"sync-linkedin-{extraSegments[j].Id[4..]}", extraSegments[j], $"linkedin:matched-audience-{60 + j}", "synced",
                now - (12 + 7 * j) * IsoTime.Hour));
        }

        Syncs = syncs;

        Reports =
        [
            new("rpt-funnel", "Funnel by lifecycle stage", ["lifecycle_stage", "lead_score", "created_at", "deleted_at"]),
            // Still grouped by the retired field: the report that breaks if legacy_region is dropped.
            new("rpt-regional-pipeline", "Pipeline by region (legacy regions)", ["legacy_region", "lifecycle_stage", "owner"]),
            new("rpt-consent-health", "Consent health", ["email_consent", "email_consent_source", "email_consent_at"]),
            new("rpt-database-growth", "Database growth by country", ["created_at", "deleted_at", "country"]),
            new("rpt-owner-workload", "Open leads per owner", ["owner", "lifecycle_stage", "updated_at"]),
            new("rpt-data-quality", "Data quality", ["phone", "job_title", "company_id", "updated_at", "email"]),
        ];
    }

    public IReadOnlyList<SeedList> Lists { get; }

    public IReadOnlyList<SeedSegment> Segments { get; }

    public IReadOnlyList<SeedCampaign> Campaigns { get; }

    /// <summary>The sent campaigns, oldest first.</summary>
    public IReadOnlyList<SeedCampaign> SentCampaigns { get; }

    public IReadOnlyList<SeedFlow> Flows { get; }

    public IReadOnlyList<SeedScoringRule> ScoringRules { get; }

    public IReadOnlyList<SeedRoutingRule> RoutingRules { get; }

    public IReadOnlyList<SeedSync> Syncs { get; }

    public IReadOnlyList<SeedReport> Reports { get; }

    /// <summary>One more of each kind of object per order of magnitude above 1,000 contacts.</summary>
    public static int Scale(int contacts)
    {
        var scale = 0;
        for (var n = contacts / 1000; n >= 10; n /= 10)
        {
            scale++;
        }

        return scale;
    }

    private static bool In(string? value, string[] set) => value is not null && Array.IndexOf(set, value) >= 0;

    private static bool EndsWithAny(string value, string[] suffixes)
    {
        foreach (var suffix in suffixes)
        {
            if (value.EndsWith(suffix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static SeedCampaign Sent(string id, string name, string subject, long at, SeedList? list = null, SeedSegment? segment = null) =>
        new(id, name, "sent", subject, Content(subject), Sender, at, at, list, segment);

    private static SeedCampaign Draft(string id, string name, string subject, SeedSegment segment) =>
        new(id, name, "draft", subject, Content(subject), Sender, SyntheticContact.None, SyntheticContact.None, null, segment);

    private static string Content(string subject) =>
        $"<h1>{subject}</h1><p>Hi {{{{first_name}}}},</p><p>{subject}. Read more on our site.</p>" +
        "<p>Northwind Outdoor, Hafenstraße 12, 20457 Hamburg. <a href=\"{{unsubscribe_url}}\">Unsubscribe</a></p>";
}
