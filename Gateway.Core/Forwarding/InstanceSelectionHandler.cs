using System.Diagnostics;
using Gateway.Core.Discovery;

namespace Gateway.Core.Forwarding;

/// <summary>
/// The innermost handler of a cluster's client: runs once per attempt (inside the resilience pipeline), so each
/// retry picks an instance again and avoids the ones already tried. It also feeds the instance's passive health,
/// in-flight count and latency average. Without client spans (see <see cref="Observability.UpstreamTracingOptions"/>)
/// it is also where the call joins the request's trace.
/// </summary>
public sealed class InstanceSelectionHandler(ServiceRegistry registry, string clusterId, bool clientSpans = false) : DelegatingHandler
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

        if (!clientSpans && Activity.Current is { IdFormat: ActivityIdFormat.W3C } current)
        {
            JoinTrace(current, request.Headers);
        }

        var health = cluster.Config.HealthCheck;
        var started = Stopwatch.GetTimestamp();
        instance.BeginRequest();
        try
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            instance.EndRequest(Stopwatch.GetElapsedTime(started));
            Report(cluster, instance, success: (int)response.StatusCode < 500, health.UnhealthyThreshold, (int)response.StatusCode);
            return response;
        }
        catch (HttpRequestException ex) when (request.Content is not StreamingRequestContent { ClientReadError: not null })
        {
            instance.EndRequest(Stopwatch.GetElapsedTime(started));
            Report(cluster, instance, success: false, health.UnhealthyThreshold, ex.HttpRequestError);
            throw;
        }
        catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException)
        {
            // A timeout, or a client that left or sent a bad body, says nothing certain about the instance.
            instance.EndRequest(Stopwatch.GetElapsedTime(started));
            throw;
        }
    }

    /// <summary>The current span becomes the upstream's parent; a retry sends the same request message, already marked.</summary>
    private static void JoinTrace(Activity current, System.Net.Http.Headers.HttpRequestHeaders headers)
    {
        if (headers.NonValidated.Contains(HeaderRules.TraceParent))
        {
            return;
        }

        // A W3C activity's id is the traceparent value itself: version, trace id, span id, flags.
        headers.TryAddWithoutValidation(HeaderRules.TraceParent, current.Id);
        if (current.TraceStateString is { Length: > 0 } traceState)
        {
            headers.TryAddWithoutValidation(HeaderRules.TraceState, traceState);
        }
    }

    // The cause is a value, not a string, so the common case (nothing changed) builds no text.
    private void Report<TCause>(ServiceCluster cluster, ServiceInstance instance, bool success, int unhealthyThreshold, TCause cause)
    {
        if (instance.Record(success, unhealthyThreshold, healthyThreshold: int.MaxValue, isProbe: false) is { } changed)
        {
            registry.ReportStatusChange(cluster, instance, changed,
                cause is HttpRequestError error ? "connection failed: " + error : "upstream answered " + cause);
        }
    }
}
