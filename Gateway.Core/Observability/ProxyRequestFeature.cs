namespace Gateway.Core.Observability;

/// <summary>What the forwarder did with a request, for the access log and metrics written when it completes.</summary>
public sealed class ProxyRequestFeature(string route, string cluster)
{
    public string Route { get; } = route;

    public string Cluster { get; } = cluster;

    public string? Instance { get; set; }

    public int Attempts { get; set; }

    public long BytesIn { get; set; }

    public long BytesOut { get; set; }

    /// <summary>The request became a WebSocket tunnel: its duration is the conversation's, not a response time.</summary>
    public bool Tunnel { get; set; }
}
