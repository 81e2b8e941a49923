using System.Net;
using System.Text.Json;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>Rate limits edited in a watched configuration file, taken by the running gateway as one section.</summary>
public sealed class RateLimitReloadTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task A_raised_limit_keeps_the_count_and_a_changed_algorithm_starts_afresh_on_the_same_redis_keys()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        var (gateway, file) = await WatchedGateway.StartAsync(a,
            config => config.Set("Gateway:Redis:Configuration", _redis.Configuration)
                .Set("Gateway:Redis:KeyPrefix", $"gw-{Guid.NewGuid():N}:")
                .Set("Gateway:Routes:quotes:RateLimitPolicy", "burst"),
            File(a, Policy("burst", 3, "SlidingWindow")));
        await using var running = gateway;

        // The helper's first request took one of the three.
        (await StatusesAsync(gateway, 3)).Should().Equal(HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests);

        await System.IO.File.WriteAllTextAsync(file, File(a, Policy("burst", 5, "SlidingWindow")));
        await Poll.UntilAsync(async () => await gateway.StatusAsync("/api/v1/quotes/who") == HttpStatusCode.OK, Deadline, "the raised limit to admit");
        using (var admitted = await gateway.Client.GetAsync("/api/v1/quotes/who"))
        {
            admitted.StatusCode.Should().Be(HttpStatusCode.OK, "three of the five were taken before the reload, and one since");
            admitted.Headers.GetValues("RateLimit-Policy").Should().Equal("\"burst\";q=5;w=3600");
        }

        (await gateway.StatusAsync("/api/v1/quotes/who")).Should().Be(HttpStatusCode.TooManyRequests, "the count went on across the reload");

        // The same policy and partition, now counted in another shape: a sorted set read as a counter would fail
        // (WRONGTYPE) and let every request through.
        await System.IO.File.WriteAllTextAsync(file, File(a, Policy("burst", 2, "FixedWindow")));
        await Poll.UntilAsync(async () => await gateway.StatusAsync("/api/v1/quotes/who") == HttpStatusCode.OK, Deadline, "the new algorithm to count afresh");
        (await StatusesAsync(gateway, 2)).Should().Equal(HttpStatusCode.OK, HttpStatusCode.TooManyRequests);
        await ShouldRunTheFileAsync(gateway);
        gateway.Output.Should().Contain(line => line.Contains("Configuration reload replaced the rate limits", StringComparison.Ordinal));
        gateway.Output.Should().NotContain(line => line.Contains("WRONGTYPE", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Rate_limits_the_running_routes_still_need_wait_with_those_routes_and_follow_them()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        var (gateway, file) = await WatchedGateway.StartAsync(a, content: File(a, Policy("old", 2, "SlidingWindow"), V2("old")));
        await using var running = gateway;
        (await StatusesAsync(gateway, 3, "/api/v2/quotes/who")).Should().Equal(HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests);

        // The route needs a middleware the pipeline lacks, so it waits; "old", which the running route names, is gone.
        await System.IO.File.WriteAllTextAsync(file, File(a, Policy("new", 100, "SlidingWindow"), V2("new", compress: true)));
        await Poll.UntilAsync(
            () => gateway.Output.Any(line => line.Contains("Configuration reload kept the running rate limits", StringComparison.Ordinal)
                && line.Contains("Gateway:Routes:v2:RateLimitPolicy", StringComparison.Ordinal)),
            Deadline, "the reload to say why the rate limits wait");
        var status = await WatchedGateway.ConfigurationStatusAsync(gateway);
        status.GetProperty("pendingRestart").EnumerateArray().Select(setting => setting.GetString())
            .Should().BeEquivalentTo(["Gateway:RateLimiting", "Gateway:Routes:v2"]);
        (await gateway.StatusAsync("/api/v2/quotes/who")).Should().Be(HttpStatusCode.TooManyRequests, "the running route keeps its running limit");

        await System.IO.File.WriteAllTextAsync(file, File(a, Policy("new", 100, "SlidingWindow"), V2("new")));
        await ShouldRunTheFileAsync(gateway);
        using var admitted = await gateway.Client.GetAsync("/api/v2/quotes/who");
        admitted.StatusCode.Should().Be(HttpStatusCode.OK);
        admitted.Headers.GetValues("RateLimit-Policy").Should().Equal("\"new\";q=100;w=3600");
    }

    private static async Task<List<HttpStatusCode>> StatusesAsync(GatewayProcess gateway, int count, string path = "/api/v1/quotes/who")
    {
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < count; i++)
        {
            statuses.Add(await gateway.StatusAsync(path));
        }

        return statuses;
    }

    private static (string Name, object Settings) Policy(string name, int limit, string algorithm) =>
        (name, new { PermitLimit = limit, Window = "01:00:00", Algorithm = algorithm });

    private static (string Id, object Route) V2(string policy, bool compress = false) =>
        ("v2", new { Path = "/api/v2/quotes/{**rest}", ClusterId = "quote-service", Methods = new[] { "GET" }, Transform = new { PathRemovePrefix = "/api/v2" }, RateLimitPolicy = policy, Compress = compress });

    private static string File(NamedUpstream a, (string Name, object Settings) policy, (string Id, object Route)? route = null) =>
        JsonSerializer.Serialize(new
        {
            Gateway = new
            {
                Routes = route is { } r ? new Dictionary<string, object> { [r.Id] = r.Route } : new Dictionary<string, object>(),
                Clusters = new Dictionary<string, object> { ["quote-service"] = new { Destinations = new { a = new { Address = a.Url } } } },
                RateLimiting = new { Policies = new Dictionary<string, object> { [policy.Name] = policy.Settings } },
            },
        });

    private static Task ShouldRunTheFileAsync(GatewayProcess gateway) => Poll.UntilAsync(async () =>
        {
            var status = await WatchedGateway.ConfigurationStatusAsync(gateway);
            return status.GetProperty("pendingRestart").GetArrayLength() == 0 && status.GetProperty("routesHeldBecause").GetArrayLength() == 0
                && status.GetProperty("lastReloadSuccessful").GetBoolean();
        },
        Deadline, "the status to say the gateway runs its file as written");
}
