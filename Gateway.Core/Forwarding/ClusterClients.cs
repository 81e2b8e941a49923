using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Gateway.Core.Discovery;
using Gateway.Core.Observability;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Forwarding;

/// <summary>
/// One named HttpClient per cluster from IHttpClientFactory, each over a proxy-tuned SocketsHttpHandler. When a reload
/// changes a cluster's connection settings, its client takes a new name (<see cref="ServiceCluster.ConnectionsGeneration"/>),
/// which the factory builds with them; requests already sent finish on the previous handler.
/// </summary>
public sealed class ClusterClients(IHttpClientFactory factory, IHttpMessageHandlerFactory handlers, ServiceRegistry registry)
{
    private readonly ConcurrentDictionary<string, Built<HttpClient>> _clients = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, Built<HttpMessageInvoker>> _invokers = new(StringComparer.OrdinalIgnoreCase);

    private sealed record Built<T>(ServiceCluster Cluster, int Generation, T Value);

    private const string ClusterPrefix = "gateway-cluster:";

    public static string ClientName(string clusterId) => ClusterPrefix + clusterId;

    /// <summary>
    /// Most an answer read whole may hold. Only the flows read answers whole (through <see cref="For"/>); the
    /// forwarder streams through the invoker. HttpClient's own limit is 2 GB, which a service answering without end
    /// would fill the gateway's memory up to.
    /// </summary>
    public const int WholeAnswerLimit = 1024 * 1024;

    // The handler never rotates (infinite lifetime below), so one client per cluster and generation can be kept and reused.
    public HttpClient For(string clusterId) =>
        Current(_clients, clusterId, factory, static (f, name) => f.CreateClient(name));

    /// <summary>
    /// The same named client's handler chain (resilience, instance selection, sockets) without the HttpClient
    /// wrapper, for the forwarder, as YARP forwards: HttpClient adds a linked cancellation source and a state
    /// machine per request for its own timeout and buffering, which a proxy never uses (no timeout on the client,
    /// response headers read only).
    /// </summary>
    public HttpMessageInvoker InvokerFor(string clusterId) =>
        Current(_invokers, clusterId, handlers, static (h, name) => new HttpMessageInvoker(h.CreateHandler(name), disposeHandler: false));

    private T Current<T, TState>(ConcurrentDictionary<string, Built<T>> cache, string clusterId, TState state, Func<TState, string, T> create)
    {
        // One volatile read per request on the kept path: the cluster object comes with the entry.
        if (cache.TryGetValue(clusterId, out var built) && built.Generation == built.Cluster.ConnectionsGeneration)
        {
            return built.Value;
        }

        var cluster = registry.Get(clusterId);
        var generation = cluster.ConnectionsGeneration;
        // Two requests racing here get the factory's one handler for the name; the later entry stays.
        var value = create(state, ServiceCluster.ClientName(ClusterPrefix, clusterId, generation));
        cache[clusterId] = new Built<T>(cluster, generation, value);
        return value;
    }

    /// <summary>
    /// The clients of every cluster, those a configuration reload adds included: one named-options configuration for
    /// every name of the form <c>gateway-cluster:{id}</c> (and the probes' <c>gateway-health-probe:{id}</c>), where a
    /// registration per cluster made at start-up would leave a cluster added later without one.
    /// </summary>
    public static void AddClusterClients(IServiceCollection services)
    {
        services.AddHttpClient();
        // The factory's per-request logging scopes cost more than the forwarding itself; the gateway logs its own.
        services.ConfigureHttpClientDefaults(client => client.RemoveAllLoggers());
        services.AddSingleton<ClusterPipelines>();
        services.AddSingleton<IConfigureOptions<HttpClientFactoryOptions>, ClusterClientOptions>();
    }

    /// <summary>
    /// A cluster's client: resilience pipeline (outer), then per-attempt instance selection, then sockets. The probes'
    /// client: sockets only, its own pool so a probe never queues behind the traffic's connections, over the same settings.
    /// </summary>
    private sealed class ClusterClientOptions : IConfigureNamedOptions<HttpClientFactoryOptions>
    {
        private const string ProbePrefix = HealthProber.ClientPrefix;

        public void Configure(HttpClientFactoryOptions options)
        {
        }

        public void Configure(string? name, HttpClientFactoryOptions options)
        {
            if (name?.StartsWith(ClusterPrefix, StringComparison.Ordinal) == true)
            {
                var clusterId = ClusterIdOf(name, ClusterPrefix);
                Configure(options, WholeAnswerLimit, builder =>
                {
                    var services = builder.Services;
                    var spans = ClientSpans(services);
                    builder.PrimaryHandler = CreateHandler(spans, services, clusterId);
                    builder.AdditionalHandlers.Add(new ResilienceHandler(services.GetRequiredService<ClusterPipelines>().ProviderFor(clusterId)));
                    builder.AdditionalHandlers.Add(new InstanceSelectionHandler(services.GetRequiredService<ServiceRegistry>(), clusterId, spans));
                });
            }
            else if (name?.StartsWith(ProbePrefix, StringComparison.Ordinal) == true)
            {
                var clusterId = ClusterIdOf(name, ProbePrefix);
                Configure(options, maxResponseBuffer: null, builder => builder.PrimaryHandler = CreateHandler(clientSpans: false, builder.Services, clusterId));
            }
        }

        /// <summary>The cluster of a client name, without the generation of its connection settings.</summary>
        private static string ClusterIdOf(string name, string prefix)
        {
            var rest = name.AsSpan(prefix.Length);
            var colon = rest.IndexOf(':');
            return (colon < 0 ? rest : rest[..colon]).ToString();
        }

        private static void Configure(HttpClientFactoryOptions options, int? maxResponseBuffer, Action<HttpMessageHandlerBuilder> handlers)
        {
            // The handler never rotates, so one client per cluster is kept and reused, and its breaker keeps its counts.
            options.HandlerLifetime = Timeout.InfiniteTimeSpan;
            options.HttpClientActions.Add(client =>
            {
                client.Timeout = Timeout.InfiniteTimeSpan;
                if (maxResponseBuffer is { } limit)
                {
                    client.MaxResponseContentBufferSize = limit;
                }
            });
            options.HttpMessageHandlerBuilderActions.Add(handlers);
        }
    }

    private static bool ClientSpans(IServiceProvider services) => services.GetRequiredService<IOptions<UpstreamTracingOptions>>().Value.ClientSpans;

    /// <summary>
    /// A handler for a proxy: pooled connections, and nothing that would alter what passes through. Without client
    /// spans there is no propagator, so HttpClient's diagnostics handler is left out of the chain altogether.
    /// Header values go up as UTF-8, the encoding Kestrel decoded the client's with: a non-ASCII value then reaches
    /// the upstream byte for byte. With HttpClient's default (ASCII only) it threw on send, and the failure counted
    /// against the instance, so one request could take a healthy instance out of rotation.
    /// </summary>
    private static SocketsHttpHandler CreateHandler(bool clientSpans, IServiceProvider services, string clusterId)
    {
        var handler = CreateHandler(clientSpans);
        services.GetRequiredService<UpstreamConnections>().Configure(handler, clusterId);
        return handler;
    }

    internal static SocketsHttpHandler CreateHandler(bool clientSpans) => new()
    {
        RequestHeaderEncodingSelector = static (_, _) => System.Text.Encoding.UTF8,
        ActivityHeadersPropagator = clientSpans ? DistributedContextPropagator.Current : null,
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
