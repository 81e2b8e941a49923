using Gateway.Core.Discovery;
using Gateway.Core.Flows;
using Gateway.Core.Forwarding;
using Gateway.Core.Identity;
using Gateway.Core.RateLimiting;
using Gateway.Core.Observability;
using Gateway.Core.Routing;
using Gateway.Core.Routing.Validation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Hosting;

public static class GatewayServiceCollectionExtensions
{
    /// <summary>Registers the gateway's options (validated at start-up), forwarder and per-cluster clients.</summary>
    public static IServiceCollection AddGateway(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(GatewayOptions.SectionName);
        services.AddOptions<GatewayOptions>().Bind(section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>());

        // Registered before AddProblemDetails so it is asked first: every error is problem+json.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProblemDetailsWriter, GatewayProblemDetailsWriter>());
        services.AddProblemDetails();

        services.AddOptions<KestrelServerOptions>().Configure<IOptions<GatewayOptions>>((kestrel, gateway) =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = gateway.Value.Limits.MaxRequestBodySize;
            kestrel.Limits.MaxRequestHeadersTotalSize = gateway.Value.Limits.MaxRequestHeadersTotalSize;
        });

        foreach (var cluster in section.GetSection(nameof(GatewayOptions.Clusters)).GetChildren())
        {
            ClusterClients.Register(services, cluster.Key);
        }

        services.AddHttpClient(HealthProber.ClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(ClusterClients.CreateHandler)
            .RemoveAllLoggers();
        services.AddSingleton<ServiceRegistry>();
        services.AddMetrics();
        services.AddSingleton<GatewayMetrics>();
        services.AddSingleton<GatewayTelemetry>();
        services.AddHostedService<HealthProber>();
        services.AddSingleton<ClusterClients>();
        services.AddSingleton<TrustedProxies>();
        services.AddSingleton<UpstreamHeaders>();
        services.AddGatewayIdentity(configuration);
        services.AddGatewayRateLimiting();
        services.AddGatewayFlows(configuration);
        services.AddSingleton<UpstreamFailures>();
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
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRouting();
        app.UseCors();
        // There is no default authenticate scheme (see AddGatewayIdentity): every policy names the JwtBearer
        // scheme, so the authorization middleware authenticates exactly the endpoints that require a token.
        app.UseAuthentication();
        app.UseAuthorization();
        // After authorization, so a route's limit can count per user; after routing, so it sees the endpoint.
        // Only where a limit applies: the middleware's global-limiter path costs a partition lookup per request.
        var limiter = app.Services.GetRequiredService<GatewayRateLimiter>();
        app.UseWhen(limiter.Applies, branch => branch.UseRateLimiter());
        return app;
    }
}
