using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gateway.Core.Observability.Health;

/// <summary>
/// <c>/health/ready</c>'s answer. A balancer or kubelet reads only the status; the body is for the operator who asks
/// a replica why it is out of rotation. Not ready is a 503 problem like every other the gateway answers, its detail
/// naming each check that failed and why; ready is <c>{"status":"healthy"}</c>, or <c>"degraded"</c> with the checks
/// that degrade it (an optional service down, a refused reload), which keep the replica in rotation.
/// </summary>
public static class ReadinessWriter
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(report);
        var failing = Failing(report, HealthStatus.Unhealthy);
        if (report.Status == HealthStatus.Unhealthy)
        {
            var problem = new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Detail = "Not ready: " + string.Join("; ", failing.Select(check => $"{check.Key} ({check.Value})")) + ".",
                Extensions = { ["code"] = "not_ready", ["checks"] = failing },
            };
            return context.RequestServices.GetRequiredService<IProblemDetailsService>()
                .WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }).AsTask();
        }

        var degraded = Failing(report, HealthStatus.Degraded);
        return context.Response.WriteAsJsonAsync(degraded.Count == 0
            ? new ReadinessAnswer("healthy", null)
            : new ReadinessAnswer("degraded", degraded), context.RequestAborted);
    }

    /// <summary>The checks at <paramref name="status"/>, each with what it said; a service added by a reload under its own name.</summary>
    private static Dictionary<string, string?> Failing(HealthReport report, HealthStatus status) =>
        report.Entries.SelectMany(entry => entry.Value.Tags.Contains(ServiceHealthCheck.AddedTag)
                ? entry.Value.Data.Select(service => (Name: service.Key, Result: (HealthCheckResult)service.Value))
                    .Select(service => (service.Name, service.Result.Status, service.Result.Description))
                : [(Name: entry.Key, entry.Value.Status, entry.Value.Description)])
            .Where(check => check.Status == status)
            .ToDictionary(check => check.Name, check => check.Description);

    private sealed record ReadinessAnswer(string Status,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Dictionary<string, string?>? Checks);
}
