using System.Globalization;
using Gateway.Core.Forwarding;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gateway.Core.Observability.Health;

/// <summary>
/// The client certificates clusters present for mutual TLS: degraded while one has less than
/// <see cref="RenewalWindow"/> left, so an operator renews it before the services start refusing the gateway; failed
/// once one has expired or its files no longer load. Shown in <c>/health</c>, never in readiness: every replica holds
/// the same certificate, and taking them all out of rotation would stop the clusters that need none.
/// </summary>
public sealed class UpstreamCertificatesHealthCheck(UpstreamConnections connections, TimeProvider time) : IHealthCheck
{
    public static readonly TimeSpan RenewalWindow = TimeSpan.FromDays(14);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var now = time.GetUtcNow();
        var data = new Dictionary<string, object>();
        var failed = new List<string>();
        var renewing = new List<string>();
        foreach (var (cluster, certificate) in connections.ClientCertificates())
        {
            if (certificate is null)
            {
                data[cluster] = "not loaded";
                failed.Add($"{cluster}: not loaded");
                continue;
            }

            var left = new DateTimeOffset(certificate.NotAfter.ToUniversalTime()) - now;
            data[cluster] = new { subject = certificate.Subject, notAfter = certificate.NotAfter.ToUniversalTime(), daysLeft = Math.Floor(left.TotalDays) };
            if (left <= TimeSpan.Zero)
            {
                failed.Add($"{cluster}: expired on {certificate.NotAfter.ToUniversalTime().ToString("u", CultureInfo.InvariantCulture)}");
            }
            else if (left < RenewalWindow)
            {
                renewing.Add($"{cluster}: expires in {Math.Floor(left.TotalDays)} days");
            }
        }

        var result = data.Count == 0 ? HealthCheckResult.Healthy("no cluster presents a client certificate")
            : failed.Count > 0 ? new HealthCheckResult(context.Registration.FailureStatus, string.Join("; ", [.. failed, .. renewing]), data: data)
            : renewing.Count > 0 ? HealthCheckResult.Degraded(string.Join("; ", renewing), data: data)
            : HealthCheckResult.Healthy($"{data.Count} client certificates valid for {RenewalWindow.TotalDays} days or more", data);
        return Task.FromResult(result);
    }
}
