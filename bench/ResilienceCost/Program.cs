// What the cluster clients' resilience handler costs per call, without sockets: the same handler chain from
// IHttpClientFactory over a stub that answers 200 after yielding (as a real upstream answers asynchronously),
// with no resilience handler, with the handler and an empty pipeline, with the gateway's own pipeline
// (ClusterResilience: retry, circuit breaker, attempt timeout), and, to split that cost, with each strategy alone
// and with the gateway's pipeline minus Polly's telemetry; and the same handler type over pipelines built without
// the registry AddResilienceHandler uses (empty, the gateway's, the gateway's minus telemetry). One call at a time
// on the thread pool; CPU time and bytes allocated per call, median of the rounds. Usage: dotnet run -c Release
// [-- ROUNDS CALLS [CHAIN]]; naming one chain (none, empty, gateway, retry, breaker, timeout, untraced,
// direct-empty, direct, direct-untraced) runs only that one, for a profiler or an allocation trace.
using System.Diagnostics;
using System.Net;
using Gateway.Core.Discovery;
using Gateway.Core.Forwarding;
using Gateway.Core.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Polly;

var rounds = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 5;
var calls = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 200_000;

var cluster = new ClusterConfig { Destinations = { ["one"] = new DestinationConfig { Address = "http://127.0.0.1:1" } } };
var services = new ServiceCollection();
services.AddLogging();
// Two clusters with the same settings: a breaker's state provider belongs to one pipeline.
services.AddOptions<GatewayOptions>().Configure(options =>
{
    options.Clusters["bench"] = cluster;
    options.Clusters["bench-untraced"] = cluster;
    options.Clusters["bench-direct"] = cluster;
    options.Clusters["bench-direct-untraced"] = cluster;
});
services.AddSingleton<ServiceRegistry>();
// Each chain once: its key (the CHAIN argument and the client's name), its label, and the resilience handler it
// adds (none for the baseline).
(string Key, string Label, Action<IHttpClientBuilder>? Resilience)[] chains =
[
    ("none", "no resilience handler", null),
    ("empty", "resilience handler, empty pipeline", client => client.AddResilienceHandler("cluster", _ => { })),
    ("gateway", "resilience handler, the gateway's pipeline", client => client.AddResilienceHandler("cluster", (builder, context) =>
        ClusterResilience.Configure(builder, "bench", cluster, context.ServiceProvider.GetRequiredService<ServiceRegistry>(), new Polly.CircuitBreaker.CircuitBreakerStateProvider(), TimeProvider.System))),
    ("retry", "retry alone", client => client.AddResilienceHandler("cluster", builder => builder.AddRetry(new HttpRetryStrategyOptions()))),
    ("breaker", "circuit breaker alone", client => client.AddResilienceHandler("cluster", builder => builder.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions()))),
    ("timeout", "attempt timeout alone", client => client.AddResilienceHandler("cluster", builder => builder.AddTimeout(new HttpTimeoutStrategyOptions()))),
    ("untraced", "the gateway's pipeline without Polly's telemetry", client => client.AddResilienceHandler("cluster", (builder, context) =>
    {
        ClusterResilience.Configure(builder, "bench-untraced", cluster, context.ServiceProvider.GetRequiredService<ServiceRegistry>(), new Polly.CircuitBreaker.CircuitBreakerStateProvider(), TimeProvider.System);
        // No listener: no pipeline-executing, pipeline-executed or attempt events, and no logs of retries either.
        builder.TelemetryListener = null;
    })),
    // No registry: no execution tracking around the pipeline (the registry adds it to wait for executions on disposal).
    ("direct-empty", "no registry: empty pipeline", client => client.AddHttpMessageHandler(() => new ResilienceHandler(ResiliencePipeline<HttpResponseMessage>.Empty))),
    ("direct", "no registry: the gateway's pipeline", client => client.AddHttpMessageHandler(services => Direct(services, "bench-direct", telemetry: true))),
    ("direct-untraced", "no registry: the gateway's pipeline without Polly's telemetry", client => client.AddHttpMessageHandler(services => Direct(services, "bench-direct-untraced", telemetry: false))),
];
foreach (var (key, _, resilience) in chains)
{
    var client = services.AddHttpClient(key)
        .ConfigurePrimaryHttpMessageHandler(() => new YieldingStub())
        .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
        .RemoveAllLoggers();
    resilience?.Invoke(client);
}

using var provider = services.BuildServiceProvider();
var handlers = provider.GetRequiredService<IHttpMessageHandlerFactory>();
var labels = chains.ToDictionary(chain => chain.Key, chain => chain.Label);
var names = args.Length > 2 ? [args[2]] : labels.Keys.ToArray();
if (!names.All(labels.ContainsKey))
{
    Console.Error.WriteLine($"Unknown chain '{args[2]}': one of {string.Join(", ", labels.Keys)}.");
    return 2;
}

var results = names.ToDictionary(name => name, _ => (Micros: new List<double>(), Bytes: new List<double>()));
for (var round = 0; round <= rounds; round++)
{
    foreach (var name in names)
    {
        using var invoker = new HttpMessageInvoker(handlers.CreateHandler(name), disposeHandler: false);
        var (micros, bytes) = await MeasureAsync(invoker, round == 0 ? calls / 4 : calls);
        if (round > 0) // round 0 warms up (tiered JIT)
        {
            results[name].Micros.Add(micros);
            results[name].Bytes.Add(bytes);
        }
    }
}

Console.WriteLine($"Median of {rounds} rounds of {calls} sequential calls, {Environment.ProcessorCount} cores, .NET {Environment.Version}.");
Console.WriteLine();
Console.WriteLine("| chain | µs CPU per call | bytes per call | µs vs none | bytes vs none |");
Console.WriteLine("|---|---:|---:|---:|---:|");
var baseline = results.TryGetValue("none", out var none) ? (Micros: Median(none.Micros), Bytes: Median(none.Bytes)) : default((double Micros, double Bytes)?);
foreach (var name in names)
{
    var (m, b) = (Median(results[name].Micros), Median(results[name].Bytes));
    var versus = baseline is { } bl ? $"+{m - bl.Micros:F2} | +{b - bl.Bytes:F0}" : "- | -";
    Console.WriteLine($"| {labels[name]} | {m:F2} | {b:F0} | {versus} |");
}

return 0;

static async Task<(double Micros, double Bytes)> MeasureAsync(HttpMessageInvoker invoker, int calls)
{
    var uri = new Uri("http://127.0.0.1:1/quotes");
    var bytesBefore = GC.GetTotalAllocatedBytes(precise: true);
    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
    for (var i = 0; i < calls; i++)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        using var response = await invoker.SendAsync(request, CancellationToken.None);
    }

    var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
    return (cpu.TotalMicroseconds / calls, (GC.GetTotalAllocatedBytes(precise: true) - bytesBefore) / (double)calls);
}

ResilienceHandler Direct(IServiceProvider services, string clusterId, bool telemetry)
{
    var builder = new ResiliencePipelineBuilder<HttpResponseMessage>();
    if (telemetry)
    {
        builder.ConfigureTelemetry(services.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>());
    }

    ClusterResilience.Configure(builder, clusterId, cluster, services.GetRequiredService<ServiceRegistry>(), new Polly.CircuitBreaker.CircuitBreakerStateProvider(), TimeProvider.System);
    return new ResilienceHandler(builder.Build());
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}

internal sealed class YieldingStub : HttpMessageHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        await Task.Yield();
        return new HttpResponseMessage(HttpStatusCode.OK);
    }
}
