namespace Gateway.Core.Observability;

/// <summary>The <c>Gateway:Observability</c> section: what is measured beyond the gateway's own telemetry.</summary>
public sealed record ObservabilityConfig
{
    /// <summary>
    /// Also export ASP.NET Core's and HttpClient's own metrics (<c>http.server.request.duration</c>,
    /// <c>http.client.request.duration</c>, Kestrel's connection counts) over OTLP. Off by default: they repeat the
    /// gateway's per-request metrics and cost a histogram record or more per request on each side.
    /// </summary>
    public bool FrameworkMetrics { get; init; }
}
