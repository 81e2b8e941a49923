using System.Net;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Integration;

/// <summary>
/// Route response caching in a real Redis shared by two gateway replicas on real sockets: what one stores the other
/// serves, a purge through one empties the route for both, and an unreachable Redis costs the cache, never the answer.
/// </summary>
public sealed class SharedResponseCacheTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private TestUpstream _upstream = null!;
    private TestGateway _first = null!;
    private TestGateway _second = null!;
    private readonly string _log = Path.Combine(Directory.CreateTempSubdirectory("gw-cache-log-").FullName, "first.log");
    private int _served;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _upstream = await TestUpstream.StartAsync(app => app.MapGet("/{area}/{**rest}", () => Results.Text($"served {Interlocked.Increment(ref _served)}")));
        _first = await TestGateway.StartAsync(Config()
            .LogToFile(_log, "{EventId} {Message:lj} {Exception}{NewLine}"));
        _second = await TestGateway.StartAsync(Config());
    }

    private GatewayConfig Config() => new GatewayConfig()
            .Cluster("svc", _upstream.Url)
            .Set("Gateway:Redis:Configuration", _redis.Configuration)
            .Set("Gateway:Caching:Store", "Redis")
            .Route("catalog", "/api/catalog/{**rest}", "svc", "GET").Set("Gateway:Routes:catalog:Transform:PathRemovePrefix", "/api")
            .Set("Gateway:Routes:catalog:Cache:Duration", "00:05:00")
            .Route("prices", "/api/prices/{**rest}", "svc", "GET").Set("Gateway:Routes:prices:Transform:PathRemovePrefix", "/api")
            .Set("Gateway:Routes:prices:Cache:Duration", "00:05:00")
            .Route("plain", "/api/plain/{**rest}", "svc", "GET").Set("Gateway:Routes:plain:Transform:PathRemovePrefix", "/api");

    public async Task DisposeAsync()
    {
        await _second.DisposeAsync();
        await _first.DisposeAsync();
        await _upstream.DisposeAsync();
        await _redis.DisposeAsync();
        try
        {
            Directory.Delete(Path.GetDirectoryName(_log)!, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }

    [Fact]
    public async Task An_answer_one_replica_stored_is_served_by_the_other_and_expires_in_Redis()
    {
        var id = Guid.NewGuid().ToString("N");
        var path = "/api/catalog/" + id;
        var stored = await GetStringAsync(_first, path);
        await StoredAsync(id);
        using var fromOther = await GetAsync(_second, path);

        (await fromOther.Content.ReadAsStringAsync()).Should().Be(stored);
        fromOther.Headers.Age.Should().NotBeNull("the second replica answered from the shared cache");
        Upstream(path).Should().Be(1);

        // Under the gateway's key prefix, and each value bounded by the route's duration (Redis expires it).
        var keys = (await _redis.CliAsync("--scan", "--pattern", "gw:cache:*")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        keys.Should().NotBeEmpty();
        var values = keys.Where(key => key.Contains("__MSOCV_", StringComparison.Ordinal)).ToArray();
        values.Should().NotBeEmpty();
        foreach (var key in values)
        {
            var ttl = int.Parse(await _redis.CliAsync("TTL", key), System.Globalization.CultureInfo.InvariantCulture);
            ttl.Should().BeInRange(1, 300, $"{key} expires with the route's five minutes");
        }
    }

    [Fact]
    public async Task A_purge_through_one_replica_empties_that_route_for_both_and_no_other()
    {
        var id = Guid.NewGuid().ToString("N");
        var catalog = "/api/catalog/" + id;
        var prices = "/api/prices/" + id;
        var before = await GetStringAsync(_first, catalog);
        var price = await GetStringAsync(_first, prices);
        await StoredAsync("catalog/" + id);
        await StoredAsync("prices/" + id);
        (await GetStringAsync(_second, catalog)).Should().Be(before);

        using var purge = await _first.Client.DeleteAsync("/admin/cache/catalog");
        purge.StatusCode.Should().Be(HttpStatusCode.NoContent);

        (await GetStringAsync(_second, catalog)).Should().NotBe(before, "the purge reached the other replica's cache too");
        Upstream(catalog).Should().Be(2);
        (await GetStringAsync(_second, prices)).Should().Be(price, "another route's answers stay");
        Upstream(prices).Should().Be(1);
    }

    [Fact]
    public async Task On_a_Redis_of_its_own_the_cache_leaves_the_gateways_Redis_alone()
    {
        await using var cacheRedis = await RedisServer.StartAsync();
        var config = Config().Set("Gateway:Caching:RedisConfiguration", cacheRedis.Configuration);
        await using var first = await TestGateway.StartAsync(config);
        await using var second = await TestGateway.StartAsync(Config().Set("Gateway:Caching:RedisConfiguration", cacheRedis.Configuration));
        var id = Guid.NewGuid().ToString("N");
        var path = "/api/catalog/" + id;

        var stored = await GetStringAsync(first, path);
        await Poll.UntilAsync(async () => (await cacheRedis.CliAsync("--scan", "--pattern", $"gw:cache:__MSOCV_*{id}*")).Trim().Length > 0,
            TimeSpan.FromSeconds(10), "the answer's entry in the cache's Redis");
        (await GetStringAsync(second, path)).Should().Be(stored);
        Upstream(path).Should().Be(1);
        (await IsStoredAsync(id)).Should().BeFalse("the gateway's own Redis holds no cached answer");

        // The cache's Redis is a dependency /health names; when it is down the gateway is degraded, not unhealthy.
        (await first.Client.GetStringAsync("/health")).Should().Contain("response-cache-redis");
        await cacheRedis.StopAsync();
        await Poll.UntilAsync(async () =>
        {
            using var health = await first.Client.GetAsync("/health");
            var body = await health.Content.ReadAsStringAsync();
            return health.StatusCode == HttpStatusCode.OK && body.Contains("\"status\":\"degraded\"", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(15), "/health degraded, still 200, while the cache's Redis is down");
        using (var ready = await first.Client.GetAsync("/health/ready"))
        {
            ready.StatusCode.Should().Be(HttpStatusCode.OK, "a gateway without its cache still serves every route");
        }

        (await GetStringAsync(first, "/api/catalog/" + Guid.NewGuid().ToString("N"))).Should().StartWith("served");
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("nowhere")]
    public async Task Purging_a_route_that_does_not_cache_is_a_404_problem(string route)
    {
        using var response = await _first.Client.DeleteAsync("/admin/cache/" + route);

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        (await response.Content.ReadAsStringAsync()).Should().Contain("correlationId");
    }

    [Fact]
    public async Task While_Redis_is_down_a_cached_route_answers_from_the_upstream_and_caches_again_when_it_returns()
    {
        // The entry's key holds the query; the framework would log it with every failed lookup.
        var path = $"/api/catalog/{Guid.NewGuid():N}?marker=key-material-{Guid.NewGuid():N}";
        await _redis.StopAsync();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                using var response = await GetAsync(_first, path);
                response.StatusCode.Should().Be(HttpStatusCode.OK);
                response.Headers.Age.Should().BeNull();
            }

            Upstream(path.Split('?')[0]).Should().Be(3, "nothing could be stored or looked up");

            using var purge = await _first.Client.DeleteAsync("/admin/cache/catalog");
            purge.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            purge.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
            (await purge.Content.ReadAsStringAsync()).Should().Contain("correlationId").And.NotContain("Exception");
        }
        finally
        {
            await _redis.RestartAsync();
        }

        // StackExchange.Redis reconnects by itself; from then on one replica's answer is the other's again.
        await Poll.UntilAsync(async () =>
        {
            var id = Guid.NewGuid().ToString("N");
            var fresh = "/api/catalog/" + id;
            var stored = await GetStringAsync(_first, fresh);
            if (!await IsStoredAsync(id))
            {
                return false;
            }

            using var other = await GetAsync(_second, fresh);
            return other.Headers.Age is not null && await other.Content.ReadAsStringAsync() == stored;
        }, TimeSpan.FromSeconds(30), "the shared cache after Redis came back");

        // One warning when the outage began and one line when it ended, instead of an error per lookup and store.
        await Poll.UntilAsync(() => Task.FromResult(LogLines().Any(line => line.StartsWith("{ Id: 8002,", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(15), "the cache's recovery in the log");
        LogLines().Count(line => line.StartsWith("{ Id: 8001,", StringComparison.Ordinal)).Should().Be(1);
        LogLines().Should().NotContain(line => line.Contains("key-material", StringComparison.Ordinal));
        LogLines().Should().NotContain(line => line.Contains("output cache", StringComparison.OrdinalIgnoreCase) || line.Contains("output-cache", StringComparison.OrdinalIgnoreCase));
    }

    private string[] LogLines() => LogFile.Lines(_log);

    // Both replicas behind one load balancer see the same Host; the cache keys on it (a Location or Content-Location
    // rewritten for one host is not the answer for another).
    private static async Task<HttpResponseMessage> GetAsync(TestGateway gateway, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Host = "shop.example";
        return await gateway.Client.SendAsync(request);
    }

    private static async Task<string> GetStringAsync(TestGateway gateway, string path)
    {
        using var response = await GetAsync(gateway, path);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>An answer is stored after it has been sent: wait for its entry before asking the other replica.</summary>
    private Task StoredAsync(string pathPart) => Poll.UntilAsync(() => IsStoredAsync(pathPart), TimeSpan.FromSeconds(10), "the answer's entry in Redis");

    private async Task<bool> IsStoredAsync(string pathPart) =>
        (await _redis.CliAsync("--scan", "--pattern", $"gw:cache:__MSOCV_*{pathPart}*")).Trim().Length > 0;

    private int Upstream(string gatewayPath) => _upstream.Count(gatewayPath["/api".Length..]);
}
