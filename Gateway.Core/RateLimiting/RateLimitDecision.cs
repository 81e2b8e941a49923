namespace Gateway.Core.RateLimiting;

/// <summary>One policy's answer for one request: admitted or not, and where the client stands.</summary>
public readonly record struct RateLimitDecision(bool Allowed, long Limit, long Remaining, TimeSpan ResetAfter, TimeSpan RetryAfter)
{
    public static RateLimitDecision Admit(long limit, long remaining, TimeSpan resetAfter) =>
        new(true, limit, Math.Max(0, remaining), resetAfter, TimeSpan.Zero);

    public static RateLimitDecision Deny(long limit, TimeSpan resetAfter, TimeSpan retryAfter) =>
        new(false, limit, 0, resetAfter, retryAfter);
}

/// <summary>Where decisions are made: process memory, or Redis shared by every replica.</summary>
public interface IRateLimitStore
{
    /// <summary>A decision without waiting, when the store can make one locally; null sends the caller to <see cref="DecideAsync"/>.</summary>
    RateLimitDecision? TryDecide(string key, RateLimitPolicyConfig policy);

    ValueTask<RateLimitDecision> DecideAsync(string key, RateLimitPolicyConfig policy, CancellationToken cancellationToken);
}
