using Gateway.Core.Routing;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Gateway.Api.Admin;

/// <summary>
/// <c>GET /admin/routes</c>: the routes the running gateway serves, read from its route table's endpoints, so a reload
/// whose routes wait for the next start does not show here. What a route does is shown, never a value that may be a credential (a
/// signature's secrets, a header a route sets, the values a condition compares).
/// </summary>
public static class RouteTable
{
    // From the table itself, not the app's composite of data sources, which learns of a reload a moment after routing.
    public static Ok<RouteView[]> List(GatewayRouteTable routes) =>
        TypedResults.Ok(routes.Endpoints
            .Select(endpoint => endpoint.Metadata.GetMetadata<GatewayRoute>())
            .OfType<GatewayRoute>()
            .DistinctBy(route => route.Id, StringComparer.OrdinalIgnoreCase)
            .OrderBy(route => route.Id, StringComparer.Ordinal)
            .Select(RouteView.Of)
            .ToArray());

    public sealed record RouteView(
        string Id, string Path, string[] Methods, int Order, int Conditions, string Cluster, string UpstreamPrefix,
        string Authorization, string? RateLimitPolicy, string? Cors, string[] AllowedClientNetworks, string? SignatureHeader,
        TimeSpan Timeout, TimeSpan AttemptTimeout, int Retries, long? MaxRequestBodySize,
        TimeSpan? CacheDuration, bool Compress, bool WebSockets, bool GrpcWeb, string? Validation, string? MirrorCluster, double? MirrorPercent)
    {
        public static RouteView Of(GatewayRoute route)
        {
            var config = route.Config;
            return new(
                route.Id, config.Path!, config.Methods.Length == 0 ? ["*"] : config.Methods, config.Order ?? 0,
                config.MatchHeaders.Length + config.MatchQuery.Length, route.ClusterId, route.Transform.TargetPrefix,
                string.IsNullOrEmpty(config.Authorization) ? "Anonymous" : config.Authorization, config.RateLimitPolicy, config.Cors,
                config.AllowedClientNetworks, config.Signature?.Header,
                route.Timeout, route.AttemptTimeout, route.Retries, route.MaxRequestBodySize,
                config.Cache?.Duration, config.Compress, config.WebSockets, config.GrpcWeb, config.Validation,
                config.Mirror?.ClusterId, config.Mirror?.Percent);
        }
    }
}
