using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// Admin changes made through one replica reach the others over a real Redis: a registered instance, a drain, an
/// isolated breaker; a replica started later reads them; and undoing one on another replica undoes it everywhere.
/// </summary>
public sealed class SharedAdminStateTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly List<NamedUpstream> _upstreams = [];
    private RedisServer _redis = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        foreach (var name in new[] { "a", "b", "c" })
        {
            _upstreams.Add(await NamedUpstream.StartAsync(name));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var upstream in _upstreams)
        {
            await upstream.DisposeAsync();
        }

        await _redis.DisposeAsync();
    }

    private Task<TestGateway> ReplicaAsync() => TestGateway.StartAsync(GatewayConfig.Quotes(_upstreams[0].Url, _upstreams[1].Url)
        .Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false)
        .Set("Gateway:Redis:Configuration", _redis.Configuration)
        .Set("Gateway:Redis:KeyPrefix", "admin-test:"));

    [Fact]
    public async Task A_change_made_through_one_replica_holds_on_every_replica_and_on_one_started_later()
    {
        await using var first = await ReplicaAsync();
        await using var second = await ReplicaAsync();

        using (var registered = await first.Client.PostAsJsonAsync("/admin/services/quote-service/instances", new { id = "c", address = _upstreams[2].Url }))
        {
            registered.StatusCode.Should().Be(HttpStatusCode.Created);
        }

        (await first.Client.PostAsync("/admin/services/quote-service/instances/quote-service-1/drain", content: null)).StatusCode.Should().Be(HttpStatusCode.NoContent);
        await Poll.UntilAsync(async () => await InstanceAsync(second, "c") is { } c && c.GetProperty("source").GetString() == "admin"
                && await InstanceAsync(second, "quote-service-1") is { } a && a.GetProperty("draining").GetBoolean(),
            Deadline, "the registration and the drain to reach the second replica");
        (await second.GetStringsAsync("/api/v1/quotes/who", 6)).Should().OnlyContain(name => name == "b" || name == "c", "the second replica drains a as well");

        await using (var later = await ReplicaAsync())
        {
            (await InstanceAsync(later, "c")).Should().NotBeNull("a replica started later reads the registration");
            (await InstanceAsync(later, "quote-service-1"))!.Value.GetProperty("draining").GetBoolean().Should().BeTrue();
        }

        (await second.Client.PostAsync("/admin/circuit-breakers/quote-service/isolate", content: null)).StatusCode.Should().Be(HttpStatusCode.NoContent);
        await Poll.UntilAsync(async () => (await first.Client.GetAsync("/api/v1/quotes/who")).StatusCode == HttpStatusCode.ServiceUnavailable,
            Deadline, "the isolation made through the second replica to hold on the first");

        (await second.Client.DeleteAsync("/admin/circuit-breakers/quote-service/isolate")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await second.Client.DeleteAsync("/admin/services/quote-service/instances/quote-service-1/drain")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await second.Client.DeleteAsync("/admin/services/quote-service/instances/c")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        await Poll.UntilAsync(async () => await InstanceAsync(first, "c") is null
                && await InstanceAsync(first, "quote-service-1") is { } a && !a.GetProperty("draining").GetBoolean()
                && (await first.Client.GetAsync("/api/v1/quotes/who")).StatusCode == HttpStatusCode.OK,
            Deadline, "undoing them through the second replica to undo them on the first");
        (await _redis.CliAsync("HLEN", "admin-test:admin:state")).Trim().Should().Be("0", "nothing is left for a replica started later");
    }

    [Fact]
    public async Task A_replica_started_while_Redis_was_down_joins_the_shared_changes_once_it_is_back()
    {
        await _redis.StopAsync();
        await using var early = await ReplicaAsync();
        await _redis.RestartAsync();
        await using var other = await ReplicaAsync();

        (await other.Client.PostAsync("/admin/services/quote-service/instances/quote-service-2/drain", content: null)).StatusCode.Should().Be(HttpStatusCode.NoContent);

        await Poll.UntilAsync(async () => await InstanceAsync(early, "quote-service-2") is { } b && b.GetProperty("draining").GetBoolean(),
            TimeSpan.FromSeconds(15), "the replica that started without Redis to join and take the drain");
    }

    [Fact]
    public async Task A_replica_whose_subscription_was_lost_catches_up_with_what_it_missed()
    {
        await using var replica = await ReplicaAsync();
        (await replica.Client.PostAsync("/admin/circuit-breakers/quote-service/isolate", content: null)).StatusCode.Should().Be(HttpStatusCode.NoContent);

        // Changes kept while the replica was not listening (written straight into the hash, as no message reached it),
        // then its subscription connection dropped and restored.
        await _redis.CliAsync("HSET", "admin-test:admin:state", "drain:quote-service:quote-service-1", "1");
        await _redis.CliAsync("HDEL", "admin-test:admin:state", "isolate:quote-service");
        await _redis.CliAsync("CLIENT", "KILL", "TYPE", "pubsub");

        await Poll.UntilAsync(async () => await InstanceAsync(replica, "quote-service-1") is { } a && a.GetProperty("draining").GetBoolean()
                && (await replica.Client.GetAsync("/api/v1/quotes/who")).StatusCode == HttpStatusCode.OK,
            Deadline, "the replica to take the drain it missed and undo the isolation that was undone");
    }

    [Fact]
    public async Task A_cluster_a_reload_adds_takes_the_changes_made_through_a_replica_that_had_it_first()
    {
        // Replicas roll a configuration out one after the other: the first has the new cluster, the second not yet.
        await using var a = await NamedUpstream.StartAsync("a");
        var withExtra = JsonSerializer.Serialize(new
        {
            Gateway = new
            {
                Routes = new Dictionary<string, object>
                {
                    ["extra"] = new { Path = "/api/extra/{**rest}", ClusterId = "extra", Methods = new[] { "GET" }, Transform = new { PathRemovePrefix = "/api/extra" } },
                },
                Clusters = new Dictionary<string, object>
                {
                    ["quote-service"] = new { Destinations = new { a = new { Address = a.Url } } },
                    ["extra"] = new { Destinations = new { only = new { Address = _upstreams[0].Url } }, HealthCheck = new { Enabled = false } },
                },
            },
        });
        GatewayConfig Shared(GatewayConfig config) => config.Set("Gateway:Redis:Configuration", _redis.Configuration).Set("Gateway:Redis:KeyPrefix", "rollout-test:");
        var (first, _) = await WatchedGateway.StartAsync(a, Shared, withExtra);
        await using var firstRunning = first;
        var (second, secondFile) = await WatchedGateway.StartAsync(a, Shared);
        await using var secondRunning = second;

        using (var registered = await first.Client.PostAsJsonAsync("/admin/services/extra/instances", new { id = "c", address = _upstreams[2].Url }))
        {
            registered.StatusCode.Should().Be(HttpStatusCode.Created);
        }

        (await first.Client.PostAsync("/admin/services/extra/instances/only/drain", content: null)).StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await NamesAsync(first.Client, "/api/extra/quotes/who", 4)).Should().OnlyContain(name => name == "c");

        await System.IO.File.WriteAllTextAsync(secondFile, withExtra);
        await Poll.UntilAsync(async () => (await second.Client.GetAsync("/api/extra/quotes/who")).StatusCode == HttpStatusCode.OK
                && await InstanceAsync(second.Client, "c") is { } c && c.GetProperty("source").GetString() == "admin"
                && await InstanceAsync(second.Client, "only") is { } only && only.GetProperty("draining").GetBoolean(),
            Deadline, "the second replica's new route and cluster, with the registration and the drain");
        (await NamesAsync(second.Client, "/api/extra/quotes/who", 4)).Should().OnlyContain(name => name == "c");
    }

    [Fact]
    public async Task Without_Redis_a_change_holds_on_the_replica_called_and_says_so()
    {
        await using var replica = await ReplicaAsync();
        await _redis.StopAsync();
        try
        {
            using var drained = await replica.Client.PostAsync("/admin/services/quote-service/instances/quote-service-1/drain", content: null);

            (await ProblemAssertions.ShouldBeProblemAsync(drained, 503)).GetProperty("detail").GetString().Should().Contain("this replica only");
            (await InstanceAsync(replica, "quote-service-1"))!.Value.GetProperty("draining").GetBoolean().Should().BeTrue();
        }
        finally
        {
            await _redis.RestartAsync();
        }
    }

    private static async Task<List<string>> NamesAsync(HttpClient gateway, string path, int count)
    {
        var names = new List<string>();
        for (var i = 0; i < count; i++)
        {
            names.Add(await gateway.GetStringAsync(path));
        }

        return names;
    }

    private static Task<JsonElement?> InstanceAsync(TestGateway gateway, string id) => InstanceAsync(gateway.Client, id);

    private static async Task<JsonElement?> InstanceAsync(HttpClient gateway, string id)
    {
        var services = await gateway.GetFromJsonAsync<JsonElement>("/admin/services");
        return services.EnumerateArray().SelectMany(s => s.GetProperty("instances").EnumerateArray())
            .Where(i => i.GetProperty("id").GetString() == id).Select(i => (JsonElement?)i).FirstOrDefault();
    }
}
