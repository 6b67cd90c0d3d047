using System.Globalization;

namespace Warden.Workspace.Seeding;

/// <summary>
/// Generates contact number i from (seed, i) alone, in any order and as often as asked: a
/// duplicate regenerates the person it copies instead of the generator remembering anyone. The
/// distributions are listed on <see cref="SyntheticWorkspace"/>.
/// </summary>
internal sealed class SyntheticContacts
{
    private static readonly Weighted<Country> Countries = new([.. Vocabulary.Countries.Select(c => (c, c.Weight))]);
    private static readonly Weighted<string> Funnel = new(
        (Stages.Subscriber, 40), (Stages.Lead, 30), (Stages.Mql, 14), (Stages.Sql, 8), (Stages.Opportunity, 5), (Stages.Customer, 3));
    private static readonly Weighted<string> TradeShowStages = new((Stages.Lead, 70), (Stages.Subscriber, 20), (Stages.Mql, 10));
    private static readonly Weighted<string> DuplicateStages = new((Stages.Lead, 60), (Stages.Subscriber, 40));
    private static readonly Weighted<string?> LeadSources = new(
        (Sources.Web, 28), (Sources.OrganicSearch, 14), (Sources.Import, 14), (Sources.PaidSocial, 12), (Sources.Webinar, 12),
        (Sources.Referral, 8), (Sources.TradeShow, 8), (null, 4));
    private static readonly Weighted<string> DuplicateSources = new((Sources.Import, 45), (Sources.Web, 35), (Sources.Webinar, 20));
    private static readonly Weighted<string> Consent = new((Consents.Subscribed, 63.5), (Consents.Unsubscribed, 23.5), (Consents.Unknown, 13));
    private static readonly Weighted<string> SubscribedVia = new(("form", 50), ("import", 25), ("preference_center", 15), ("request", 10));
    private static readonly Weighted<string> UnsubscribedVia = new(("preference_center", 55), ("request", 25), ("import", 12), ("form", 8));
    private static readonly Weighted<string> SuppressionReasons = new(
        ("do-not-contact request", 50), ("spam complaint", 25), ("legal request", 15), ("competitor", 10));

    private readonly int seed;
    private readonly int count;
    private readonly int idWidth;
    private readonly long permutationStep;
    private readonly long permutationOffset;
    private readonly long suffixModulus;
    private readonly long suffixOffset;
    private readonly SeedCalendar calendar;
    private readonly long now;
    private readonly SyntheticCompanies companies;
    private readonly SeedPlan plan;

    public SyntheticContacts(int seed, int count, SeedCalendar calendar, SyntheticCompanies companies, SeedPlan plan)
    {
        this.seed = seed;
        this.count = count;
        this.calendar = calendar;
        this.companies = companies;
        this.plan = plan;
        now = calendar.NowMs;
        idWidth = Math.Max(7, Digits(count));

        // Contact i takes slot (step × i + offset) mod count, a permutation because the step is
        // coprime with the count: slots below companies.Slots belong to a company, so who works
        // where is spread over the id range without a table of assignments.
        var random = SeedRandom.For(seed, -1, SeedStream.Kind);
        permutationStep = Math.Max(1, (long)(count * 0.6180339887)) | 1;
        while (Gcd(permutationStep, count) != 1)
        {
            permutationStep += 2;
        }

        permutationOffset = random.NextLong(count);
        // Free-mail addresses end in a number that is a permutation of the index, so they never collide.
        suffixModulus = Pow10(Digits(count));
        suffixOffset = random.NextLong(suffixModulus);
    }

    public int Count => count;

    public string Id(int index) => "c-" + (index + 1).ToString("D" + idWidth, CultureInfo.InvariantCulture);

    /// <summary>Fills <paramref name="contact"/> with contact number <paramref name="index"/> (0-based).</summary>
    public void Fill(int index, SyntheticContact contact)
    {
        contact.Reset();
        contact.Id = Id(index);
        var kind = Kind(index);
        if (kind.Duplicate)
        {
            var origin = kind.Origin;
            while (Kind(origin) is { Duplicate: true } earlier)
            {
                origin = earlier.Origin;
            }

            Identity(origin, contact);
            Vary(index, contact);
            contact.IsDuplicate = true;
            var originCreated = Timeline(origin, Kind(origin).TradeShow, out _, out _);
            Attributes(index, contact, kind.TradeShow && originCreated < calendar.TradeShowImport, originCreated);
        }
        else
        {
            Identity(index, contact);
            Attributes(index, contact, kind.TradeShow, SyntheticContact.None);
        }
    }

    private readonly record struct ContactKind(bool Duplicate, int Origin, bool TradeShow);

