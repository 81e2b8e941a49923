using System.Collections.Concurrent;
using System.Net;
using Gateway.Core.Discovery;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Core.Forwarding;

/// <summary>One named HttpClient per cluster from IHttpClientFactory, each over a proxy-tuned SocketsHttpHandler.</summary>
public sealed class ClusterClients(IHttpClientFactory factory)
{
    private readonly ConcurrentDictionary<string, HttpClient> _clients = new(StringComparer.OrdinalIgnoreCase);

    public static string ClientName(string clusterId) => "gateway-cluster:" + clusterId;

    // The handler never rotates (infinite lifetime below), so one client per cluster can be kept and reused.
    public HttpClient For(string clusterId) =>
        _clients.GetOrAdd(clusterId, static (id, f) => f.CreateClient(ClientName(id)), factory);

    /// <summary>The cluster's client: resilience pipeline (outer), then per-attempt instance selection, then sockets.</summary>
    public static void Register(IServiceCollection services, string clusterId)
    {
        var client = services.AddHttpClient(ClientName(clusterId), client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(CreateHandler)
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            // The factory's per-request logging scopes cost more than the forwarding itself; the gateway logs its own.
            .RemoveAllLoggers();

        client.AddResilienceHandler("cluster", (builder, context) =>
        {
            var registry = context.ServiceProvider.GetRequiredService<ServiceRegistry>();
            ClusterResilience.Configure(builder, clusterId, registry.Get(clusterId).Config, registry);
        });
        client.AddHttpMessageHandler(services => new InstanceSelectionHandler(services.GetRequiredService<ServiceRegistry>(), clusterId));
    }

    /// <summary>A handler for a proxy: pooled connections, and nothing that would alter what passes through.</summary>
    internal static SocketsHttpHandler CreateHandler() => new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        EnableMultipleHttp2Connections = true,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
        ConnectTimeout = TimeSpan.FromSeconds(10),
    };
}
