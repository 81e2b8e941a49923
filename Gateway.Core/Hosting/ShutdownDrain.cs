using Gateway.Core.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Hosting;

/// <summary>How the gateway stops (<c>Gateway:Shutdown</c>).</summary>
public sealed record ShutdownConfig
{
    /// <summary>
    /// How long the gateway goes on taking requests after the stop signal, unready, before it stops listening:
    /// long enough for balancers that poll <c>/health/ready</c> (or a Kubernetes endpoint update) to take the replica
    /// out of rotation, so no client meets a closed port. Traefik's <c>requestAcceptGraceTimeout</c>; 0, the default,
    /// stops listening at once.
    /// </summary>
    public TimeSpan DrainDelay { get; init; } = TimeSpan.Zero;

    /// <summary>How long requests in flight then have to finish before they are cut (the host's shutdown timeout).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// The drain before the gateway stops listening. It runs before any service stops (a lifecycle service's
/// <see cref="StoppingAsync"/>), so Kestrel still serves while readiness reports the stop and each connection a request
/// comes on is closed after it (see <see cref="Observability.CorrelationIdMiddleware"/>), moving keep-alive clients,
/// balancers' pools included, to another replica.
/// </summary>
public sealed partial class ShutdownDrain(IOptions<GatewayOptions> options, TimeProvider time, ILogger<ShutdownDrain> logger) : IHostedLifecycleService, IDisposable
{
    private readonly CancellationTokenSource _servingEnds = new();
    private volatile bool _draining;

    /// <summary>True from the stop signal on.</summary>
    public bool Draining => _draining;

    /// <summary>
    /// Cancelled when the drain is over and the gateway stops listening. What outlives a request, a WebSocket tunnel,
    /// ends here rather than at the stop signal: a client that reconnected during the drain delay could be sent back
    /// to this replica by a balancer that has not yet seen it unready.
    /// </summary>
    public CancellationToken ServingEnds => _servingEnds.Token;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _draining = true;
        var delay = options.Value.Shutdown.DrainDelay;
        if (delay > TimeSpan.Zero)
        {
            DrainStarted(logger, delay.TotalSeconds);
            try
            {
                // The drain is a wait by design: it gives the balancers time, and ends early only if the host's
                // shutdown timeout does.
                await Task.Delay(delay, time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
        }

        await _servingEnds.CancelAsync();
    }

    public void Dispose() => _servingEnds.Dispose();

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 107, Level = LogLevel.Information, Message = "Stopping: unready, still serving for {DrainSeconds} s before the gateway stops listening")]
    private static partial void DrainStarted(ILogger logger, double drainSeconds);
}
