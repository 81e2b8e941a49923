namespace Gateway.Core.Observability;

/// <summary>How a call to an upstream joins the request's trace.</summary>
public sealed class UpstreamTracingOptions
{
    /// <summary>
    /// True where traces are exported: each upstream call is then a client span of its own (HttpClient's activity),
    /// and that span is the upstream's parent. False otherwise: the call carries the request's own span as its
    /// <c>traceparent</c>, so upstreams still join the trace, without a span per call that nobody collects (it
    /// costs about a fifth of the forwarding CPU).
    /// </summary>
    public bool ClientSpans { get; set; }
}
