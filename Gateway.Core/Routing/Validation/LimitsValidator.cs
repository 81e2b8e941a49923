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

        if (limits.UpstreamTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{key}:UpstreamTimeout: must be positive.");
        }
    }
}

internal static class TrustedProxyValidator
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
