using System.Text.RegularExpressions;

namespace Warden.Workspace.Tools;

/// <summary>What the workspace accepts as an email address: something@somewhere.tld, no spaces.</summary>
internal static partial class EmailAddress
{
    public static bool IsValid(string text) => Pattern().IsMatch(text);

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    private static partial Regex Pattern();
}
