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

/// <summary>
/// The cache's bounds. With <c>Gateway:Redis</c> the answers live in Redis (shared by the replicas, each entry with
/// its own expiry) and <see cref="SizeLimit"/> does not apply: Redis' own <c>maxmemory</c> bounds them there.
/// </summary>
public sealed record CachingConfig
{
    /// <summary>Bytes of answers kept in all in the process's memory; the least recently used go first beyond it.</summary>
    public long SizeLimit { get; init; } = 64L * 1024 * 1024;

    /// <summary>Bytes of the largest body kept; a larger answer streams through uncached, never buffered whole.</summary>
    public long MaxBodySize { get; init; } = 1024 * 1024;
}
