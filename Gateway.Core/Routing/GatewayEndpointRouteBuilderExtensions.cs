using Gateway.Core.Forwarding;
using Gateway.Core.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Routing;

public static partial class GatewayEndpointRouteBuilderExtensions
{
    private static readonly Microsoft.AspNetCore.Mvc.SkipStatusCodePagesAttribute SkipStatusCodePages = new();

    /// <summary>
    /// Maps each configured route as a route group whose single endpoint forwards, in the gateway's route table
    /// (<see cref="GatewayRouteTable"/>), which a configuration reload can replace.
    /// </summary>
    public static GatewayRouteTable MapGatewayRoutes(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<GatewayOptions>>().Value;
        var logger = endpoints.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway.Routes");
        var table = endpoints.ServiceProvider.GetRequiredService<GatewayRouteTable>();
        table.Attach(endpoints);
        endpoints.DataSources.Add(table);
        foreach (var (id, config) in options.Routes)
        {
            if (logger.IsEnabled(LogLevel.Information))
            {
                RouteLog.Route(logger, id, config.Methods.Length == 0 ? "*" : string.Join(',', config.Methods), config.Path!, config.ClusterId!,
                    config.Authorization ?? "Anonymous", config.RateLimitPolicy ?? "-");
            }
        }

        foreach (var (id, cluster) in options.Clusters)
        {
            if (logger.IsEnabled(LogLevel.Information))
            {
                var instances = string.Join(", ", cluster.Destinations.Select(d => $"{d.Key}={d.Value.Address} w{d.Value.Weight}"));
                RouteLog.Cluster(logger, id, cluster.Destinations.Count, instances, cluster.LoadBalancingPolicy);
            }
        }

        return table;
    }

    /// <summary>One route group per route, its settings as endpoint metadata the framework's middleware reads.</summary>
    internal static void MapRoutes(IEndpointRouteBuilder endpoints, IReadOnlyDictionary<string, RouteConfig> routes, LimitsConfig limits)
    {
        RequestDelegate forward = endpoints.ServiceProvider.GetRequiredService<HttpForwarder>().ForwardAsync;
        foreach (var (id, config) in routes)
        {
            var route = new GatewayRoute(id, config, limits);
            var group = endpoints.MapGroup(route.Pattern.RawText!);
            // What the upstream answered passes through as it is, even an empty 404; the gateway's own refusals
            // on these routes are written as problems where they are made.
            group.WithMetadata(route, SkipStatusCodePages).WithDisplayName($"gateway route {id}");
            if (config.MatchHeaders.Length > 0 || config.MatchQuery.Length > 0)
            {
                group.WithMetadata(new RequestMatchMetadata(id, config.MatchHeaders, config.MatchQuery));
            }

            var endpoint = config.Methods.Length == 0
                ? group.Map(string.Empty, forward)
                : group.MapMethods(string.Empty, EndpointMethods(config), forward);
            endpoint.WithDisplayName($"gateway route {id}");
            if (config.Order is { } order)
            {
                // Routing compares Order before a pattern's precedence and before the conditions' count.
                endpoint.Add(builder => ((Microsoft.AspNetCore.Routing.RouteEndpointBuilder)builder).Order = order);
            }

            ApplyAccess(group, config);
            if (config.AllowedClientNetworks.Length > 0 || config.DeniedClientNetworks.Length > 0)
            {
                group.WithMetadata(ClientNetworkMetadata.Parse(config.AllowedClientNetworks, config.DeniedClientNetworks));
            }

            Caching.ResponseCache.Apply(group, id, config.Cache);
            GrpcWebTranslation.Apply(group, config);
            ResponseCompression.Apply(group, config);
        }
    }

    /// <summary>
    /// HTTP/2 opens a WebSocket with CONNECT (RFC 8441), which routing matches as a method of its own; a route that
    /// tunnels takes it besides the GET of HTTP/1.1, and the forwarder refuses any CONNECT that is not a WebSocket's.
    /// </summary>
    private static string[] EndpointMethods(RouteConfig config) =>
        config.WebSockets && !config.Methods.Contains(HttpMethods.Connect, StringComparer.OrdinalIgnoreCase)
            ? [.. config.Methods, HttpMethods.Connect]
            : config.Methods;

    private static partial class RouteLog
    {
        [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Route {Route}: {Methods} {Path} -> {Cluster} (authorization {Authorization}, rate limit {RateLimitPolicy})")]
        public static partial void Route(ILogger logger, string route, string methods, string path, string cluster, string authorization, string rateLimitPolicy);

        [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Cluster {Cluster}: {Count} instances [{Instances}], {Policy}")]
        public static partial void Cluster(ILogger logger, string cluster, int count, string instances, LoadBalancingPolicy policy);
    }

    /// <summary>Authorization and CORS the framework's way, as endpoint metadata on the route's group.</summary>
    private static void ApplyAccess(RouteGroupBuilder group, RouteConfig config)
    {
        switch (config.Authorization)
        {
            case null or "" or GatewayIdentityServiceCollectionExtensions.AnonymousPolicy:
                group.AllowAnonymous();
                break;
            default:
                group.RequireAuthorization(config.Authorization);
                break;
        }

        if (!string.IsNullOrEmpty(config.Cors))
        {
            group.RequireCors(config.Cors);
        }
    }
}
