using Gateway.Core.Discovery;
using Gateway.Core.Observability.Health;
using Gateway.Core.RateLimiting;
using Gateway.Core.Routing;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gateway.Api.Health;

/// <summary>
/// <c>/health/live</c> (the process), <c>/health/ready</c> (Redis when configured, every required service in
/// rotation), <c>/health</c> (everything, in the seed's shape) and <c>/health/{service}</c>. Never authenticated;
/// limited only by the <c>health</c> policy (the seed's 1000/min).
/// </summary>
public static class HealthEndpoints
{
    public const string ReadyTag = "ready";

    public static IHealthChecksBuilder AddGatewayHealthChecks(this IServiceCollection services, IConfiguration configuration)
    {
        var checks = services.AddHealthChecks()
            .AddCheck<RedisHealthCheck>("redis", HealthStatus.Unhealthy, [RedisHealthCheck.Tag, ReadyTag])
            .AddCheck<OidcAuthorityHealthCheck>("oidc-authority", HealthStatus.Unhealthy, [RedisHealthCheck.Tag])
            .AddCheck<UpstreamCertificatesHealthCheck>("upstream-certificates", HealthStatus.Unhealthy, [RedisHealthCheck.Tag])
            .AddCheck<ConfigurationHealthCheck>("configuration", HealthStatus.Degraded, [ConfigurationHealthCheck.Tag])
            .AddCheck<ShutdownHealthCheck>("shutdown", HealthStatus.Unhealthy, [ConfigurationHealthCheck.Tag, ReadyTag]);
        services.AddHttpClient(OidcAuthorityHealthCheck.ClientName).RemoveAllLoggers();
        if (Gateway.Core.Caching.ResponseCache.HasOwnRedis(configuration))
        {
            // Named among the dependencies, but only degraded when down: cached routes then answer from their upstreams.
            checks.Add(new HealthCheckRegistration("response-cache-redis",
                sp => new RedisHealthCheck(sp.GetRequiredKeyedService<Gateway.Core.Storage.RedisConnection>(Gateway.Core.Caching.ResponseCache.CacheRedisKey)),
                HealthStatus.Degraded, [RedisHealthCheck.Tag]));
        }

        var registered = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var cluster in configuration.GetSection("Gateway:Clusters").GetChildren())
        {
            registered.Add(cluster.Key);
            var id = cluster.Key;
            // An optional service that is down degrades /health (still 200, and named) rather than failing it: only a
            // required one makes the gateway unhealthy and unready. The check reads which it is, so it follows reloads.
            checks.Add(new HealthCheckRegistration("service:" + id,
                sp => new ServiceHealthCheck(sp.GetRequiredService<ServiceRegistry>(), id),
                HealthStatus.Unhealthy, [ServiceHealthCheck.Tag, ReadyTag]));
        }

        checks.Add(new HealthCheckRegistration("services-added",
            sp => new AddedServicesHealthCheck(sp.GetRequiredService<ServiceRegistry>(), registered),
            HealthStatus.Unhealthy, [ServiceHealthCheck.AddedTag, ReadyTag]));
        return checks;
    }

    public static void MapGatewayHealth(this IEndpointRouteBuilder endpoints)
    {
        var health = new RateLimitPolicyMetadata("health", "health");
        endpoints.MapHealthChecks(GatewayPaths.Health + "/live", new HealthCheckOptions { Predicate = _ => false })
            .WithMetadata(health).AllowAnonymous();
        endpoints.MapHealthChecks(GatewayPaths.Health + "/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag), ResponseWriter = ReadinessWriter.WriteAsync })
            .WithMetadata(health).AllowAnonymous();
        endpoints.MapHealthChecks(GatewayPaths.Health, new HealthCheckOptions { ResponseWriter = HealthReportWriter.WriteAsync })
            .WithMetadata(health).AllowAnonymous();
        endpoints.MapGet(GatewayPaths.Health + "/{service}", ServiceHealth).WithMetadata(health).AllowAnonymous();
    }

    private static IResult ServiceHealth(string service, ServiceRegistry registry)
    {
        if (registry.Find(service) is not { } cluster)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, detail: $"Service '{service}' is not configured.");
        }

        var instances = cluster.Instances;
        var body = new
        {
            service = cluster.Id,
            status = instances.Any(i => i.IsSelectable) ? "healthy" : "unhealthy",
            healthy = instances.Count(i => i.Status == InstanceStatus.Healthy),
            total = instances.Length,
            instances = instances.Select(Admin.AdminEndpoints.InstanceView.Of).ToArray(),
        };
        return TypedResults.Json(body, statusCode: body.status == "healthy" ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }
}