    private ContactKind Kind(int index)
    {
        var random = SeedRandom.For(seed, index, SeedStream.Kind);
        var duplicate = index > 0 && random.Chance(0.02);
        var origin = duplicate ? random.Next(index) : -1;
        var tradeShow = random.Chance(duplicate ? 0.5 : 0.015);
        return new ContactKind(duplicate, origin, tradeShow);
    }

    /// <summary>Name, country, company and address: everything a duplicate shares with its original.</summary>
    private void Identity(int index, SyntheticContact contact)
    {
        var random = SeedRandom.For(seed, index, SeedStream.Identity);
        var slot = (int)((permutationStep * index + permutationOffset) % count);
        if (slot < companies.Slots)
        {
            var (company, position) = companies.Locate(slot);
            var country = random.Chance(0.88) ? companies.CountryOf(company) : Countries.Pick(ref random);
            var name = companies.NameOf(company, position);
            var pool = country.Names;
            var first = name % NamePool.Firsts;
            var last = name / NamePool.Firsts;
            contact.Country = country;
            contact.FirstName = pool.First[first];
            contact.LastName = pool.Last[last];
            contact.Company = company;
            contact.CompanyId = companies.Id(company);
            contact.Email = companies.LocalPart(company, pool.FirstAscii[first], pool.LastAscii[last]) + "@" + companies.Domain(company);
        }
        else
        {
            var country = random.Chance(0.04) ? null : Countries.Pick(ref random);
            var pool = country?.Names ?? random.Pick(Vocabulary.Pools);
            var first = random.Next(NamePool.Firsts);
            var last = random.Next(NamePool.Lasts);
            var number = ((index * 7919L) + suffixOffset) % suffixModulus;
            var digits = number.ToString(CultureInfo.InvariantCulture);
            var local = random.Next(4) switch
            {
                0 => pool.FirstAscii[first] + "." + pool.LastAscii[last] + digits,
                1 => pool.FirstAscii[first] + pool.LastAscii[last] + digits,
                2 => pool.FirstAscii[first] + digits,
                _ => pool.FirstAscii[first][0] + "." + pool.LastAscii[last] + digits,
            };
            contact.Country = country;
            contact.FirstName = pool.First[first];
            contact.LastName = pool.Last[last];
            contact.Email = local + "@" + random.Pick(Vocabulary.FreeMailDomains);
        }
    }

    /// <summary>How a duplicate differs from its original: the address's case, spaces or +tag, a name typed differently, the company's other spelling.</summary>
    private void Vary(int index, SyntheticContact contact)
    {
        var random = SeedRandom.For(seed, index, SeedStream.Extras);
        var email = contact.Email;
        var at = email.IndexOf('@', StringComparison.Ordinal);
        var u = random.NextDouble();
        contact.Email = u switch
        {
            < 0.3 => Capitalize(email[..at]) + email[at..],
            < 0.5 => random.Chance(0.5) ? " " + email : email + " ",
            < 0.8 => email[..at] + "+" + random.Pick(Vocabulary.PlusTags) + email[at..],
            < 0.9 => " " + email[..at] + email[at..].ToUpperInvariant(),
            _ => email,
        };

        var name = random.NextDouble();
        if (name < 0.15)
        {
            contact.LastName = contact.LastName?.ToUpperInvariant();
        }
        else if (name < 0.30)
        {
            contact.FirstName = null;
        }

        if (contact.Company >= 0)
        {
            var variant = companies.VariantOf(contact.Company);
            var choice = random.NextDouble();
            if (variant >= 0 && choice < 0.6)
            {
                contact.Company = variant;
                contact.CompanyId = companies.Id(variant);
            }
            else if (choice > 0.9)
            {
                contact.Company = -1;
                contact.CompanyId = null;
            }
        }

        if (random.Chance(0.1))
        {
            contact.Country = null;
        }
    }

    /// <summary>When a non-duplicate contact was created and last updated; the first draws of its attribute stream.</summary>
    private long Timeline(int index, bool tradeShow, out long updated, out bool stale)
    {
        var random = SeedRandom.For(seed, index, SeedStream.Attributes);
        return Timeline(ref random, tradeShow, out updated, out stale);
    }

