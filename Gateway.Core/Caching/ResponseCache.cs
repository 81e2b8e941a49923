using Gateway.Core.Routing;
using Gateway.Core.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.AspNetCore.OutputCaching.StackExchangeRedis;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Caching;

/// <summary>
/// Route response caching by the framework's output cache: the route's policy is endpoint metadata, and the
/// middleware runs after authorization and rate limiting, so a cached answer is still counted against the limits.
/// The framework's default policy keeps only anonymous GET/HEAD 200s without cookies; the gateway adds what a shared
/// cache in front of services owes them (RFC 9111): an answer the upstream marks <c>no-store</c>, <c>private</c> or
/// <c>no-cache</c>, or that varies by a header the route does not key on, is not kept, and its <c>max-age</c> caps
/// the route's duration. The gateway's own per-request headers (correlation, trace, response time, rate limits) are
/// written when each answer starts, so a cached answer carries the current request's, not the first one's.
/// With <c>Gateway:Caching:Store</c> = Redis the entries are kept in Redis, so every replica serves what one of them
/// stored and a purge empties the route on all of them; by default, in this process's memory.
/// </summary>
public static class ResponseCache
{
    public static IServiceCollection AddGatewayCaching(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOutputCache();
        if (InRedis(configuration))
        {
            AddRedisStore(services, HasOwnRedis(configuration));
        }

        services.AddOptions<OutputCacheOptions>().Configure<IOptions<GatewayOptions>>((cache, gateway) =>
        {
            // Upstream paths are case-sensitive: /Catalog and /catalog may be different answers.
            cache.UseCaseSensitivePaths = true;
            cache.SizeLimit = gateway.Value.Caching.SizeLimit;
            cache.MaximumBodySize = gateway.Value.Caching.MaxBodySize;
        });
        return services;
    }

    /// <summary>
    /// Whether the answers are kept in Redis (<c>Store: Redis</c>), read from configuration before the options exist:
    /// as the binder reads it (names in any case, or the number), so the services match the options.
    /// </summary>
    public static bool InRedis(IConfiguration configuration) =>
        Enum.TryParse<CacheStore>(Section(configuration)[nameof(CachingConfig.Store)], ignoreCase: true, out var store) && store == CacheStore.Redis;

    /// <summary>Whether that Redis is the cache's own (<see cref="CachingConfig.RedisConfiguration"/>), connected as <see cref="CacheRedisKey"/>.</summary>
    public static bool HasOwnRedis(IConfiguration configuration) =>
        InRedis(configuration) && Section(configuration)[nameof(CachingConfig.RedisConfiguration)] is { Length: > 0 };

    private static IConfigurationSection Section(IConfiguration configuration) =>
        configuration.GetSection(GatewayOptions.SectionName).GetSection(nameof(GatewayOptions.Caching));

    /// <summary>The service key of the cache's own Redis connection, when it has one.</summary>
    public const string CacheRedisKey = "response-cache";

    private static void AddRedisStore(IServiceCollection services, bool ownRedis)
    {
        // Registered after the memory store, so it is the one resolved, and wrapped (see SharedCacheStore).
        services.AddStackExchangeRedisOutputCache(_ => { });
        var redisStore = services.Last(service => service.ServiceType == typeof(IOutputCacheStore));
        services.Remove(redisStore);
        services.AddSingleton<IOutputCacheStore>(provider => new SharedCacheStore(
            (IOutputCacheBufferStore)ActivatorUtilities.CreateInstance(provider, redisStore.ImplementationType!),
            provider.GetRequiredService<Microsoft.Extensions.Logging.ILogger<SharedCacheStore>>()));

        if (ownRedis)
        {
            // The gateway's connection settings (timeouts, fail-fast while down) on the cache's own Redis, opened at start-up.
            services.AddKeyedSingleton(CacheRedisKey, static (provider, _) =>
            {
                var gateway = provider.GetRequiredService<IOptions<GatewayOptions>>().Value;
                return new RedisConnection(gateway.Redis with { Configuration = gateway.Caching.RedisConfiguration });
            });
            services.AddSingleton<Microsoft.Extensions.Hosting.IHostedService>(static provider =>
                new RedisStartup(provider.GetRequiredKeyedService<RedisConnection>(CacheRedisKey)));
        }

        services.AddOptions<RedisOutputCacheOptions>().Configure<IServiceProvider>((store, provider) =>
        {
            var redis = ownRedis ? provider.GetRequiredKeyedService<RedisConnection>(CacheRedisKey) : provider.GetRequiredService<RedisConnection>();
            // The framework lets a failed lookup or store pass: the answer then comes from the upstream.
            store.ConnectionMultiplexerFactory = redis.MultiplexerAsync;
            store.InstanceName = redis.Config.KeyPrefix + "cache:";
        });
    }

