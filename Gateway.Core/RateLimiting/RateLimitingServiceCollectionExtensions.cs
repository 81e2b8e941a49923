using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Gateway.Core.RateLimiting;

public static class RateLimitingServiceCollectionExtensions
{
    /// <summary>The gateway limiter as ASP.NET Core's global limiter, refusing with 429 (the middleware's default is 503).</summary>
    public static IServiceCollection AddGatewayRateLimiting(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<RateLimitStores>();
        services.TryAddSingleton<RateLimitMetrics>();
        services.TryAddSingleton<GatewayRateLimiter>();
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<GatewayRateLimiter>((options, limiter) =>
        {
            options.GlobalLimiter = limiter;
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = RateLimitHeaders.OnRejected;
        });
        return services;
    }
}
