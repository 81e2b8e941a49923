namespace Gateway.Core.Identity;

/// <summary>Revoked tokens (by jti, or the token's SHA-256 when it has none) and users whose every token is revoked.</summary>
public interface ITokenRevocationStore
{
    Task RevokeTokenAsync(string tokenId, TimeSpan remainingLifetime, CancellationToken cancellationToken);

    /// <summary>Refuses every token of <paramref name="subject"/> issued up to now.</summary>
    Task RevokeUserAsync(string subject, TimeSpan maxTokenLifetime, CancellationToken cancellationToken);

    Task<bool> IsRevokedAsync(string tokenId, string? subject, DateTimeOffset issuedAt, CancellationToken cancellationToken);
}

/// <summary>Server-side sessions (<c>session:{sid}</c>); a route that requires one refuses tokens whose session is gone.</summary>
public interface ISessionStore
{
    /// <summary>The session's data, or null when there is no such session.</summary>
    Task<string?> GetAsync(string sessionId, CancellationToken cancellationToken);

    Task SetAsync(string sessionId, string data, TimeSpan lifetime, CancellationToken cancellationToken);

    Task RemoveAsync(string sessionId, CancellationToken cancellationToken);
}

/// <summary>The session attached to the request by a route that requires one.</summary>
public sealed record SessionFeature(string SessionId, string Data);
