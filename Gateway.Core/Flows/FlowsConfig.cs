namespace Gateway.Core.Flows;

/// <summary><c>Gateway:Flows:Freight</c>: which clusters the freight flow calls and how long it keeps results.</summary>
public sealed record FreightFlowConfig
{
    public bool Enabled { get; init; } = true;

    public string QuoteCluster { get; init; } = "quote-service";

    public string ContractCluster { get; init; } = "contract-service";

    public string TrackingCluster { get; init; } = "tracking-service";

    /// <summary>Each step's total time (the resilience pipeline's timeout for that call).</summary>
    public TimeSpan StepTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a finished flow is replayed for its Idempotency-Key.</summary>
    public TimeSpan IdempotencyTtl { get; init; } = TimeSpan.FromHours(24);

    /// <summary>How long a running flow holds its key; a crashed replica's claim lapses after it.</summary>
    public TimeSpan RunningTtl { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Largest request body the flow endpoint reads; over it → 413.</summary>
    public long MaxRequestBodySize { get; init; } = 64 * 1024;

    /// <summary>Public base of tracking links in the response.</summary>
    public string TrackingUrlBase { get; init; } = "/api/v1/tracking/";
}

public sealed record FlowsConfig
{
    public FreightFlowConfig Freight { get; init; } = new();
}
