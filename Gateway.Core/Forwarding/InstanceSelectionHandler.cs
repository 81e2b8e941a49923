using System.Diagnostics;
using Gateway.Core.Discovery;

namespace Gateway.Core.Forwarding;

/// <summary>
/// The innermost handler of a cluster's client: runs once per attempt (inside the resilience pipeline), so each
/// retry picks an instance again and avoids the ones already tried. It also feeds the instance's passive health,
/// in-flight count and latency average.
/// </summary>
public sealed class InstanceSelectionHandler(ServiceRegistry registry, string clusterId) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var call = UpstreamCall.Of(request) ?? throw new InvalidOperationException("Gateway cluster clients forward UpstreamCall requests only.");
        var cluster = registry.Get(clusterId);
        var instance = cluster.Pick(call.Attempted) ?? throw new NoHealthyInstanceException(clusterId);
        call.Attempted.Add(instance);
        call.Telemetry.Instance = instance.Id;
        call.Telemetry.Attempts = call.Attempted.Count;
        request.RequestUri = instance.BuildUri(call.PathAndQuery);
        if (Activity.Current is { Recorded: true } activity)
        {
            activity.AddEvent(new ActivityEvent("gateway.attempt", tags: new ActivityTagsCollection
            {
                ["gateway.instance"] = instance.Id,
                ["gateway.attempt"] = call.Attempted.Count,
            }));
        }

        var health = cluster.Config.HealthCheck;
        var started = Stopwatch.GetTimestamp();
        instance.BeginRequest();
        try
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            instance.EndRequest(Stopwatch.GetElapsedTime(started));
            Report(cluster, instance, success: (int)response.StatusCode < 500, health.UnhealthyThreshold, "upstream answered " + (int)response.StatusCode);
            return response;
        }
        catch (HttpRequestException ex) when (request.Content is not StreamingRequestContent { ClientReadError: not null })
        {
            instance.EndRequest(Stopwatch.GetElapsedTime(started));
            Report(cluster, instance, success: false, health.UnhealthyThreshold, "connection failed: " + ex.HttpRequestError);
            throw;
        }
        catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException)
        {
            // A timeout, or a client that left or sent a bad body, says nothing certain about the instance.
            instance.EndRequest(Stopwatch.GetElapsedTime(started));
            throw;
        }
    }

    private void Report(ServiceCluster cluster, ServiceInstance instance, bool success, int unhealthyThreshold, string cause)
    {
        if (instance.Record(success, unhealthyThreshold, healthyThreshold: int.MaxValue, isProbe: false) is { } changed)
        {
            registry.ReportStatusChange(cluster, instance, changed, cause);
        }
    }
}
