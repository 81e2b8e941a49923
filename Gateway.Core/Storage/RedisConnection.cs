using Gateway.Core.Routing;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Gateway.Core.Storage;

/// <summary>
/// The gateway's one Redis connection, opened on first use. <c>AbortOnConnectFail=false</c>: the gateway starts
/// while Redis is down and StackExchange.Redis reconnects by itself when it returns.
/// </summary>
public sealed class RedisConnection : IDisposable
{
    private readonly Lazy<ConnectionMultiplexer> _multiplexer;

    public RedisConnection(IOptions<GatewayOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Config = options.Value.Redis;
        _multiplexer = new Lazy<ConnectionMultiplexer>(Connect);
    }

    public RedisConfig Config { get; }

    public IDatabase Database => _multiplexer.Value.GetDatabase();

    public bool IsConnected => _multiplexer.IsValueCreated && _multiplexer.Value.IsConnected;

    public RedisKey Key(string suffix) => Config.KeyPrefix + suffix;

    public void Dispose()
    {
        if (_multiplexer.IsValueCreated)
        {
            _multiplexer.Value.Dispose();
        }
    }

    private ConnectionMultiplexer Connect()
    {
        var configuration = ConfigurationOptions.Parse(Config.Configuration!);
        configuration.AbortOnConnectFail = false;
        var timeout = (int)Config.OperationTimeout.TotalMilliseconds;
        configuration.AsyncTimeout = timeout;
        configuration.SyncTimeout = timeout;
        configuration.ConnectTimeout = Math.Max(timeout, 1000);
        configuration.ClientName ??= "gateway";
        // While disconnected, fail at once instead of queueing: the caller's fail-open/closed mode decides, and
        // an outage must not add a timeout's worth of latency to every request.
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        return ConnectionMultiplexer.Connect(configuration);
    }
}
