namespace Warden.Workspace.Seeding;

/// <summary>
/// One contact while it is being generated: the columns as they will be written, plus the facts
/// behind them that decide lists, sends and suppression. One instance is refilled for every
/// contact, so a million contacts cost one object.
/// </summary>
internal sealed class SyntheticContact
{
    public const long None = -1;

    public string Id = "";
    public string Email = "";
    public string? FirstName;
    public string? LastName;
    public string? Phone;
    public string? DateOfBirth;
    public int Company = -1;
    public string? CompanyId;
    public string? JobTitle;
    public Country? Country;
    public string Stage = Stages.Subscriber;
    public int LeadScore;
    public string? LeadSource;
    public string? Owner;
    public string Consent = Consents.Unknown;
    public long ConsentAt = None;
    public string? ConsentSource;
    public string? LegacyRegion;
    public long CreatedAt;
    public long UpdatedAt;
    public long DeletedAt = None;

    public bool IsDuplicate;
    public bool IsStale;
    public bool FromTradeShow;

    /// <summary>The sent campaign whose unsubscribe link this contact used, or -1.</summary>
    public int UnsubscribedFrom = -1;

    public long GloballySuppressedAt = None;
    public string? SuppressionReason;
    public long LegacyBounceAt = None;

    public string? CountryCode => Country?.Code;

    public bool IsDeleted => DeletedAt != None;

    /// <summary>The address as suppression lists store it: lower-case and trimmed.</summary>
    public string SuppressionEmail => Email.Trim().ToLowerInvariant();

    public void Reset()
    {
        FirstName = LastName = Phone = DateOfBirth = CompanyId = JobTitle = LeadSource = Owner = ConsentSource = LegacyRegion = SuppressionReason = null;
        Country = null;
        Company = -1;
        ConsentAt = DeletedAt = GloballySuppressedAt = LegacyBounceAt = None;
        IsDuplicate = IsStale = FromTradeShow = false;
        UnsubscribedFrom = -1;
    }
}

internal static class Stages
{
    public const string Subscriber = "subscriber";
    public const string Lead = "lead";
    public const string Mql = "mql";
    public const string Sql = "sql";
    public const string Opportunity = "opportunity";
    public const string Customer = "customer";
}

internal static class Consents
{
    public const string Subscribed = "subscribed";
    public const string Unsubscribed = "unsubscribed";
    public const string Unknown = "unknown";
}

internal static class Sources
{
    public const string Web = "web";
    public const string Webinar = "webinar";
    public const string TradeShow = "trade_show";
    public const string Import = "import";
    public const string Referral = "referral";
    public const string PaidSocial = "paid_social";
    public const string OrganicSearch = "organic_search";
}
