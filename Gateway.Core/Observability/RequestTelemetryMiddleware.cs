using System.Diagnostics;
using Gateway.Core.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Core.Observability;

/// <summary>
/// One access-log line and one set of request metrics per request, written when the response is complete. The
/// path is logged without its query string (it may carry a token); headers are never logged.
/// </summary>
public sealed partial class RequestTelemetryMiddleware(RequestDelegate next, GatewayTelemetry telemetry, ILogger<RequestTelemetryMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var elapsed = Stopwatch.GetElapsedTime(started);
            var proxy = context.Features.Get<ProxyRequestFeature>();
            var route = proxy?.Route ?? context.GetEndpoint()?.Metadata.GetMetadata<IRateLimitPolicyMetadata>()?.RouteName ?? "-";
            var service = proxy?.Cluster ?? "-";
            var status = context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted ? 499 : context.Response.StatusCode;
            // What the client was sent; a call whose stream was reset got no status.
            var grpc = GrpcAnswer.IsGrpc(context.Request) && !context.RequestAborted.IsCancellationRequested ? GrpcAnswer.StatusOf(context) : null;
            telemetry.Record(context.Request.Method, route, service, status, grpc, proxy is { Tunnel: true } ? null : elapsed.TotalSeconds);

            if (grpc is { } code)
            {
                LogGrpcCall(context, proxy, route, service, status, code, elapsed);
            }
            else
            {
                LogRequest(context, proxy, route, service, status, elapsed);
            }
        }
    }

    private void LogRequest(HttpContext context, ProxyRequestFeature? proxy, string route, string service, int status, TimeSpan elapsed)
    {
        var level = status >= 500 ? LogLevel.Error : status >= 400 ? LogLevel.Warning : LogLevel.Information;
        if (logger.IsEnabled(level))
        {
#pragma warning disable CA1873 // guarded by IsEnabled just above
            AccessLog(logger, level, context.Request.Method, context.Request.Path.Value ?? "/", route, service, proxy?.Instance ?? "-",
                status, Math.Round(elapsed.TotalMilliseconds, 3), proxy?.BytesIn ?? context.Request.ContentLength ?? 0,
                proxy?.BytesOut ?? context.Response.ContentLength ?? 0, proxy?.Attempts ?? 0);
#pragma warning restore CA1873
        }
    }

    /// <summary>
    /// A gRPC call's line carries its gRPC status, and its level follows that status the way the HTTP status sets the
    /// others': the codes gRPC maps to a server's failure (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL,
    /// UNAVAILABLE, DATA_LOSS) are errors, the rest but OK warnings.
    /// </summary>
    private void LogGrpcCall(HttpContext context, ProxyRequestFeature? proxy, string route, string service, int status, int grpc, TimeSpan elapsed)
    {
        if (Activity.Current is { Recorded: true } activity)
        {
            activity.SetTag("rpc.grpc.status_code", grpc);
        }

        var level = grpc == 0 ? LogLevel.Information : GrpcAnswer.IsServerFailure(grpc) ? LogLevel.Error : LogLevel.Warning;
        if (logger.IsEnabled(level))
        {
#pragma warning disable CA1873 // guarded by IsEnabled just above
            GrpcAccessLog(logger, level, context.Request.Method, context.Request.Path.Value ?? "/", route, service, proxy?.Instance ?? "-",
                status, grpc, Math.Round(elapsed.TotalMilliseconds, 3), proxy?.BytesIn ?? 0, proxy?.BytesOut ?? 0, proxy?.Attempts ?? 0);
#pragma warning restore CA1873
        }
    }

    [LoggerMessage(EventId = 5000, Message = "{Method} {Path} route={Route} cluster={Cluster} instance={Instance} status={StatusCode} elapsed_ms={ElapsedMs} bytes_in={BytesIn} bytes_out={BytesOut} attempts={Attempts}")]
    private static partial void AccessLog(ILogger logger, LogLevel level, string method, string path, string route, string cluster, string instance,
        int statusCode, double elapsedMs, long bytesIn, long bytesOut, int attempts);

    // The same event as AccessLog, so a query for access lines finds gRPC calls too.
    [LoggerMessage(EventId = 5001, EventName = "AccessLog", Message = "{Method} {Path} route={Route} cluster={Cluster} instance={Instance} status={StatusCode} grpc_status={GrpcStatus} elapsed_ms={ElapsedMs} bytes_in={BytesIn} bytes_out={BytesOut} attempts={Attempts}")]
    private static partial void GrpcAccessLog(ILogger logger, LogLevel level, string method, string path, string route, string cluster, string instance,
        int statusCode, int grpcStatus, double elapsedMs, long bytesIn, long bytesOut, int attempts);
}
