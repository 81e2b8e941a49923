using Gateway.Core.Discovery;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gateway.Core.Observability.Health;

/// <summary>
/// The services configuration reloads added. Health checks are registered once, when the host is built, so the
/// services known then have a check each (<see cref="ServiceHealthCheck"/>) and the ones added later share this one:
/// it is as unhealthy as its worst required service (optional ones only degrade it), which keeps readiness right,
/// and <see cref="HealthReportWriter"/> lists each of its services under <c>microservices</c> like the others.
/// </summary>
public sealed class AddedServicesHealthCheck(ServiceRegistry registry, IReadOnlySet<string> registered) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var services = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
        var worst = HealthStatus.Healthy;
        foreach (var cluster in registry.Clusters.Where(cluster => !registered.Contains(cluster.Id)))
        {
            var result = ServiceHealthCheck.Evaluate(cluster);
            worst = result.Status < worst ? result.Status : worst;
            // Each service's own result, which the report writes as it writes the services with a check of their own.
            services[cluster.Id] = result;
        }

        return Task.FromResult(new HealthCheckResult(worst, $"{services.Count} services added by configuration reloads", data: services));
    }
}
