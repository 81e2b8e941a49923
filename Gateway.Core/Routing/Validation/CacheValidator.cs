using Gateway.Core.Caching;
using Gateway.Core.Identity;

namespace Gateway.Core.Routing.Validation;

/// <summary>
/// A cached route serves one client's answer to the next, so it must be a route whose answer is the same for
/// everyone: anonymous, without a token in the query or a session, and one that takes GETs.
/// </summary>
internal static class CacheValidator
{
    public static void ValidateRoute(string key, RouteConfig route, List<string> errors)
    {
        if (route.Cache is not { } cache)
        {
            return;
        }

        if (cache.Duration is not { } duration || duration < TimeSpan.FromSeconds(1) || duration > TimeSpan.FromDays(1))
        {
            errors.Add($"{key}:Cache:Duration: must be between 1 second and 1 day.");
        }

        if (route.Authorization is { Length: > 0 } policy && policy != GatewayIdentityServiceCollectionExtensions.AnonymousPolicy)
        {
            errors.Add($"{key}:Cache: a cached answer is served to every caller, and this route requires authorization ({policy}).");
        }

        if (route.AllowQueryToken || route.RequireSession || route.ForwardToken)
        {
            errors.Add($"{key}:Cache: a cached answer is served to every caller, and this route passes on a token or session.");
        }

        if (route.Methods.Length > 0 && !route.Methods.Contains("GET", StringComparer.OrdinalIgnoreCase))
        {
            errors.Add($"{key}:Cache: only GET answers are cached, and Methods does not allow GET.");
        }

        if (route.WebSockets)
        {
            errors.Add($"{key}:Cache: a WebSocket route cannot be cached.");
        }

        for (var i = 0; i < cache.VaryByHeaders.Length; i++)
        {
            if (!Forwarding.HeaderRules.IsToken(cache.VaryByHeaders[i]))
            {
                errors.Add($"{key}:Cache:VaryByHeaders:{i}: '{cache.VaryByHeaders[i]}' is not a header name.");
            }
        }
    }

    public static void Validate(string key, CachingConfig caching, bool gatewayRedis, List<string> errors)
    {
        if (caching.RedisConfiguration is { Length: > 0 } own)
        {
            if (caching.Store != CacheStore.Redis)
            {
                errors.Add($"{key}:RedisConfiguration: is used only with Store: Redis.");
            }
            else if (!IsRedisConfiguration(own))
            {
                // Not quoted: a configuration string may carry a password.
                errors.Add($"{key}:RedisConfiguration: is not a StackExchange.Redis configuration string.");
            }
        }
        else if (caching.Store == CacheStore.Redis && !gatewayRedis)
        {
            errors.Add($"{key}:Store: Redis needs Gateway:Redis:Configuration or {key}:RedisConfiguration.");
        }

        if (caching.SizeLimit <= 0)
        {
            errors.Add($"{key}:SizeLimit: must be a positive number of bytes.");
        }

        if (caching.MaxBodySize <= 0 || caching.MaxBodySize > caching.SizeLimit)
        {
            errors.Add($"{key}:MaxBodySize: must be a positive number of bytes, not above SizeLimit.");
        }
    }

    private static bool IsRedisConfiguration(string configuration)
    {
        try
        {
            return StackExchange.Redis.ConfigurationOptions.Parse(configuration).EndPoints.Count > 0;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
