using System.Text.Json;
using Gateway.Core.Forwarding;
using Gateway.Core.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Gateway.Core.Discovery;

/// <summary>
/// What the admin API changes by hand (instances registered or removed, drains, isolated breakers), applied on this
/// replica and, with Redis configured, on every replica: each change is kept in one Redis hash, which a replica reads
/// as it starts, and published to the replicas running. Behind a balancer an operator's call reaches one replica, and
/// a drain the others did not hear of would drain nothing. Without Redis the changes stay on the replica called.
/// </summary>
public sealed partial class AdminState(ServiceRegistry registry, ClusterClients clients, RedisConnection redis, ILogger<AdminState> logger)
    : IHostedService, IDisposable
{
    /// <summary>How often a replica that started without Redis tries again to join the shared changes.</summary>
    internal static readonly TimeSpan JoinRetryPeriod = TimeSpan.FromSeconds(2);

    private readonly string _origin = Guid.NewGuid().ToString("N");
    private readonly CancellationTokenSource _stopping = new();
    private ChannelMessageQueue? _subscription;
    private Task _joining = Task.CompletedTask;
    private bool _toldNotJoined;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _isolated = new(StringComparer.OrdinalIgnoreCase);

    // A field is "kind:service[:instance]"; its kind says how ApplyAsync reads its value.
    private const string Instance = "instance", Drain = "drain", Isolation = "isolate";

    public static string InstanceField(string service, string id) => $"{Instance}:{service}:{id}";

    public static string DrainField(string service, string id) => $"{Drain}:{service}:{id}";

    public static string IsolationField(string service) => $"{Isolation}:{service}";

    public static string Registration(string address, int weight) => JsonSerializer.Serialize(new InstanceValue(address, weight));

    /// <summary>
    /// Applies a change here, then shares it; false when Redis is configured and could not take it (the change then
    /// holds on this replica only). A null value undoes the field's change.
    /// </summary>
    public async Task<bool> ChangeAsync(string field, string? value)
    {
        await ApplyAsync(field, value).ConfigureAwait(false);
        if (!redis.Config.IsConfigured)
        {
            return true;
        }

        try
        {
            var database = redis.Database;
            _ = value is null
                ? await database.HashDeleteAsync(StateKey, field).ConfigureAwait(false)
                : await database.HashSetAsync(StateKey, field, value).ConfigureAwait(false);
            await database.PublishAsync(Channel, JsonSerializer.Serialize(new Message(_origin, field, value))).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            NotShared(logger, field, ex.Message);
            return false;
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (redis.Config.IsConfigured)
        {
            registry.ClusterAdded += CatchUp;
        }

        if (redis.Config.IsConfigured && !await TryJoinAsync().ConfigureAwait(false))
        {
            // The replica serves meanwhile; it joins once Redis answers, reading what the others changed until then.
            _joining = JoinLaterAsync(_stopping.Token);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        registry.ClusterAdded -= CatchUp;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _joining.ConfigureAwait(false);
        if (_subscription is not null)
        {
            await _subscription.UnsubscribeAsync().ConfigureAwait(false);
        }
    }

    public void Dispose() => _stopping.Dispose();

    private async Task JoinLaterAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(JoinRetryPeriod);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false) && !await TryJoinAsync().ConfigureAwait(false))
            {
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>
    /// Subscribes to the others' changes, then brings this replica in line with the ones kept (also after a lost
    /// subscription comes back, when messages may have been missed); false when Redis could not be reached.
    /// </summary>
    private async Task<bool> TryJoinAsync()
    {
        try
        {
            var multiplexer = await redis.MultiplexerAsync().ConfigureAwait(false);
            _subscription ??= await SubscribeAsync(multiplexer).ConfigureAwait(false);
            // Instances first: a drain names an instance that a registration may bring.
            var state = await redis.Database.HashGetAllAsync(StateKey).ConfigureAwait(false);
            foreach (var entry in state.OrderBy(entry => ((string)entry.Name!).StartsWith(Instance + ":", StringComparison.Ordinal) ? 0 : 1))
            {
                try
                {
                    await ApplyAsync(entry.Name!, entry.Value).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is JsonException or UriFormatException or ArgumentException)
                {
                    NotApplied(logger, ex.Message);
                }
            }

            await UndoWhatIsNoLongerKeptAsync(state.Select(entry => (string)entry.Name!).ToHashSet(StringComparer.OrdinalIgnoreCase)).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Said once, not at every try of an outage.
            if (!_toldNotJoined)
            {
                _toldNotJoined = true;
                NotLoaded(logger, ex.Message);
            }

            return false;
        }
    }

    /// <summary>
    /// A cluster a reload adds may have changes already: made through a replica whose file had it first, and published
    /// while this one had no such cluster to apply them to. The kept changes are read again, as after a lost
    /// subscription; a replica not joined yet reads them when it joins.
    /// </summary>
    private void CatchUp(ServiceCluster cluster)
    {
        if (_subscription is not null)
        {
            _ = Task.Run(TryJoinAsync);
        }
    }

    private async Task<ChannelMessageQueue> SubscribeAsync(IConnectionMultiplexer multiplexer)
    {
        var subscription = await multiplexer.GetSubscriber().SubscribeAsync(Channel).ConfigureAwait(false);
        subscription.OnMessage(ReceiveAsync);
        multiplexer.ConnectionRestored += (_, restored) =>
        {
            if (restored.ConnectionType == ConnectionType.Subscription)
            {
                _ = TryJoinAsync();
            }
        };
        return subscription;
    }

    /// <summary>A change undone while this replica was not listening: a drain, a registration or an isolation it still holds.</summary>
    private async Task UndoWhatIsNoLongerKeptAsync(HashSet<string> kept)
    {
        foreach (var cluster in registry.Clusters)
        {
            foreach (var instance in cluster.Instances)
            {
                if (instance.Draining && !kept.Contains(DrainField(cluster.Id, instance.Id)))
                {
                    instance.Drain(false);
                }

                if (instance.Source == InstanceSource.Admin && !kept.Contains(InstanceField(cluster.Id, instance.Id)))
                {
                    cluster.TryRemove(instance.Id);
                }
            }

            // Only isolations made by hand are undone: closing a breaker that opened by itself would hide a failing service.
            if (_isolated.ContainsKey(cluster.Id) && !kept.Contains(IsolationField(cluster.Id)))
            {
                await ApplyAsync(IsolationField(cluster.Id), value: null).ConfigureAwait(false);
            }
        }
    }

    private RedisKey StateKey => redis.Key("admin:state");

    private RedisChannel Channel => RedisChannel.Literal(redis.Config.KeyPrefix + "admin:changes");

    private async Task ReceiveAsync(ChannelMessage message)
    {
        try
        {
            if (JsonSerializer.Deserialize<Message>((string)message.Message!) is { } change && change.Origin != _origin)
            {
                await ApplyAsync(change.Field, change.Value).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is JsonException or UriFormatException or ArgumentException)
        {
            // Written by a replica of another version, or by hand: skipped, never a crash of the subscriber.
            NotApplied(logger, ex.Message);
        }
    }

    private async Task ApplyAsync(string field, string? value)
    {
        var parts = field.Split(':');
        var cluster = parts.Length >= 2 ? registry.Find(parts[1]) : null;
        switch (parts[0])
        {
            case Instance when cluster is not null && parts.Length == 3:
                if (value is null)
                {
                    cluster.TryRemove(parts[2]);
                }
                else if (JsonSerializer.Deserialize<InstanceValue>(value) is { } registered)
                {
                    cluster.TryAdd(new ServiceInstance(parts[2], registered.Address, registered.Weight, InstanceSource.Admin));
                }

                break;
            case Drain when cluster is not null && parts.Length == 3:
                cluster.Find(parts[2])?.Drain(value is not null);
                break;
            case Isolation when cluster is { Config.CircuitBreaker.Enabled: true }:
                // The breaker is built with the cluster's first client; building it now makes its state readable at once.
                _ = clients.InvokerFor(cluster.Id);
                var control = registry.BreakerControlFor(cluster.Id);
                if (value is null)
                {
                    _isolated.TryRemove(cluster.Id, out _);
                    await control.CloseAsync().ConfigureAwait(false);
                }
                else
                {
                    _isolated[cluster.Id] = true;
                    await control.IsolateAsync().ConfigureAwait(false);
                }

                break;
        }
    }

    private sealed record InstanceValue(string Address, int Weight);

    private sealed record Message(string Origin, string Field, string? Value);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Admin change {Field} holds on this replica only: the shared store could not take it ({Error})")]
    private static partial void NotShared(ILogger logger, string field, string error);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "A shared admin change could not be applied and was skipped: {Error}")]
    private static partial void NotApplied(ILogger logger, string error);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "The admin changes other replicas made could not be read ({Error}); this replica serves without them and tries again")]
    private static partial void NotLoaded(ILogger logger, string error);
}
