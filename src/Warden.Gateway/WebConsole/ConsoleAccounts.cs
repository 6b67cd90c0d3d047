using Warden.Storage.Engines;
using Warden.Gateway.Identity;
using Warden.Storage.Gateway;

namespace Warden.Gateway.WebConsole;

/// <summary>People's console accounts in a gateway's data folder, as <c>warden people set-password</c> sets them.</summary>
public static class ConsoleAccounts
{
    /// <summary>The shortest password taken.</summary>
    public const int MinPasswordLength = PasswordHash.MinLength;

    /// <summary>
    /// Sets <paramref name="person"/>'s console password in the gateway store <paramref name="store"/> (a data folder's, or the one replicas share)
    /// (a running gateway sees it at the next sign-in): the failed sign-ins are forgotten, a lock is
    /// lifted, and every session of theirs ends. Returns why it was refused, or null when it was set.
    /// </summary>
    public static string? SetPassword(StoreLocation store, string person, string password, TimeProvider clock) => Set(store, person, password, clock);

    /// <summary>As <see cref="SetPassword(StoreLocation, string, string, TimeProvider)"/>, in the gateway store of the data folder <paramref name="dataFolder"/>.</summary>
    public static string? SetPassword(string dataFolder, string person, string password, TimeProvider clock) =>
        Set(StoreLocation.Sqlite(Path.Combine(Path.GetFullPath(dataFolder), "gateway.db")), person, password, clock);

    private static string? Set(StoreLocation store, string person, string password, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentNullException.ThrowIfNull(clock);
        if (PasswordHash.Weakness(password) is { } weakness)
        {
            return weakness;
        }

        using var accounts = GatewayStore.Open(store, migrate: false);
        accounts.People.SetPassword(person, PasswordHash.Of(password), clock.GetUtcNow());
        return null;
    }
}
