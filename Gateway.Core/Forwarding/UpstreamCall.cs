using System.Diagnostics;
using Gateway.Core.Discovery;
using Gateway.Core.Routing;

namespace Gateway.Core.Forwarding;

/// <summary>
/// What the forwarder tells the cluster's handler chain about one upstream call, carried in
/// <see cref="HttpRequestMessage.Options"/>: the route's resilience settings, whether a retry is safe, and
/// (filled in by <see cref="InstanceSelectionHandler"/>) which instances the attempts went to.
/// </summary>
public sealed class UpstreamCall(GatewayRoute route, string pathAndQuery, bool retryable, Observability.ProxyRequestFeature telemetry)
{
    public static readonly HttpRequestOptionsKey<UpstreamCall> Key = new("Gateway.UpstreamCall");

    private readonly long _started = Stopwatch.GetTimestamp();

    public GatewayRoute Route { get; } = route;

    /// <summary>The escaped path and query each attempt appends to its instance's base address.</summary>
    public string PathAndQuery { get; } = pathAndQuery;

    /// <summary>Idempotent (by method or Idempotency-Key) and with a body that can be sent again.</summary>
    public bool Retryable { get; } = retryable;

    /// <summary>The client said it takes trailers (<c>TE: trailers</c>), which an HTTP/2 cluster is then told.</summary>
    public bool AcceptsTrailers { get; init; }

    public List<ServiceInstance> Attempted { get; } = new(1);

    /// <summary>The cluster's session affinity, when it has one; set with the first attempt.</summary>
    public SessionAffinityConfig? Affinity { get; set; }

    /// <summary>The affinity key the client sent, if any.</summary>
    public string? RequestedAffinityKey { get; set; }

    /// <summary>Where the attempts are recorded for the access log.</summary>
    public Observability.ProxyRequestFeature Telemetry { get; } = telemetry;

    /// <summary>What is left of the route's total timeout, counted from when the call was made.</summary>
    public TimeSpan Remaining => Route.Timeout - Stopwatch.GetElapsedTime(_started);

    public ServiceInstance? LastInstance => Attempted.Count == 0 ? null : Attempted[^1];

    /// <summary>The last attempt's instance as logs name it, "-" before any.</summary>
    public string InstanceId => LastInstance?.Id ?? "-";

    public static UpstreamCall? Of(HttpRequestMessage? request) =>
        request is not null && request.Options.TryGetValue(Key, out var call) ? call : null;
}

/// <summary>Raised when a cluster has no instance left in rotation.</summary>
public sealed class NoHealthyInstanceException(string clusterId, bool sessionInstance = false)
    : Exception(sessionInstance ? $"The session's instance of cluster '{clusterId}' is not available." : $"Cluster '{clusterId}' has no healthy instance.")
{
    public string ClusterId { get; } = clusterId;

    /// <summary>Only the session's instance would do (<see cref="AffinityFailurePolicy.Return503"/>), and it is out.</summary>
    public bool SessionInstance { get; } = sessionInstance;
}
