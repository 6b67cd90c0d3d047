using System.Text.RegularExpressions;
using Warden.Workspace.Seeding;

namespace Warden.Workspace.Tests.Seeding;

/// <summary>What a 20,000-contact seed holds: counts, distributions, and the shape of every value.</summary>
public sealed class SeededDataTests(SeededWorkspace workspace) : IClassFixture<SeededWorkspace>
{
    private const string StaleCutoff = "2023-11-25T12:00:00.000Z";
    private const string Now = "2026-11-25T12:00:00.000Z";

    // The address with case, surrounding spaces and a +tag taken away: duplicates share it.
    private const string Normalized =
        "lower(trim(CASE WHEN instr(email, '+') > 0 THEN substr(email, 1, instr(email, '+') - 1) || substr(email, instr(email, '@')) ELSE email END))";

    [Fact]
    public void Every_table_of_the_model_gets_rows_and_the_summary_counts_them()
    {
        foreach (var (table, rows) in workspace.Summary.Rows)
        {
            Assert.True(rows > 0, $"{table} is empty");
            Assert.Equal(rows, workspace.Count($"SELECT COUNT(*) FROM {table}"));
        }

        Assert.Equal(SeededWorkspace.Contacts, workspace.Summary.Contacts);
    }

    [Fact]
    public void Companies_number_one_per_twenty_contacts_and_every_company_reference_resolves()
    {
        Assert.Equal(SeededWorkspace.Contacts / 20, workspace.Count("SELECT COUNT(*) FROM companies"));
        Assert.InRange(workspace.Percent("company_id IS NOT NULL"), 65, 80);
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM contacts WHERE company_id IS NOT NULL AND company_id NOT IN (SELECT id FROM companies)"));
        Assert.True(workspace.Count("SELECT COUNT(*) FROM companies WHERE industry IS NOT NULL AND employees > 0 AND annual_revenue > 0 AND domain LIKE '%.example'") > 500);
    }

    [Fact]
    public void Contact_ids_have_seven_digits_start_at_one_and_every_version_is_one()
    {
        Assert.Equal("c-0000001", Workspaces.Column(workspace.Path, "SELECT min(id) FROM contacts")[0]);
        Assert.Equal("c-0020000", Workspaces.Column(workspace.Path, "SELECT max(id) FROM contacts")[0]);
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM contacts WHERE length(id) <> 9 OR version <> 1"));
        Assert.Equal("co-00001", Workspaces.Column(workspace.Path, "SELECT min(id) FROM companies")[0]);
    }

    [Fact]
    public void Consent_is_about_62_percent_subscribed_23_unsubscribed_and_15_unknown()
    {
        Assert.InRange(workspace.Percent("email_consent = 'subscribed'"), 59.5, 64.5);
        Assert.InRange(workspace.Percent("email_consent = 'unsubscribed'"), 20.5, 25.5);
        Assert.InRange(workspace.Percent("email_consent = 'unknown'"), 12.5, 17.5);
    }

    [Fact]
    public void Known_consent_has_a_time_and_a_source_and_unknown_consent_has_no_time()
    {
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM contacts WHERE email_consent <> 'unknown' AND (email_consent_at IS NULL OR email_consent_source IS NULL)"));
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM contacts WHERE email_consent = 'unknown' AND email_consent_at IS NOT NULL"));
        Assert.Equal(
            ["form", "import", "preference_center", "request"],
            Workspaces.Column(workspace.Path, "SELECT DISTINCT email_consent_source FROM contacts WHERE email_consent_source IS NOT NULL ORDER BY 1"));
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM contacts WHERE email_consent_at < created_at OR email_consent_at > updated_at"));
    }

    [Theory]
    [InlineData("subscriber", 40)]
    [InlineData("lead", 30)]
    [InlineData("mql", 14)]
    [InlineData("sql", 8)]
    [InlineData("opportunity", 5)]
    [InlineData("customer", 3)]
    public void The_lifecycle_funnel_narrows_from_subscribers_to_customers(string stage, double percent) =>
        Assert.InRange(workspace.Percent($"lifecycle_stage = '{stage}'"), percent - 2, percent + 2);

    [Fact]
    public void Lead_score_rises_with_the_lifecycle_stage()
    {
        double Average(string stage) => workspace.Count($"SELECT CAST(round(avg(lead_score)) AS INTEGER) FROM contacts WHERE lifecycle_stage = '{stage}'");
        Assert.True(Average("subscriber") < Average("lead"));
        Assert.True(Average("lead") < Average("mql"));
        Assert.True(Average("mql") < Average("sql"));
        Assert.True(Average("sql") < Average("opportunity"));
        Assert.True(Average("customer") > Average("mql"));
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM contacts WHERE lead_score NOT BETWEEN 0 AND 100"));
    }

