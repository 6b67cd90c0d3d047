using System.Globalization;

namespace Warden.WebConsole;

/// <summary>How the console writes times and amounts.</summary>
public static class Format
{
    /// <summary>A time left, in words: "in 23 h 5 min", "in 4 min", "expired".</summary>
    public static string Remaining(TimeSpan left) =>
        left <= TimeSpan.Zero ? "expired" :
        left.TotalHours >= 1 ? string.Create(CultureInfo.InvariantCulture, $"in {(int)left.TotalHours} h {left.Minutes} min") :
        string.Create(CultureInfo.InvariantCulture, $"in {Math.Max(1, (int)Math.Ceiling(left.TotalMinutes))} min");

    /// <summary>A time as people read it, in UTC.</summary>
    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    /// <summary>A count with thousands separated.</summary>
    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
