using Gateway.Core.Routing;
using Gateway.Core.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Observability.Health;

/// <summary>Redis answers PING (healthy with a note when the gateway runs on in-memory stores).</summary>
public sealed class RedisHealthCheck(RedisConnection redis) : IHealthCheck
{
    public const string Tag = "dependency";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!redis.Config.IsConfigured)
        {
            return HealthCheckResult.Healthy("not configured: in-memory stores");
        }

        try
        {
            var latency = await redis.Database.PingAsync();
            return HealthCheckResult.Healthy($"PING {latency.TotalMilliseconds:0.###} ms");
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "unreachable: " + ex.GetType().Name);
        }
    }
}

/// <summary>The OIDC authority's discovery document can be fetched (healthy with a note when none is configured).</summary>
public sealed class OidcAuthorityHealthCheck(IOptions<GatewayOptions> options, IHttpClientFactory clients) : IHealthCheck
{
    public const string ClientName = "gateway-oidc-health";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var authority = options.Value.Auth.Authority;
        if (string.IsNullOrWhiteSpace(authority))
        {
            return HealthCheckResult.Healthy(options.Value.Auth.IsConfigured ? "shared secret: no authority to reach" : "not configured");
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            using var response = await clients.CreateClient(ClientName)
                .GetAsync(new Uri(authority.TrimEnd('/') + "/.well-known/openid-configuration"), timeout.Token);
            return response.IsSuccessStatusCode
                ? HealthCheckResult.Healthy("discovery document reachable")
                : new HealthCheckResult(context.Registration.FailureStatus, $"discovery answered {(int)response.StatusCode}");
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "unreachable: " + ex.GetType().Name);
        }
    }
}
