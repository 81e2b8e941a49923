using System.Collections.Concurrent;

namespace Gateway.Core.Identity;

/// <summary>The embedded default (no Redis): right for one replica and for <c>./run.sh</c>, not shared across replicas.</summary>
public sealed class InMemoryTokenStores(TimeProvider time) : ITokenRevocationStore, ISessionStore
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _revokedTokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (DateTimeOffset RevokedBefore, DateTimeOffset Expires)> _revokedUsers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string Data, DateTimeOffset Expires)> _sessions = new(StringComparer.Ordinal);

    public Task RevokeTokenAsync(string tokenId, TimeSpan remainingLifetime, CancellationToken cancellationToken)
    {
        Sweep();
        _revokedTokens[tokenId] = time.GetUtcNow() + remainingLifetime;
        return Task.CompletedTask;
    }

    public Task RevokeUserAsync(string subject, TimeSpan maxTokenLifetime, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        _revokedUsers[subject] = (now, now + maxTokenLifetime);
        return Task.CompletedTask;
    }

    public Task<bool> IsRevokedAsync(string tokenId, string? subject, DateTimeOffset issuedAt, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var revoked = (_revokedTokens.TryGetValue(tokenId, out var until) && until > now)
            || (subject is not null && _revokedUsers.TryGetValue(subject, out var user) && user.Expires > now && issuedAt <= user.RevokedBefore);
        return Task.FromResult(revoked);
    }

    public Task<string?> GetAsync(string sessionId, CancellationToken cancellationToken) =>
        Task.FromResult(_sessions.TryGetValue(sessionId, out var session) && session.Expires > time.GetUtcNow() ? session.Data : null);

    public Task SetAsync(string sessionId, string data, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        Sweep();
        _sessions[sessionId] = (data, time.GetUtcNow() + lifetime);
        return Task.CompletedTask;
    }

    public Task RemoveAsync(string sessionId, CancellationToken cancellationToken)
    {
        _sessions.TryRemove(sessionId, out _);
        return Task.CompletedTask;
    }

    // Expired entries go on writes, so memory follows the number of live revocations and sessions.
    private void Sweep()
    {
        var now = time.GetUtcNow();
        foreach (var (key, until) in _revokedTokens)
        {
            if (until <= now)
            {
                _revokedTokens.TryRemove(key, out _);
            }
        }

        foreach (var (key, session) in _sessions)
        {
            if (session.Expires <= now)
            {
                _sessions.TryRemove(key, out _);
            }
        }
    }
}
