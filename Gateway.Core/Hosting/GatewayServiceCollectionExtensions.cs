using Gateway.Core.Caching;
using Gateway.Core.Discovery;
using Gateway.Core.Flows;
using Gateway.Core.Forwarding;
using Gateway.Core.Identity;
using Gateway.Core.RateLimiting;
using Gateway.Core.Observability;
using Gateway.Core.Routing;
using Gateway.Core.Routing.Validation;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Gateway.Core.Hosting;

public static class GatewayServiceCollectionExtensions
{
    /// <summary>Registers the gateway's options (validated at start-up), forwarder and per-cluster clients.</summary>
    public static IServiceCollection AddGateway(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(GatewayOptions.SectionName);
        services.AddOptions<GatewayOptions>().Bind(section).ValidateOnStart();
        // First, so a value that did not bind is named before what its absence makes the other checks report.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GatewayOptions>>(new ConfigurationValueValidator(section)));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ConfigurationStatus>();
        services.AddSingleton<GatewayRouteTable>();
        services.AddSingleton<ShutdownDrain>();
        services.AddHostedService(provider => provider.GetRequiredService<ShutdownDrain>());
        // The host's whole stop: the drain, then the requests in flight.
        services.AddOptions<HostOptions>().Configure<IOptions<GatewayOptions>>((host, gateway) =>
            host.ShutdownTimeout = gateway.Value.Shutdown.DrainDelay + gateway.Value.Shutdown.Timeout);
        services.AddHostedService<ReloadValidation>();

        // Registered before AddProblemDetails so they are asked first: a gRPC call's error is a gRPC answer, and
        // every other error is problem+json.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProblemDetailsWriter, GrpcProblemWriter>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProblemDetailsWriter, GatewayProblemDetailsWriter>());
        services.AddProblemDetails(options => options.CustomizeProblemDetails = RequestBindingProblems.DescribeRefusedBody);
        // The gateway's own endpoints throw what they cannot bind, so the answer can say what was wrong.
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.AddExceptionHandler<RequestBindingProblems>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.AspNetCore.Routing.MatcherPolicy, RequestMatcherPolicy>());

        services.AddOptions<KestrelServerOptions>().Configure<IOptions<GatewayOptions>>((kestrel, gateway) =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = gateway.Value.Limits.MaxRequestBodySize;
            kestrel.Limits.MaxRequestLineSize = RequestHeadLimitMiddleware.KestrelLimit(gateway.Value.Limits.MaxRequestLineSize);
            kestrel.Limits.MaxRequestHeadersTotalSize = RequestHeadLimitMiddleware.KestrelLimit(gateway.Value.Limits.MaxRequestHeadersTotalSize);
            kestrel.Limits.MaxRequestHeaderCount = RequestHeadLimitMiddleware.KestrelLimit(gateway.Value.Limits.MaxRequestHeaderCount);
        });

        ClusterClients.AddClusterClients(services);

        services.AddSingleton<UpstreamConnections>();
        services.AddSingleton<ServiceRegistry>();
        services.AddMetrics();
        services.AddSingleton<GatewayMetrics>();
        services.AddSingleton<GatewayTelemetry>();
        services.AddHostedService<HealthProber>();
        services.AddSingleton<ClusterClients>();
        services.AddSingleton<RequestMirror>();
        services.AddSingleton<TrustedProxies>();
        services.AddSingleton<NetworksDeniedEverywhere>();
        services.AddSingleton<UpstreamHeaders>();
        services.AddGatewayIdentity(configuration);
        // After the identity services, whose hosted service opens the Redis connection first.
        services.TryAddSingleton<Storage.RedisConnection>();
        services.AddSingleton<AdminState>();
        services.AddHostedService(provider => provider.GetRequiredService<AdminState>());
        services.AddGatewayRateLimiting();
        services.AddGatewayFlows(configuration);
        services.AddGatewayCaching(configuration);
        services.AddGatewayCompression();
        services.AddSingleton<UpstreamFailures>();
        services.AddSingleton<WebhookSignatures>();
        services.AddSingleton<HttpForwarder>();
        return services;
    }

    /// <summary>The gateway's middleware, outermost first; endpoint-aware middleware goes after this.</summary>
    public static WebApplication UseGatewayPipeline(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // Created now so its gauges exist before the first collection, not on first use.
        app.Services.GetRequiredService<GatewayMetrics>();
        app.UseMiddleware<CorrelationIdMiddleware>();
        app.UseMiddleware<RequestTelemetryMiddleware>();
        // After the telemetry, so an oversized request is logged and counted like any refused one.
        app.UseMiddleware<RequestHeadLimitMiddleware>();
        app.UseExceptionHandler();
        // A bare error status becomes a problem, except on gateway routes (their endpoints skip it, see MapGatewayRoutes).
        app.UseStatusCodePages();
        app.UseRouting();
        app.UseGatewayGrpcWeb();
        app.UseGatewayClientNetworks();
        // CORS and authentication take their services from the request's scope, so running them creates one
        // (with its disposal) on every request: a fifth of the cost of forwarding. They run where they can act:
        // CORS on a request with an Origin or on an endpoint with a CORS policy (the endpoint middleware requires it
        // there); authentication on an endpoint that requires authorization. There is no default authenticate
        // scheme (see AddGatewayIdentity): every policy names the JwtBearer scheme, so the authorization middleware
        // authenticates exactly the endpoints that require a token, and elsewhere authentication has nothing to do.
        app.UseWhen(NeedsCors, branch => branch.UseMiddleware<CorsVaryMiddleware>().UseCors());
        app.UseWhen(RequiresAuthorization, branch => branch.UseAuthentication());
        // UseAuthentication marks the app as having it; in a branch the mark stays in the branch, and WebApplication
        // would then put an unconditional UseAuthentication in front of everything.
        ((IApplicationBuilder)app).Properties[AuthenticationMiddlewareSetKey] = true;
        app.UseAuthorization();
        // After authorization, so a route's limit can count per user; after routing, so it sees the endpoint.
        // Only where a limit applies: the middleware's global-limiter path costs a partition lookup per request.
        var limiter = app.Services.GetRequiredService<GatewayRateLimiter>();
        app.UseWhen(limiter.Applies, branch => branch.UseRateLimiter());
        // Outside the cache, which then keeps answers as the upstream sent them and serves every client its encoding.
        app.UseGatewayCompression();
        // After the limits, so an answer from the cache still counts against them.
        app.UseGatewayCaching();
        return app;
    }

    // The key UseAuthentication sets and WebApplication checks before adding authentication by itself.
    private const string AuthenticationMiddlewareSetKey = "__AuthenticationMiddlewareSet";

    private static bool NeedsCors(HttpContext context) =>
        context.Request.Headers.ContainsKey(HeaderNames.Origin) || context.GetEndpoint()?.Metadata.GetMetadata<ICorsMetadata>() is not null;

    private static bool RequiresAuthorization(HttpContext context) =>
        context.GetEndpoint()?.Metadata is { } metadata
        && metadata.GetMetadata<IAllowAnonymous>() is null
        && (metadata.GetMetadata<IAuthorizeData>() is not null || metadata.GetMetadata<AuthorizationPolicy>() is not null);
}
