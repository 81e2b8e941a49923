using System.Net;

namespace Gateway.Core.Routing.Validation;

internal static class LimitsValidator
{
    public static void Validate(string key, LimitsConfig limits, List<string> errors)
    {
        if (limits.MaxRequestBodySize < 0)
        {
            errors.Add($"{key}:MaxRequestBodySize: must be zero or more bytes.");
        }

        if (limits.MaxRequestLineSize < 256)
        {
            errors.Add($"{key}:MaxRequestLineSize: must be at least 256 bytes.");
        }

        if (limits.MaxRequestHeaderCount is < 16 or > 10_000)
        {
            errors.Add($"{key}:MaxRequestHeaderCount: must be between 16 and 10000.");
        }

        if (limits.MaxRequestHeadersTotalSize < 1024)
        {
            errors.Add($"{key}:MaxRequestHeadersTotalSize: must be at least 1024 bytes.");
        }

        if (limits.UpstreamTimeout < TimeSpan.FromMilliseconds(10) || limits.UpstreamTimeout > TimeSpan.FromDays(1))
        {
            errors.Add($"{key}:UpstreamTimeout: must be between 10 ms and 1 day.");
        }

        if (limits.ResponseIdleTimeout < TimeSpan.FromMilliseconds(10) || limits.ResponseIdleTimeout > TimeSpan.FromDays(1))
        {
            errors.Add($"{key}:ResponseIdleTimeout: must be between 10 ms and 1 day.");
        }

        if (limits.RetryBodyBufferLimit is < 0 or > 16 * 1024 * 1024)
        {
            errors.Add($"{key}:RetryBodyBufferLimit: must be between 0 and 16 MiB.");
        }
    }
}

internal static class ShutdownValidator
{
    public static void Validate(string key, Hosting.ShutdownConfig shutdown, List<string> errors)
    {
        if (shutdown.DrainDelay < TimeSpan.Zero || shutdown.DrainDelay > TimeSpan.FromMinutes(10))
        {
            errors.Add($"{key}:DrainDelay: must be between 0 and 10 minutes.");
        }

        if (shutdown.Timeout <= TimeSpan.Zero || shutdown.Timeout > TimeSpan.FromHours(1))
        {
            errors.Add($"{key}:Timeout: must be more than 0 and at most 1 hour.");
        }
    }
}

internal static class NetworkListValidator
{
    public static void Validate(string key, string[] proxies, List<string> errors)
    {
        for (var i = 0; i < proxies.Length; i++)
        {
            if (!IPAddress.TryParse(proxies[i], out _) && !IPNetwork.TryParse(proxies[i], out _))
            {
                errors.Add($"{key}:{i}: '{proxies[i]}' is neither an IP address nor a CIDR range.");
            }
        }
    }
}
