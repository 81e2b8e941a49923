using System.Collections.Concurrent;
using StackExchange.Redis;

namespace Gateway.Core.Storage;

/// <summary>
/// Remembers values seen for a while, shared by every replica through Redis when one is configured: the first to
/// mark a value wins, and marking it again before it is forgotten fails.
/// </summary>
public interface IReplayGuard
{
    /// <summary>True the first time <paramref name="value"/> is marked within <paramref name="remember"/>.</summary>
    Task<bool> TryMarkAsync(string value, TimeSpan remember);
}

public sealed class InMemoryReplayGuard(TimeProvider time) : IReplayGuard
{
    /// <summary>Expired marks are swept every this many new ones, so values that never come back are not kept forever.</summary>
    private const int SweepEvery = 1024;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);
    private int _added;

    public Task<bool> TryMarkAsync(string value, TimeSpan remember)
    {
        var now = time.GetUtcNow();
        while (!_seen.TryAdd(value, now + remember))
        {
            if (_seen.TryGetValue(value, out var until))
            {
                if (until > now)
                {
                    return Task.FromResult(false);
                }

                _seen.TryRemove(KeyValuePair.Create(value, until));
            }
        }

        if (Interlocked.Increment(ref _added) % SweepEvery == 0)
        {
            foreach (var (key, until) in _seen)
            {
                if (until <= now)
                {
                    _seen.TryRemove(KeyValuePair.Create(key, until));
                }
            }
        }

        return Task.FromResult(true);
    }

    public int Count => _seen.Count;
}

public sealed class RedisReplayGuard(RedisConnection redis) : IReplayGuard
{
    public Task<bool> TryMarkAsync(string value, TimeSpan remember) =>
        redis.Database.StringSetAsync(redis.Key("seen:" + value), 1, remember, When.NotExists);
}
