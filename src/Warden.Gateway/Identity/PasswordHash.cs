using System.Security.Cryptography;
using System.Text;

namespace Warden.Gateway.Identity;

/// <summary>
/// Passwords as PBKDF2 with HMAC-SHA256 (RFC 8018; 600,000 iterations, as OWASP advises for it), a
/// 16-byte random salt and a 32-byte key, written <c>pbkdf2-sha256$ITERATIONS$SALT$KEY</c> in
/// base64. Checked in constant time; a hash of other parameters still checks.
/// </summary>
internal static class PasswordHash
{
    public const int Iterations = 600_000;
    private const string Scheme = "pbkdf2-sha256";

    /// <summary>The shortest password taken: a console that approves production changes is not guarded by "1234".</summary>
    public const int MinLength = 12;

    /// <summary>The longest password taken, and checked at sign-in: longer input is refused before any hashing.</summary>
    public const int MaxLength = 1_024;

    public static string Of(string password, int iterations = Iterations)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var key = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        return $"{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(key)}";
    }

    /// <summary>True when <paramref name="password"/> is the one hashed; false for another, or a hash this does not read.</summary>
    public static bool Verify(string password, string hash)
    {
        var parts = hash.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme || !int.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var iterations)
            || iterations < 1 || iterations > 10_000_000)
        {
            return false;
        }

        try
        {
            var salt = Convert.FromBase64String(parts[2]);
            var expected = Convert.FromBase64String(parts[3]);
            var key = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
            return CryptographicOperations.FixedTimeEquals(key, expected);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>Why a new password is refused, or null when it is taken.</summary>
    public static string? Weakness(string password) =>
        password.Length < MinLength ? $"a password has at least {MinLength} characters" :
        password.Length > MaxLength ? $"a password has at most {MaxLength} characters" :
        password.Trim().Length != password.Length ? "a password does not begin or end with a space" :
        null;
}
