using Gateway.Core.Storage;
using StackExchange.Redis;

namespace Gateway.Core.RateLimiting;

/// <summary>
/// Decisions in Redis, shared by every replica: each is ONE atomic Lua script call (StackExchange.Redis sends it
/// by SHA and reloads it by itself on NOSCRIPT, node by node on a cluster). Scripts read Redis' own clock, so
/// replicas with skewed clocks still agree. Each script touches one key, hash-tagged, with a TTL of one window.
/// </summary>
public sealed class RedisRateLimitStore(RedisConnection redis) : IRateLimitStore
{
    // KEYS[1] sorted set of admissions; ARGV: limit, window ms, unique member.
    private const string SlidingWindowScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local limit = tonumber(ARGV[1])
        local window = tonumber(ARGV[2])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
        local count = redis.call('ZCARD', KEYS[1])
        if count < limit then
          redis.call('ZADD', KEYS[1], now, ARGV[3])
          redis.call('PEXPIRE', KEYS[1], window)
          local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
          return {1, limit - count - 1, tonumber(oldest[2]) + window - now}
        end
        local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
        return {0, 0, tonumber(oldest[2]) + window - now}
        """;

    // KEYS[1] counter of the current window; ARGV: limit, window ms.
    private const string FixedWindowScript = """
        local count = redis.call('INCR', KEYS[1])
        if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]); ttl = tonumber(ARGV[2]) end
        if count <= tonumber(ARGV[1]) then return {1, tonumber(ARGV[1]) - count, ttl} end
        return {0, 0, ttl}
        """;

    // KEYS[1] hash {tokens, ts}; ARGV: capacity, window ms (time to refill from empty).
    private const string TokenBucketScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local capacity = tonumber(ARGV[1])
        local perMs = capacity / tonumber(ARGV[2])
        local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
        local tokens = tonumber(state[1]) or capacity
        local ts = tonumber(state[2]) or now
        tokens = math.min(capacity, tokens + math.max(0, now - ts) * perMs)
        local allowed = 0
        if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
        redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        local reset = math.ceil((capacity - tokens) / perMs)
        if allowed == 1 then return {1, math.floor(tokens), reset} end
        return {0, 0, reset, math.ceil((1 - tokens) / perMs)}
        """;

    public RateLimitDecision? TryDecide(string key, RateLimitPolicyConfig policy) => null;

    public async ValueTask<RateLimitDecision> DecideAsync(string key, RateLimitPolicyConfig policy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var window = (long)policy.Window.TotalMilliseconds;
        RedisKey[] keys = [redis.Key(key)];
        var result = (RedisResult[])(await (policy.Algorithm switch
        {
            RateLimitAlgorithm.FixedWindow => redis.Database.ScriptEvaluateAsync(FixedWindowScript, keys, [policy.PermitLimit, window]),
            RateLimitAlgorithm.TokenBucket => redis.Database.ScriptEvaluateAsync(TokenBucketScript, keys, [policy.PermitLimit, window]),
            _ => redis.Database.ScriptEvaluateAsync(SlidingWindowScript, keys, [policy.PermitLimit, window, Guid.NewGuid().ToString("N")]),
        }).ConfigureAwait(false))!;

        var reset = TimeSpan.FromMilliseconds(Math.Max(0, (long)result[2]));
        if ((long)result[0] == 1)
        {
            return RateLimitDecision.Admit(policy.PermitLimit, (long)result[1], reset);
        }

        var retry = result.Length > 3 ? TimeSpan.FromMilliseconds((long)result[3]) : reset;
        return RateLimitDecision.Deny(policy.PermitLimit, reset, retry);
    }
}
