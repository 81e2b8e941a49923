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
