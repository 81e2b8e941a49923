using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Gateway.Core.Caching;

/// <summary>
/// The framework's Redis output-cache store, with the outage handled the gateway's way. The output cache middleware
/// already answers from the upstream when a lookup or a store fails, but it logs each failure as an error with the
/// entry's key, which holds the request's path and query: thousands of lines a second while Redis is down, each
/// with whatever the client put in its query. Here a failed lookup is a miss and a failed store is skipped, and
/// the outage is logged once when it starts and once when it ends, without keys. A purge still fails loudly: the
/// caller has to know the answers were not dropped.
/// </summary>
internal sealed class SharedCacheStore(IOutputCacheBufferStore inner, ILogger<SharedCacheStore> logger) : IOutputCacheBufferStore, IDisposable
{
    private int _unreachable;

    /// <summary>
    /// Ends the framework store's expired-tag sweep, which runs every five minutes until it is disposed. The store
    /// also closes the connection it was given, the gateway's own when the cache has no Redis of its own: the
    /// container disposes it only after the server and the hosted services have stopped.
    /// </summary>
    public void Dispose() => (inner as IDisposable)?.Dispose();

    public ValueTask EvictByTagAsync(string tag, CancellationToken cancellationToken) => inner.EvictByTagAsync(tag, cancellationToken);

    public async ValueTask<byte[]?> GetAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var entry = await inner.GetAsync(key, cancellationToken).ConfigureAwait(false);
            Reached();
            return entry;
        }
        catch (Exception ex) when (IsUnreachable(ex))
        {
            Failed(ex);
            return null;
        }
    }

    public async ValueTask SetAsync(string key, byte[] value, string[]? tags, TimeSpan validFor, CancellationToken cancellationToken)
    {
        try
        {
            await inner.SetAsync(key, value, tags, validFor, cancellationToken).ConfigureAwait(false);
            Reached();
        }
        catch (Exception ex) when (IsUnreachable(ex))
        {
            Failed(ex);
        }
    }

    public async ValueTask<bool> TryGetAsync(string key, PipeWriter destination, CancellationToken cancellationToken)
    {
        try
        {
            var found = await inner.TryGetAsync(key, destination, cancellationToken).ConfigureAwait(false);
            Reached();
            return found;
        }
        catch (Exception ex) when (IsUnreachable(ex))
        {
            Failed(ex);
            return false;
        }
    }

    public async ValueTask SetAsync(string key, ReadOnlySequence<byte> value, ReadOnlyMemory<string> tags, TimeSpan validFor, CancellationToken cancellationToken)
    {
        try
        {
            await inner.SetAsync(key, value, tags, validFor, cancellationToken).ConfigureAwait(false);
            Reached();
        }
        catch (Exception ex) when (IsUnreachable(ex))
        {
            Failed(ex);
        }
    }

    /// <summary>What an unreachable or overloaded Redis throws (a scan wraps it in an AggregateException).</summary>
    internal static bool IsUnreachable(Exception ex) => ex switch
    {
        RedisException or TimeoutException => true,
        AggregateException aggregate => aggregate.InnerExceptions.All(IsUnreachable),
        _ => false,
    };

    private void Failed(Exception ex)
    {
        if (Interlocked.Exchange(ref _unreachable, 1) == 0)
        {
            CacheLog.StoreUnreachable(logger, ex.GetType().Name);
        }
    }

    private void Reached()
    {
        if (Volatile.Read(ref _unreachable) == 1 && Interlocked.Exchange(ref _unreachable, 0) == 1)
        {
            CacheLog.StoreReachable(logger);
        }
    }
}

internal static partial class CacheLog
{
    [LoggerMessage(EventId = 8001, Level = LogLevel.Warning, Message = "The shared response cache is unreachable ({Error}); cached routes answer from their upstreams until it returns")]
    public static partial void StoreUnreachable(ILogger logger, string error);

    [LoggerMessage(EventId = 8002, Level = LogLevel.Information, Message = "The shared response cache is reachable again")]
    public static partial void StoreReachable(ILogger logger);
}
