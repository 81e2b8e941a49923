using Microsoft.Extensions.Logging;

namespace Gateway.Core.Discovery;

internal static partial class DiscoveryLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Instance {Cluster}/{Instance} ({Address}) left rotation: {Cause}")]
    public static partial void BecameUnhealthy(ILogger logger, string cluster, string instance, string address, string cause);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Instance {Cluster}/{Instance} ({Address}) is healthy: {Cause}")]
    public static partial void BecameHealthy(ILogger logger, string cluster, string instance, string address, string cause);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Configuration reloaded: {Count} clusters synchronised")]
    public static partial void Reloaded(ILogger logger, int count);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Cluster {Cluster} added by a configuration reload, {Count} instances")]
    public static partial void ClusterAdded(ILogger logger, string cluster, int count);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "Configuration reload rejected, previous instances kept: {Reason}")]
    public static partial void ReloadRejected(ILogger logger, string reason);
}
