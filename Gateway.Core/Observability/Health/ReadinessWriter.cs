using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
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
        // A report is as bad as its worst check: those at its status are the ones to name, none when it is healthy.
        var named = report.Status == HealthStatus.Healthy ? null : At(report, report.Status);
        if (named is not null && report.Status == HealthStatus.Unhealthy)
        {
            return GatewayProblems.WriteAsync(context, new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Detail = "Not ready: " + string.Join("; ", named.Select(check => $"{check.Key} ({check.Value})")) + ".",
                Extensions = { ["code"] = "not_ready", ["checks"] = named },
            }).AsTask();
        }

        return context.Response.WriteAsJsonAsync(new ReadinessAnswer(HealthReportWriter.Name(report.Status), named), context.RequestAborted);
    }

    /// <summary>The checks at <paramref name="status"/>, each with what it said; a service added by a reload under its own name.</summary>
    private static Dictionary<string, string?> At(HealthReport report, HealthStatus status) =>
        report.Entries.Where(entry => !entry.Value.Tags.Contains(ServiceHealthCheck.AddedTag))
            .Select(entry => (Name: entry.Key, entry.Value.Status, entry.Value.Description))
            .Concat(HealthReportWriter.AddedServices(report).Select(service => (service.Name, service.Result.Status, service.Result.Description)))
            .Where(check => check.Status == status)
            .ToDictionary(check => check.Name, check => check.Description);

    private sealed record ReadinessAnswer(string Status,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Dictionary<string, string?>? Checks);
}
