using System.Collections.Concurrent;
using Gateway.Core.Storage;
using StackExchange.Redis;

namespace Gateway.Core.RateLimiting;

/// <summary>
/// Approximate mode for very high rates: a replica takes up to <c>BatchSize</c> permits of the current fixed
/// window from Redis in one call and spends them locally, so most requests need no round trip. Grants never
/// exceed the limit, so admissions stay ≤ N per window; the price is that permits a replica took but did not use
/// are lost for the others, so a client can be refused up to (replicas − 1) × batch early. The documented bound
/// "N + replicas × batch" holds with room to spare.
/// </summary>
public sealed class ApproximateRateLimitStore(RedisConnection redis, TimeProvider time) : IRateLimitStore
{
    // KEYS[1] window counter; ARGV: limit, window ms, batch. Returns {granted, ttl ms, used after grant}.
    private const string GrantScript = """
        local used = tonumber(redis.call('GET', KEYS[1]) or '0')
        local ttl = redis.call('PTTL', KEYS[1])
        local grant = math.min(tonumber(ARGV[3]), tonumber(ARGV[1]) - used)
        if grant > 0 then
          used = redis.call('INCRBY', KEYS[1], grant)
          if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]); ttl = tonumber(ARGV[2]) end
        else
          grant = 0
          if ttl < 0 then ttl = 0 end
        end
        return {grant, ttl, used}
        """;

    private readonly ConcurrentDictionary<string, LocalBatch> _batches = new(StringComparer.Ordinal);

    // One refill in flight per key: concurrent requests that find the batch empty wait for the same grant instead
    // of each taking a batch and overwriting the others' (which would throw permits away).
    private readonly ConcurrentDictionary<string, Lazy<Task<Grant>>> _refills = new(StringComparer.Ordinal);

    public RateLimitDecision? TryDecide(string key, RateLimitPolicyConfig policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return _batches.TryGetValue(key, out var batch) ? batch.TrySpend(time.GetUtcNow(), policy.PermitLimit) : null;
    }

    public async ValueTask<RateLimitDecision> DecideAsync(string key, RateLimitPolicyConfig policy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policy);
        while (true)
        {
            if (TryDecide(key, policy) is { } local)
            {
                return local;
            }

            var refill = _refills.GetOrAdd(key, k => new Lazy<Task<Grant>>(() => RefillAsync(k, policy)));
            Grant grant;
            try
            {
                grant = await refill.Value.ConfigureAwait(false);
            }
            finally
            {
                _refills.TryRemove(new KeyValuePair<string, Lazy<Task<Grant>>>(key, refill));
            }

            if (grant.Granted == 0)
            {
                return RateLimitDecision.Deny(policy.PermitLimit, grant.Reset, grant.Reset);
            }

            // Others waiting on the same grant may have spent it already: then take the next one.
        }
    }

    private async Task<Grant> RefillAsync(string key, RateLimitPolicyConfig policy)
    {
        var result = (RedisResult[])(await redis.Database.ScriptEvaluateAsync(GrantScript, [redis.Key(key)],
            [policy.PermitLimit, (long)policy.Window.TotalMilliseconds, policy.BatchSize]).ConfigureAwait(false))!;
        var granted = (long)result[0];
        var reset = TimeSpan.FromMilliseconds((long)result[1]);
        if (granted > 0)
        {
            _batches[key] = new LocalBatch(granted, time.GetUtcNow() + reset, policy.PermitLimit - (long)result[2]);
        }

        return new Grant(granted, reset);
    }

    private readonly record struct Grant(long Granted, TimeSpan Reset);

    /// <summary>Permits this replica holds for one window; what is left of the shared budget is an estimate.</summary>
    private sealed class LocalBatch(long tokens, DateTimeOffset expires, long unclaimedElsewhere)
    {
        private long _tokens = tokens;

        public long Remaining => Math.Max(0, Volatile.Read(ref _tokens)) + unclaimedElsewhere;

        public RateLimitDecision? TrySpend(DateTimeOffset now, long limit)
        {
            if (now >= expires || Interlocked.Decrement(ref _tokens) < 0)
            {
                return null;
            }

            return RateLimitDecision.Admit(limit, Remaining, expires - now);
        }
    }
}
