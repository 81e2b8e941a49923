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
public sealed record SessionFeature(string SessionId, string Data)
{
    /// <summary>
    /// Most session data the gateway carries, in UTF-8 bytes. It goes upstream with every request of the session,
    /// base64 in <c>X-Session-Data</c>: 8 KiB becomes about 11 KB of header, well inside the 32 KB a Kestrel service
    /// accepts in all its headers together. Larger, every request of the session would be refused by the service (431).
    /// </summary>
    public const int MaxDataBytes = 8 * 1024;

    /// <summary>Whether the gateway can carry this much session data upstream (see <see cref="MaxDataBytes"/>).</summary>
    public static bool IsCarriable(string data)
    {
        ArgumentNullException.ThrowIfNull(data);
        // A UTF-16 unit is at most 3 bytes of UTF-8: a short string needs no counting.
        return data.Length <= MaxDataBytes / 3 || System.Text.Encoding.UTF8.GetByteCount(data) <= MaxDataBytes;
    }
}
