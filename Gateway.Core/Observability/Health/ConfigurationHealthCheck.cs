using Gateway.Core.Routing.Validation;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gateway.Core.Observability.Health;

/// <summary>
/// Whether the gateway runs its configuration file as written: degraded while the newest file is one it refused, or
/// while settings the file changed wait for the next start. Shown under <c>infrastructure</c> in <c>/health</c>, never
/// in readiness: a replica on its previous configuration still serves.
/// </summary>
public sealed class ConfigurationHealthCheck(ConfigurationStatus status) : IHealthCheck
{
    public const string Tag = "infrastructure";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var current = status.Current;
        var data = new Dictionary<string, object>
        {
            ["lastReloadSuccessful"] = current.LastReloadSuccessful,
            ["lastSuccessAt"] = current.LastSuccessAt,
            ["pendingRestart"] = current.PendingRestart,
            ["routesHeldBecause"] = current.RoutesHeldBecause,
        };
        return Task.FromResult(
            !current.LastReloadSuccessful ? HealthCheckResult.Degraded("the newest configuration file was refused (the log names the key); the previous one runs", data: data)
            : current.PendingRestart.Count > 0 ? HealthCheckResult.Degraded($"{current.PendingRestart.Count} changed settings wait for the next start", data: data)
            : HealthCheckResult.Healthy("running the configuration as written", data));
    }
}
