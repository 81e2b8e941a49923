using Gateway.Core.Forwarding;
using Gateway.Core.Observability;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Serilog;
using Serilog.Sinks.OpenTelemetry;

namespace Gateway.Api.Hosting;

/// <summary>
/// Traces, metrics and logs. Metrics always (Prometheus scrape on <c>/metrics</c>); traces and OTLP export only
/// when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, configured by the standard <c>OTEL_*</c> variables. Logs go
/// through Serilog: compact JSON on the console, and OTLP (the collector forwards them to Elasticsearch).
/// </summary>
internal static class TelemetrySetup
{
    private const int OtlpLogBatchSize = 100;

    // The filter may run with the new client activity already current: then it needs a parent of its own.
    private static bool HasParent(System.Diagnostics.Activity? current) =>
        current is not null && (current.OperationName != "System.Net.Http.HttpRequestOut" || current.ParentSpanId != default);

    public static void AddGatewayTelemetry(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var otlpEndpoint = configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        var exportOtlp = !string.IsNullOrWhiteSpace(otlpEndpoint);
        var serviceName = configuration["OTEL_SERVICE_NAME"] ?? "gateway";
        var instanceId = $"{Environment.MachineName}:{Environment.ProcessId}";
        // Read here, before the options exist; a value that is not a boolean fails start-up naming the key.
        var frameworkMetrics = configuration.GetSection($"{Gateway.Core.Routing.GatewayOptions.SectionName}:Observability")
            .Get<ObservabilityConfig>()?.FrameworkMetrics ?? false;

        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName, serviceVersion: UpstreamHeaders.GatewayVersion, serviceInstanceId: instanceId))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(GatewayMetrics.MeterName).AddPrometheusExporter();
                if (exportOtlp)
                {
                    metrics.AddOtlpExporter();
                    if (frameworkMetrics)
                    {
                        metrics.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
                    }
                }
            });

        if (exportOtlp)
        {
            otel.WithTracing(tracing => tracing
                .AddSource(GatewayTelemetry.ActivitySourceName)
                .AddAspNetCoreInstrumentation(options => options.Filter = context => !context.Request.Path.StartsWithSegments(Gateway.Core.Routing.GatewayPaths.Metrics))
                // Only calls made for a request (or a flow step): background health probes would be one trace each.
                .AddHttpClientInstrumentation(options => options.FilterHttpRequestMessage = _ => HasParent(System.Diagnostics.Activity.Current))
                .AddOtlpExporter());
        }
        else
        {
            builder.Services.AddHostedService<PropagationOnlyTracing>();
        }

        builder.Services.Configure<UpstreamTracingOptions>(options => options.ClientSpans = exportOtlp);
        builder.Services.AddHttpContextAccessor();
        // Polly reports every attempt of every call; the access log already has attempts, and its events for
        // retries, timeouts and breaker transitions still come through.
        builder.Services.Configure<Polly.Telemetry.TelemetryOptions>(options => options.SeverityProvider = static args =>
            args.Event.EventName == "ExecutionAttempt" && args.Event.Severity < Polly.Telemetry.ResilienceEventSeverity.Warning
                ? Polly.Telemetry.ResilienceEventSeverity.None
                : args.Event.Severity);
        // preserveStaticLogger: the host's loggers write to its own Serilog logger. Otherwise every host replaces the
        // static Log.Logger and its loggers follow whichever host set it last, and a host that stops closes it for all:
        // with several hosts in one process (the test suite) one gateway's access lines went to another's sinks or
        // nowhere.
        builder.Services.AddSerilog((services, logger) =>
        {
            // ASP.NET Core's hosting diagnostics open a logging scope per request as soon as any level of theirs is
            // on, and their request lines repeat the access log; off unless the configuration turns them back on.
            logger.MinimumLevel.Override("Microsoft.AspNetCore.Hosting.Diagnostics", Serilog.Events.LevelAlias.Off)
                .ReadFrom.Configuration(configuration)
                .Enrich.FromLogContext()
                .Enrich.With(new RequestEnricher(services.GetRequiredService<IHttpContextAccessor>()))
                .Enrich.With<QueryStringRedactor>()
                .WriteTo.Sink(BatchedConsoleSink.ToStandardOutput(new CompactJsonLineFormatter()), new Serilog.Configuration.BatchingOptions
                {
                    BatchSizeLimit = 1000,
                    BufferingTimeLimit = TimeSpan.FromMilliseconds(100),
                    EagerlyEmitFirstEvent = true,
                    QueueLimit = 20_000,
                });
            if (exportOtlp)
            {
                logger.WriteTo.OpenTelemetry(options =>
                {
                    // Same default as the SDK's trace and metric exporters (gRPC), so all three reach one endpoint.
                    var grpc = configuration["OTEL_EXPORTER_OTLP_PROTOCOL"] is null or "" or "grpc";
                    options.Protocol = grpc ? OtlpProtocol.Grpc : OtlpProtocol.HttpProtobuf;
                    options.Endpoint = grpc ? otlpEndpoint! : otlpEndpoint!.TrimEnd('/') + "/v1/logs";
                    // The template as the body and the values as attributes: what a structured store indexes, and no
                    // message to render per line. Trace and span ids go in the record's own fields.
                    options.IncludedData = IncludedData.TemplateBody | IncludedData.TraceIdField | IncludedData.SpanIdField
                        | IncludedData.SpecRequiredResourceAttributes;
                    // Each export serialises its batch into one array. At the default 1000 records (~600 bytes each)
                    // that array was on the large object heap, and under load the gateway ran about two full
                    // collections a second for them; a hundred records keep it in the young generation.
                    options.BatchingOptions.BatchSizeLimit = OtlpLogBatchSize;
                    options.ResourceAttributes = new Dictionary<string, object>
                    {
                        ["service.name"] = serviceName,
                        ["service.version"] = UpstreamHeaders.GatewayVersion,
                        ["service.instance.id"] = instanceId,
                    };
                });
            }
        }, preserveStaticLogger: true);
        CachingLoggerFactory.Decorate(builder.Services);
    }
}

/// <summary>
/// Every log line written while a request runs carries its correlation id, read from the request instead of a
/// per-request logging scope. Trace and span ids are the event's own (Serilog takes them from the current
/// activity): the console line and the OTLP record each write them from there.
/// </summary>
internal sealed class RequestEnricher(IHttpContextAccessor accessor) : Serilog.Core.ILogEventEnricher
{
    public void Enrich(Serilog.Events.LogEvent logEvent, Serilog.Core.ILogEventPropertyFactory propertyFactory)
    {
        if (accessor.HttpContext?.Features.Get<CorrelationIdFeature>() is { } correlation)
        {
            logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty("CorrelationId", correlation.Id));
        }
    }
}

/// <summary>
/// ASP.NET Core's own request lines carry the raw query string, which may hold a token (<c>?token=</c>) or other
/// secrets; whatever levels the configuration sets, a logged query string keeps its parameter names only.
/// </summary>
internal sealed class QueryStringRedactor : Serilog.Core.ILogEventEnricher
{
    public void Enrich(Serilog.Events.LogEvent logEvent, Serilog.Core.ILogEventPropertyFactory propertyFactory)
    {
        if (logEvent.Properties.TryGetValue("QueryString", out var value)
            && value is Serilog.Events.ScalarValue { Value: string { Length: > 1 } query })
        {
            var names = query.TrimStart('?').Split('&').Select(part => part.Split('=', 2)[0] + "=***");
            logEvent.AddOrUpdateProperty(propertyFactory.CreateProperty("QueryString", "?" + string.Join('&', names)));
        }
    }
}

