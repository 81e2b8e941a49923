namespace Gateway.Core.RateLimiting;

/// <summary><c>Gateway:RateLimiting</c>: named policies for routes, and optional limits per class of user.</summary>
public sealed record RateLimitingConfig
{
    /// <summary>Route policies by name; a route names one in <c>RateLimitPolicy</c>.</summary>
    public Dictionary<string, RateLimitPolicyConfig> Policies { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Limits per class of user (<c>Anonymous</c>, <c>Authenticated</c>, <c>Admin</c>) applied to every gateway route;
    /// where a route policy applies too, both must admit.
    /// </summary>
    public Dictionary<string, RateLimitPolicyConfig> UserClasses { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The role that makes an authenticated user an <c>Admin</c> for <see cref="UserClasses"/>.</summary>
    public string AdminRole { get; init; } = "admin";
}

public sealed record RateLimitPolicyConfig
{
    public RateLimitAlgorithm Algorithm { get; init; } = RateLimitAlgorithm.SlidingWindow;

    /// <summary>Requests per <see cref="Window"/> (a token bucket's capacity, refilled over one window).</summary>
    public int PermitLimit { get; init; } = 100;

    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Who shares a budget: each client (the user's <c>sub</c>, else the client IP), or everyone.</summary>
    public RateLimitPartition Partition { get; init; } = RateLimitPartition.Client;

    /// <summary>Exact: one atomic Redis script per request. Approximate: tokens fetched from Redis in batches.</summary>
    public RateLimitMode Mode { get; init; } = RateLimitMode.Exact;

    /// <summary>Tokens one replica takes from Redis at a time in approximate mode.</summary>
    public int BatchSize { get; init; } = 20;

    /// <summary>Requests of one policy allowed to wait, per replica, for the window to free a permit; 0 = reject at once.</summary>
    public int QueueLimit { get; init; }

    /// <summary>Longest a queued request waits before it is rejected.</summary>
    public TimeSpan QueueTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>When the store cannot be reached: let requests through (the default) or answer 503.</summary>
    public Identity.StoreFailureMode FailureMode { get; init; } = Identity.StoreFailureMode.FailOpen;
}

public enum RateLimitAlgorithm
{
    /// <summary>A log of admitted requests over the last window: exact at every instant.</summary>
    SlidingWindow,

    FixedWindow,

    TokenBucket,
}

public enum RateLimitPartition
{
    Client,
    Global,
}

public enum RateLimitMode
{
    Exact,
    Approximate,
}
