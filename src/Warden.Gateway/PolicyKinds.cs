using Warden.Core;
using Warden.Postgres;

namespace Warden.Gateway;

/// <summary>The kinds of system a policy may declare, with the catalogue each declaration offers: the one list the gateway and the CLI load policies with.</summary>
public static class PolicyKinds
{
    /// <summary>postgres: a PostgreSQL database.</summary>
    public static IReadOnlyDictionary<string, Func<DeclaredSystem, SystemCatalogue>> All { get; } = new Dictionary<string, Func<DeclaredSystem, SystemCatalogue>>
    {
        [PostgresDatabase.Kind] = PostgresDatabase.DeclaredCatalogue,
    };
}
