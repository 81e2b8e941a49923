namespace Gateway.Core.Routing;

/// <summary>One cluster: its destinations, how they are chosen and probed, and how calls to them are made.</summary>
public sealed record ClusterConfig
{
    public Dictionary<string, DestinationConfig> Destinations { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    public HealthCheckConfig HealthCheck { get; init; } = new();

    public LoadBalancingPolicy LoadBalancingPolicy { get; init; } = LoadBalancingPolicy.WeightedRoundRobin;

    /// <summary>The gateway is not ready (<c>/health/ready</c>) while a required service has no instance in rotation.</summary>
    public bool Required { get; init; } = true;

    public CircuitBreakerConfig CircuitBreaker { get; init; } = new();

    /// <summary>
    /// <c>1.1</c> (the default) or <c>2</c>: HTTP/2 to every destination, by prior knowledge over http:// (h2c, as
    /// gRPC services listen inside a cluster) and by ALPN over https://. A destination that cannot speak it fails
    /// the call rather than being asked again in HTTP/1.1, which a gRPC service could not answer anyway.
    /// </summary>
    public string HttpVersion { get; init; } = "1.1";

    /// <summary>Whether <see cref="HttpVersion"/> asks for HTTP/2.</summary>
    public bool IsHttp2 => HttpVersion is "2" or "2.0";

    public Forwarding.ClusterHttpClientConfig HttpClient { get; init; } = new();

    public Discovery.SessionAffinityConfig SessionAffinity { get; init; } = new();

    /// <summary>
    /// Most calls this gateway has open to the cluster at once, until their answers' headers arrive (Envoy's
    /// <c>max_requests</c>, a bulkhead); beyond it, up to <see cref="MaxQueuedRequests"/> wait and the rest get a 503.
    /// None = no limit.
    /// </summary>
    public int? MaxConcurrentRequests { get; init; }

    public int MaxQueuedRequests { get; init; }

    /// <summary>How much retries may add to the cluster's traffic (Linkerd's retry budget); on by default.</summary>
    public Forwarding.RetryBudgetConfig RetryBudget { get; init; } = new();
}

public enum LoadBalancingPolicy
{
    /// <summary>nginx's smooth weighted round-robin: even, deterministic, interleaved.</summary>
    WeightedRoundRobin,

    /// <summary>Two random healthy instances, the one with less work in flight (weighted by latency) wins.</summary>
    PowerOfTwoChoices,
}

/// <summary>The cluster's breaker: opens when failures pass the ratio within the sampling window.</summary>
public sealed record CircuitBreakerConfig
{
    public bool Enabled { get; init; } = true;

    public double FailureRatio { get; init; } = 0.5;

    public int MinimumThroughput { get; init; } = 10;

    public TimeSpan SamplingDuration { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan BreakDuration { get; init; } = TimeSpan.FromSeconds(30);
}

public sealed record DestinationConfig
{
    public string? Address { get; init; }

    public int Weight { get; init; } = 1;

    /// <summary>Sent requests only while no other destination can take them (nginx's <c>backup</c>): a standby, a degraded mode.</summary>
    public bool Backup { get; init; }
}

public sealed record HealthCheckConfig
{
    public string Path { get; init; } = "/health";

    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Consecutive failures (probes or forwarded calls) that take an instance out of rotation.</summary>
    public int UnhealthyThreshold { get; init; } = 2;

    /// <summary>Consecutive successful probes that bring an unhealthy instance back.</summary>
    public int HealthyThreshold { get; init; } = 2;

    public bool Enabled { get; init; } = true;
}
