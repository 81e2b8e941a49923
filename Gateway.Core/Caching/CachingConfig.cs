namespace Gateway.Core.Caching;

/// <summary>
/// A route's response cache: anonymous GET and HEAD answers of 200 kept for <see cref="Duration"/>, one entry per
/// path and query (and per value of each <see cref="VaryByHeaders"/> header), as Ocelot's <c>FileCacheOptions</c>.
/// </summary>
public sealed record RouteCacheConfig
{
    /// <summary>How long an answer is served from the cache; an upstream's shorter <c>max-age</c> wins.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Request headers the answer depends on: one entry per value. An upstream's <c>Vary</c> must name no other.</summary>
    public string[] VaryByHeaders { get; init; } = [];
}

/// <summary>Where cached answers are kept.</summary>
public enum CacheStore
{
    /// <summary>In each gateway process: replicas do not share answers.</summary>
    Memory,

    /// <summary>In Redis: every replica serves what one stored, and a purge reaches all of them.</summary>
    Redis,
}

/// <summary>The response cache's store and bounds (<c>Gateway:Caching</c>).</summary>
public sealed record CachingConfig
{
    /// <summary>Memory by default. Redis needs <c>Gateway:Redis</c> or <see cref="RedisConfiguration"/>.</summary>
    public CacheStore Store { get; init; } = CacheStore.Memory;

    /// <summary>
    /// A Redis of the cache's own (a StackExchange.Redis configuration string); empty = the gateway's
    /// <c>Gateway:Redis</c>. Cached answers can fill a Redis: on a Redis of their own, its <c>maxmemory</c> and
    /// eviction policy bound them without putting the gateway's revocations and rate-limit counters at stake.
    /// </summary>
    public string? RedisConfiguration { get; init; }

    /// <summary>Bytes of answers kept in all in the process's memory (Store: Memory); the least recently used go first beyond it.</summary>
    public long SizeLimit { get; init; } = 64L * 1024 * 1024;

    /// <summary>Bytes of the largest body kept; a larger answer streams through uncached, never buffered whole.</summary>
    public long MaxBodySize { get; init; } = 1024 * 1024;
}
