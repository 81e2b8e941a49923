using Gateway.Core.Discovery;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gateway.Core.Observability.Health;

/// <summary>
/// A service is healthy while at least one of its instances is in rotation (healthy, or not yet probed). Every
/// service's check counts for readiness; one the configuration marks optional (<c>Required: false</c>) is only
/// degraded when down, which neither fails readiness nor turns <c>/health</c> 503. Whether it is required is read
/// per check, so a reload that changes it is followed.
/// </summary>
public sealed class ServiceHealthCheck(ServiceRegistry registry, string clusterId) : IHealthCheck
{
    public const string Tag = "microservice";

    /// <summary>The tag of <see cref="AddedServicesHealthCheck"/>, whose entry the health report lists service by service.</summary>
    public const string AddedTag = "microservices-added";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Task.FromResult(Evaluate(registry.Get(clusterId)));
    }

    public static HealthCheckResult Evaluate(ServiceCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        // What a service without an instance in rotation is.
        var failureStatus = cluster.Config.Required ? HealthStatus.Unhealthy : HealthStatus.Degraded;
        var instances = cluster.Instances;
        var healthy = instances.Count(i => i.Status == InstanceStatus.Healthy);
        var inRotation = instances.Count(i => i.IsSelectable);
        var draining = instances.Count(i => i.Draining);
        var data = new Dictionary<string, object>
        {
            ["healthy"] = healthy,
            ["unknown"] = instances.Count(i => i.Status == InstanceStatus.Unknown),
            ["draining"] = draining,
            ["total"] = instances.Length,
        };
        if (inRotation > 0 && instances.Any(i => i.IsBackup) && !instances.Any(i => i.IsSelectable && !i.IsBackup))
        {
            // Served, but by the standby: an operator should know before the backup is all there is left.
            return HealthCheckResult.Degraded($"service '{cluster.Id}' runs on its backup instances only", data: data);
        }

        return inRotation > 0
            ? new HealthCheckResult(HealthStatus.Healthy, $"{healthy}/{instances.Length} instances healthy" + (draining > 0 ? $", {draining} draining" : string.Empty), data: data)
            : new HealthCheckResult(failureStatus, $"service '{cluster.Id}' has no instance in rotation", data: data);
    }
}