    [Fact]
    public void Germany_leads_the_countries_followed_by_the_us_and_the_uk()
    {
        var countries = Workspaces.Column(workspace.Path, "SELECT country FROM contacts WHERE country IS NOT NULL GROUP BY country ORDER BY COUNT(*) DESC");
        Assert.Equal(["DE", "US", "GB"], countries.Take(3));
        Assert.Contains("SE", countries);
        Assert.InRange(workspace.Percent("country = 'DE'"), 18, 27);
    }

    [Fact]
    public void Lead_sources_cover_the_whole_mix()
    {
        Assert.Equal(
            ["import", "organic_search", "paid_social", "referral", "trade_show", "web", "webinar"],
            Workspaces.Column(workspace.Path, "SELECT DISTINCT lead_source FROM contacts WHERE lead_source IS NOT NULL ORDER BY 1"));
        Assert.InRange(workspace.Percent("lead_source = 'web'"), 23, 32);
    }

    [Fact]
    public void About_two_percent_of_contacts_repeat_someone_with_the_address_differing_only_by_case_spaces_or_a_plus_tag()
    {
        var duplicates = workspace.Count($"SELECT COUNT(*) - COUNT(DISTINCT {Normalized}) FROM contacts");
        Assert.InRange(100.0 * duplicates / SeededWorkspace.Contacts, 1.5, 2.5);
        Assert.True(workspace.Count("SELECT COUNT(*) FROM contacts WHERE email <> trim(email)") > 20);
        Assert.True(workspace.Count("SELECT COUNT(*) FROM contacts WHERE email <> lower(email)") > 20);
        Assert.True(workspace.Count("SELECT COUNT(*) FROM contacts WHERE email LIKE '%+%@%'") > 20);
    }

    [Fact]
    public void Some_duplicates_work_at_another_spelling_of_the_same_company()
    {
        var respelled = workspace.Count($"""
            SELECT COUNT(*) FROM (
                SELECT {Normalized} AS person FROM contacts JOIN companies ON companies.id = contacts.company_id
                GROUP BY person HAVING COUNT(DISTINCT companies.name) > 1)
            """);
        Assert.True(respelled > 0);
    }

    [Fact]
    public void About_ten_percent_of_contacts_were_not_updated_for_more_than_three_years()
    {
        Assert.InRange(workspace.Percent($"updated_at < '{StaleCutoff}'"), 8, 12);
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM contacts WHERE updated_at < created_at"));
    }

    [Fact]
    public void Legacy_region_is_filled_mostly_on_older_records()
    {
        var older = workspace.Count("SELECT round(100.0 * avg(legacy_region IS NOT NULL)) FROM contacts WHERE created_at < '2023-01-01'");
        var newer = workspace.Count("SELECT round(100.0 * avg(legacy_region IS NOT NULL)) FROM contacts WHERE created_at >= '2024-01-01'");
        Assert.InRange(older, 85, 100);
        Assert.InRange(newer, 0, 5);
    }

    [Fact]
    public void About_one_percent_of_contacts_are_soft_deleted_after_they_were_created()
    {
        Assert.InRange(workspace.Percent("deleted_at IS NOT NULL"), 0.6, 1.5);
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM contacts WHERE deleted_at < created_at OR deleted_at > updated_at"));
    }

    [Fact]
    public void Phones_job_titles_and_dates_of_birth_are_on_some_contacts()
    {
        Assert.InRange(workspace.Percent("phone IS NOT NULL"), 45, 65);
        Assert.InRange(workspace.Percent("job_title IS NOT NULL"), 50, 68);
        Assert.InRange(workspace.Percent("date_of_birth IS NOT NULL"), 14, 22);
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM contacts WHERE date_of_birth IS NOT NULL AND date_of_birth NOT GLOB '[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]'"));
    }

    [Fact]
    public void Owners_come_from_the_routing_rules_and_go_to_qualified_contacts()
    {
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM contacts WHERE owner IS NOT NULL AND owner NOT IN (SELECT owner FROM routing_rules)"));
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM contacts WHERE owner IS NOT NULL AND lifecycle_stage IN ('subscriber', 'lead')"));
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM contacts WHERE owner IS NULL AND lifecycle_stage IN ('sql', 'opportunity', 'customer')"));
    }

