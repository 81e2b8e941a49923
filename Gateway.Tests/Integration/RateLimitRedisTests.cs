using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>Rate limits shared through a real Redis by several in-process gateways on real sockets.</summary>
public sealed class RateLimitRedisTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private TestUpstream _upstream = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _upstream = await TestUpstream.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Theory]
    [InlineData("SlidingWindow")]
    [InlineData("FixedWindow")]
    public async Task Three_replicas_sharing_Redis_admit_exactly_N_in_the_window(string algorithm)
    {
        const int limit = 50;
        await WaitForFreshFixedWindowAsync(algorithm, TimeSpan.FromSeconds(60));
        var config = Limited(_upstream.Url, _redis.Configuration, limit, "00:01:00", algorithm, "Global");
        var gateways = await StartReplicasAsync(config, 3);
        try
        {
            var statuses = await HammerAsync(gateways, clientsPerGateway: 4, requestsPerClient: 25);
            statuses.Count(s => s == HttpStatusCode.OK).Should().Be(limit);
            statuses.Count(s => s == HttpStatusCode.TooManyRequests).Should().Be(300 - limit);
            _upstream.Count("/quotes/").Should().Be(limit, "a refused request never reaches the upstream");
        }
        finally
        {
            await DisposeAllAsync(gateways);
        }

        await AssertEveryKeyExpiresAsync(_redis.CliAsync);
    }

    [Fact]
    public async Task Approximate_mode_stays_within_its_documented_bound()
    {
        const int limit = 60, batch = 10, replicas = 3;
        await WaitForFreshFixedWindowAsync("FixedWindow", TimeSpan.FromSeconds(60));
        var config = Limited(_upstream.Url, _redis.Configuration, limit, "00:01:00", "FixedWindow", "Global")
            .Set("Gateway:RateLimiting:Policies:limited:Mode", "Approximate")
            .Set("Gateway:RateLimiting:Policies:limited:BatchSize", batch);
        var gateways = await StartReplicasAsync(config, replicas);
        try
        {
            var statuses = await HammerAsync(gateways, clientsPerGateway: 4, requestsPerClient: 25);
            var admitted = statuses.Count(s => s == HttpStatusCode.OK);
            // README: grants never exceed N; unused permits held by other replicas can refuse up to (replicas − 1) × batch early.
            admitted.Should().BeLessThanOrEqualTo(limit).And.BeGreaterThanOrEqualTo(limit - ((replicas - 1) * batch));
        }
        finally
        {
            await DisposeAllAsync(gateways);
        }
    }

    [Fact]
    public async Task Remaining_counts_down_request_by_request_with_both_header_families_then_429()
    {
        await using var gateway = await TestGateway.StartAsync(Limited(_upstream.Url, _redis.Configuration, 5, "00:00:30", "SlidingWindow", "Client"));
        for (var expected = 4; expected >= 0; expected--)
        {
            using var response = await gateway.Client.GetAsync("/api/v1/quotes/x");
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            Header(response, "X-RateLimit-Limit").Should().Be("5");
            Header(response, "X-RateLimit-Remaining").Should().Be(expected.ToString(CultureInfo.InvariantCulture));
            long.Parse(Header(response, "X-RateLimit-Reset")!, CultureInfo.InvariantCulture).Should()
                .BeInRange(DateTimeOffset.UtcNow.ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 31);
            Header(response, "RateLimit-Policy").Should().Be("\"limited\";q=5;w=30");
            Header(response, "RateLimit").Should().StartWith($"\"limited\";r={expected};t=");
        }

        using var refused = await gateway.Client.GetAsync("/api/v1/quotes/x");
        refused.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        refused.Headers.RetryAfter!.Delta!.Value.Should().BeGreaterThan(TimeSpan.Zero).And.BeLessThanOrEqualTo(TimeSpan.FromSeconds(30));
        var problem = await ProblemAssertions.ShouldBeProblemAsync(refused, 429);
        problem.GetProperty("title").GetString().Should().Be("Too Many Requests");
        problem.GetProperty("retryAfter").GetInt32().Should().BeInRange(1, 30);
    }

    [Fact]
    public async Task Authenticated_users_have_their_own_budgets_and_a_spoofed_forwarded_for_does_not_buy_a_new_one()
    {
        var config = Limited(_upstream.Url, _redis.Configuration, 3, "00:00:30", "SlidingWindow", "Client").WithSharedSecret()
            .Set("Gateway:Routes:quotes:Authorization", "Authenticated");
        await using var gateway = await TestGateway.StartAsync(config);

        foreach (var user in new[] { "alice", "bob" })
        {
            var token = Tokens.Hs256(new { sub = user });
            var statuses = new List<HttpStatusCode>();
            for (var i = 0; i < 4; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/quotes/x");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                using var response = await gateway.Client.SendAsync(request);
                statuses.Add(response.StatusCode);
            }

            statuses.Should().Equal(HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests);
        }

        await using var open = await TestGateway.StartAsync(Limited(_upstream.Url, _redis.Configuration, 3, "00:00:30", "SlidingWindow", "Client")
            .Set("Gateway:Redis:KeyPrefix", "gw-open:"));
        var spoofed = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/quotes/x");
            request.Headers.Add("X-Forwarded-For", $"203.0.113.{i}");
            using var response = await open.Client.SendAsync(request);
            spoofed.Add(response.StatusCode);
        }

        spoofed.Should().Equal(HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task An_ipv6_client_has_one_budget_for_its_whole_64_block()
    {
        await using var gateway = await TestGateway.StartAsync(Limited(_upstream.Url, _redis.Configuration, 3, "00:00:30", "SlidingWindow", "Client")
            .Set("Gateway:Redis:KeyPrefix", "gw-v6:")
            .Set("Gateway:TrustedProxies:0", "127.0.0.1"));

        async Task<HttpStatusCode> From(string address)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/quotes/x");
            request.Headers.Add("X-Forwarded-For", address);
            using var response = await gateway.Client.SendAsync(request);
            return response.StatusCode;
        }

        // A new address per request inside one /64 is still one client.
        var rotating = new List<HttpStatusCode>();
        foreach (var address in new[] { "2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:aaaa::3", "2001:db8:1:2:ffff:ffff:ffff:ffff" })
        {
            rotating.Add(await From(address));
        }

        rotating.Should().Equal(HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests);
        (await From("2001:db8:1:3::1")).Should().Be(HttpStatusCode.OK, "the next /64 is another client");
        (await From("203.0.113.20")).Should().Be(HttpStatusCode.OK);
        (await From("203.0.113.21")).Should().Be(HttpStatusCode.OK, "IPv4 clients keep one budget per address");
    }

    [Fact]
    public async Task A_user_class_limit_and_a_route_limit_both_have_to_admit()
    {
        var config = Limited(_upstream.Url, _redis.Configuration, 4, "00:00:30", "SlidingWindow", "Client").WithSharedSecret()
            .Set("Gateway:RateLimiting:UserClasses:Anonymous:PermitLimit", 2)
            .Set("Gateway:RateLimiting:UserClasses:Anonymous:Window", "00:00:30")
            .Set("Gateway:RateLimiting:UserClasses:Authenticated:PermitLimit", 6)
            .Set("Gateway:RateLimiting:UserClasses:Authenticated:Window", "00:00:30");
        await using var gateway = await TestGateway.StartAsync(config);

        using (var first = await gateway.Client.GetAsync("/api/v1/quotes/x"))
        {
            first.StatusCode.Should().Be(HttpStatusCode.OK);
            Header(first, "RateLimit-Policy").Should().Be("\"class-anonymous\";q=2;w=30, \"limited\";q=4;w=30", "every policy that applied");
            Header(first, "X-RateLimit-Limit").Should().Be("2", "the figures are the policy closest to refusing");
            Header(first, "X-RateLimit-Remaining").Should().Be("1");
            Header(first, "RateLimit").Should().StartWith("\"class-anonymous\";r=1;t=");
        }

        (await Admitted(gateway, null, 5)).Should().Be(1, "the anonymous class (2) is tighter than the route (4)");
        (await Admitted(gateway, Tokens.Hs256(new { sub = "carol" }), 8)).Should().Be(4, "the route (4) is tighter than the authenticated class (6)");
    }

    [Fact]
    public async Task The_seeds_101_concurrent_quotes_against_100_per_minute_get_some_429s_with_headers()
    {
        await using var gateway = await TestGateway.StartAsync(Limited(_upstream.Url, _redis.Configuration, 100, "00:01:00", "SlidingWindow", "Client"));
        var responses = await Task.WhenAll(Enumerable.Range(0, 101).Select(_ => gateway.Client.GetAsync("/api/v1/quotes/calculate")));
        try
        {
            responses.Count(r => r.StatusCode == HttpStatusCode.OK).Should().Be(100);
            var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
            refused.Should().HaveCount(1);
            refused[0].Headers.RetryAfter.Should().NotBeNull();
            Header(refused[0], "X-RateLimit-Limit").Should().Be("100");
            Header(refused[0], "X-RateLimit-Remaining").Should().Be("0");
        }
        finally
        {
            responses.ToList().ForEach(r => r.Dispose());
        }
    }

    internal static GatewayConfig Limited(string upstream, string redis, int limit, string window, string algorithm, string partition) =>
        GatewayConfig.Quotes(upstream)
            .Set("Gateway:Redis:Configuration", redis)
            .Set("Gateway:Redis:KeyPrefix", $"gw-{Guid.NewGuid():N}:")
            .Set("Gateway:Redis:OperationTimeout", "00:00:05")
            .Set("Gateway:Routes:quotes:RateLimitPolicy", "limited")
            .Set("Gateway:RateLimiting:Policies:limited:PermitLimit", limit)
            .Set("Gateway:RateLimiting:Policies:limited:Window", window)
            .Set("Gateway:RateLimiting:Policies:limited:Algorithm", algorithm)
            .Set("Gateway:RateLimiting:Policies:limited:Partition", partition);

    internal static async Task<List<TestGateway>> StartReplicasAsync(GatewayConfig config, int count)
    {
        var gateways = new List<TestGateway>();
        for (var i = 0; i < count; i++)
        {
            gateways.Add(await TestGateway.StartAsync(config));
        }

        return gateways;
    }

    internal static async Task DisposeAllAsync(IEnumerable<TestGateway> gateways)
    {
        foreach (var gateway in gateways)
        {
            await gateway.DisposeAsync();
        }
    }

    /// <summary>Concurrent clients spread over the replicas, each sending its requests one after another.</summary>
    internal static async Task<List<HttpStatusCode>> HammerAsync(IReadOnlyList<TestGateway> gateways, int clientsPerGateway, int requestsPerClient)
    {
        var results = await Task.WhenAll(gateways.SelectMany(g => Enumerable.Range(0, clientsPerGateway).Select(async _ =>
        {
            var statuses = new List<HttpStatusCode>();
            for (var i = 0; i < requestsPerClient; i++)
            {
                using var response = await g.Client.GetAsync("/api/v1/quotes/x");
                statuses.Add(response.StatusCode);
            }

            return statuses;
        })));
        return results.SelectMany(s => s).ToList();
    }

    /// <summary>A fixed window that turns over mid-test would admit twice; start with at least 20 s of the window left.</summary>
    internal static Task WaitForFreshFixedWindowAsync(string algorithm, TimeSpan window) => algorithm != "FixedWindow"
        ? Task.CompletedTask
        : Poll.UntilAsync(() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() % (long)window.TotalMilliseconds < window.TotalMilliseconds - 20_000,
            window, "a fixed window with 20 s left");

    internal static async Task AssertEveryKeyExpiresAsync(Func<string[], Task<string>> cli)
    {
        var keys = (await cli(["--scan", "--pattern", "gw-*"])).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        keys.Should().NotBeEmpty();
        foreach (var key in keys)
        {
            long.Parse((await cli(["pttl", key])).Trim(), CultureInfo.InvariantCulture).Should().BePositive($"key {key} must expire");
        }
    }

    private static async Task<int> Admitted(TestGateway gateway, string? token, int attempts)
    {
        var admitted = 0;
        for (var i = 0; i < attempts; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/quotes/x");
            if (token is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            using var response = await gateway.Client.SendAsync(request);
            admitted += response.StatusCode == HttpStatusCode.OK ? 1 : 0;
        }

        return admitted;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : null;
}
