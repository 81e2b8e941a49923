using System.Collections.Concurrent;
using Gateway.Core.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;

namespace Gateway.Core.Discovery;

/// <summary>
/// Every cluster's instances, seeded from configuration, changed at runtime through the admin API and followed
/// on configuration reload; plus each cluster's circuit-breaker state as its resilience pipeline reports it. A
/// cluster added or removed by a reload waits for the next start, as the routes that would reach it do
/// (<see cref="Routing.Validation.ReloadScope"/>).
/// </summary>
public sealed class ServiceRegistry : IDisposable
{
    private readonly ConcurrentDictionary<string, ServiceCluster> _clusters = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, CircuitBreakerStateProvider> _breakers = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, CircuitBreakerManualControl> _breakerControls = new(StringComparer.OrdinalIgnoreCase);
    private readonly ILogger<ServiceRegistry> _logger;
    private readonly IDisposable? _reloadSubscription;

    public ServiceRegistry(IOptionsMonitor<GatewayOptions> options, ILogger<ServiceRegistry> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _logger = logger;
        foreach (var (id, config) in options.CurrentValue.Clusters)
        {
            _clusters[id] = new ServiceCluster(id, config);
        }

        _reloadSubscription = options.OnChange(OnReload);
    }

    public IEnumerable<ServiceCluster> Clusters => _clusters.Values.OrderBy(c => c.Id, StringComparer.Ordinal);

    /// <summary>Raised for each cluster a configuration reload adds, once it can take requests.</summary>
    public event Action<ServiceCluster>? ClusterAdded;

    /// <summary>
    /// Adds the clusters of a validated configuration the registry does not have yet; the ones it has are synchronised
    /// by the reload itself. A cluster a reload leaves out keeps running (routes may still send to it) until the next start.
    /// </summary>
    /// <returns>The ids of the clusters added.</returns>
    public IReadOnlyList<string> AddNew(GatewayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var added = new List<string>();
        foreach (var (id, config) in options.Clusters.Where(cluster => !_clusters.ContainsKey(cluster.Key)))
        {
            var cluster = new ServiceCluster(id, config);
            if (_clusters.TryAdd(id, cluster))
            {
                added.Add(id);
                DiscoveryLog.ClusterAdded(_logger, id, config.Destinations.Count);
                ClusterAdded?.Invoke(cluster);
            }
        }

        return added;
    }

    public ServiceCluster? Find(string clusterId) => _clusters.GetValueOrDefault(clusterId);

    public ServiceCluster Get(string clusterId) =>
        _clusters.TryGetValue(clusterId, out var cluster) ? cluster : throw new KeyNotFoundException($"Cluster '{clusterId}' is not configured.");

    /// <summary>
    /// Where the cluster's breaker reports its state, set once its pipeline is built (and again when a reload builds
    /// it anew: a provider serves one breaker only); null for a pipeline without a breaker.
    /// </summary>
    public void PublishBreakerState(string clusterId, CircuitBreakerStateProvider? provider)
    {
        if (provider is null)
        {
            _breakers.TryRemove(clusterId, out _);
        }
        else
        {
            _breakers[clusterId] = provider;
        }
    }

    /// <summary>
    /// What holds a cluster's breaker open by hand (Polly's manual control, through the admin API); an isolation made
    /// before the breaker is built applies to it when it is.
    /// </summary>
    public CircuitBreakerManualControl BreakerControlFor(string clusterId) => _breakerControls.GetOrAdd(clusterId, static _ => new CircuitBreakerManualControl());

    /// <summary>
    /// The breaker's state; null when the cluster has none. A cluster's client (and so its breaker) is built on its
    /// first request: until then an enabled breaker is reported as what it then starts as, closed, not as missing.
    /// </summary>
    public CircuitState? BreakerState(string clusterId) =>
        _breakers.TryGetValue(clusterId, out var provider) ? provider.CircuitState
        : Find(clusterId)?.Config.CircuitBreaker.Enabled == true ? CircuitState.Closed
        : null;

    public void ReportStatusChange(ServiceCluster cluster, ServiceInstance instance, InstanceStatus status, string cause)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(instance);
        if (status == InstanceStatus.Unhealthy)
        {
            DiscoveryLog.BecameUnhealthy(_logger, cluster.Id, instance.Id, instance.BaseAddress, cause);
        }
        else
        {
            DiscoveryLog.BecameHealthy(_logger, cluster.Id, instance.Id, instance.BaseAddress, cause);
        }
    }

    public void Dispose() => _reloadSubscription?.Dispose();

    private void OnReload(GatewayOptions options)
    {
        try
        {
            var synchronised = 0;
            foreach (var (id, config) in options.Clusters)
            {
                if (Find(id) is { } running)
                {
                    running.Sync(config);
                    synchronised++;
                }
            }

            DiscoveryLog.Reloaded(_logger, synchronised);
        }
        catch (Exception ex) when (ex is OptionsValidationException or ArgumentException or UriFormatException)
        {
            // A bad edit must not take down a running gateway: the previous instances stay.
            DiscoveryLog.ReloadRejected(_logger, ex.Message);
        }
    }
}
