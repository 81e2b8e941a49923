using System.Collections.Concurrent;
using System.Globalization;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Infrastructure;

/// <summary>A span as the receiver decoded it: ids in lower-case hex, attributes as strings.</summary>
public sealed record ReceivedSpan(string Service, string TraceId, string SpanId, string ParentSpanId, string Name, int Kind,
    IReadOnlyDictionary<string, string> Attributes, IReadOnlyList<string> Events, IReadOnlyList<IReadOnlyDictionary<string, string>> EventAttributes)
{
    /// <summary>The attributes of each event of that name, in order.</summary>
    public IEnumerable<IReadOnlyDictionary<string, string>> EventsNamed(string name) =>
        Events.Select((eventName, i) => (eventName, i)).Where(e => e.eventName == name).Select(e => EventAttributes[e.i]);

    public const int ServerKind = 2;
    public const int ClientKind = 3;
}

/// <summary>A log record as the receiver decoded it.</summary>
public sealed record ReceivedLog(string Service, string TraceId, string SpanId, string Severity, string Body,
    IReadOnlyDictionary<string, string> Attributes);

/// <summary>
/// An OTLP/HTTP receiver inside the test process, on a real loopback port: it decodes what the gateway exports
/// (protobuf <c>ExportTraceServiceRequest</c>, <c>ExportLogsServiceRequest</c>, <c>ExportMetricsServiceRequest</c>;
/// field numbers from opentelemetry-proto, read with Google.Protobuf's wire reader) and answers as a collector
/// does (an empty response message). Of metrics, only their names are kept.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private TestUpstream? _server;
    private int _metricExports;

    public ConcurrentQueue<ReceivedSpan> Spans { get; } = new();

    public ConcurrentQueue<ReceivedLog> Logs { get; } = new();

    /// <summary>How many log records each logs export carried, in order of arrival.</summary>
    public ConcurrentQueue<int> LogExportSizes { get; } = new();

    /// <summary>The names of every metric exported so far.</summary>
    public ConcurrentDictionary<string, byte> MetricNames { get; } = new(StringComparer.Ordinal);

    public int MetricExports => Volatile.Read(ref _metricExports);

    public string Url => _server!.Url;

    /// <summary>The standard variables that point a gateway process's exporters here over OTLP/HTTP, and any others.</summary>
    public Dictionary<string, string> ExporterEnvironment(params (string Name, string Value)[] others)
    {
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Url,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        };
        foreach (var (name, value) in others)
        {
            environment[name] = value;
        }

        return environment;
    }

    public static async Task<OtlpReceiver> StartAsync()
    {
        var receiver = new OtlpReceiver();
        receiver._server = await TestUpstream.StartAsync(app =>
        {
            app.MapPost("/v1/traces", async (HttpRequest request) =>
            {
                // ExportTraceServiceRequest{1: ResourceSpans{1: Resource{1: attrs}, 2: ScopeSpans{2: Span}}}
                foreach (var resource in Message.Parse(await ReadAsync(request)).All(1))
                {
                    var service = Attributes(resource.One(1), field: 1).GetValueOrDefault("service.name", string.Empty);
                    foreach (var span in resource.All(2).SelectMany(scope => scope.All(2)))
                    {
                        receiver.Spans.Enqueue(new ReceivedSpan(service, span.Hex(1), span.Hex(2), span.Hex(4), span.Text(5), (int)span.Number(6),
                            Attributes(span, field: 9), span.All(11).Select(e => e.Text(2)).ToList(),
                            span.All(11).Select(e => (IReadOnlyDictionary<string, string>)Attributes(e, field: 3)).ToList()));
                    }
                }

                return Results.Bytes([], "application/x-protobuf");
            });
            app.MapPost("/v1/logs", async (HttpRequest request) =>
            {
                // ExportLogsServiceRequest{1: ResourceLogs{1: Resource, 2: ScopeLogs{2: LogRecord}}}
                var records = 0;
                foreach (var resource in Message.Parse(await ReadAsync(request)).All(1))
                {
                    var service = Attributes(resource.One(1), field: 1).GetValueOrDefault("service.name", string.Empty);
                    foreach (var log in resource.All(2).SelectMany(scope => scope.All(2)))
                    {
                        receiver.Logs.Enqueue(new ReceivedLog(service, log.Hex(9), log.Hex(10), log.Text(3), AnyValue(log.One(5)), Attributes(log, field: 6)));
                        records++;
                    }
                }

                receiver.LogExportSizes.Enqueue(records);

                return Results.Bytes([], "application/x-protobuf");
            });
            app.MapPost("/v1/metrics", async (HttpRequest request) =>
            {
                // ExportMetricsServiceRequest{1: ResourceMetrics{2: ScopeMetrics{2: Metric{1: name}}}}
                foreach (var metric in Message.Parse(await ReadAsync(request)).All(1).SelectMany(r => r.All(2)).SelectMany(scope => scope.All(2)))
                {
                    receiver.MetricNames.TryAdd(metric.Text(1), 0);
                }

                Interlocked.Increment(ref receiver._metricExports);

                return Results.Bytes([], "application/x-protobuf");
            });
        });
        return receiver;
    }

    public ValueTask DisposeAsync() => _server?.DisposeAsync() ?? ValueTask.CompletedTask;

    private static async Task<byte[]> ReadAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    // KeyValue{1: key, 2: AnyValue}: field 1 of a Resource, 9 of a Span, 3 of a Span's Event, 6 of a LogRecord.
    private static Dictionary<string, string> Attributes(Message? owner, int field)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in owner?.All(field) ?? [])
        {
            attributes[pair.Text(1)] = AnyValue(pair.One(2));
        }

        return attributes;
    }

    // AnyValue{1: string, 2: bool, 3: int64, 4: double}
    private static string AnyValue(Message? value) =>
        value is null ? string.Empty
        : value.Has(1) ? value.Text(1)
        : value.Has(2) ? (value.Number(2) != 0 ? "true" : "false")
        : value.Has(3) ? ((long)value.Number(3)).ToString(CultureInfo.InvariantCulture)
        : value.Has(4) ? BitConverter.UInt64BitsToDouble(value.Number(4)).ToString(CultureInfo.InvariantCulture)
        : string.Empty;

    /// <summary>A protobuf message as its fields: numbers for varint and fixed fields, bytes for the rest.</summary>
    private sealed class Message
    {
        private readonly List<(int Field, ulong Number, ByteString? Bytes)> _fields = [];

        public static Message Parse(ByteString bytes)
        {
            var message = new Message();
            var input = new CodedInputStream(bytes.ToByteArray());
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                var field = WireFormat.GetTagFieldNumber(tag);
                switch (WireFormat.GetTagWireType(tag))
                {
                    case WireFormat.WireType.Varint: message._fields.Add((field, input.ReadUInt64(), null)); break;
                    case WireFormat.WireType.Fixed64: message._fields.Add((field, input.ReadFixed64(), null)); break;
                    case WireFormat.WireType.Fixed32: message._fields.Add((field, input.ReadFixed32(), null)); break;
                    case WireFormat.WireType.LengthDelimited: message._fields.Add((field, 0, input.ReadBytes())); break;
                    default: input.SkipLastField(); break;
                }
            }

            return message;
        }

        public static Message Parse(byte[] bytes) => Parse(ByteString.CopyFrom(bytes));

        public bool Has(int field) => _fields.Exists(f => f.Field == field);

        public IEnumerable<Message> All(int field) => _fields.Where(f => f.Field == field && f.Bytes is not null).Select(f => Parse(f.Bytes!));

        public Message? One(int field) => All(field).FirstOrDefault();

        public ulong Number(int field) => _fields.FirstOrDefault(f => f.Field == field).Number;

        public string Text(int field) => _fields.FirstOrDefault(f => f.Field == field).Bytes?.ToStringUtf8() ?? string.Empty;

        public string Hex(int field) => _fields.FirstOrDefault(f => f.Field == field).Bytes is { } bytes ? Convert.ToHexStringLower(bytes.Span) : string.Empty;
    }
}
