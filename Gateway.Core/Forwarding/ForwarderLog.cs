using Microsoft.Extensions.Logging;

namespace Gateway.Core.Forwarding;

internal static partial class ForwarderLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Upstream {Cluster}/{Destination} unreachable for route {Route}: {Error}")]
    public static partial void UpstreamUnreachable(ILogger logger, string route, string cluster, string destination, string error);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Upstream {Cluster}/{Destination} did not answer route {Route} within {TimeoutMs} ms")]
    public static partial void UpstreamTimeout(ILogger logger, string route, string cluster, string destination, double timeoutMs);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Client aborted the request on route {Route}; upstream call cancelled")]
    public static partial void ClientAborted(ILogger logger, string route);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Upstream {Cluster}/{Destination} failed while streaming the response of route {Route}; connection aborted")]
    public static partial void ResponseStreamFailed(ILogger logger, string route, string cluster, string destination, Exception exception);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "Refused a request on route {Route}: {Reason}")]
    public static partial void Refused(ILogger logger, string route, string reason);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "Service {Cluster} of route {Route} has no healthy instance")]
    public static partial void NoHealthyInstance(ILogger logger, string route, string cluster);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning, Message = "Upstream {Cluster}/{Destination} sent route {Route} a response that cannot be relayed ({Reason}); answered 502")]
    public static partial void InvalidResponse(ILogger logger, string route, string cluster, string destination, string reason);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "Circuit of service {Cluster} is open; route {Route} answered 503 without an upstream call")]
    public static partial void CircuitOpen(ILogger logger, string route, string cluster);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Information, Message = "WebSocket on route {Route} to {Cluster}/{Destination} ended ({Reason}); {BytesUp} bytes up, {BytesDown} down")]
    public static partial void WebSocketClosed(ILogger logger, string route, string cluster, string destination, string reason, long bytesUp, long bytesDown);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "Upstream {Cluster}/{Destination} sent route {Route} a trailer that cannot be relayed ({Reason}); the client's stream was reset")]
    public static partial void InvalidTrailer(ILogger logger, string route, string cluster, string destination, string reason);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Error, Message = "Upstream {Cluster}/{Destination} speaks HTTP/2 without WebSockets (RFC 8441 extended CONNECT), so route {Route} cannot open one; answered 502. Set the cluster's HttpVersion to 1.1 for WebSockets, or enable extended CONNECT on the service")]
    public static partial void WebSocketsNotSupported(ILogger logger, string route, string cluster, string destination);

    [LoggerMessage(EventId = 1016, Level = LogLevel.Warning, Message = "The instance of service {Cluster} a session of route {Route} is bound to is not available, and its sessions cannot move (FailurePolicy Return503)")]
    public static partial void SessionInstanceUnavailable(ILogger logger, string route, string cluster);

    [LoggerMessage(EventId = 1017, Level = LogLevel.Warning, Message = "Service {Cluster} has as many calls open as its MaxConcurrentRequests (and queue) take; route {Route} answered 503 without an upstream call")]
    public static partial void AtCapacity(ILogger logger, string route, string cluster);
}
