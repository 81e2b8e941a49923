using System.Diagnostics.Metrics;
using Gateway.Core.Observability;
using Gateway.Core.Routing;
using Microsoft.Extensions.Logging;

namespace Gateway.Core.Forwarding;

/// <summary>
/// A route's mirror (nginx's <c>mirror</c>, Envoy's request mirroring): a copy of a share of its requests goes to
/// another cluster, for a new version to meet real traffic before it takes any. The copy's answer is read and
/// dropped, and the client's answer neither waits for it nor depends on it. A copy is a second real request: a
/// mirrored POST creates what it creates on the mirror's side too.
/// </summary>
public sealed record RouteMirrorConfig
{
    public string? ClusterId { get; init; }

    /// <summary>The share of the route's requests copied, 0 to 100.</summary>
    public double Percent { get; init; } = 100;
}

/// <summary>Sends the copies. Bodies are copied only when the forwarder holds them whole (up to <c>RetryBodyBufferLimit</c>).</summary>
internal sealed partial class RequestMirror
{
    /// <summary>Copies in flight at once, across routes; beyond it a copy is skipped, so a slow mirror cannot pile them up.</summary>
    public const int MaxInFlight = 256;

    private static readonly Uri PlaceholderUri = new("http://mirror.invalid/");
    private readonly ClusterClients _clients;
    private readonly ILogger<RequestMirror> _logger;
    private readonly Counter<long> _sent;
    private int _inFlight;

    public RequestMirror(ClusterClients clients, IMeterFactory meters, ILogger<RequestMirror> logger)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _clients = clients;
        _logger = logger;
        _sent = meters.Create(GatewayMetrics.MeterName).CreateCounter<long>("gateway_mirror_requests_total",
            description: "Copies of requests sent to a route's mirror, by outcome: the mirror's status class, error, or skipped.");
    }

    /// <summary>Starts the copy of a request the forwarder is about to send, and returns at once.</summary>
    /// <param name="body">The request's body as the forwarder holds it (shared, never written); null when it streams.</param>
    public void Start(GatewayRoute route, HttpRequestMessage primary, string pathAndQuery, byte[]? body, bool hasBody)
    {
        var mirror = route.Config.Mirror!;
        if (mirror.Percent < 100 && Random.Shared.NextDouble() * 100 >= mirror.Percent)
        {
            return;
        }

        if (hasBody && body is null)
        {
            Count(route, mirror, "skipped");
            return;
        }

        if (Interlocked.Increment(ref _inFlight) > MaxInFlight)
        {
            Interlocked.Decrement(ref _inFlight);
            Count(route, mirror, "skipped");
            return;
        }

        var copy = new HttpRequestMessage(primary.Method, PlaceholderUri) { Version = primary.Version, VersionPolicy = primary.VersionPolicy };
        foreach (var header in primary.Headers)
        {
            copy.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        // So a mirror can tell copies from requests of its own (Envoy marks the Host with -shadow); a client's is dropped.
        copy.Headers.TryAddWithoutValidation(HeaderRules.Mirror, "1");

        if (body is not null && primary.Content is { } content)
        {
            copy.Content = new ByteArrayContent(body);
            foreach (var header in content.Headers)
            {
                copy.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        var call = new UpstreamCall(route, pathAndQuery, retryable: false, new ProxyRequestFeature(route.Id, mirror.ClusterId!));
        copy.Options.Set(UpstreamCall.Key, call);
        // Not the client's: the copy goes on when the client leaves, and ends at the route's own timeout.
        _ = Task.Run(() => SendAsync(route, mirror, copy));
    }

    private async Task SendAsync(GatewayRoute route, RouteMirrorConfig mirror, HttpRequestMessage copy)
    {
        string outcome;
        try
        {
            using var timeout = new CancellationTokenSource(route.Timeout);
            using var response = await _clients.InvokerFor(mirror.ClusterId!).SendAsync(copy, timeout.Token).ConfigureAwait(false);
            await response.Content.CopyToAsync(Stream.Null, timeout.Token).ConfigureAwait(false);
            outcome = (int)response.StatusCode / 100 + "xx";
        }
        catch (Exception ex) when (UpstreamFailures.IsUpstreamFailure(ex))
        {
            var error = ex.GetBaseException().Message;
            MirrorFailed(_logger, route.Id, mirror.ClusterId!, error);

            outcome = "error";
        }
        finally
        {
            copy.Dispose();
            Interlocked.Decrement(ref _inFlight);
        }

        Count(route, mirror, outcome);
    }

    private void Count(GatewayRoute route, RouteMirrorConfig mirror, string outcome) => _sent.Add(1,
        new KeyValuePair<string, object?>("route", route.Id),
        new KeyValuePair<string, object?>("service", mirror.ClusterId),
        new KeyValuePair<string, object?>("outcome", outcome));

    [LoggerMessage(EventId = 1018, Level = LogLevel.Debug, Message = "Mirror copy of route {Route} to {Cluster} failed: {Error}")]
    private static partial void MirrorFailed(ILogger logger, string route, string cluster, string error);
}
