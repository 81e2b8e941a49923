using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http;

namespace Gateway.Core.Observability;

/// <summary>
/// The gateway's request instruments and trace source. Labels are route and service ids from configuration and
/// the status code, never raw paths, so cardinality stays bounded.
/// </summary>
public sealed class GatewayTelemetry
{
    public const string ActivitySourceName = "Gateway";
    public static readonly ActivitySource Source = new(ActivitySourceName);

    private static readonly double[] DurationBuckets = [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10];

    // A tag value is an object: one boxed int per status code, made once, instead of one per request.
    private static readonly object[] StatusCodes = Enumerable.Range(0, 600).Select(static code => (object)code).ToArray();
    private static readonly object[] GrpcCodes = Enumerable.Range(0, 17).Select(static code => (object)code).ToArray();
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _errors;
    private readonly Counter<long> _retriesRefused;

    /// <summary>
    /// One of the gateway's decisions (rate limit, authentication) as an event on the request's span, with its
    /// outcome and the policy that decided. Only a recorded span gets it: an untraced request pays nothing.
    /// </summary>
    public static void Decision(string name, string outcome, string? policy = null)
    {
        if (Activity.Current is not { Recorded: true } activity)
        {
            return;
        }

        var tags = new ActivityTagsCollection { ["gateway.outcome"] = outcome };
        if (policy is not null)
        {
            tags["gateway.policy"] = policy;
        }

        activity.AddEvent(new ActivityEvent(name, tags: tags));
    }

    public GatewayTelemetry(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(GatewayMetrics.MeterName);
        _requests = meter.CreateCounter<long>("gateway_requests_total", description: "Requests handled by the gateway.");
        _duration = meter.CreateHistogram("gateway_request_duration_seconds", unit: "s",
            description: "Time from request start to the end of the response.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _errors = meter.CreateCounter<long>("gateway_errors_total",
            description: "Requests answered 5xx, or gRPC calls ended by a server-side status, by the gateway or an upstream.");
        _retriesRefused = meter.CreateCounter<long>("gateway_retry_budget_exhausted_total",
            description: "Retries not made because the service's retry budget was spent.");
    }

    public void RetryBudgetExhausted(string service) => _retriesRefused.Add(1, new KeyValuePair<string, object?>("service", service));

    /// <summary>
    /// A method is any token a client sends, so only the standard ones are labels; the rest share "_OTHER" (as
    /// OpenTelemetry's http.request.method does), or each made-up method would be a series of its own.
    /// </summary>
    internal static string MethodLabel(string method) =>
        HttpMethods.IsGet(method) ? HttpMethods.Get
        : HttpMethods.IsPost(method) ? HttpMethods.Post
        : HttpMethods.IsPut(method) ? HttpMethods.Put
        : HttpMethods.IsDelete(method) ? HttpMethods.Delete
        : HttpMethods.IsPatch(method) ? HttpMethods.Patch
        : HttpMethods.IsHead(method) ? HttpMethods.Head
        : HttpMethods.IsOptions(method) ? HttpMethods.Options
        : HttpMethods.IsTrace(method) ? HttpMethods.Trace
        : HttpMethods.IsConnect(method) ? HttpMethods.Connect
        : "_OTHER";

    /// <summary>
    /// A gRPC call also gets its gRPC status as a label: its HTTP status is 200 whether it failed or not. A failed call
    /// counts as an error when its status is the server's side (<see cref="GrpcAnswer.IsServerFailure"/>).
    /// </summary>
    /// <param name="seconds">The response time; null for a WebSocket tunnel, which lasts as long as its conversation.</param>
    public void Record(string method, string route, string service, int statusCode, int? grpcStatus, double? seconds)
    {
        var tags = new TagList
        {
            { "method", MethodLabel(method) },
            { "route", route },
            { "service", service },
            { "status_code", (uint)statusCode < (uint)StatusCodes.Length ? StatusCodes[statusCode] : statusCode },
        };
        if (grpcStatus is { } grpc)
        {
            tags.Add("grpc_status", GrpcCodes[GrpcAnswer.Label(grpc)]);
        }

        _requests.Add(1, tags);
        // Minutes of a WebSocket's conversation among the requests' milliseconds would make the latency histogram
        // (and every p95 drawn from it) about WebSockets instead of requests.
        if (seconds is { } duration)
        {
            _duration.Record(duration, tags);
        }

        if (statusCode >= 500 || (grpcStatus is { } failed && GrpcAnswer.IsServerFailure(failed)))
        {
            _errors.Add(1, tags);
        }
    }
}