    /// <summary>Adds the middleware only when a route caches: the rest of the gateway pays nothing for it.</summary>
    public static WebApplication UseGatewayCaching(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value;
        if (RouteBranches.InPipeline(options, RouteBranch.Caching))
        {
            app.UseOutputCache();
        }

        return app;
    }

    /// <summary>The header caches in front of web servers (Varnish, CDNs) answer with.</summary>
    public const string CacheStatusHeader = "X-Cache";

    /// <summary>
    /// Set as the answer starts, after the output cache has replayed a stored answer's headers (which hold the
    /// MISS of the answer it stored): the forwarder ran for this request, or the cache answered.
    /// </summary>
    private static Task MarkHitOrMiss(object state)
    {
        var context = (HttpContext)state;
        context.Response.Headers[CacheStatusHeader] = context.Features.Get<Observability.ProxyRequestFeature>() is null ? "HIT" : "MISS";
        return Task.CompletedTask;
    }

    /// <summary>The route's cache policy as endpoint metadata; its entries carry the route's tag, so they can be purged together.</summary>
    public static void Apply(RouteGroupBuilder group, string routeId, RouteCacheConfig? cache)
    {
        ArgumentNullException.ThrowIfNull(group);
        if (cache?.Duration is not { } duration)
        {
            return;
        }

        group.CacheOutput(policy =>
        {
            policy.Expire(duration).Tag(RouteTag(routeId)).AddPolicy<RouteCachePolicy>();
            if (cache.VaryByHeaders.Length > 0)
            {
                policy.SetVaryByHeader(cache.VaryByHeaders);
            }
        });
    }

    /// <summary>Drops every answer kept for the route, in whichever store holds them; false when Redis could not be reached.</summary>
    public static async Task<bool> PurgeAsync(IOutputCacheStore store, string routeId, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(store);
        try
        {
            await store.EvictByTagAsync(RouteTag(routeId), cancellation).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (SharedCacheStore.IsUnreachable(ex))
        {
            return false;
        }
    }

    private static string RouteTag(string routeId) => "route:" + routeId;

    /// <summary>
    /// Called once the upstream's headers are copied, before its body: what they say about caching decides whether
    /// the answer is kept, and for how long, before a byte of it is buffered.
    /// </summary>
    internal static void ApplyUpstreamRules(HttpContext context, HttpResponseMessage upstream, RouteCacheConfig cache)
    {
        if (context.Features.Get<IOutputCacheFeature>()?.Context is not { AllowCacheStorage: true } storing)
        {
            return;
        }

        var control = upstream.Headers.CacheControl;
        if (control is { NoStore: true } or { Private: true } or { NoCache: true } || !VariesOnlyBy(upstream, cache.VaryByHeaders))
        {
            storing.AllowCacheStorage = false;
            return;
        }

        if ((control?.SharedMaxAge ?? control?.MaxAge) is { } maxAge)
        {
            if (maxAge <= TimeSpan.Zero)
            {
                storing.AllowCacheStorage = false;
            }
            else if (storing.ResponseExpirationTimeSpan is not { } configured || maxAge < configured)
            {
                storing.ResponseExpirationTimeSpan = maxAge;
            }
        }
    }

    private static bool VariesOnlyBy(HttpResponseMessage upstream, string[] keyed)
    {
        foreach (var name in upstream.Headers.Vary)
        {
            if (!keyed.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The entry is keyed on the query string exactly as the client sent it. The framework's default keys on the parsed
    /// query with names upper-cased and repeated values sorted, so <c>?Sort=a</c> and <c>?sort=a</c>, or
    /// <c>?id=2&amp;id=1</c> and <c>?id=1&amp;id=2</c>, would share an answer an upstream may give differently.
    /// The cache runs this for its routes' requests only, so it is also where their <c>X-Cache</c> is arranged.
    /// </summary>
    private sealed class RouteCachePolicy : IOutputCachePolicy
    {
        public ValueTask CacheRequestAsync(OutputCacheContext context, CancellationToken cancellation)
        {
            context.CacheVaryByRules.QueryKeys = Microsoft.Extensions.Primitives.StringValues.Empty;
            context.CacheVaryByRules.VaryByValues["query"] = context.HttpContext.Request.QueryString.Value ?? string.Empty;
            context.HttpContext.Response.OnStarting(MarkHitOrMiss, context.HttpContext);
            return ValueTask.CompletedTask;
        }

        public ValueTask ServeFromCacheAsync(OutputCacheContext context, CancellationToken cancellation) => ValueTask.CompletedTask;

        public ValueTask ServeResponseAsync(OutputCacheContext context, CancellationToken cancellation) => ValueTask.CompletedTask;
    }
}
