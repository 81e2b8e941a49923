using System.Diagnostics;
using Gateway.Core.Discovery;

namespace Gateway.Core.Forwarding;

/// <summary>
/// The innermost handler of a cluster's client: runs once per attempt (inside the resilience pipeline), so each
/// retry picks an instance again and avoids the ones already tried. It also feeds the instance's passive health,
/// in-flight count and latency average. Without client spans (see <see cref="Observability.UpstreamTracingOptions"/>)
/// it is also where the call joins the request's trace.
/// </summary>
public sealed class InstanceSelectionHandler(ServiceRegistry registry, string clusterId, bool clientSpans) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var call = UpstreamCall.Of(request) ?? throw new InvalidOperationException("Gateway cluster clients forward UpstreamCall requests only.");
        var cluster = registry.Get(clusterId);
        var instance = (cluster.Config.SessionAffinity.Enabled ? PickForSession(cluster, call, request) : cluster.Pick(call.Attempted))
            ?? throw new NoHealthyInstanceException(clusterId);
        // A retry that lands on an instance this request already tried brings no new evidence against it: one
        // request answered 5xx on every attempt must not take an instance out of rotation by itself.
        var triedBefore = call.Attempted.Contains(instance);
        call.Attempted.Add(instance);
        call.Telemetry.Instance = instance.Id;
        call.Telemetry.Attempts = call.Attempted.Count;
        request.RequestUri = instance.BuildUri(call.PathAndQuery);
        if (cluster.Config.IsHttp2)
        {
            UpstreamProtocol.UseHttp2(request, call.AcceptsTrailers);
        }

        var activity = Activity.Current;
        if (activity is { Recorded: true })
        {
            activity.AddEvent(new ActivityEvent("gateway.attempt", tags: new ActivityTagsCollection
            {
                ["gateway.instance"] = instance.Id,
                ["gateway.attempt"] = call.Attempted.Count,
            }));
        }

        if (!clientSpans && activity is not null)
        {
            JoinTrace(activity, request);
        }

        var health = cluster.Config.HealthCheck;
        var started = Stopwatch.GetTimestamp();
        instance.BeginRequest();
        try
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            instance.EndRequest(Stopwatch.GetElapsedTime(started));
            Report(cluster, instance, health.UnhealthyThreshold, triedBefore, status: (int)response.StatusCode);
            return response;
        }
        catch (HttpRequestException ex) when (WebSocketTunnel.IsRefusedByUpstream(ex))
        {
            instance.EndRequest(Stopwatch.GetElapsedTime(started));
            throw new WebSocketsNotSupportedException(clusterId, ex);
        }
        catch (HttpRequestException ex) when (request.Content is not StreamingRequestContent { ClientReadError: not null })
        {
            instance.EndRequest(Stopwatch.GetElapsedTime(started));
            Report(cluster, instance, health.UnhealthyThreshold, triedBefore, error: ex.HttpRequestError);
            throw;
        }
        catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException)
        {
            // A timeout, or a client that left or sent a bad body, says nothing certain about the instance.
            instance.EndRequest(Stopwatch.GetElapsedTime(started));
            throw;
        }
    }

    /// <summary>
    /// The instance the client's key names, while it is in rotation and not yet tried by this request. Otherwise the
    /// session moves to the instance the balancer picks (a retry after its instance failed too), unless the cluster
    /// says its sessions cannot move.
    /// </summary>
    private static ServiceInstance? PickForSession(ServiceCluster cluster, UpstreamCall call, HttpRequestMessage request)
    {
        var affinity = cluster.Config.SessionAffinity;
        if (call.Attempted.Count == 0)
        {
            call.Affinity = affinity;
            call.RequestedAffinityKey = SessionAffinity.Requested(request, affinity);
        }

        if (call.RequestedAffinityKey is { } key)
        {
            if (Array.Find(cluster.Instances, instance => instance.AffinityKey == key) is { ServesBoundClients: true } bound && !call.Attempted.Contains(bound))
            {
                return bound;
            }

            // Gone, out of rotation or already failed: a key of no instance at all cannot be told from one whose
            // instance was removed, so both are refused alike (as YARP does).
            if (affinity.FailurePolicy == AffinityFailurePolicy.Return503)
            {
                throw new NoHealthyInstanceException(cluster.Id, sessionInstance: true);
            }
        }

        return cluster.Pick(call.Attempted);
    }

    /// <summary>
    /// The current span becomes the upstream's parent, injected by the same propagator HttpClient's diagnostics
    /// handler would use (traceparent, tracestate, baggage). A retry sends the same request message: the setter
    /// replaces what the previous attempt set instead of adding a second value.
    /// </summary>
    private static void JoinTrace(Activity current, HttpRequestMessage request) =>
        DistributedContextPropagator.Current.Inject(current, request.Headers, static (carrier, name, value) =>
        {
            var headers = (System.Net.Http.Headers.HttpRequestHeaders)carrier!;
            headers.Remove(name);
            headers.TryAddWithoutValidation(name, value);
        });

    /// <summary>A 5xx answer or a failed connection counts against the instance; the cause is put in words only when its status changes.</summary>
    private void Report(ServiceCluster cluster, ServiceInstance instance, int unhealthyThreshold, bool triedBefore, int status = 0, HttpRequestError? error = null)
    {
        var success = error is null && status < 500;
        if (!success && triedBefore)
        {
            return;
        }

        if (instance.Record(success, unhealthyThreshold, healthyThreshold: int.MaxValue, isProbe: false) is { } changed)
        {
            registry.ReportStatusChange(cluster, instance, changed, error is { } failure ? $"connection failed: {failure}" : $"upstream answered {status}");
        }
    }
}
