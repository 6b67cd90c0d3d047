using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Warden.Storage.Gateway;

/// <summary>Which agents an owner activated in which environment (production needs it).</summary>
public sealed class ActivationStore
{
    private readonly GatewayDatabase _db;

    internal ActivationStore(GatewayDatabase database) => _db = database;

    public void Activate(string agent, string environment, string by, DateTimeOffset at) => _db.Execute(
        "INSERT INTO activations (agent, environment, activated_by, at) VALUES (@agent, @environment, @by, @at) ON CONFLICT (agent, environment) DO UPDATE SET activated_by = excluded.activated_by, at = excluded.at",
        ("@agent", agent), ("@environment", environment), ("@by", by), ("@at", GatewayStore.Time(at)));

    /// <summary>Who activated the agent in the environment, and when; null when nobody has.</summary>
    public (string By, DateTimeOffset At)? Activation(string agent, string environment)
    {
        lock (_db.Sync)
        {
            using var command = _db.Command("SELECT activated_by, at FROM activations WHERE agent = @agent AND environment = @environment", ("@agent", agent), ("@environment", environment));
            using var reader = command.ExecuteReader();
            return reader.Read() ? (reader.GetString(0), GatewayDatabase.Parse(reader.GetString(1))) : null;
        }
    }
}