    private long Timeline(ref SeedRandom random, bool tradeShow, out long updated, out bool stale)
    {
        long created;
        stale = false;
        if (tradeShow)
        {
            created = calendar.TradeShowImport + random.NextLong(6 * IsoTime.Hour);
            updated = random.Between(created, Math.Min(now, created + 20 * IsoTime.Day));
            return created;
        }

        if (random.Chance(0.10))
        {
            stale = true;
            created = random.Between(calendar.Oldest, calendar.StaleCutoff - 60 * IsoTime.Day);
            updated = random.Between(created, calendar.StaleCutoff - IsoTime.Day);
            return created;
        }

        // The base grows: recent years hold more new contacts than early ones (age ∝ u^1.5; sqrt,
        // unlike pow, is exactly rounded everywhere, so the seed gives the same bytes on any platform).
        var u = random.NextDouble();
        var age = (long)((now - calendar.Oldest) * (u * Math.Sqrt(u)));
        created = Math.Min(now - IsoTime.Minute, now - age);
        updated = random.Between(Math.Max(created, calendar.StaleCutoff + IsoTime.Day), now);
        return created;
    }

    private void Attributes(int index, SyntheticContact c, bool tradeShow, long originCreated)
    {
        var random = SeedRandom.For(seed, index, SeedStream.Attributes);
        var duplicate = originCreated != SyntheticContact.None;
        if (duplicate && !tradeShow)
        {
            var from = originCreated + IsoTime.Day;
            c.CreatedAt = from < now - IsoTime.Hour ? random.Between(from, now - IsoTime.Hour) : Math.Min(now, originCreated + IsoTime.Minute);
            c.UpdatedAt = random.Between(Math.Max(c.CreatedAt, calendar.StaleCutoff + IsoTime.Day), now);
            if (c.UpdatedAt < c.CreatedAt)
            {
                c.UpdatedAt = c.CreatedAt;
            }
        }
        else
        {
            c.CreatedAt = Timeline(ref random, tradeShow, out c.UpdatedAt, out c.IsStale);
        }

        c.FromTradeShow = tradeShow;
        c.Stage = tradeShow ? TradeShowStages.Pick(ref random) : duplicate ? DuplicateStages.Pick(ref random) : Funnel.Pick(ref random);
        c.LeadScore = LeadScore(c.Stage, ref random);
        c.LeadSource = tradeShow ? Sources.TradeShow : duplicate ? DuplicateSources.Pick(ref random) : LeadSources.Pick(ref random);
        ConsentOf(c, tradeShow, duplicate, ref random);

        // legacy_region was retired from the forms; only an old import job still writes it.
        if (random.Chance(c.CreatedAt < calendar.LegacyCutoff ? 0.92 : 0.02))
        {
            c.LegacyRegion = random.Chance(0.04) ? random.Pick(Vocabulary.OutdatedRegions) : c.Country?.LegacyRegion ?? "EMEA";
        }

        var works = c.Company >= 0;
        if (random.Chance(works ? 0.75 : 0.10))
        {
            c.JobTitle = random.Pick(Vocabulary.JobTitles);
        }

        if (random.Chance(works ? 0.62 : 0.35))
        {
            c.Phone = Phone(c.Country, ref random);
        }

        if (random.Chance(0.18))
        {
            var born = calendar.Now.AddYears(-random.Next(20, 67)).AddDays(-random.Next(365));
            c.DateOfBirth = born.ToString("yyyy'-'MM'-'dd", CultureInfo.InvariantCulture);
        }

        if (random.Chance(0.005))
        {
            // After an unsubscribe from a campaign link, so the campaign still reached the contact.
            c.GloballySuppressedAt = random.Between(c.UnsubscribedFrom < 0 ? c.CreatedAt : c.ConsentAt, c.UpdatedAt);
            c.SuppressionReason = SuppressionReasons.Pick(ref random);
            // Most people on the global list also said so in their consent.
            if (random.Chance(0.75) && c.UnsubscribedFrom < 0)
            {
                c.Consent = Consents.Unsubscribed;
                c.ConsentSource = "request";
                c.ConsentAt = c.GloballySuppressedAt;
            }
        }

        if (random.Chance(0.004) && c.UnsubscribedFrom < 0)
        {
            c.LegacyBounceAt = random.Between(c.CreatedAt, c.UpdatedAt);
        }

        var routed = c.Stage switch { Stages.Subscriber or Stages.Lead => 0.0, Stages.Mql => 0.6, _ => 1.0 };
        if (random.Chance(routed))
        {
            foreach (var rule in plan.RoutingRules)
            {
                if (rule.Matches(c))
                {
                    c.Owner = rule.Owner;
                    break;
                }
            }
        }

        if (!c.IsStale && random.Chance(0.011))
        {
            c.DeletedAt = random.Between(c.UpdatedAt, now);
            c.UpdatedAt = c.DeletedAt;
        }
    }

