using System.Globalization;

namespace Warden.Workspace.Seeding;

/// <summary>
/// Times as the workspace stores them: milliseconds since the Unix epoch in memory, and ISO-8601
/// UTC text with milliseconds and a Z in the database, so that they sort as text.
/// </summary>
internal static class IsoTime
{
    public const long Second = 1000;
    public const long Minute = 60 * Second;
    public const long Hour = 60 * Minute;
    public const long Day = 24 * Hour;

    public static long Of(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    public static string Format(long unixMilliseconds) =>
        string.Create(24, unixMilliseconds, static (span, ms) =>
            DateTime.UnixEpoch.AddTicks(ms * TimeSpan.TicksPerMillisecond)
                .TryFormat(span, out _, "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fff'Z'", CultureInfo.InvariantCulture));

    /// <summary>
    /// Writes the same text as <see cref="Format"/> as 24 ASCII bytes. The bulk load writes several
    /// timestamps per row, and DateTime's custom-format path was a visible share of its time.
    /// </summary>
    public static void Write(long unixMilliseconds, Span<byte> utf8)
    {
        var days = Math.DivRem(unixMilliseconds, Day, out var milliseconds);
        if (milliseconds < 0)
        {
            days--;
            milliseconds += Day;
        }

        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm, proleptic Gregorian).
        var z = days + 719_468;
        var era = (z >= 0 ? z : z - 146_096) / 146_097;
        var dayOfEra = z - era * 146_097;
        var yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365;
        var dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
        var shiftedMonth = (5 * dayOfYear + 2) / 153;
        var day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1;
        var month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
        var year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);

        Digits(utf8[..4], year);
        utf8[4] = (byte)'-';
        Digits(utf8.Slice(5, 2), month);
        utf8[7] = (byte)'-';
        Digits(utf8.Slice(8, 2), day);
        utf8[10] = (byte)'T';
        Digits(utf8.Slice(11, 2), milliseconds / Hour);
        utf8[13] = (byte)':';
        Digits(utf8.Slice(14, 2), milliseconds / Minute % 60);
        utf8[16] = (byte)':';
        Digits(utf8.Slice(17, 2), milliseconds / Second % 60);
        utf8[19] = (byte)'.';
        Digits(utf8.Slice(20, 3), milliseconds % Second);
        utf8[23] = (byte)'Z';
    }

    /// <summary>Midnight UTC of the first day of the month <paramref name="months"/> away from <paramref name="now"/>.</summary>
    public static long MonthStart(DateTimeOffset now, int months)
    {
        var month = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(months);
        return Of(month);
    }

    public static string Month(long unixMilliseconds) =>
        DateTime.UnixEpoch.AddTicks(unixMilliseconds * TimeSpan.TicksPerMillisecond).ToString("yyyy'-'MM", CultureInfo.InvariantCulture);

    private static void Digits(Span<byte> target, long value)
    {
        for (var i = target.Length - 1; i >= 0; i--)
        {
            target[i] = (byte)('0' + value % 10);
            value /= 10;
        }
    }
}
