using Gateway.Core.Routing;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Discovery;

/// <summary>The destinations of every configured cluster and a plain round-robin pick over them.</summary>
public sealed class ClusterDestinations
{
    private readonly Dictionary<string, ClusterEntry> _clusters;

    public ClusterDestinations(IOptions<GatewayOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _clusters = options.Value.Clusters.ToDictionary(
            c => c.Key,
            c => new ClusterEntry(c.Value.Destinations.Select(d => new Destination(d.Key, d.Value.Address!, d.Value.Weight)).ToArray()),
            StringComparer.OrdinalIgnoreCase);
    }

    public IEnumerable<string> ClusterIds => _clusters.Keys;

    public Destination? Pick(string clusterId) =>
        _clusters.TryGetValue(clusterId, out var cluster) ? cluster.Next() : null;

    private sealed class ClusterEntry(Destination[] destinations)
    {
        private int _next = -1;

        public Destination? Next()
        {
            if (destinations.Length == 0)
            {
                return null;
            }

            var index = (uint)Interlocked.Increment(ref _next) % (uint)destinations.Length;
            return destinations[index];
        }
    }
}
