namespace Gateway.Core.Routing;

/// <summary>The <c>Gateway</c> configuration section, shaped like YARP's Routes/Clusters.</summary>
public sealed record GatewayOptions
{
    public const string SectionName = "Gateway";

    public Dictionary<string, RouteConfig> Routes { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    public Dictionary<string, ClusterConfig> Clusters { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    public LimitsConfig Limits { get; init; } = new();

    /// <summary>Peers (IP or CIDR) whose X-Forwarded-* headers are extended rather than replaced.</summary>
    public string[] TrustedProxies { get; init; } = [];

    /// <summary>Client addresses or ranges refused on every path (403), e.g. a range that abuses the API.</summary>
    public string[] DeniedClientNetworks { get; init; } = [];

    public Identity.AuthConfig Auth { get; init; } = new();

    public Storage.RedisConfig Redis { get; init; } = new();

    public Dictionary<string, CorsPolicyConfig> Cors { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    public RateLimiting.RateLimitingConfig RateLimiting { get; init; } = new();

    public AdminConfig Admin { get; init; } = new();

    public Flows.FlowsConfig Flows { get; init; } = new();

    public Observability.ObservabilityConfig Observability { get; init; } = new();

    public Caching.CachingConfig Caching { get; init; } = new();

    public Forwarding.CompressionConfig Compression { get; init; } = new();

    public Hosting.ShutdownConfig Shutdown { get; init; } = new();
}

/// <summary>Who may reach the admin API and the metrics endpoint.</summary>
public sealed record AdminConfig
{
    /// <summary>A policy (e.g. <c>AdminOnly</c>) for <c>/admin</c>; none = loopback callers only.</summary>
    public string? Authorization { get; init; }

    /// <summary>A policy for <c>/metrics</c>; none = open (scraped from inside the network).</summary>
    public string? MetricsAuthorization { get; init; }
}

/// <summary>A named CORS policy; routes refer to it by name.</summary>
public sealed record CorsPolicyConfig
{
    public string[] Origins { get; init; } = [];

    public string[] Methods { get; init; } = [];

    public string[] Headers { get; init; } = [];

    public string[] ExposedHeaders { get; init; } = [];

    public bool AllowCredentials { get; init; }

    public TimeSpan? PreflightMaxAge { get; init; }
}

/// <summary>One route: which requests it takes and where they go.</summary>
public sealed record RouteConfig
{
    /// <summary>An ASP.NET Core route pattern, e.g. <c>/api/v1/quotes/{**rest}</c>.</summary>
    public string? Path { get; init; }

    /// <summary>Allowed methods; empty means any.</summary>
    public string[] Methods { get; init; } = [];

    /// <summary>Header conditions the request must meet as well (see <see cref="RequestMatchMetadata"/>); none by default.</summary>
    public MatchConditionConfig[] MatchHeaders { get; init; } = [];

    /// <summary>Query parameter conditions the request must meet as well; none by default.</summary>
    public MatchConditionConfig[] MatchQuery { get; init; } = [];

    /// <summary>
    /// Among the routes a request matches, the lowest order wins, before the more specific path or the more
    /// conditions (YARP's <c>Order</c>); none = 0. Negative values are allowed.
    /// </summary>
    public int? Order { get; init; }

    /// <summary>The client addresses or CIDR ranges the route takes requests from (<see cref="ClientNetworkMetadata"/>); empty = any.</summary>
    public string[] AllowedClientNetworks { get; init; } = [];

    /// <summary>Client addresses or ranges the route refuses, even inside <see cref="AllowedClientNetworks"/> (nginx's <c>deny</c>).</summary>
    public string[] DeniedClientNetworks { get; init; } = [];

    public string? ClusterId { get; init; }

    public PathTransformConfig? Transform { get; init; }

    /// <summary>Send the client's Host upstream instead of the destination's.</summary>
    public bool PreserveHost { get; init; }

    /// <summary>
    /// Put the upstream's <c>Location</c> and <c>Content-Location</c> in the client's terms: without the instance's address, and with the
    /// path transform undone (see <see cref="Forwarding.UpstreamLocation"/>). On by default, as nginx's
    /// <c>proxy_redirect default</c>.
    /// </summary>
    public bool RewriteLocation { get; init; } = true;

    /// <summary>
    /// Put the upstream's cookies in the client's terms: a <c>Path</c> under the route's upstream prefix mapped back,
    /// a <c>Domain</c> naming the instance's host dropped (see <see cref="Forwarding.UpstreamCookie"/>). On by default,
    /// since a cookie left with the upstream's path never comes back through the route.
    /// </summary>
    public bool RewriteCookies { get; init; } = true;

    /// <summary>
    /// Tunnel WebSocket handshakes to the upstream (see <see cref="Forwarding.WebSocketTunnel"/>); the route's
    /// <see cref="ResponseIdleTimeout"/> then bounds the silence of the connection in both directions. Off by
    /// default, as nginx: a handshake on another route goes up as a plain GET, its Upgrade dropped as hop-by-hop.
    /// </summary>
    public bool WebSockets { get; init; }

    /// <summary>
    /// Translate gRPC-Web calls (<c>application/grpc-web</c> and <c>-text</c>, what browsers can send) into gRPC for
    /// the cluster, which must be reached over HTTP/2 (see <see cref="Forwarding.GrpcWebTranslation"/>). Off by
    /// default: a gRPC-Web call on another route goes up as it came.
    /// </summary>
    public bool GrpcWeb { get; init; }

    /// <summary>Overrides <see cref="LimitsConfig.MaxRequestBodySize"/> for this route.</summary>
    public long? MaxRequestBodySize { get; init; }

    /// <summary>Total time for the upstream call, retries included; overrides <see cref="LimitsConfig.UpstreamTimeout"/>.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Time for one attempt; defaults to <see cref="Timeout"/>.</summary>
    public TimeSpan? AttemptTimeout { get; init; }

    /// <summary>Overrides <see cref="LimitsConfig.ResponseIdleTimeout"/> for this route (a stream with rare events wants more).</summary>
    public TimeSpan? ResponseIdleTimeout { get; init; }

    /// <summary>
    /// Retries after the first attempt. Only idempotent methods, or requests carrying an Idempotency-Key, are ever
    /// retried, and only when their body was small enough to buffer; everything else is sent exactly once.
    /// </summary>
    public int Retries { get; init; }

    /// <summary>First retry delay; later ones grow exponentially, with jitter.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary><c>Anonymous</c> (default), <c>Authenticated</c>, or a named policy such as <c>AdminOnly</c>.</summary>
    public string? Authorization { get; init; }

    /// <summary>The token's session id must exist in the session store.</summary>
    public bool RequireSession { get; init; }

    /// <summary>Accept the token from <c>?token=</c> (for streaming clients that cannot set headers).</summary>
    public bool AllowQueryToken { get; init; }

    /// <summary>Pass the client's Authorization header upstream; by default the gateway keeps it.</summary>
    public bool ForwardToken { get; init; }

    /// <summary>A named CORS policy from <c>Gateway:Cors:Policies</c>.</summary>
    public string? Cors { get; init; }

    /// <summary>Validate the body at the gateway before forwarding: <c>QuoteRequest</c>; none = pass it through.</summary>
    public string? Validation { get; init; }

    /// <summary>A webhook signature the request must carry (<see cref="Forwarding.WebhookSignatureConfig"/>); none = not checked.</summary>
    public Forwarding.WebhookSignatureConfig? Signature { get; init; }

    /// <summary>Bytes of body read for <see cref="Validation"/>; over it → 413.</summary>
    public long ValidationMaxBodySize { get; init; } = 64 * 1024;

    /// <summary>A named policy from <c>Gateway:RateLimiting:Policies</c>; none = only the user-class limits apply.</summary>
    public string? RateLimitPolicy { get; init; }

    /// <summary>Compress the upstream's uncompressed text and JSON answers for clients that accept it (<see cref="Forwarding.ResponseCompression"/>).</summary>
    public bool Compress { get; init; }

    /// <summary>Keep this route's anonymous GET answers for a while (<see cref="Caching.ResponseCache"/>); none = no cache.</summary>
    public Caching.RouteCacheConfig? Cache { get; init; }

    /// <summary>A copy of a share of the route's requests to another cluster, whose answers are dropped; none = no copy.</summary>
    public Forwarding.RouteMirrorConfig? Mirror { get; init; }

    /// <summary>Headers this route sets or removes on the way up and on the way back (<see cref="Forwarding.HeaderTransforms"/>).</summary>
    public HeadersConfig? Headers { get; init; }
}

/// <summary>A route's own header edits, for the request sent upstream and for the upstream's response.</summary>
public sealed record HeadersConfig
{
    public HeaderEditsConfig Request { get; init; } = new();

    public HeaderEditsConfig Response { get; init; } = new();
}

public sealed record HeaderEditsConfig
{
    /// <summary>Headers given this value, whatever the sender sent under the name.</summary>
    public Dictionary<string, string> Set { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Headers dropped.</summary>
    public string[] Remove { get; init; } = [];
}

/// <summary>How the client path becomes the upstream path; at most one of the two is set.</summary>
public sealed record PathTransformConfig
{
    /// <summary>A literal prefix removed from the path, e.g. <c>/api/v1</c>.</summary>
    public string? PathRemovePrefix { get; init; }

    /// <summary>A pattern filled from the route's values, e.g. <c>/api/catalog/{**rest}</c>.</summary>
    public string? PathPattern { get; init; }
}

public sealed record LimitsConfig
{
    /// <summary>Bytes; Kestrel's own default. A route may raise or lower it.</summary>
    public long MaxRequestBodySize { get; init; } = 30_000_000;

    /// <summary>Bytes of the request line (method, target, version); beyond it the client gets 414. Kestrel's default.</summary>
    public int MaxRequestLineSize { get; init; } = 8 * 1024;

    /// <summary>Bytes of all request headers together; beyond it the client gets 431.</summary>
    public int MaxRequestHeadersTotalSize { get; init; } = 32 * 1024;

    /// <summary>Header fields of a request, each value of a repeated header counted; beyond it the client gets 431. Kestrel's default.</summary>
    public int MaxRequestHeaderCount { get; init; } = 100;

    /// <summary>
    /// Bytes up to which an idempotent request's body (with a Content-Length) is read before forwarding, so a retry
    /// can send it again; larger or chunked bodies stream and are never retried.
    /// </summary>
    public int RetryBodyBufferLimit { get; init; } = 64 * 1024;

    /// <summary>How long an upstream may take to send its response headers.</summary>
    public TimeSpan UpstreamTimeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// How long a response body may go without a byte from the upstream; the client's connection is then aborted
    /// (the headers are gone already). YARP's ActivityTimeout has the same default.
    /// </summary>
    public TimeSpan ResponseIdleTimeout { get; init; } = TimeSpan.FromSeconds(100);
}
