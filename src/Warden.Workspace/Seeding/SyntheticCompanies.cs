namespace Warden.Workspace.Seeding;

/// <summary>One company row as written.</summary>
internal readonly record struct CompanyRow(string Id, string Name, string? Domain, string? Industry, int? Employees, long? AnnualRevenue, string? Country);

/// <summary>
/// The companies, about one per twenty contacts. The few numbers per company that contacts need
/// (country, size, where its contacts' slots begin) stay in arrays; names and domains are built
/// again from the company's index when asked, so memory is a few bytes per company.
/// </summary>
internal sealed class SyntheticCompanies
{
    /// <summary>Share of contacts that work at a known company; the rest use free-mail addresses.</summary>
    public const double WorkShare = 0.75;

    /// <summary>Most contacts one company holds: a name pool has this many distinct names, so colleagues never share an address.</summary>
    public const int MaxContactsPerCompany = NamePool.Combinations;

    // 48,000 prefix × core × descriptor combinations; the multiplier is coprime with it, so
    // consecutive companies get unrelated names and every company below the total a distinct one.
    private static readonly int NameCombinations = Vocabulary.CompanyPrefixes.Length * Vocabulary.CompanyCores.Length * Vocabulary.CompanyDescriptors.Length;
    private const int NameStride = 7919;

    private static readonly Weighted<Country> Countries = new([.. Vocabulary.Countries.Select(c => (c, c.Weight))]);
    private static readonly Weighted<string> Industries = new(Vocabulary.Industries);

    // Head counts are heavy-tailed (median about 40, 1.5% above 20,000), drawn as a band and then
    // a whole number within it: integer arithmetic only, so no platform's pow() can change a seed.
    private static readonly Weighted<(int Low, int High)> HeadCounts = new(
        ((1, 10), 25), ((11, 50), 30), ((51, 200), 20), ((201, 1_000), 13), ((1_001, 5_000), 7), ((5_001, 20_000), 3.5), ((20_001, 100_000), 1.5));

    private readonly int seed;
    private readonly int idWidth;
    private readonly int nameOffset;
    private readonly byte[] country;
    private readonly int[] employees;
    private readonly int[] variantOf;
    private readonly int[] variant;
    private readonly int[] offsets;
    private readonly int[] nameBase;
    private readonly byte[] pattern;

    public SyntheticCompanies(int seed, int contacts)
    {
        this.seed = seed;
        Count = Math.Max(1, contacts / 20);
        idWidth = Math.Max(5, Digits(Count));
        nameOffset = (int)(SeedRandom.For(seed, -1, SeedStream.Company).NextUInt64() % (ulong)NameCombinations);
        country = new byte[Count];
        employees = new int[Count];
        variantOf = new int[Count];
        variant = new int[Count];
        nameBase = new int[Count];
        pattern = new byte[Count];
        Array.Fill(variant, -1);
        for (var k = 0; k < Count; k++)
        {
            var draw = Draw(k);
            variantOf[k] = draw.VariantOf;
            country[k] = (byte)Array.IndexOf(Vocabulary.Countries, draw.Country);
            employees[k] = draw.Employees;
            nameBase[k] = draw.NameBase;
            pattern[k] = draw.Pattern;
            if (draw.VariantOf >= 0 && variant[draw.VariantOf] < 0)
            {
                variant[draw.VariantOf] = k;
            }
        }

        // Contacts per company grow with the square root of its head count: big companies have
        // more contacts, but not in proportion (marketing reaches a few people per department).
        var weights = new double[Count];
        var total = 0.0;
        for (var k = 0; k < Count; k++)
        {
            weights[k] = variantOf[k] >= 0 ? 0 : Math.Sqrt(employees[k]);
            total += weights[k];
        }

        offsets = new int[Count + 1];
        var target = Math.Floor(contacts * WorkShare);
        for (var k = 0; k < Count; k++)
        {
            var size = (int)Math.Min(MaxContactsPerCompany, Math.Floor(weights[k] / total * target));
            offsets[k + 1] = offsets[k] + size;
        }
    }

    public int Count { get; }

    /// <summary>Contact slots that belong to a company: slots below this work somewhere, the rest use free mail.</summary>
    public int Slots => offsets[Count];

    public string Id(int k) => "co-" + (k + 1).ToString("D" + idWidth, System.Globalization.CultureInfo.InvariantCulture);

    public Country CountryOf(int k) => Vocabulary.Countries[country[k]];

    public int EmployeesOf(int k) => employees[k];

    /// <summary>The same company spelled differently, or -1.</summary>
    public int VariantOf(int k) => variant[k];

