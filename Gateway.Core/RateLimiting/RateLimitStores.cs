using Gateway.Core.Routing;
using Gateway.Core.Storage;
using Microsoft.Extensions.Options;

namespace Gateway.Core.RateLimiting;

/// <summary>Which store decides for a policy: Redis (exact or approximate) when configured, memory otherwise.</summary>
public sealed class RateLimitStores
{
    private readonly IRateLimitStore _exact;
    private readonly IRateLimitStore? _approximate;

    public RateLimitStores(IOptions<GatewayOptions> options, RedisConnection redis, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Value.Redis.IsConfigured)
        {
            _exact = new RedisRateLimitStore(redis);
            _approximate = new ApproximateRateLimitStore(redis, time);
        }
        else
        {
            _exact = new InMemoryRateLimitStore(time);
        }
    }

    /// <summary>Without Redis every replica counts alone, so approximate mode has nothing to approximate.</summary>
    public IRateLimitStore For(RateLimitPolicyConfig policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return policy.Mode == RateLimitMode.Approximate && _approximate is not null ? _approximate : _exact;
    }
}
