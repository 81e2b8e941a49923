namespace Gateway.Core.Identity;

/// <summary>The <c>Gateway:Auth</c> section: one of an OIDC authority or a shared HS256 secret.</summary>
public sealed record AuthConfig
{
    /// <summary>OIDC authority (e.g. a Keycloak realm URL): discovery and JWKS, keys rotated without a restart.</summary>
    public string? Authority { get; init; }

    /// <summary>Shared HS256 secret (SmartEnvios' JWT_SECRET), at least 32 bytes.</summary>
    public string? SigningKey { get; init; }

    /// <summary>Required with <see cref="SigningKey"/>; with an authority, discovery supplies it.</summary>
    public string? Issuer { get; init; }

    public string? Audience { get; init; }

    /// <summary>Only tests may turn this off (an http authority on loopback).</summary>
    public bool RequireHttpsMetadata { get; init; } = true;

    /// <summary>
    /// Shortest time between two JWKS fetches forced by a token signed with an unknown key (a rotation); bounds how
    /// often tokens with made-up key ids can make the gateway call the authority.
    /// </summary>
    public TimeSpan KeyRefreshInterval { get; init; } = TimeSpan.FromMinutes(1);

    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a token already validated is remembered (never past its expiry, never once its signing key is no
    /// longer trusted); revocation and sessions are still checked on every request. Zero turns the cache off.
    /// </summary>
    public TimeSpan ValidationCacheDuration { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>At most this many validated tokens are remembered; beyond it, tokens are validated every time.</summary>
    public int ValidationCacheSize { get; init; } = 10_000;

    /// <summary>The claim holding the session id checked on routes that require a session.</summary>
    public string SessionClaim { get; init; } = "sid";

    /// <summary>Sessions live at <c>{SessionKeyPrefix}{sid}</c>, written by whatever logs users in.</summary>
    public string SessionKeyPrefix { get; init; } = "session:";

    /// <summary>Role-based policies by name; <c>AdminOnly</c> and <c>CustomerOrAdmin</c> are added when absent.</summary>
    public Dictionary<string, PolicyConfig> Policies { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Keycloak client whose <c>resource_access.{client}.roles</c> become roles; empty = every client's.</summary>
    public string? RoleClientId { get; init; }

    /// <summary>When the revocation or session store cannot be reached: refuse (503) or let the token through.</summary>
    public StoreFailureMode StoreFailureMode { get; init; } = StoreFailureMode.FailClosed;

    /// <summary>How long "every session of this user revoked" is remembered: the longest token lifetime issued.</summary>
    public TimeSpan MaxTokenLifetime { get; init; } = TimeSpan.FromHours(24);

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Authority) || !string.IsNullOrWhiteSpace(SigningKey);
}

/// <summary>A policy is met when the user has any of the roles.</summary>
public sealed record PolicyConfig
{
    public string[] Roles { get; init; } = [];
}

public enum StoreFailureMode
{
    FailClosed,
    FailOpen,
}