    /// <summary>The company that owns contact slot <paramref name="slot"/> and the slot's position in it.</summary>
    public (int Company, int Position) Locate(int slot)
    {
        // The last k with offsets[k] <= slot; it is never an empty company, whose offset the next one shares.
        int lo = 0, hi = Count;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) >>> 1;
            if (offsets[mid] <= slot)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return (lo, slot - offsets[lo]);
    }

    /// <summary>The n-th colleague's name at company k, as a number below <see cref="NamePool.Combinations"/>: distinct for every n.</summary>
    public int NameOf(int k, int position) => (int)((nameBase[k] + (long)position * 1237) % NamePool.Combinations);

    /// <summary>How company k writes its addresses; one convention per company, as in real mail systems.</summary>
    public string LocalPart(int k, string first, string last) => pattern[k] switch
    {
        0 => first + "." + last,
        1 => last + "." + first,
        2 => first + "_" + last,
        _ => first + "-" + last,
    };

    /// <summary>The mail domain of company k (a variant shares its original's).</summary>
    public string Domain(int k)
    {
        var original = variantOf[k] >= 0 ? variantOf[k] : k;
        var (prefix, core, descriptor, qualifier, number) = NameParts(original);
        var domain = Vocabulary.Ascii(prefix) + "-" + Vocabulary.Ascii(core);
        if (descriptor.Length > 0)
        {
            domain += "-" + Vocabulary.Ascii(descriptor);
        }

        if (qualifier.Length > 0)
        {
            domain += "-" + Vocabulary.Ascii(qualifier);
        }

        if (number > 0)
        {
            domain += "-" + number.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return domain + ".example";
    }

    public CompanyRow Row(int k)
    {
        var draw = Draw(k);
        var random = SeedRandom.For(seed, k, SeedStream.Extras);
        if (draw.VariantOf >= 0)
        {
            // A second record for a company that already exists, typed in by someone else: the
            // name spelled differently, most other fields left empty.
            var original = Name(draw.VariantOf);
            return new CompanyRow(Id(k), Respell(original, ref random), random.Chance(0.7) ? Domain(k) : null,
                random.Chance(0.4) ? Industries.Pick(ref random) : null, null, null, random.Chance(0.8) ? draw.Country.Code : null);
        }

        var industry = random.Chance(0.93) ? draw.Industry : null;
        int? headCount = random.Chance(0.9) ? draw.Employees : null;
        long? revenue = null;
        if (random.Chance(0.7))
        {
            // Revenue per employee between 60k and 360k, rounded to thousands.
            revenue = (long)Math.Round(draw.Employees * (60_000 + random.NextDouble() * 300_000) / 1000) * 1000;
        }

        return new CompanyRow(Id(k), Name(k), random.Chance(0.95) ? Domain(k) : null, industry, headCount, revenue,
            random.Chance(0.97) ? draw.Country.Code : null);
    }

    private string Name(int k)
    {
        var (prefix, core, descriptor, qualifier, number) = NameParts(k);
        var name = prefix + " " + core;
        if (descriptor.Length > 0)
        {
            name += " " + descriptor;
        }

        if (qualifier.Length > 0)
        {
            name += " " + qualifier;
        }

        if (number > 0)
        {
            name += " " + number.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return name + " " + Vocabulary.LegalForm(CountryOf(k).Code, nameBase[k]);
    }

    private (string Prefix, string Core, string Descriptor, string Qualifier, int Number) NameParts(int k)
    {
        var index = (int)(((long)(k % NameCombinations) * NameStride + nameOffset) % NameCombinations);
        var round = k / NameCombinations;
        var descriptors = Vocabulary.CompanyDescriptors.Length;
        var cores = Vocabulary.CompanyCores.Length;
        var descriptor = Vocabulary.CompanyDescriptors[index % descriptors];
        var core = Vocabulary.CompanyCores[index / descriptors % cores];
        var prefix = Vocabulary.CompanyPrefixes[index / descriptors / cores];
        var qualifiers = Vocabulary.CompanyQualifiers.Length;
        return (prefix, core, descriptor, Vocabulary.CompanyQualifiers[round % qualifiers], round / qualifiers);
    }

    private static string Respell(string name, ref SeedRandom random)
    {
        switch (random.Next(4))
        {
            case 0:
                return name.ToUpperInvariant();
            case 1:
                var space = name.LastIndexOf(' ');
                return space > 0 ? name[..space] : name;
            case 2:
                var respelled = name.Replace(".", "", StringComparison.Ordinal).Replace("GmbH", "Gmbh", StringComparison.Ordinal).Replace("Ltd", "Limited", StringComparison.Ordinal);
                return respelled == name ? name.ToLowerInvariant() : respelled;
            default:
                var first = name.IndexOf(' ');
                return first > 0 ? name[..first] + "  " + name[(first + 1)..] : name + " ";
        }
    }

    private readonly record struct CompanyDraw(int VariantOf, Country Country, int Employees, string Industry, int NameBase, byte Pattern);

    private CompanyDraw Draw(int k)
    {
        var random = SeedRandom.For(seed, k, SeedStream.Company);
        // About 4% of companies are a second spelling of an earlier one.
        if (k > 0 && random.Chance(0.04))
        {
            var original = random.Next(k);
            while (variantOf[original] >= 0)
            {
                original = variantOf[original];
            }

            return new CompanyDraw(original, Vocabulary.Countries[country[original]], 0, "", nameBase[original], pattern[original]);
        }

        var home = Countries.Pick(ref random);
        var (low, high) = HeadCounts.Pick(ref random);
        var headCount = random.Next(low, high + 1);
        var industry = Industries.Pick(ref random);
        var names = random.Next(NamePool.Combinations);
        var u = random.NextDouble();
        var convention = (byte)(u < 0.65 ? 0 : u < 0.75 ? 1 : u < 0.85 ? 2 : 3);
        return new CompanyDraw(-1, home, headCount, industry, names, convention);
    }

    private static int Digits(long n) => n < 10 ? 1 : 1 + Digits(n / 10);
}
