using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace Gateway.Core.Storage;

/// <summary>
/// Tracks outages of the shared stores: the first failure of an outage is logged (not every failed call), the
/// recovery is logged once, and every failed call is counted in <c>gateway_store_errors_total{store}</c>.
/// </summary>
public sealed partial class StoreHealth
{
    private readonly ILogger<StoreHealth> _logger;
    private readonly Counter<long> _errors;
    private int _down;

    public StoreHealth(IMeterFactory meterFactory, ILogger<StoreHealth> logger)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _logger = logger;
        _errors = meterFactory.Create(Observability.GatewayMetrics.MeterName)
            .CreateCounter<long>("gateway_store_errors_total", description: "Calls to a shared store (Redis) that failed or timed out.");
    }

    public bool IsDown => Volatile.Read(ref _down) == 1;

    /// <summary>
    /// Whether an exception from a call to a shared store is the store failing, which each caller answers with its
    /// failure mode or a 503, rather than a fault to escape as a 500: unreachable, slow, refusing writes (OOM), its
    /// connection disposed at a stop, or a call StackExchange.Redis cancelled itself (a burst of timeouts on a busy
    /// connection), as opposed to the client leaving.
    /// </summary>
    public static bool IsFailure(Exception ex, CancellationToken requestAborted) =>
        ex is StackExchange.Redis.RedisException or TimeoutException or ObjectDisposedException
        || (ex is OperationCanceledException && !requestAborted.IsCancellationRequested);

    public void Failed(string store, Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        _errors.Add(1, new KeyValuePair<string, object?>("store", store));
        if (Interlocked.Exchange(ref _down, 1) == 0)
        {
            OutageStarted(_logger, store, error.GetType().Name, error.Message);
        }
    }

    public void Succeeded(string store)
    {
        if (Volatile.Read(ref _down) == 1 && Interlocked.Exchange(ref _down, 0) == 1)
        {
            OutageEnded(_logger, store);
        }
    }

    // "Failing", not "unreachable": a Redis that answers can still refuse every write (OOM when full, READONLY on a replica).
    [LoggerMessage(EventId = 4001, Level = LogLevel.Error, Message = "Store {Store} failing ({ErrorType}: {Error}); further failures are counted, not logged, until it recovers")]
    private static partial void OutageStarted(ILogger logger, string store, string errorType, string error);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Store {Store} answering again")]
    private static partial void OutageEnded(ILogger logger, string store);
}
