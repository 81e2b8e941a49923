using System.Diagnostics.Metrics;
using Gateway.Core.Discovery;
using Polly.CircuitBreaker;

namespace Gateway.Core.Observability;

/// <summary>
/// The gateway's own instruments on the <c>Gateway</c> meter. Observable gauges read the registry when
/// collected, so the request path pays nothing for them. Labels are service and instance ids from
/// configuration, never request data, so cardinality stays bounded.
/// </summary>
public sealed class GatewayMetrics
{
    public const string MeterName = "Gateway";

    public GatewayMetrics(IMeterFactory meterFactory, ServiceRegistry registry, Routing.Validation.ConfigurationStatus configuration)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(configuration);
        var meter = meterFactory.Create(MeterName);

        meter.CreateObservableGauge("gateway_circuit_breaker_state", () => registry.Clusters
            .Select(c => new Measurement<int>(BreakerValue(registry.BreakerState(c.Id)), new KeyValuePair<string, object?>("service", c.Id))),
            description: "Circuit breaker per service: 0 closed, 1 open, 2 half-open.");

        meter.CreateObservableGauge("gateway_upstream_instance_healthy", () => registry.Clusters
            .SelectMany(c => c.Instances.Select(i => new Measurement<int>(i.IsSelectable ? 1 : 0,
                new KeyValuePair<string, object?>("service", c.Id), new KeyValuePair<string, object?>("instance", i.Id)))),
            description: "1 while an upstream instance is in rotation (healthy or not yet probed), 0 when out (unhealthy or draining).");

        meter.CreateObservableGauge("gateway_upstream_in_flight", () => registry.Clusters
            .SelectMany(c => c.Instances.Select(i => new Measurement<int>(i.InFlight,
                new KeyValuePair<string, object?>("service", c.Id), new KeyValuePair<string, object?>("instance", i.Id)))),
            description: "Requests sent to an upstream instance and not yet answered.");

        // Prometheus' own names for its reloads (prometheus_config_last_reload_*), so the usual alert rules carry over.
        meter.CreateObservableGauge("gateway_config_last_reload_successful", () => configuration.Current.LastReloadSuccessful ? 1 : 0,
            description: "0 while the newest configuration file is one the gateway refused (the log names the key).");
        meter.CreateObservableGauge("gateway_config_last_reload_success_timestamp_seconds", () => configuration.Current.LastSuccessAt.ToUnixTimeSeconds(),
            description: "When the configuration was last taken: the start, or the last reload that passed validation.");
        meter.CreateObservableGauge("gateway_config_restart_pending_settings", () => configuration.Current.PendingRestart.Count,
            description: "Settings the configuration file changed that the running gateway keeps until its next start.");
    }

    private static int BreakerValue(CircuitState? state) => state switch
    {
        CircuitState.Open or CircuitState.Isolated => 1,
        CircuitState.HalfOpen => 2,
        _ => 0,
    };
}
