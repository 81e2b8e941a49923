using Microsoft.Extensions.Logging;

namespace Gateway.Core.Identity;

internal static partial class IdentityLog
{
    [LoggerMessage(EventId = 7001, Level = LogLevel.Warning,
        Message = "A session on route {Route} holds more than {Limit} bytes of data, more than the gateway carries upstream; answered 502")]
    public static partial void SessionTooLarge(ILogger logger, string route, int limit);
}
