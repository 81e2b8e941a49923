using System.Diagnostics;
using System.Text.Json;
using Gateway.Core.Forwarding;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gateway.Core.Observability.Health;

/// <summary>
/// The aggregated <c>/health</c> body in the seed's shape: overall status, timestamp, checks grouped into
/// microservices, dependencies and infrastructure, and metadata (version, uptime, memory, CPU).
/// </summary>
public static class HealthReportWriter
{
    private static readonly DateTimeOffset StartedAt = DateTimeOffset.UtcNow;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(report);
        var process = Process.GetCurrentProcess();
        var uptime = DateTimeOffset.UtcNow - StartedAt;
        var body = new
        {
            status = Name(report.Status),
            timestamp = DateTimeOffset.UtcNow,
            checks = new
            {
                microservices = Group(report, ServiceHealthCheck.Tag, "service:").Concat(Added(report)).ToDictionary(),
                dependencies = Group(report, RedisHealthCheck.Tag, string.Empty),
                infrastructure = new Dictionary<string, object>
                {
                    ["gateway"] = new
                    {
                        status = "healthy",
                        threadPoolThreads = ThreadPool.ThreadCount,
                        pendingWorkItems = ThreadPool.PendingWorkItemCount,
                    },
                }.Concat(Group(report, ConfigurationHealthCheck.Tag, string.Empty)).ToDictionary(),
            },
            metadata = new
            {
                version = UpstreamHeaders.GatewayVersion,
                uptimeSeconds = Math.Round(uptime.TotalSeconds),
                memory = new
                {
                    workingSetMb = Math.Round(process.WorkingSet64 / 1048576.0, 1),
                    gcHeapMb = Math.Round(GC.GetTotalMemory(false) / 1048576.0, 1),
                },
                cpu = new
                {
                    processorCount = Environment.ProcessorCount,
                    totalProcessorSeconds = Math.Round(process.TotalProcessorTime.TotalSeconds, 2),
                    averageUsagePercent = Math.Round(100 * process.TotalProcessorTime.TotalSeconds / Math.Max(1, uptime.TotalSeconds) / Environment.ProcessorCount, 1),
                },
            },
        };

        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, Json));
    }

    private static Dictionary<string, object> Group(HealthReport report, string tag, string prefix) =>
        report.Entries.Where(e => e.Value.Tags.Contains(tag)).ToDictionary(
            e => e.Key.StartsWith(prefix, StringComparison.Ordinal) ? e.Key[prefix.Length..] : e.Key,
            e => (object)Entry(e.Value.Status, e.Value.Description, e.Value.Duration, e.Value.Data));

    /// <summary>Each service of <see cref="AddedServicesHealthCheck"/>'s entry, in the shape of the others.</summary>
    private static IEnumerable<KeyValuePair<string, object>> Added(HealthReport report) =>
        from service in AddedServices(report)
        select new KeyValuePair<string, object>(service.Name, Entry(service.Result.Status, service.Result.Description, service.Duration, service.Result.Data));

    /// <summary>The services a reload added, which <see cref="AddedServicesHealthCheck"/> reports in one entry, one by one.</summary>
    internal static IEnumerable<(string Name, HealthCheckResult Result, TimeSpan Duration)> AddedServices(HealthReport report) =>
        from entry in report.Entries.Values
        where entry.Tags.Contains(ServiceHealthCheck.AddedTag)
        from service in entry.Data
        select (service.Key, (HealthCheckResult)service.Value, entry.Duration);

    private static Dictionary<string, object?> Entry(HealthStatus status, string? description, TimeSpan duration, IReadOnlyDictionary<string, object> data) =>
        new Dictionary<string, object?>
        {
            ["status"] = Name(status),
            ["description"] = description,
            ["durationMs"] = Math.Round(duration.TotalMilliseconds, 2),
        }.Concat(data.Select(d => new KeyValuePair<string, object?>(d.Key, d.Value))).ToDictionary();

    internal static string Name(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "healthy",
        HealthStatus.Degraded => "degraded",
        _ => "unhealthy",
    };
}
