using Warden.Storage.Engines;

namespace Warden.Storage.Gateway;

/// <summary>Which agents an owner activated in which environment (production needs it).</summary>
public sealed class ActivationStore
{
    private readonly StoreDatabase _db;

    internal ActivationStore(StoreDatabase database) => _db = database;

    public void Activate(string agent, string environment, string by, DateTimeOffset at) => _db.Execute(
        "INSERT INTO activations (agent, environment, activated_by, at) VALUES (@agent, @environment, @by, @at) ON CONFLICT (agent, environment) DO UPDATE SET activated_by = excluded.activated_by, at = excluded.at",
        ("@agent", agent), ("@environment", environment), ("@by", by), ("@at", GatewayStore.Time(at)));

    /// <summary>Who activated the agent in the environment, and when; null when nobody has.</summary>
    public (string By, DateTimeOffset At)? Activation(string agent, string environment) =>
        _db.Query("SELECT activated_by, at FROM activations WHERE agent = @agent AND environment = @environment",
                r => ((string By, DateTimeOffset At)?)(r.GetString(0), r.Time(1)), ("@agent", agent), ("@environment", environment))
            .FirstOrDefault();
}
