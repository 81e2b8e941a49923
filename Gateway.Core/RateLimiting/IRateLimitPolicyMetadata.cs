namespace Gateway.Core.RateLimiting;

/// <summary>Endpoint metadata naming the rate-limit policy of an endpoint (gateway routes, health endpoints).</summary>
public interface IRateLimitPolicyMetadata
{
    string? PolicyName { get; }

    /// <summary>The name used in metric labels: a route id, never a raw path.</summary>
    string RouteName { get; }
}

public sealed record RateLimitPolicyMetadata(string? PolicyName, string RouteName) : IRateLimitPolicyMetadata;
