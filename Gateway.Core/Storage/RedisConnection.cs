using Gateway.Core.Routing;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Gateway.Core.Storage;

/// <summary>
/// The gateway's one Redis connection, opened at start-up (<see cref="RedisStartup"/>) so the first requests do
/// not find it still connecting. <c>AbortOnConnectFail=false</c>: the gateway starts while Redis is down and
/// StackExchange.Redis reconnects by itself when it returns.
/// </summary>
public sealed class RedisConnection : IDisposable
{
    private readonly Lock _gate = new();
    private ConnectionMultiplexer? _multiplexer;

    public RedisConnection(IOptions<GatewayOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Config = options.Value.Redis;
    }

    /// <summary>A connection to another Redis with the same settings (the response cache's own).</summary>
    internal RedisConnection(RedisConfig config)
    {
        Config = config;
    }

    public RedisConfig Config { get; }

    public IDatabase Database => (Volatile.Read(ref _multiplexer) ?? ConnectNow()).GetDatabase();

    public bool IsConnected => Volatile.Read(ref _multiplexer) is { IsConnected: true };

    public RedisKey Key(string suffix) => Config.KeyPrefix + suffix;

    /// <summary>Connects once; returns when connected or when the connect timeout passed (it keeps trying then).</summary>
    public async Task ConnectAsync()
    {
        if (Volatile.Read(ref _multiplexer) is not null)
        {
            return;
        }

        var connected = await ConnectionMultiplexer.ConnectAsync(Options()).ConfigureAwait(false);
        lock (_gate)
        {
            if (_multiplexer is null)
            {
                Volatile.Write(ref _multiplexer, connected);
                return;
            }
        }

        await connected.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// The connection itself, for a library that takes a multiplexer (the shared response cache): one connection per
    /// gateway, whatever uses it.
    /// </summary>
    public async Task<IConnectionMultiplexer> MultiplexerAsync()
    {
        await ConnectAsync().ConfigureAwait(false);
        return Volatile.Read(ref _multiplexer)!;
    }

    public void Dispose() => Volatile.Read(ref _multiplexer)?.Dispose();

    // Only if something uses Redis before start-up connected it (a host without the hosted service).
    private ConnectionMultiplexer ConnectNow()
    {
        lock (_gate)
        {
            return _multiplexer ??= ConnectionMultiplexer.Connect(Options());
        }
    }

    private ConfigurationOptions Options()
    {
        var configuration = ConfigurationOptions.Parse(Config.Configuration!);
        configuration.AbortOnConnectFail = false;
        var timeout = (int)Config.OperationTimeout.TotalMilliseconds;
        configuration.AsyncTimeout = timeout;
        configuration.SyncTimeout = timeout;
        configuration.ConnectTimeout = Math.Max(timeout, 5000);
        configuration.ClientName ??= "gateway";
        // While disconnected, fail at once instead of queueing: the caller's fail-open/closed mode decides, and
        // an outage must not add a timeout's worth of latency to every request.
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        // Replies are read on the thread pool, where the request waiting for them continues anyway. The library's
        // dedicated I/O threads cost about three more context switches per call: 15-20 % of an exact rate-limited
        // request's throughput here. Under overload, with requests queued past the 250 ms timeout, an exact limit
        // still admits exactly its permits with no Redis timeout (bench/overload.sh).
        configuration.SocketManager = SocketManager.ThreadPool;
        return configuration;
    }
}

/// <summary>Opens the Redis connection before the gateway takes traffic (hosted services start before the server).</summary>
public sealed class RedisStartup(RedisConnection redis) : Microsoft.Extensions.Hosting.IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => redis.Config.IsConfigured ? redis.ConnectAsync() : Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
