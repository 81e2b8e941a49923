using Gateway.Core.Routing;

namespace Gateway.Core.Discovery;

/// <summary>A cluster's instances (a copy-on-write array, so selection never locks against registration).</summary>
public sealed class ServiceCluster
{
    private readonly Lock _writeLock = new();
    private ServiceInstance[] _instances = [];
    private ILoadBalancer _balancer;

    public ServiceCluster(string id, ClusterConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Id = id;
        Config = config;
        _balancer = BalancerFor(config.LoadBalancingPolicy);
        Sync(config);
    }

    public string Id { get; }

    public ClusterConfig Config { get; private set; }

    public ILoadBalancer Balancer => Volatile.Read(ref _balancer);

    public ServiceInstance[] Instances => Volatile.Read(ref _instances);

    public int HealthyCount => Instances.Count(i => i.Status == InstanceStatus.Healthy);

    public ServiceInstance? Pick(IReadOnlyCollection<ServiceInstance>? exclude = null) => Balancer.Pick(Instances, exclude);

    /// <summary>Adds an instance; false when the id is taken.</summary>
    public bool TryAdd(ServiceInstance instance)
    {
        lock (_writeLock)
        {
            if (_instances.Any(i => i.Id.Equals(instance.Id, StringComparison.OrdinalIgnoreCase)))
            {
                return false;
            }

            Volatile.Write(ref _instances, [.. _instances, instance]);
            return true;
        }
    }

    /// <summary>Removes an instance; requests already sent to it finish normally.</summary>
    public bool TryRemove(string instanceId)
    {
        lock (_writeLock)
        {
            var kept = _instances.Where(i => !i.Id.Equals(instanceId, StringComparison.OrdinalIgnoreCase)).ToArray();
            if (kept.Length == _instances.Length)
            {
                return false;
            }

            Volatile.Write(ref _instances, kept);
            return true;
        }
    }

    /// <summary>
    /// Brings the configuration-sourced instances in line with <paramref name="config"/> (added, removed, or replaced
    /// when their address or weight changed) and follows its balancing policy; instances registered through the
    /// admin API stay. The round-robin's weights are kept on the instances, so a balancer can be swapped mid-traffic.
    /// </summary>
    public void Sync(ClusterConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        lock (_writeLock)
        {
            if (config.LoadBalancingPolicy != Config.LoadBalancingPolicy)
            {
                Volatile.Write(ref _balancer, BalancerFor(config.LoadBalancingPolicy));
            }

            Config = config;
            var next = new List<ServiceInstance>();
            foreach (var instance in _instances)
            {
                if (instance.Source == InstanceSource.Admin)
                {
                    next.Add(instance);
                }
                else if (config.Destinations.TryGetValue(instance.Id, out var destination) && Same(instance, destination))
                {
                    next.Add(instance);
                }
            }

            foreach (var (id, destination) in config.Destinations)
            {
                if (!next.Any(i => i.Id.Equals(id, StringComparison.OrdinalIgnoreCase)))
                {
                    next.Add(new ServiceInstance(id, destination.Address!, destination.Weight, InstanceSource.Configuration));
                }
            }

            Volatile.Write(ref _instances, next.ToArray());
        }
    }

    private static ILoadBalancer BalancerFor(LoadBalancingPolicy policy) =>
        policy == LoadBalancingPolicy.PowerOfTwoChoices ? new PowerOfTwoChoices() : new SmoothWeightedRoundRobin();

    private static bool Same(ServiceInstance instance, DestinationConfig destination) =>
        instance.Weight == destination.Weight
        && instance.BaseAddress.Equals(destination.Address!.TrimEnd('/'), StringComparison.OrdinalIgnoreCase);
}
