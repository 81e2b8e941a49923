using System.Net;
using System.Text.Json;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>Routes edited in a watched configuration file, taken by the running gateway as one table or not at all.</summary>
public sealed class RouteReloadTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_reload_adds_changes_and_removes_routes_and_a_request_in_flight_keeps_the_route_it_was_matched_with()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        var (gateway, file) = await WatchedGateway.StartAsync(a);
        await using var running = gateway;

        await WriteRoutesAsync(file, a, ("v2", V2("GET")));
        await Poll.UntilAsync(async () => await gateway.StatusAsync("/api/v2/quotes/who") == HttpStatusCode.OK, Deadline, "the added route to answer");
        (await gateway.Client.GetStringAsync("/api/v2/quotes/who")).Should().Be("a", "the route sends to its cluster, its own prefix removed");
        (await gateway.Client.GetStringAsync("/admin/routes")).Should().Contain("\"id\":\"v2\"", "the admin API lists the running table");
        await WatchedGateway.ShouldRunTheFileAsync(gateway);
        await Poll.UntilAsync(
            () => gateway.Output.Any(line => line.Contains("Configuration reload replaced the route table", StringComparison.Ordinal)
                && line.Contains("\"Routes\":\"Gateway:Routes:v2\"", StringComparison.Ordinal)),
            Deadline, "the reload to log the routes it changed");

        // A request matched with the GET route is held upstream while the route becomes POST only.
        var inFlight = gateway.Client.GetAsync("/api/v2/quotes/hold");
        await a.Holding.Task.WaitAsync(Deadline);
        await WriteRoutesAsync(file, a, ("v2", V2("POST")));
        await Poll.UntilAsync(async () => await gateway.StatusAsync("/api/v2/quotes/who") == HttpStatusCode.MethodNotAllowed,
            Deadline, "the changed route to refuse a GET");
        (await gateway.StatusAsync("/api/v2/quotes/status", HttpMethod.Post)).Should().Be(HttpStatusCode.OK);
        a.Release.TrySetResult();
        using (var held = await inFlight.WaitAsync(Deadline))
        {
            held.StatusCode.Should().Be(HttpStatusCode.OK, "a request keeps the route it was matched with");
            (await held.Content.ReadAsStringAsync()).Should().Be("a");
        }

        await WriteRoutesAsync(file, a);
        await Poll.UntilAsync(async () => await gateway.StatusAsync("/api/v2/quotes/status", HttpMethod.Post) == HttpStatusCode.NotFound,
            Deadline, "the removed route to be gone");
        (await gateway.Client.GetStringAsync("/api/v1/quotes/who")).Should().Be("a", "the routes the file never named stay");
        await WatchedGateway.ShouldRunTheFileAsync(gateway);
    }

    [Fact]
    public async Task Routes_the_running_gateway_cannot_serve_wait_for_the_next_start_whole_and_say_why()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        var (gateway, file) = await WatchedGateway.StartAsync(a);
        await using var running = gateway;
        await WriteRoutesAsync(file, a, ("v2", V2("GET")));
        await Poll.UntilAsync(async () => await gateway.StatusAsync("/api/v2/quotes/who") == HttpStatusCode.OK, Deadline, "the added route to answer");

        // No route compressed at the start, so the pipeline has no compression; and one route of the edit is fine.
        await WriteRoutesAsync(file, a, ("v2", V2("POST", compress: true)), ("v3", V3));
        JsonElement status = default;
        await Poll.UntilAsync(async () => (status = await WatchedGateway.ConfigurationStatusAsync(gateway)).GetProperty("routesHeldBecause").GetArrayLength() > 0,
            Deadline, "the reload to be taken with its routes held");
        status.GetProperty("routesHeldBecause").EnumerateArray().Select(e => e.GetString()).Should()
            .Equal("Gateway:Routes:v2 needs Compress, which no route had when the gateway started");
        status.GetProperty("pendingRestart").EnumerateArray().Select(e => e.GetString()).Should().Equal("Gateway:Routes:v2", "Gateway:Routes:v3");
        using (var health = await gateway.Client.GetAsync("/health"))
        {
            var configuration = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").GetProperty("infrastructure").GetProperty("configuration");
            configuration.GetProperty("status").GetString().Should().Be("degraded");
            configuration.GetProperty("routesHeldBecause").GetArrayLength().Should().Be(1);
        }

        (await gateway.StatusAsync("/api/v2/quotes/who")).Should().Be(HttpStatusCode.OK, "the running route stays as it was");
        (await gateway.StatusAsync("/api/v3/quotes/who")).Should().Be(HttpStatusCode.NotFound, "a table is taken whole or not at all");
        await Poll.UntilAsync(
            () => gateway.Output.Any(line => line.Contains("kept the running routes", StringComparison.Ordinal) && line.Contains("needs Compress", StringComparison.Ordinal)),
            Deadline, "the held routes to be logged with the reason");

        // A route that needs token validation, which the same file turns on, waits: the token settings are read at the
        // start, as a start would say (the role policy it names would follow).
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(new
        {
            Gateway = new
            {
                Auth = new
                {
                    SigningKey = "reload-test-key-0123456789abcdef0123", Issuer = "reload", Audience = "reload",
                    Policies = new Dictionary<string, object> { ["ops"] = new { Roles = new[] { "ops" } } },
                },
                Routes = new Dictionary<string, object> { ["v3"] = V3 with { Authorization = "ops" } },
                Clusters = new Dictionary<string, object> { ["quote-service"] = new { Destinations = new Dictionary<string, object> { ["a"] = new { Address = a.Url } } } },
            },
        }));
        await Poll.UntilAsync(async () => (status = await WatchedGateway.ConfigurationStatusAsync(gateway)).GetProperty("routesHeldBecause")
                .EnumerateArray().Any(reason => reason.GetString()!.StartsWith("Gateway:Routes:v3:Authorization: 'ops' needs Gateway:Auth:Authority or Gateway:Auth:SigningKey", StringComparison.Ordinal)),
            Deadline, "the route needing what the running gateway lacks to be held, naming its key");
        status.GetProperty("pendingRestart").EnumerateArray().Select(e => e.GetString()).Should().Contain("Gateway:Auth");
        (await gateway.StatusAsync("/api/v2/quotes/who")).Should().Be(HttpStatusCode.OK);

        await WriteRoutesAsync(file, a, ("v2", V2("GET")), ("v3", V3));
        await Poll.UntilAsync(async () => await gateway.StatusAsync("/api/v3/quotes/who") == HttpStatusCode.OK,
            Deadline, "a table the gateway can serve to be taken");
        await WatchedGateway.ShouldRunTheFileAsync(gateway);
    }

    [Fact]
    public async Task Requests_on_a_route_the_reloads_keep_are_all_answered_while_the_table_is_replaced_again_and_again()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        var (gateway, file) = await WatchedGateway.StartAsync(a);
        await using var running = gateway;

        // Steady traffic on the route every version of the file keeps, bounded in count and time.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var statuses = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
        var traffic = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 5000 && !stop.IsCancellationRequested; i++)
            {
                using var response = await gateway.Client.GetAsync("/api/v1/quotes/who", CancellationToken.None);
                statuses.Add(response.StatusCode);
            }
        })).ToArray();

        for (var round = 0; round < 4; round++)
        {
            await WriteRoutesAsync(file, a, ("v2", V2("GET")));
            await Poll.UntilAsync(async () => await gateway.StatusAsync("/api/v2/quotes/who") == HttpStatusCode.OK, Deadline, "the route to come");
            await WriteRoutesAsync(file, a);
            await Poll.UntilAsync(async () => await gateway.StatusAsync("/api/v2/quotes/who") == HttpStatusCode.NotFound, Deadline, "the route to go");
        }

        await stop.CancelAsync();
        await Task.WhenAll(traffic).WaitAsync(Deadline);
        statuses.Should().HaveCountGreaterThan(100).And.AllSatisfy(status => status.Should().Be(HttpStatusCode.OK));
        await Poll.UntilAsync(() => gateway.Output.Count(line => line.Contains("Configuration reload replaced the route table", StringComparison.Ordinal)) >= 8,
            Deadline, "each of the eight replacements to be logged");
    }

    [Fact]
    public async Task A_changed_route_no_longer_serves_what_its_previous_version_cached()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        await using var b = await NamedUpstream.StartAsync("b");
        // A route that caches from the start puts the response cache in the pipeline; a second cluster to move to.
        var (gateway, file) = await WatchedGateway.StartAsync(a, config => config
            .Route("cached", "/api/v1/cached/{**rest}", "quote-service", "GET")
            .Set("Gateway:Routes:cached:Transform:PathRemovePrefix", "/api/v1/cached")
            .Set("Gateway:Routes:cached:Cache:Duration", "00:05:00")
            .Cluster("other", b.Url).Set("Gateway:Clusters:other:HealthCheck:Enabled", false));
        await using var running = gateway;
        var cache = new { Duration = "00:05:00" };

        await WriteRoutesAsync(file, a, ("v2", V2("GET") with { Cache = cache }));
        await Poll.UntilAsync(async () => await gateway.StatusAsync("/api/v2/quotes/who") == HttpStatusCode.OK, Deadline, "the added route to answer");
        // The cache stores an answer as it finishes sending it, so the next request may come a moment before it is kept.
        await Poll.UntilAsync(async () =>
        {
            using var response = await gateway.Client.GetAsync("/api/v2/quotes/who");
            return response.Headers.TryGetValues("X-Cache", out var kept) && kept.Single() == "HIT" && await response.Content.ReadAsStringAsync() == "a";
        }, Deadline, "the route's answer to be served from the cache");

        await WriteRoutesAsync(file, a, ("v2", V2("GET") with { ClusterId = "other", Cache = cache }));
        await Poll.UntilAsync(async () => await gateway.Client.GetStringAsync("/api/v2/quotes/who") == "b",
            Deadline, "the changed route to answer from its new cluster, not from what it cached for five minutes before");
    }

    private sealed record RouteSpec(string Path, string ClusterId, string[] Methods, object Transform, bool Compress = false, object? Cache = null, string? Authorization = null);

    private static RouteSpec V2(string method, bool compress = false) =>
        new("/api/v2/quotes/{**rest}", "quote-service", [method], new { PathRemovePrefix = "/api/v2" }, compress);

    private static readonly RouteSpec V3 = new("/api/v3/quotes/{**rest}", "quote-service", ["GET"], new { PathRemovePrefix = "/api/v3" });

    private static Task WriteRoutesAsync(string file, NamedUpstream a, params (string Id, RouteSpec Route)[] routes) =>
        File.WriteAllTextAsync(file, WatchedGateway.Configuration([("a", a.Url)], routes.ToDictionary(r => r.Id, r => (object)r.Route)));
}
