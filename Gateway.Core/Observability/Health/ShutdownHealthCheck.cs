using Gateway.Core.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gateway.Core.Observability.Health;

/// <summary>Unready from the stop signal on, so balancers take the replica out while it still serves (<see cref="ShutdownDrain"/>).</summary>
public sealed class ShutdownHealthCheck(ShutdownDrain drain) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(drain.Draining
            ? new HealthCheckResult(context.Registration.FailureStatus, "the gateway is stopping: it serves the requests it gets until it stops listening")
            : HealthCheckResult.Healthy("running"));
}
