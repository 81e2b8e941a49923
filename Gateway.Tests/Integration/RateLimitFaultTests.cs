using System.Net;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>The limiter on a real Redis Cluster, and with Redis going away and coming back.</summary>
[Collection(MetricsCollection.Name)]
public sealed class RateLimitFaultTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Three_replicas_on_a_three_master_Redis_Cluster_admit_exactly_N()
    {
        const int limit = 40;
        await using var cluster = await RedisCluster.StartAsync();
        await using var upstream = await TestUpstream.StartAsync();
        var config = RateLimitRedisTests.Limited(upstream.Url, cluster.Configuration, limit, "00:01:00", "SlidingWindow", "Global");
        var gateways = await RateLimitRedisTests.StartReplicasAsync(config, 3);
        try
        {
            var statuses = await RateLimitRedisTests.HammerAsync(gateways, clientsPerGateway: 3, requestsPerClient: 20);
            statuses.Count(s => s == HttpStatusCode.OK).Should().Be(limit);
            statuses.Count(s => s == HttpStatusCode.TooManyRequests).Should().Be(180 - limit);
        }
        finally
        {
            await RateLimitRedisTests.DisposeAllAsync(gateways);
        }

        // The keys live on the cluster, hash-tagged (one slot per policy partition), with TTLs.
        var found = new List<string>();
        foreach (var port in cluster.Ports)
        {
            found.AddRange((await RedisCluster.CliAsync(port, "--scan", "--pattern", "gw-*")).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }

        found.Should().NotBeEmpty();
        found.Should().AllSatisfy(key => key.Should().Contain("{"));
        foreach (var key in found)
        {
            long.Parse((await RedisCluster.CliAsync(cluster.Ports[0], "pttl", key)).Trim(), System.Globalization.CultureInfo.InvariantCulture)
                .Should().BePositive($"key {key} must expire");
        }
    }

    [Fact]
    public async Task Redis_down_fails_open_by_default_and_closed_where_a_policy_says_then_limiting_resumes_when_it_returns()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await TestUpstream.StartAsync();
        var config = RateLimitRedisTests.Limited(upstream.Url, redis.Configuration, 3, "00:00:30", "SlidingWindow", "Client")
            .Route("strict", "/api/v1/strict/{**rest}", "quote-service", "GET")
            .Set("Gateway:Routes:strict:Transform:PathRemovePrefix", "/api/v1")
            .Set("Gateway:Routes:strict:RateLimitPolicy", "strict")
            .Set("Gateway:RateLimiting:Policies:strict:PermitLimit", 100)
            .Set("Gateway:RateLimiting:Policies:strict:FailureMode", "FailClosed");
        await using var gateway = await TestGateway.StartAsync(config);
        (await gateway.Client.GetAsync("/api/v1/quotes/x")).StatusCode.Should().Be(HttpStatusCode.OK);

        await redis.StopAsync();
        for (var i = 0; i < 6; i++)
        {
            using var open = await gateway.Client.GetAsync("/api/v1/quotes/x");
            open.StatusCode.Should().Be(HttpStatusCode.OK, "fail open: beyond the limit of 3, but the store cannot count");
        }

        using (var closed = await gateway.Client.GetAsync("/api/v1/strict/x"))
        {
            closed.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            await ProblemAssertions.ShouldBeProblemAsync(closed, 503);
        }

        (await gateway.Client.GetStringAsync("/metrics")).Should().MatchRegex("""(?m)^gateway_store_errors_total\{[^}]*\} [1-9]""");

        await redis.RestartAsync();
        await Poll.UntilAsync(async () =>
        {
            using var response = await gateway.Client.GetAsync("/api/v1/quotes/x");
            return response.StatusCode == HttpStatusCode.TooManyRequests;
        }, Deadline, "limiting to resume once Redis is back (reconnect, then 3 admitted and the 4th refused)");
        using var strictAgain = await gateway.Client.GetAsync("/api/v1/strict/x");
        strictAgain.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_full_Redis_is_a_store_failure_open_or_closed_as_each_policy_says_and_the_log_names_it()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await TestUpstream.StartAsync();
        var log = Path.Combine(Directory.CreateTempSubdirectory("gw-full-redis-").FullName, "gateway.log");
        var config = RateLimitRedisTests.Limited(upstream.Url, redis.Configuration, 3, "00:00:30", "FixedWindow", "Client")
            .Route("strict", "/api/v1/strict/{**rest}", "quote-service", "GET")
            .Set("Gateway:Routes:strict:Transform:PathRemovePrefix", "/api/v1")
            .Set("Gateway:Routes:strict:RateLimitPolicy", "strict")
            .Set("Gateway:RateLimiting:Policies:strict:PermitLimit", 100)
            // A fixed window's first write adds memory. A sliding log's script deletes first, and Redis lets a
            // script that has begun writing go on when full: that one keeps counting, past maxmemory.
            .Set("Gateway:RateLimiting:Policies:strict:Algorithm", "FixedWindow")
            .Set("Gateway:RateLimiting:Policies:strict:FailureMode", "FailClosed")
            .LogToFile(log);
        await using var gateway = await TestGateway.StartAsync(config);
        (await gateway.Client.GetAsync("/api/v1/quotes/x")).StatusCode.Should().Be(HttpStatusCode.OK);

        // Full as compose's Redis would be (no eviction): it answers, and refuses every write.
        await redis.CliAsync("EVAL", "for i = 1, 20000 do redis.call('SET', 'fill:' .. i, string.rep('x', 100)) end", "0");
        await redis.CliAsync("CONFIG", "SET", "maxmemory-policy", "noeviction");
        await redis.CliAsync("CONFIG", "SET", "maxmemory", "1mb");
        (await redis.CliAsync("SET", "probe", "1")).Should().Contain("OOM");

        for (var i = 0; i < 5; i++)
        {
            using var open = await gateway.Client.GetAsync("/api/v1/quotes/x");
            open.StatusCode.Should().Be(HttpStatusCode.OK, "fail open: beyond the limit of 3, but the store cannot count");
        }

        using (var closed = await gateway.Client.GetAsync("/api/v1/strict/x"))
        {
            await ProblemAssertions.ShouldBeProblemAsync(closed, 503);
        }

        await Poll.UntilAsync(() => LogFile.Lines(log).Any(line => line.Contains("Store rate-limit failing (", StringComparison.Ordinal)
                && line.Contains("OOM", StringComparison.Ordinal)), Deadline, "the log to say the store is failing, and why");

        await redis.CliAsync("CONFIG", "SET", "maxmemory", "0");
        await Poll.UntilAsync(async () => (await gateway.Client.GetAsync("/api/v1/strict/x")).StatusCode == HttpStatusCode.OK,
            Deadline, "the strict policy to admit once Redis takes writes again");
    }

    [Fact]
    public async Task Refusals_are_counted_by_route_and_user_type()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(RateLimitRedisTests.Limited(upstream.Url, redis.Configuration, 1, "00:00:30", "SlidingWindow", "Client"));
        for (var i = 0; i < 3; i++)
        {
            using var response = await gateway.Client.GetAsync("/api/v1/quotes/x");
        }

        (await gateway.Client.GetStringAsync("/metrics")).Should().MatchRegex("""(?m)^gateway_rate_limit_hits_total\{[^}]*route="quotes"[^}]*user_type="anonymous"[^}]*\} 2( |$)""");
    }
}
