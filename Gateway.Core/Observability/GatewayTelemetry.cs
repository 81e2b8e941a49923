using System.Diagnostics;
using System.Diagnostics.Metrics;

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
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _errors;

    public GatewayTelemetry(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(GatewayMetrics.MeterName);
        _requests = meter.CreateCounter<long>("gateway_requests_total", description: "Requests handled by the gateway.");
        _duration = meter.CreateHistogram("gateway_request_duration_seconds", unit: "s",
            description: "Time from request start to the end of the response.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _errors = meter.CreateCounter<long>("gateway_errors_total", description: "Requests answered 5xx, by the gateway or an upstream.");
    }

    public void Record(string method, string route, string service, int statusCode, double seconds)
    {
        var tags = new TagList
        {
            { "method", method },
            { "route", route },
            { "service", service },
            { "status_code", (uint)statusCode < (uint)StatusCodes.Length ? StatusCodes[statusCode] : statusCode },
        };
        _requests.Add(1, tags);
        _duration.Record(seconds, tags);
        if (statusCode >= 500)
        {
            _errors.Add(1, tags);
        }
    }
}
