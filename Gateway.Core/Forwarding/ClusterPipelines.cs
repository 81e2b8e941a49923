using System.Collections.Concurrent;
using Gateway.Core.Discovery;
using Gateway.Core.Observability;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Telemetry;

namespace Gateway.Core.Forwarding;

/// <summary>
/// One resilience pipeline per cluster (<see cref="ClusterResilience"/>), built when the cluster's client is, so a
/// cluster added by a reload gets one too; its retries, timeouts and breaker transitions are logged through Polly's
/// telemetry as the pipelines registered at start-up were.
/// </summary>
public sealed class ClusterPipelines(
    ServiceRegistry registry, GatewayTelemetry telemetry, TimeProvider time, ILoggerFactory loggers, IOptions<TelemetryOptions> pollyTelemetry)
{
    private readonly ConcurrentDictionary<string, ResiliencePipeline<HttpResponseMessage>> _pipelines = new(StringComparer.OrdinalIgnoreCase);

    public ResiliencePipeline<HttpResponseMessage> For(string clusterId) => _pipelines.GetOrAdd(clusterId, Build);

    private ResiliencePipeline<HttpResponseMessage> Build(string clusterId)
    {
        // Named as the resilience handler of Microsoft.Extensions.Http.Resilience names its pipelines.
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { Name = ClusterClients.ClientName(clusterId) + "-cluster", InstanceName = string.Empty, TimeProvider = time };
        // The host's Polly telemetry options (which events are worth a line), written to the host's loggers.
        builder.ConfigureTelemetry(new TelemetryOptions(pollyTelemetry.Value) { LoggerFactory = loggers });
        ClusterResilience.Configure(builder, clusterId, registry.Get(clusterId).Config, registry, time, () => telemetry.RetryBudgetExhausted(clusterId));
        return builder.Build();
    }
}
