using System.Globalization;
using Gateway.Core.Storage;
using StackExchange.Redis;

namespace Gateway.Core.Identity;

/// <summary>
/// Revocations and sessions in Redis, shared by every replica. Keys: <c>{prefix}revoked:{id}</c> (TTL = the token's
/// remaining lifetime), <c>{prefix}revoked-user:{sub}</c> (unix seconds; TTL = the longest token lifetime) and
/// <c>session:{sid}</c>. Errors propagate: the caller applies the configured fail-open/closed mode.
/// </summary>
public sealed class RedisTokenStores(RedisConnection redis, Microsoft.Extensions.Options.IOptions<Routing.GatewayOptions> options) : ITokenRevocationStore, ISessionStore
{
    // Sessions are written by the login service, so their key has no gateway prefix.
    private readonly string _sessionPrefix = options.Value.Auth.SessionKeyPrefix;

    public Task RevokeTokenAsync(string tokenId, TimeSpan remainingLifetime, CancellationToken cancellationToken) =>
        redis.Database.StringSetAsync(redis.Key("revoked:" + tokenId), "1", remainingLifetime);

    public Task RevokeUserAsync(string subject, TimeSpan maxTokenLifetime, CancellationToken cancellationToken) =>
        redis.Database.StringSetAsync(redis.Key("revoked-user:" + subject),
            DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), maxTokenLifetime);

    public async Task<bool> IsRevokedAsync(string tokenId, string? subject, DateTimeOffset issuedAt, CancellationToken cancellationToken)
    {
        var database = redis.Database;
        // Both asked at once: StackExchange.Redis pipelines them, so one round trip, and on a cluster each key
        // goes to its own node (a script over both would need a shared hash slot).
        var token = database.KeyExistsAsync(redis.Key("revoked:" + tokenId));
        var user = subject is null ? Task.FromResult(RedisValue.Null) : database.StringGetAsync(redis.Key("revoked-user:" + subject));
        await Task.WhenAll(token, user).ConfigureAwait(false);
        return token.Result || (user.Result.TryParse(out long revokedBefore) && issuedAt.ToUnixTimeSeconds() <= revokedBefore);
    }

    public async Task<string?> GetAsync(string sessionId, CancellationToken cancellationToken)
    {
        var value = await redis.Database.StringGetAsync((RedisKey)(_sessionPrefix + sessionId)).ConfigureAwait(false);
        return value.IsNull ? null : value.ToString();
    }

    public Task SetAsync(string sessionId, string data, TimeSpan lifetime, CancellationToken cancellationToken) =>
        redis.Database.StringSetAsync((RedisKey)(_sessionPrefix + sessionId), data, lifetime);

    public Task RemoveAsync(string sessionId, CancellationToken cancellationToken) =>
        redis.Database.KeyDeleteAsync((RedisKey)(_sessionPrefix + sessionId));
}
