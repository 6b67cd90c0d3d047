namespace Warden.Workspace.Seeding;

/// <summary>The moments the synthetic history hangs on, all derived from the fixed "now" so that the same options give the same data.</summary>
internal sealed class SeedCalendar
{
    public SeedCalendar(DateTimeOffset now)
    {
        Now = now.ToUniversalTime();
        NowMs = IsoTime.Of(Now);
        Oldest = IsoTime.Of(Now.AddYears(-9));
        StaleCutoff = IsoTime.Of(Now.AddYears(-3));
        LegacyCutoff = IsoTime.Of(Now.AddMonths(-41));
        RecentCutoff = IsoTime.Of(Now.AddYears(-1));
        // Last month's trade show; its badge scans were imported in one batch on the 20th.
        TradeShowImport = At(-1, 20, 9);
        TradeShowMonth = IsoTime.Month(TradeShowImport);
    }

    public DateTimeOffset Now { get; }

    public long NowMs { get; }

    /// <summary>The first contact was created nine years ago.</summary>
    public long Oldest { get; }

    /// <summary>A contact not updated since this moment (three years ago) is stale.</summary>
    public long StaleCutoff { get; }

    /// <summary>When legacy_region was retired from the forms, about three and a half years ago.</summary>
    public long LegacyCutoff { get; }

    public long RecentCutoff { get; }

    public long TradeShowImport { get; }

    /// <summary>The import window: the batch ran for six hours.</summary>
    public long TradeShowImportEnd => TradeShowImport + 6 * IsoTime.Hour;

    public string TradeShowMonth { get; }

    /// <summary>Day <paramref name="day"/> of the month <paramref name="months"/> away from now, at the given hour UTC.</summary>
    public long At(int months, int day, int hour) => IsoTime.MonthStart(Now, months) + (day - 1) * IsoTime.Day + hour * IsoTime.Hour;

    /// <summary>Midnight UTC <paramref name="days"/> from today, plus hours.</summary>
    public long DaysFromToday(int days, int hour) => NowMs - NowMs % IsoTime.Day + days * IsoTime.Day + hour * IsoTime.Hour;

    public string Month(int months) => IsoTime.Month(IsoTime.MonthStart(Now, months));
}
