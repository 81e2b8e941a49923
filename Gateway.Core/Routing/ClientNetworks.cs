using System.Net;
using Gateway.Core.Forwarding;
using Gateway.Core.Observability;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Routing;

/// <summary>
/// The networks a route takes requests from (<see cref="RouteConfig.AllowedClientNetworks"/>, nginx's <c>allow</c>:
/// a carrier's webhook ranges, an office for an admin route) and those it refuses even among them
/// (<see cref="RouteConfig.DeniedClientNetworks"/>, nginx's <c>deny</c>). The client is the one
/// <see cref="TrustedProxies"/> names: the peer, or behind a trusted proxy the address it forwarded for.
/// </summary>
public sealed class ClientNetworkMetadata(NetworkList? allowed, NetworkList? denied)
{
    public static ClientNetworkMetadata Parse(IReadOnlyCollection<string> allowed, IReadOnlyCollection<string>? denied = null) => new(
        allowed.Count > 0 ? NetworkList.Parse(allowed) : null,
        denied is { Count: > 0 } ? NetworkList.Parse(denied) : null);

    public bool Allows(IPAddress? client) => denied?.Contains(client) != true && (allowed is null || allowed.Contains(client));
}

/// <summary>
/// <c>Gateway:DeniedClientNetworks</c>, refused on every path. A reload replaces it: denying a range that abuses the
/// API is an incident's first move, and one that waited for a restart would come too late or cost the replica.
/// </summary>
public sealed class NetworksDeniedEverywhere(IOptions<GatewayOptions> options)
{
    private volatile ClientNetworkMetadata? _networks = Parse(options.Value.DeniedClientNetworks);

    /// <summary>The list, or null when it is empty.</summary>
    public ClientNetworkMetadata? Networks => _networks;

    /// <summary>Refuses these networks from the next request on (already validated, as at a start).</summary>
    public void Replace(string[] networks) => _networks = Parse(networks ?? throw new ArgumentNullException(nameof(networks)));

    private static ClientNetworkMetadata? Parse(string[] networks) => networks.Length > 0 ? ClientNetworkMetadata.Parse([], networks) : null;
}

/// <summary>
/// Refuses a request from outside its route's networks with a 403 problem, after routing (it reads the endpoint) and
/// before anything that could answer for the route: CORS, authentication, the limits and the response cache, whose
/// stored answers would otherwise reach any network. Always in the pipeline, unlike the other route middlewares: a
/// reload may set a list on any route, or on every path, and a request without one costs a metadata lookup.
/// </summary>
public static partial class ClientNetworks
{
    public static WebApplication UseGatewayClientNetworks(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var everywhere = app.Services.GetRequiredService<NetworksDeniedEverywhere>();
        var proxies = app.Services.GetRequiredService<TrustedProxies>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway.Routes");
        app.Use((context, next) =>
        {
            var route = context.GetEndpoint()?.Metadata.GetMetadata<ClientNetworkMetadata>();
            var denied = everywhere.Networks;
            if (route is null && denied is null)
            {
                return next(context);
            }

            var client = proxies.ClientAddress(context);
            if (denied?.Allows(client) != false && route?.Allows(client) != false)
            {
                return next(context);
            }

            // The address is what an operator adds to the list when the refusal was a mistake.
            Refused(logger, context.GetEndpoint()?.Metadata.GetMetadata<GatewayRoute>()?.Id ?? "-", client?.ToString() ?? "-");
            return GatewayProblems.WriteAsync(context, StatusCodes.Status403Forbidden, "This route does not take requests from the client's network.").AsTask();
        });
        return app;
    }

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "Refused a request on route {Route} from {ClientAddress}: not a network the route allows")]
    private static partial void Refused(ILogger logger, string route, string clientAddress);
}