    private void ConsentOf(SyntheticContact c, bool tradeShow, bool duplicate, ref SeedRandom random)
    {
        if (tradeShow)
        {
            // Badge scans: most came without an opt-in.
            if (random.Chance(0.6))
            {
                c.Consent = Consents.Unknown;
                c.ConsentSource = random.Chance(0.5) ? "import" : null;
            }
            else
            {
                c.Consent = Consents.Subscribed;
                c.ConsentSource = "import";
                c.ConsentAt = c.CreatedAt;
            }

            return;
        }

        var u = random.NextDouble();
        c.Consent = duplicate
            ? u < 0.5 ? Consents.Subscribed : u < 0.9 ? Consents.Unknown : Consents.Unsubscribed
            : Consent.Pick(ref random);
        switch (c.Consent)
        {
            case Consents.Subscribed:
                c.ConsentSource = SubscribedVia.Pick(ref random);
                c.ConsentAt = c.ConsentSource == "form"
                    ? Math.Min(c.UpdatedAt, c.CreatedAt + random.NextLong(10 * IsoTime.Minute))
                    : random.Between(c.CreatedAt, c.UpdatedAt);
                break;
            case Consents.Unsubscribed:
                c.ConsentSource = UnsubscribedVia.Pick(ref random);
                c.ConsentAt = random.Between(c.CreatedAt, c.UpdatedAt);
                // A fifth of those who unsubscribed since the first sent campaign used its link.
                if (!c.IsStale && c.ConsentAt >= plan.SentCampaigns[0].SentAt && random.Chance(0.2))
                {
                    UnsubscribeFromCampaign(c, ref random);
                }

                break;
            default:
                c.ConsentSource = random.Chance(0.3) ? "import" : null;
                break;
        }
    }

    /// <summary>Ties an unsubscribe to the link in a campaign the contact received, a few hours to days after it went out.</summary>
    private void UnsubscribeFromCampaign(SyntheticContact c, ref SeedRandom random)
    {
        var sent = plan.SentCampaigns;
        var eligible = 0;
        foreach (var campaign in sent)
        {
            if (Linkable(c, campaign))
            {
                eligible++;
            }
        }

        if (eligible == 0)
        {
            return;
        }

        var pick = random.Next(eligible);
        for (var ci = 0; ci < sent.Count; ci++)
        {
            if (Linkable(c, sent[ci]) && pick-- == 0)
            {
                var at = sent[ci].SentAt + 2 * IsoTime.Hour;
                c.ConsentAt = at + random.NextLong(Math.Min(5 * IsoTime.Day, now - at));
                c.ConsentSource = "preference_center";
                c.UnsubscribedFrom = ci;
                c.UpdatedAt = Math.Max(c.UpdatedAt, c.ConsentAt);
                return;
            }
        }
    }

    private bool Linkable(SyntheticContact c, SeedCampaign campaign) =>
        campaign.SentAt > c.CreatedAt + IsoTime.Day && campaign.SentAt < now - 3 * IsoTime.Hour;

    private static int LeadScore(string stage, ref SeedRandom random)
    {
        var (low, high) = stage switch
        {
            Stages.Subscriber => (0, 25),
            Stages.Lead => (5, 50),
            Stages.Mql => (35, 80),
            Stages.Sql => (50, 90),
            Stages.Opportunity => (60, 100),
            _ => (40, 100),
        };
        // Triangular around the middle of the stage's range.
        var u = (random.NextDouble() + random.NextDouble()) / 2;
        return low + (int)Math.Round(u * (high - low));
    }

    private static string Phone(Country? country, ref SeedRandom random)
    {
        var dialling = country?.Dialling ?? "+49";
        if (dialling == "+1")
        {
            // 555-01xx numbers are reserved for fiction in North America.
            return $"+1 {random.Next(201, 990)} 555 01{random.Next(100):D2}";
        }

        var area = random.Next(10, 99);
        var number = random.Next(1_000_000, 10_000_000);
        return random.Next(100) switch
        {
            < 15 => $"0{area} {number}",
            < 20 => $"{dialling}{area}{number}",
            _ => $"{dialling} {area} {number}",
        };
    }

    private static string Capitalize(string local)
    {
        var chars = local.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (i == 0 || !char.IsAsciiLetter(chars[i - 1]))
            {
                chars[i] = char.ToUpperInvariant(chars[i]);
            }
        }

        var capitalized = new string(chars);
        return capitalized == local ? local.ToUpperInvariant() : capitalized;
    }

    private static int Digits(long n) => n < 10 ? 1 : 1 + Digits(n / 10);

    private static long Pow10(int digits)
    {
        var result = 1L;
        for (var i = 0; i < digits; i++)
        {
            result *= 10;
        }

        return result;
    }

    private static long Gcd(long a, long b) => b == 0 ? a : Gcd(b, a % b);
}
