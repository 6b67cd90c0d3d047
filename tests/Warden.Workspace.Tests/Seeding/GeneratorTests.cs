using System.Globalization;
using System.Text;
using Warden.Workspace.Seeding;

namespace Warden.Workspace.Tests.Seeding;

/// <summary>The generator's parts, without a database.</summary>
public sealed class GeneratorTests
{
    [Fact]
    public void A_contact_generated_again_out_of_order_is_the_same_contact()
    {
        var contacts = new SyntheticWorkspace(Workspaces.Options(5_000, seed: 3)).Contacts;
        var first = new SyntheticContact();
        var again = new SyntheticContact();
        foreach (var index in new[] { 4_999, 17, 2_500, 0 })
        {
            contacts.Fill(index, first);
            contacts.Fill(1, again);
            contacts.Fill(index, again);
            Assert.Equal(Describe(first), Describe(again));
        }
    }

    [Fact]
    public void Contact_ids_get_an_eighth_digit_only_when_the_count_needs_it()
    {
        Assert.Equal("c-9999999", new SyntheticWorkspace(Workspaces.Options(9_999_999)).Contacts.Id(9_999_998));
        Assert.Equal("c-00000001", new SyntheticWorkspace(Workspaces.Options(12_000_000)).Contacts.Id(0));
    }

    [Fact]
    public void Addresses_of_different_people_never_collide()
    {
        var contacts = new SyntheticWorkspace(Workspaces.Options(50_000, seed: 11)).Contacts;
        var contact = new SyntheticContact();
        var addresses = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < contacts.Count; i++)
        {
            contacts.Fill(i, contact);
            if (!contact.IsDuplicate)
            {
                Assert.True(addresses.Add(contact.Email), $"{contact.Email} is used twice");
            }
        }
    }

    [Fact]
    public void Name_pools_spell_every_name_differently_and_share_no_last_name()
    {
        foreach (var pool in Vocabulary.Pools)
        {
            Assert.Equal(NamePool.Firsts, pool.FirstAscii.Distinct().Count());
            Assert.Equal(NamePool.Lasts, pool.LastAscii.Distinct().Count());
        }

        var lastNames = Vocabulary.Pools.SelectMany(p => p.LastAscii).ToList();
        Assert.Equal(lastNames.Count, lastNames.Distinct().Count());
    }

    [Fact]
    public void Company_domains_are_unique_beyond_the_first_round_of_names()
    {
        var companies = new SyntheticCompanies(seed: 5, contacts: 1_200_000);
        // A second spelling of a company (no head count of its own) shares its original's domain.
        var domains = Enumerable.Range(0, companies.Count).Where(k => companies.EmployeesOf(k) > 0).Select(companies.Domain).ToList();
        Assert.True(companies.Count > 48_000);
        Assert.Equal(domains.Count, domains.Distinct().Count());
    }

    [Fact]
    public void The_fast_timestamp_writer_matches_the_iso_format()
    {
        var random = new SeedRandom(99);
        var buffer = new byte[24];
        long[] edges = [0, IsoTime.Of(new DateTimeOffset(2000, 2, 29, 23, 59, 59, 999, TimeSpan.Zero)), IsoTime.Of(SeedOptions.DefaultNow), IsoTime.Of(new DateTimeOffset(9999, 12, 31, 0, 0, 0, TimeSpan.Zero))];
        foreach (var ms in edges.Concat(Enumerable.Range(0, 10_000).Select(_ => random.NextLong(IsoTime.Of(new DateTimeOffset(2100, 1, 1, 0, 0, 0, TimeSpan.Zero))))))
        {
            IsoTime.Write(ms, buffer);
            var expected = DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fff'Z'", CultureInfo.InvariantCulture);
            Assert.Equal(expected, Encoding.ASCII.GetString(buffer));
            Assert.Equal(expected, IsoTime.Format(ms));
        }
    }

    [Theory]
    [InlineData("lifecycle_stage == 'mql' && country in ['DE', 'AT', 'CH']", new[] { "country", "lifecycle_stage" })]
    [InlineData("!(email.endsWith('@mail.example.com') || job_title.contains('VP'))", new[] { "email", "job_title" })]
    [InlineData("updated_at < '2023-11-25T12:00:00.000Z' && lead_score >= 40", new[] { "lead_score", "updated_at" })]
    public void The_fields_a_rule_reads_are_its_identifiers_outside_strings_and_method_names(string rule, string[] fields) =>
        Assert.Equal(fields, RuleFields.Read(rule));

    private static string Describe(SyntheticContact c) =>
        string.Join("|", c.Id, c.Email, c.FirstName, c.LastName, c.Phone, c.DateOfBirth, c.CompanyId, c.JobTitle, c.CountryCode, c.Stage,
            c.LeadScore, c.LeadSource, c.Owner, c.Consent, c.ConsentAt, c.ConsentSource, c.LegacyRegion, c.CreatedAt, c.UpdatedAt, c.DeletedAt);
}
