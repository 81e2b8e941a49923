using System.Collections.Concurrent;
using Gateway.Core.Discovery;
using Gateway.Core.Observability;
using Gateway.Core.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Telemetry;

namespace Gateway.Core.Forwarding;

/// <summary>
/// One resilience pipeline per cluster (<see cref="ClusterResilience"/>), built when the cluster's client is, so a
/// cluster added by a reload gets one too, and built again when a reload changes what it is made of (breaker, retry
/// budget, concurrency limit). Its retries, timeouts and breaker transitions are logged through Polly's telemetry as
/// the pipelines registered at start-up were.
/// </summary>
public sealed partial class ClusterPipelines(
    ServiceRegistry registry, GatewayTelemetry telemetry, TimeProvider time, ILoggerFactory loggers, IOptions<TelemetryOptions> pollyTelemetry)
{
    private readonly ConcurrentDictionary<string, Current> _pipelines = new(StringComparer.OrdinalIgnoreCase);
    private readonly ILogger _logger = loggers.CreateLogger<ClusterPipelines>();

    /// <summary>What a cluster's pipeline is made of; a reload that changes none of it keeps the pipeline.</summary>
    private sealed record Settings(CircuitBreakerConfig Breaker, RetryBudgetConfig Budget, int? MaxConcurrentRequests, int MaxQueuedRequests)
    {
        public static Settings Of(ClusterConfig config) => new(config.CircuitBreaker, config.RetryBudget, config.MaxConcurrentRequests, config.MaxQueuedRequests);
    }

    /// <summary>The pipeline a cluster's requests go through now; a request keeps the one it started with.</summary>
    private sealed class Current(ResiliencePipeline<HttpResponseMessage> pipeline, Settings settings)
    {
        public volatile ResiliencePipeline<HttpResponseMessage> Pipeline = pipeline;

        public Settings Settings { get; set; } = settings;
    }

    /// <summary>The cluster's current pipeline, for its <c>ResilienceHandler</c>: one field read per request.</summary>
    public Func<HttpRequestMessage, ResiliencePipeline<HttpResponseMessage>> ProviderFor(string clusterId)
    {
        var current = _pipelines.GetOrAdd(clusterId, id =>
        {
            var config = registry.Get(id).Config;
            return new Current(Build(id, config), Settings.Of(config));
        });
        return _ => current.Pipeline;
    }

    /// <summary>
    /// Builds the cluster's pipeline again when a reload changed what it is made of. The new breaker starts closed with
    /// fresh counts; an isolation by hand holds on it too. A cluster whose client is not made yet is built from its
    /// configuration when it is.
    /// </summary>
    /// <returns>Whether the pipeline was built again.</returns>
    public bool Sync(string clusterId, ClusterConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!_pipelines.TryGetValue(clusterId, out var current) || current.Settings == Settings.Of(config))
        {
            return false;
        }

        lock (current)
        {
            try
            {
                current.Pipeline = Build(clusterId, config);
                current.Settings = Settings.Of(config);
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or System.ComponentModel.DataAnnotations.ValidationException)
            {
                // Polly's own checks of its options, past the gateway's: the running pipeline and its state stay.
                PipelineKept(_logger, clusterId, ex.Message);
                return false;
            }
        }

        PipelineRebuilt(_logger, clusterId);
        return true;
    }

    private ResiliencePipeline<HttpResponseMessage> Build(string clusterId, ClusterConfig config)
    {
        // Named as the resilience handler of Microsoft.Extensions.Http.Resilience names its pipelines.
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { Name = ClusterClients.ClientName(clusterId) + "-cluster", InstanceName = string.Empty, TimeProvider = time };
        // The host's Polly telemetry options (which events are worth a line), written to the host's loggers.
        builder.ConfigureTelemetry(new TelemetryOptions(pollyTelemetry.Value) { LoggerFactory = loggers });
        var breakerState = new CircuitBreakerStateProvider();
        ClusterResilience.Configure(builder, clusterId, config, registry, breakerState, time, () => telemetry.RetryBudgetExhausted(clusterId));
        var pipeline = builder.Build();
        // Published once built, so a pipeline Polly refused leaves the running breaker's state readable.
        registry.PublishBreakerState(clusterId, config.CircuitBreaker.Enabled ? breakerState : null);
        return pipeline;
    }

    [LoggerMessage(EventId = 109, Level = LogLevel.Information, Message = "Cluster {Cluster}'s resilience pipeline was built again with the reloaded settings; its breaker starts closed")]
    private static partial void PipelineRebuilt(ILogger logger, string cluster);

    [LoggerMessage(EventId = 110, Level = LogLevel.Error, Message = "Cluster {Cluster}'s reloaded resilience settings were refused, its running pipeline stays: {Reason}")]
    private static partial void PipelineKept(ILogger logger, string cluster, string reason);
}
