using System.Collections.Concurrent;
using System.Text.Json;
using Gateway.Core.Storage;
using StackExchange.Redis;

namespace Gateway.Core.Flows;

/// <summary>A finished response kept for replay.</summary>
public sealed record StoredResponse(int Status, string Body);

public enum IdempotencyState
{
    /// <summary>This call owns the key: run the work, then complete it.</summary>
    Started,

    /// <summary>The first call with this key is still running.</summary>
    InProgress,

    /// <summary>Done before with the same body: replay <see cref="IdempotencyClaim.Response"/>.</summary>
    Completed,

    /// <summary>The key was used with a different body.</summary>
    Mismatch,
}

public sealed record IdempotencyClaim(IdempotencyState State, StoredResponse? Response = null);

/// <summary>
/// Idempotency keys of the flow endpoint. A key is claimed atomically (Redis <c>SET NX</c>), so of two concurrent
/// calls exactly one runs. The running marker expires after <c>runningTtl</c>, so a crashed replica cannot block a
/// key for a day; the finished response is kept for <c>ttl</c> (24 h by default).
/// </summary>
public interface IIdempotencyStore
{
    Task<IdempotencyClaim> TryBeginAsync(string key, string bodyHash, TimeSpan runningTtl, CancellationToken cancellationToken);

    Task CompleteAsync(string key, string bodyHash, StoredResponse response, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>Frees a key whose work changed nothing, so the client may try again with it.</summary>
    Task ReleaseAsync(string key, CancellationToken cancellationToken);
}

internal sealed record IdempotencyRecord(string Hash, bool Done, StoredResponse? Response)
{
    public IdempotencyClaim ClaimFor(string bodyHash) =>
        Hash != bodyHash ? new(IdempotencyState.Mismatch)
        : Done ? new(IdempotencyState.Completed, Response)
        : new(IdempotencyState.InProgress);
}

public sealed class InMemoryIdempotencyStore(TimeProvider time) : IIdempotencyStore
{
    /// <summary>Expired records are swept every this many new keys: a key is rarely used again, and was kept forever.</summary>
    private const int SweepEvery = 1024;
    private readonly ConcurrentDictionary<string, (IdempotencyRecord Record, DateTimeOffset Expires)> _records = new(StringComparer.Ordinal);
    private int _added;

    public int Count => _records.Count;

    public Task<IdempotencyClaim> TryBeginAsync(string key, string bodyHash, TimeSpan runningTtl, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        while (true)
        {
            if (_records.TryAdd(key, (new IdempotencyRecord(bodyHash, false, null), now + runningTtl)))
            {
                if (Interlocked.Increment(ref _added) % SweepEvery == 0)
                {
                    Sweep(now);
                }

                return Task.FromResult(new IdempotencyClaim(IdempotencyState.Started));
            }

            if (_records.TryGetValue(key, out var existing))
            {
                if (existing.Expires > now)
                {
                    return Task.FromResult(existing.Record.ClaimFor(bodyHash));
                }

                _records.TryRemove(KeyValuePair.Create(key, existing));
            }
        }
    }

    private void Sweep(DateTimeOffset now)
    {
        foreach (var entry in _records)
        {
            if (entry.Value.Expires <= now)
            {
                _records.TryRemove(entry);
            }
        }
    }

    public Task CompleteAsync(string key, string bodyHash, StoredResponse response, TimeSpan ttl, CancellationToken cancellationToken)
    {
        _records[key] = (new IdempotencyRecord(bodyHash, true, response), time.GetUtcNow() + ttl);
        return Task.CompletedTask;
    }

    public Task ReleaseAsync(string key, CancellationToken cancellationToken)
    {
        _records.TryRemove(key, out _);
        return Task.CompletedTask;
    }
}

public sealed class RedisIdempotencyStore(RedisConnection redis) : IIdempotencyStore
{
    public async Task<IdempotencyClaim> TryBeginAsync(string key, string bodyHash, TimeSpan runningTtl, CancellationToken cancellationToken)
    {
        var redisKey = redis.Key("idem:" + key);
        var running = JsonSerializer.Serialize(new IdempotencyRecord(bodyHash, false, null));
        if (await redis.Database.StringSetAsync(redisKey, running, runningTtl, When.NotExists).ConfigureAwait(false))
        {
            return new IdempotencyClaim(IdempotencyState.Started);
        }

        var stored = await redis.Database.StringGetAsync(redisKey).ConfigureAwait(false);
        // Expired between the two calls: claim it again.
        return stored.IsNull
            ? await TryBeginAsync(key, bodyHash, runningTtl, cancellationToken).ConfigureAwait(false)
            : JsonSerializer.Deserialize<IdempotencyRecord>(stored.ToString())!.ClaimFor(bodyHash);
    }

    public Task CompleteAsync(string key, string bodyHash, StoredResponse response, TimeSpan ttl, CancellationToken cancellationToken) =>
        redis.Database.StringSetAsync(redis.Key("idem:" + key), JsonSerializer.Serialize(new IdempotencyRecord(bodyHash, true, response)), ttl);

    public Task ReleaseAsync(string key, CancellationToken cancellationToken) => redis.Database.KeyDeleteAsync(redis.Key("idem:" + key));
}