    [Fact]
    public void Timestamps_are_iso_8601_utc_with_milliseconds_and_lie_before_now()
    {
        var timestamp = new Regex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$");
        (string Table, string Column)[] columns =
        [
            ("contacts", "created_at"), ("contacts", "updated_at"), ("contacts", "deleted_at"), ("contacts", "email_consent_at"),
            ("list_members", "added_at"), ("suppression", "added_at"), ("campaigns", "scheduled_at"), ("campaigns", "sent_at"),
            ("campaign_sends", "sent_at"), ("campaign_events", "at"), ("nurture_members", "joined_at"), ("audience_syncs", "last_synced_at"),
        ];
        foreach (var (table, column) in columns)
        {
            foreach (var value in Workspaces.Column(workspace.Path, $"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL"))
            {
                Assert.Matches(timestamp, value);
            }

            if (table != "campaigns")
            {
                Assert.Equal(0, workspace.Count($"SELECT COUNT(*) FROM {table} WHERE {column} > '{Now}'"));
            }
        }
    }

    [Fact]
    public void Not_null_columns_never_hold_null_or_empty_text()
    {
        foreach (var table in SyntheticWorkspace.Tables)
        {
            foreach (var (column, _, _) in Workspaces.Columns(workspace.Path, table).Where(c => c.NotNull))
            {
                Assert.Equal(0, workspace.Count($"SELECT COUNT(*) FROM {table} WHERE {column} IS NULL OR trim({column}) = ''"));
            }
        }
    }

    [Fact]
    public void Suppressed_addresses_are_lower_case_and_trimmed_and_some_of_them_are_contacts()
    {
        Assert.Equal(["global", "hard-bounces"], Workspaces.Column(workspace.Path, "SELECT id FROM suppression_lists ORDER BY id"));
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM suppression WHERE email <> lower(trim(email))"));
        Assert.True(workspace.Count("SELECT COUNT(*) FROM suppression WHERE list_id = 'global' AND email IN (SELECT lower(trim(email)) FROM contacts)") > 20);
        Assert.True(workspace.Count("SELECT COUNT(*) FROM suppression WHERE list_id = 'global' AND email NOT IN (SELECT lower(trim(email)) FROM contacts)") > 0);
        Assert.True(workspace.Count("SELECT COUNT(*) FROM suppression WHERE list_id = 'hard-bounces'") > 20);
    }

    [Fact]
    public void Only_sent_campaigns_have_sends_and_their_events_cover_every_kind()
    {
        Assert.Equal(["draft", "scheduled", "sent"], Workspaces.Column(workspace.Path, "SELECT DISTINCT status FROM campaigns ORDER BY 1"));
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM campaign_sends WHERE campaign_id NOT IN (SELECT id FROM campaigns WHERE status = 'sent')"));
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM campaigns WHERE status = 'sent' AND id NOT IN (SELECT campaign_id FROM campaign_sends)"));
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM campaigns WHERE (status = 'sent') <> (sent_at IS NOT NULL) OR (status = 'draft') <> (scheduled_at IS NULL)"));
        Assert.Equal(
            ["bounce", "click", "delivered", "open", "unsubscribe"],
            Workspaces.Column(workspace.Path, "SELECT DISTINCT kind FROM campaign_events ORDER BY 1"));
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM campaign_events e WHERE NOT EXISTS (SELECT 1 FROM campaign_sends s WHERE s.campaign_id = e.campaign_id AND s.contact_id = e.contact_id)"));
        Assert.Equal(1, workspace.Count("SELECT COUNT(*) FROM campaigns WHERE id = 'cmp-2026-11-black-friday' AND status = 'scheduled'"));
    }

    [Fact]
    public void No_send_went_to_a_contact_without_consent_or_before_it_existed()
    {
        Assert.Equal(0, workspace.Count("""
            SELECT COUNT(*) FROM campaign_sends s JOIN contacts c ON c.id = s.contact_id
            WHERE c.email_consent = 'unknown' OR c.created_at > s.sent_at OR s.email <> c.email
            """));
        Assert.Equal(0, workspace.Count("""
            SELECT COUNT(*) FROM campaign_events e JOIN contacts c ON c.id = e.contact_id
            WHERE e.kind = 'unsubscribe' AND (c.email_consent <> 'unsubscribed' OR c.email_consent_at <> e.at)
            """));
    }

