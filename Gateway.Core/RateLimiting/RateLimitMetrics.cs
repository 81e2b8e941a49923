using System.Diagnostics.Metrics;

namespace Gateway.Core.RateLimiting;

/// <summary><c>gateway_rate_limit_hits_total{route,user_type}</c>: requests refused by a limit.</summary>
public sealed class RateLimitMetrics
{
    private readonly Counter<long> _hits;

    public RateLimitMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _hits = meterFactory.Create(Observability.GatewayMetrics.MeterName)
            .CreateCounter<long>("gateway_rate_limit_hits_total", description: "Requests refused by a rate limit.");
    }

    public void Rejected(string route, string userType) =>
        _hits.Add(1, new KeyValuePair<string, object?>("route", route), new KeyValuePair<string, object?>("user_type", userType));
}
