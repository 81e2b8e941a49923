using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Gateway.Core.Routing;

/// <summary>
/// A configured route as built once at start-up; carried as endpoint metadata so the forwarder and the
/// framework's middleware (body size limit now; auth, rate limiting and CORS later) read it from the endpoint.
/// </summary>
public sealed class GatewayRoute : IRequestSizeLimitMetadata, RateLimiting.IRateLimitPolicyMetadata
{
    public GatewayRoute(string id, RouteConfig config, LimitsConfig limits)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(limits);
        Id = id;
        Config = config;
        Pattern = RoutePatternFactory.Parse(config.Path!);
        ClusterId = config.ClusterId!;
        Transform = PathTransform.Create(Pattern, config.Transform);
        MaxRequestBodySize = config.MaxRequestBodySize ?? limits.MaxRequestBodySize;
        RetryBodyBufferLimit = limits.RetryBodyBufferLimit;
        Timeout = config.Timeout ?? limits.UpstreamTimeout;
        AttemptTimeout = config.AttemptTimeout is { } attempt && attempt < Timeout ? attempt : Timeout;
        ResponseIdleTimeout = config.ResponseIdleTimeout ?? limits.ResponseIdleTimeout;
        Headers = Forwarding.HeaderTransforms.Create(config.Headers);
    }

    public string Id { get; }

    public RouteConfig Config { get; }

    public RoutePattern Pattern { get; }

    public string ClusterId { get; }

    public PathTransform Transform { get; }

    public bool PreserveHost => Config.PreserveHost;

    /// <summary>The route's own header edits; null when it has none.</summary>
    public Forwarding.HeaderTransforms? Headers { get; }

    /// <summary>Time allowed, retries included, until the upstream's response headers arrive; the body then streams for as long as it keeps coming.</summary>
    public TimeSpan Timeout { get; }

    public TimeSpan AttemptTimeout { get; }

    /// <summary>Longest silence of the upstream in the middle of a response body.</summary>
    public TimeSpan ResponseIdleTimeout { get; }

    public int Retries => Config.Retries;

    public TimeSpan RetryDelay => Config.RetryDelay;

    public long? MaxRequestBodySize { get; }

    public int RetryBodyBufferLimit { get; }

    public string? PolicyName => Config.RateLimitPolicy;

    public string RouteName => Id;
}