    [Fact]
    public void Lists_and_flows_have_members_that_exist()
    {
        Assert.True(workspace.Count("SELECT COUNT(*) FROM lists") >= 8);
        Assert.True(workspace.Count("SELECT COUNT(*) FROM nurture_flows") >= 6);
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM lists WHERE id NOT IN (SELECT list_id FROM list_members)"));
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM list_members WHERE contact_id NOT IN (SELECT id FROM contacts)"));
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM nurture_members WHERE contact_id NOT IN (SELECT id FROM contacts)"));
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM list_members m JOIN contacts c ON c.id = m.contact_id WHERE m.added_at < c.created_at"));
    }

    [Fact]
    public void Audience_syncs_send_existing_segments_to_ad_destinations()
    {
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM audience_syncs WHERE segment_id NOT IN (SELECT id FROM segments)"));
        var destinations = Workspaces.Column(workspace.Path, "SELECT destination FROM audience_syncs");
        Assert.Contains("linkedin:matched-audience-42", destinations);
        Assert.Contains("google_ads:customer-match-7", destinations);
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM audience_syncs WHERE (status = 'never') <> (last_synced_at IS NULL) OR (status = 'synced' AND members = 0)"));
    }

    [Fact]
    public void Every_dependency_names_a_real_contacts_column()
    {
        var columns = Workspaces.Columns(workspace.Path, "contacts").Select(c => "contacts." + c.Name).ToHashSet();
        var fields = Workspaces.Column(workspace.Path, "SELECT DISTINCT field FROM field_dependencies");
        Assert.NotEmpty(fields);
        Assert.All(fields, f => Assert.Contains(f, columns));
    }

    [Fact]
    public void Every_rule_parses_as_a_filter_over_existing_contact_fields_of_the_right_type()
    {
        var columns = Workspaces.Columns(workspace.Path, "contacts").ToDictionary(c => c.Name, c => c.Type == "INTEGER" ? "integer" : "text");
        var rules = Workspaces.Column(workspace.Path, "SELECT rule FROM segments UNION ALL SELECT condition FROM scoring_rules UNION ALL SELECT condition FROM routing_rules");
        Assert.True(rules.Count >= 20);
        foreach (var rule in rules)
        {
            foreach (var (field, type) in FilterSyntax.Parse(rule))
            {
                Assert.True(columns.TryGetValue(field, out var declared), $"'{field}' in \"{rule}\" is not a contact field");
                Assert.True(declared == type, $"'{field}' in \"{rule}\" is {declared} but compared with {type}");
            }
        }
    }

    [Fact]
    public void Dependencies_list_exactly_the_fields_each_rule_reads()
    {
        var rules = Workspaces.Rows(workspace.Path, """
            SELECT 'segment', id, rule FROM segments UNION ALL SELECT 'scoring_rule', id, condition FROM scoring_rules
            UNION ALL SELECT 'routing_rule', id, condition FROM routing_rules
            UNION ALL SELECT 'audience_sync', a.id, s.rule FROM audience_syncs a JOIN segments s ON s.id = a.segment_id
            """);
        foreach (var rule in rules)
        {
            var expected = FilterSyntax.Parse(rule[2]).Select(u => "contacts." + u.Field).Distinct().Order().ToList();
            var recorded = Workspaces.Column(workspace.Path, $"SELECT field FROM field_dependencies WHERE object_kind = '{rule[0]}' AND object_id = '{rule[1]}' ORDER BY field");
            Assert.Equal(expected, recorded);
        }
    }

    [Fact]
    public void Three_segments_and_a_routing_rule_read_lead_source()
    {
        Assert.Equal(3, workspace.Count("SELECT COUNT(*) FROM field_dependencies WHERE object_kind = 'segment' AND field = 'contacts.lead_source'"));
        Assert.True(workspace.Count("SELECT COUNT(*) FROM field_dependencies WHERE object_kind = 'routing_rule' AND field = 'contacts.lead_source'") >= 1);
    }

    [Fact]
    public void A_report_still_reads_the_legacy_region()
    {
        Assert.Equal(1, workspace.Count("SELECT COUNT(*) FROM field_dependencies WHERE object_kind = 'report' AND field = 'contacts.legacy_region'"));
        Assert.Equal(0, workspace.Count("SELECT COUNT(*) FROM reports WHERE id NOT IN (SELECT object_id FROM field_dependencies WHERE object_kind = 'report')"));
    }

    [Fact]
    public void The_seed_is_recorded_in_the_workspace_info()
    {
        var info = Workspaces.Rows(workspace.Path, "SELECT key, value FROM workspace_info WHERE key LIKE 'seed.%' ORDER BY key").ToDictionary(r => r[0], r => r[1]);
        Assert.Equal("20000", info["seed.contacts"]);
        Assert.Equal("42", info["seed.seed"]);
        Assert.Equal(Now, info["seed.now"]);
    }
}
