using Gateway.Core.Routing;

namespace Gateway.Core.Discovery;

/// <summary>A cluster's instances (copy-on-write arrays, so selection never locks against registration).</summary>
public sealed class ServiceCluster
{
    private readonly Lock _writeLock = new();
    private Members _members = new([]);
    private ILoadBalancer _balancer;
    private int _connectionsGeneration;

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

    /// <summary>
    /// Counts the changes of the cluster's connection settings (<see cref="ClusterConfig.HttpClient"/>) a reload
    /// brought. Its clients are named with it, so a change gets handlers made with the new settings, while requests
    /// on the previous handlers finish there.
    /// </summary>
    public int ConnectionsGeneration => Volatile.Read(ref _connectionsGeneration);

    /// <summary>Moves to a new generation of connections without a settings change: a client certificate rotated on disk.</summary>
    public void ConnectionsChanged() => Interlocked.Increment(ref _connectionsGeneration);

    /// <summary>A client's name for one generation of a cluster's connection settings (cluster ids hold no colon).</summary>
    public static string ClientName(string prefix, string clusterId, int generation) =>
        generation == 0 ? prefix + clusterId : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{prefix}{clusterId}:{generation}");

    public ILoadBalancer Balancer => Volatile.Read(ref _balancer);

    public ServiceInstance[] Instances => Volatile.Read(ref _members).All;

    public int HealthyCount => Instances.Count(i => i.Status == InstanceStatus.Healthy);

    /// <summary>
    /// An instance for the next attempt: a primary not tried yet, else a backup not tried yet (nginx's <c>backup</c>:
    /// used only while no primary can take the request), else whichever the balancer falls back to.
    /// </summary>
    public ServiceInstance? Pick(IReadOnlyCollection<ServiceInstance>? exclude = null)
    {
        var members = Volatile.Read(ref _members);
        if (members.Backups.Length == 0)
        {
            return Balancer.Pick(members.All, exclude);
        }

        var primary = Balancer.Pick(members.Primaries, exclude);
        if (primary is not null && exclude?.Contains(primary) != true)
        {
            return primary;
        }

        var backup = Balancer.Pick(members.Backups, exclude);
        return backup is not null && exclude?.Contains(backup) != true ? backup : primary ?? backup;
    }

    /// <summary>The instance with this id (ids ignore case), if the cluster has it.</summary>
    public ServiceInstance? Find(string instanceId) => Array.Find(Instances, i => i.Id.Equals(instanceId, StringComparison.OrdinalIgnoreCase));

    /// <summary>Adds an instance; false when the id is taken.</summary>
    public bool TryAdd(ServiceInstance instance)
    {
        lock (_writeLock)
        {
            if (Find(instance.Id) is not null)
            {
                return false;
            }

            Volatile.Write(ref _members, new Members([.. Instances, instance]));
            return true;
        }
    }

    /// <summary>Removes an instance; requests already sent to it finish normally.</summary>
    public bool TryRemove(string instanceId)
    {
        lock (_writeLock)
        {
            var kept = Instances.Where(i => !i.Id.Equals(instanceId, StringComparison.OrdinalIgnoreCase)).ToArray();
            if (kept.Length == Instances.Length)
            {
                return false;
            }

            Volatile.Write(ref _members, new Members(kept));
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

            var connectionsChanged = config.HttpClient != Config.HttpClient;
            Config = config;
            if (connectionsChanged)
            {
                // After the new settings: a handler made for the new generation reads them.
                Interlocked.Increment(ref _connectionsGeneration);
            }

            var next = new List<ServiceInstance>();
            foreach (var instance in Instances)
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
                    next.Add(new ServiceInstance(id, destination.Address!, destination.Weight, InstanceSource.Configuration, destination.Backup));
                }
            }

            Volatile.Write(ref _members, new Members([.. next]));
        }
    }

    private static ILoadBalancer BalancerFor(LoadBalancingPolicy policy) =>
        policy == LoadBalancingPolicy.PowerOfTwoChoices ? new PowerOfTwoChoices() : new SmoothWeightedRoundRobin();

    private static bool Same(ServiceInstance instance, DestinationConfig destination) =>
        instance.Weight == destination.Weight && instance.IsBackup == destination.Backup
        && instance.BaseAddress.Equals(destination.Address!.TrimEnd('/'), StringComparison.OrdinalIgnoreCase);

    /// <summary>The instances, and the same split by role, published together.</summary>
    private sealed class Members(ServiceInstance[] all)
    {
        public ServiceInstance[] All { get; } = all;

        public ServiceInstance[] Primaries { get; } = all.Any(i => i.IsBackup) ? [.. all.Where(i => !i.IsBackup)] : all;

        public ServiceInstance[] Backups { get; } = [.. all.Where(i => i.IsBackup)];
    }
}
