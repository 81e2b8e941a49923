using System.Globalization;
using Gateway.Core.Discovery;
using Gateway.Core.Observability;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Gateway.Core.Forwarding;

/// <summary>
/// Maps a failed upstream call to what the client gets: nothing when the client left; 413/400 when its body was
/// refused; 503 with Retry-After when the breaker is open or no instance is healthy; 504 on timeout; else 502.
/// </summary>
internal sealed class UpstreamFailures(ServiceRegistry registry, ILogger<UpstreamFailures> logger)
{
    /// <summary>What a call to a cluster throws when it got no usable answer, as opposed to a bug of the gateway's.</summary>
    public static bool IsUpstreamFailure(Exception ex) =>
        ex is HttpRequestException or OperationCanceledException or IOException or Polly.ExecutionRejectedException or NoHealthyInstanceException
            or WebSocketsNotSupportedException;

    public ValueTask HandleAsync(HttpContext context, UpstreamCall call, StreamingRequestContent? content, Exception error)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(call);
        var route = call.Route;
        var instance = call.InstanceId;

        if (content?.ClientReadError is BadHttpRequestException bad)
        {
            // Kestrel refused the client's body (over the limit, or malformed chunking).
            ForwarderLog.Refused(logger, route.Id, bad.Message);
            return GatewayProblems.WriteUnreadableBodyAsync(context, bad);
        }

        if (context.RequestAborted.IsCancellationRequested || content?.ClientReadError is not null)
        {
            ForwarderLog.ClientAborted(logger, route.Id);
            return ValueTask.CompletedTask;
        }

        switch (error)
        {
            case BrokenCircuitException open:
                System.Diagnostics.Activity.Current?.AddEvent(new System.Diagnostics.ActivityEvent("gateway.circuit_open"));
                var retryAfter = open.RetryAfter ?? registry.Get(route.ClusterId).Config.CircuitBreaker.BreakDuration;
                ForwarderLog.CircuitOpen(logger, route.Id, route.ClusterId);
                return Unavailable(context, retryAfter, open is IsolatedCircuitException
                    ? $"Service '{route.ClusterId}' is held off by its operators; no upstream call was made."
                    : $"The circuit breaker of service '{route.ClusterId}' is open; no upstream call was made.");
            case Polly.RateLimiting.RateLimiterRejectedException busy:
                ForwarderLog.AtCapacity(logger, route.Id, route.ClusterId);
                return Unavailable(context, busy.RetryAfter ?? TimeSpan.FromSeconds(1), $"Service '{route.ClusterId}' has as many calls open as it takes; no upstream call was made.");
            case NoHealthyInstanceException { SessionInstance: true }:
                ForwarderLog.SessionInstanceUnavailable(logger, route.Id, route.ClusterId);
                return Unavailable(context, registry.Get(route.ClusterId).Config.HealthCheck.Interval, $"The instance of service '{route.ClusterId}' that holds this session is not available.");
            case NoHealthyInstanceException:
                ForwarderLog.NoHealthyInstance(logger, route.Id, route.ClusterId);
                return Unavailable(context, registry.Get(route.ClusterId).Config.HealthCheck.Interval, $"Service '{route.ClusterId}' has no healthy instance.");
            case WebSocketsNotSupportedException:
                ForwarderLog.WebSocketsNotSupported(logger, route.Id, route.ClusterId, instance);
                return GatewayProblems.WriteAsync(context, StatusCodes.Status502BadGateway, "The upstream service does not accept WebSockets over HTTP/2.");
            case TimeoutRejectedException or OperationCanceledException:
                ForwarderLog.UpstreamTimeout(logger, route.Id, route.ClusterId, instance, route.Timeout.TotalMilliseconds);
                return GatewayProblems.WriteAsync(context, StatusCodes.Status504GatewayTimeout, "The upstream service did not answer in time.");
            default:
                ForwarderLog.UpstreamUnreachable(logger, route.Id, route.ClusterId, instance, error.GetBaseException().Message);
                return GatewayProblems.WriteAsync(context, StatusCodes.Status502BadGateway, "The upstream service could not be reached.");
        }
    }

    private static ValueTask Unavailable(HttpContext context, TimeSpan retryAfter, string detail)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return GatewayProblems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, detail);
    }
}
