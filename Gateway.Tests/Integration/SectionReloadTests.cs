using System.Net;
using System.Text.Json;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// Rate limits, CORS policies and trusted proxies edited in a watched configuration file, each taken by the running
/// gateway as one section.
/// </summary>
public sealed class SectionReloadTests : IAsyncLifetime
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
            File(a, rateLimits: Policy("burst", 3, "SlidingWindow")));
        await using var running = gateway;

        // The helper's first request took one of the three.
        (await StatusesAsync(gateway, 3)).Should().Equal(HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests);

        await System.IO.File.WriteAllTextAsync(file, File(a, rateLimits: Policy("burst", 5, "SlidingWindow")));
        await Poll.UntilAsync(async () => await gateway.StatusAsync("/api/v1/quotes/who") == HttpStatusCode.OK, Deadline, "the raised limit to admit");
        using (var admitted = await gateway.Client.GetAsync("/api/v1/quotes/who"))
        {
            admitted.StatusCode.Should().Be(HttpStatusCode.OK, "three of the five were taken before the reload, and one since");
            admitted.Headers.GetValues("RateLimit-Policy").Should().Equal("\"burst\";q=5;w=3600");
        }

        (await gateway.StatusAsync("/api/v1/quotes/who")).Should().Be(HttpStatusCode.TooManyRequests, "the count went on across the reload");

        // The same policy and partition, now counted in another shape: a sorted set read as a counter would fail
        // (WRONGTYPE) and let every request through.
        await System.IO.File.WriteAllTextAsync(file, File(a, rateLimits: Policy("burst", 2, "FixedWindow")));
        await Poll.UntilAsync(async () => await gateway.StatusAsync("/api/v1/quotes/who") == HttpStatusCode.OK, Deadline, "the new algorithm to count afresh");
        (await StatusesAsync(gateway, 2)).Should().Equal(HttpStatusCode.OK, HttpStatusCode.TooManyRequests);
        await WatchedGateway.ShouldRunTheFileAsync(gateway);
        await Poll.UntilAsync(() => gateway.Output.Any(line => line.Contains("Configuration reload replaced {Section}", StringComparison.Ordinal)
            && line.Contains("\"Section\":\"Gateway:RateLimiting\"", StringComparison.Ordinal)), Deadline, "the reload to log the rate limits it replaced");
        gateway.Output.Should().NotContain(line => line.Contains("WRONGTYPE", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_cors_policy_given_another_origin_answers_it_from_the_reload_on()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        var (gateway, file) = await WatchedGateway.StartAsync(a,
            content: File(a, route: V2(cors: "web"), cors: Cors("web", "https://shop.example")));
        await using var running = gateway;
        (await AllowedOriginAsync(gateway, "https://shop.example")).Should().Be("https://shop.example");
        (await AllowedOriginAsync(gateway, "https://admin.example")).Should().BeNull();

        await System.IO.File.WriteAllTextAsync(file, File(a, route: V2(cors: "web"), cors: Cors("web", "https://shop.example", "https://admin.example")));
        await Poll.UntilAsync(async () => await AllowedOriginAsync(gateway, "https://admin.example") == "https://admin.example",
            Deadline, "the added origin to be allowed");
        (await AllowedOriginAsync(gateway, "https://shop.example")).Should().Be("https://shop.example");
        await WatchedGateway.ShouldRunTheFileAsync(gateway);
    }

    [Fact]
    public async Task Policies_the_running_routes_still_name_wait_with_those_routes_and_follow_them()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        var (gateway, file) = await WatchedGateway.StartAsync(a,
            content: File(a, route: V2(policy: "old", cors: "web"), rateLimits: Policy("old", 2, "SlidingWindow"), cors: Cors("web", "https://shop.example")));
        await using var running = gateway;
        (await StatusesAsync(gateway, 2, "/api/v2/quotes/who")).Should().Equal(HttpStatusCode.OK, HttpStatusCode.OK);

        // The route needs a middleware the pipeline lacks, so it waits; "old" and "web", which the running route
        // names, are gone from the file.
        await System.IO.File.WriteAllTextAsync(file, File(a, route: V2(policy: "new", cors: "web2", compress: true),
            rateLimits: Policy("new", 100, "SlidingWindow"), cors: Cors("web2", "https://admin.example")));
        await Poll.UntilAsync(
            () => gateway.Output.Count(line => line.Contains("Configuration reload kept the running {Section}", StringComparison.Ordinal)) == 2,
            Deadline, "the reload to say why both sections wait");
        gateway.Output.Should().Contain(line => line.Contains("\"Section\":\"Gateway:RateLimiting\"", StringComparison.Ordinal)
            && line.Contains("Gateway:Routes:v2:RateLimitPolicy: policy 'old'", StringComparison.Ordinal));
        gateway.Output.Should().Contain(line => line.Contains("\"Section\":\"Gateway:Cors\"", StringComparison.Ordinal)
            && line.Contains("Gateway:Routes:v2:Cors: policy 'web'", StringComparison.Ordinal));
        var status = await WatchedGateway.ConfigurationStatusAsync(gateway);
        status.GetProperty("pendingRestart").EnumerateArray().Select(setting => setting.GetString())
            .Should().BeEquivalentTo(["Gateway:Cors", "Gateway:RateLimiting", "Gateway:Routes:v2"]);
        (await gateway.StatusAsync("/api/v2/quotes/who")).Should().Be(HttpStatusCode.TooManyRequests, "the running route keeps its running limit");
        (await AllowedOriginAsync(gateway, "https://shop.example")).Should().Be("https://shop.example", "and its running CORS policy");

        await System.IO.File.WriteAllTextAsync(file, File(a, route: V2(policy: "new", cors: "web2"),
            rateLimits: Policy("new", 100, "SlidingWindow"), cors: Cors("web2", "https://admin.example")));
        await WatchedGateway.ShouldRunTheFileAsync(gateway);
        using var admitted = await gateway.Client.GetAsync("/api/v2/quotes/who");
        admitted.StatusCode.Should().Be(HttpStatusCode.OK);
        admitted.Headers.GetValues("RateLimit-Policy").Should().Equal("\"new\";q=100;w=3600");
        (await AllowedOriginAsync(gateway, "https://admin.example")).Should().Be("https://admin.example");
        (await AllowedOriginAsync(gateway, "https://shop.example")).Should().BeNull();
        gateway.Output.Count(line => line.Contains("Configuration reload kept the running {Section}", StringComparison.Ordinal))
            .Should().Be(2, "a section the routes of the same edit then take is not named as waiting");
    }

    [Fact]
    public async Task A_proxy_a_reload_trusts_has_its_forwarded_chain_extended_and_one_it_drops_no_longer()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        var (gateway, file) = await WatchedGateway.StartAsync(a);
        await using var running = gateway;
        (await ForwardedForAsync(gateway, a)).Should().Be("127.0.0.1", "an untrusted peer's chain is replaced");

        await System.IO.File.WriteAllTextAsync(file, JsonSerializer.Serialize(new
        {
            Gateway = new
            {
                TrustedProxies = new[] { "127.0.0.1/32" },
                Clusters = new Dictionary<string, object> { ["quote-service"] = new { Destinations = new { a = new { Address = a.Url } } } },
            },
        }));
        await Poll.UntilAsync(async () => await ForwardedForAsync(gateway, a) == "203.0.113.7, 127.0.0.1", Deadline, "the balancer's chain to be extended");
        await WatchedGateway.ShouldRunTheFileAsync(gateway);

        await System.IO.File.WriteAllTextAsync(file, WatchedGateway.Destinations(("a", a.Url)));
        await Poll.UntilAsync(async () => await ForwardedForAsync(gateway, a) == "127.0.0.1", Deadline, "the proxy no longer trusted to be treated as a client");
    }

    [Fact]
    public async Task A_network_a_reload_denies_is_refused_on_every_path_and_a_route_list_it_adds_is_taken()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        // Started without any list: the check is in the pipeline anyway, so a reload can add one.
        var (gateway, file) = await WatchedGateway.StartAsync(a, config => config.Set("Gateway:TrustedProxies:0", "127.0.0.1"));
        await using var running = gateway;
        (await StatusFromAsync(gateway, "/api/v1/quotes/who", "203.0.113.7")).Should().Be(HttpStatusCode.OK);

        await System.IO.File.WriteAllTextAsync(file, JsonSerializer.Serialize(new
        {
            Gateway = new
            {
                DeniedClientNetworks = new[] { "203.0.113.0/24" },
                Clusters = new Dictionary<string, object> { ["quote-service"] = new { Destinations = new { a = new { Address = a.Url } } } },
            },
        }));
        await Poll.UntilAsync(async () => await StatusFromAsync(gateway, "/api/v1/quotes/who", "203.0.113.7") == HttpStatusCode.Forbidden,
            Deadline, "the network denied to be refused");
        (await StatusFromAsync(gateway, "/api/v1/quotes/denied", "203.0.113.8")).Should().Be(HttpStatusCode.Forbidden);
        (await StatusFromAsync(gateway, "/health/live", "203.0.113.8")).Should().Be(HttpStatusCode.Forbidden);
        (await StatusFromAsync(gateway, "/api/v1/quotes/who", "198.51.100.7")).Should().Be(HttpStatusCode.OK);
        await WatchedGateway.ShouldRunTheFileAsync(gateway);
        await Poll.UntilAsync(() => gateway.Output.Any(line => line.Contains("\"Section\":\"Gateway:DeniedClientNetworks\"", StringComparison.Ordinal)),
            Deadline, "the reload to log the list it replaced");

        // The deny list dropped, and a route whose allow list no route had at the start.
        await System.IO.File.WriteAllTextAsync(file, WatchedGateway.Configuration([("a", a.Url)], new Dictionary<string, object>
        {
            ["v2"] = new
            {
                Path = "/api/v2/quotes/{**rest}", ClusterId = "quote-service", Methods = new[] { "GET" }, Transform = new { PathRemovePrefix = "/api/v2" },
                AllowedClientNetworks = new[] { "10.0.0.0/8" },
            },
        }));
        // The list is taken after the routes of the same edit, so once it is gone the route is there.
        await Poll.UntilAsync(async () => await StatusFromAsync(gateway, "/api/v1/quotes/who", "203.0.113.7") == HttpStatusCode.OK,
            Deadline, "the network to be no longer denied");
        (await StatusFromAsync(gateway, "/api/v2/quotes/who", "10.1.2.3")).Should().Be(HttpStatusCode.OK);
        (await StatusFromAsync(gateway, "/api/v2/quotes/outside", "198.51.100.7")).Should().Be(HttpStatusCode.Forbidden, "the route takes its own networks only");
        await WatchedGateway.ShouldRunTheFileAsync(gateway);
        a.Upstream.Received.Should().NotContain(received => received.Path == "/quotes/denied" || received.Path == "/quotes/outside");
    }

    [Fact]
    public async Task A_role_a_reload_adds_to_a_policy_is_let_through_on_the_routes_that_name_it()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        var (gateway, file) = await WatchedGateway.StartAsync(a, config => config.WithSharedSecret(), OpsFile(a, "ops"));
        await using var running = gateway;
        var support = Tokens.Hs256(new { roles = new[] { "support" } });
        (await StatusWithAsync(gateway, support)).Should().Be(HttpStatusCode.Forbidden);
        (await StatusWithAsync(gateway, Tokens.Hs256(new { roles = new[] { "ops" } }))).Should().Be(HttpStatusCode.OK);

        await System.IO.File.WriteAllTextAsync(file, OpsFile(a, "ops", "support"));
        await Poll.UntilAsync(async () => await StatusWithAsync(gateway, support) == HttpStatusCode.OK, Deadline, "the role added to the policy to be let through");
        await WatchedGateway.ShouldRunTheFileAsync(gateway);
        await Poll.UntilAsync(() => gateway.Output.Any(line => line.Contains("\"Section\":\"Gateway:Auth:Policies\"", StringComparison.Ordinal)),
            Deadline, "the reload to log the role policies it replaced");

        await System.IO.File.WriteAllTextAsync(file, OpsFile(a, "ops"));
        await Poll.UntilAsync(async () => await StatusWithAsync(gateway, support) == HttpStatusCode.Forbidden, Deadline, "the role taken away again");
    }

    [Fact]
    public async Task Role_policies_the_running_admin_api_still_names_wait_for_the_next_start()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        var (gateway, file) = await WatchedGateway.StartAsync(a, config => config.WithSharedSecret(), AdminFile(a, "ops"));
        await using var running = gateway;
        var ops = Tokens.Hs256(new { roles = new[] { "ops" } });
        (await AdminWithAsync(gateway, ops)).Status.Should().Be(HttpStatusCode.OK);

        // The file moves the admin API to a new policy (read at the next start) and drops the one it runs with.
        await System.IO.File.WriteAllTextAsync(file, AdminFile(a, "ops2"));
        await Poll.UntilAsync(
            () => gateway.Output.Any(line => line.Contains("\"Section\":\"Gateway:Auth:Policies\"", StringComparison.Ordinal)
                && line.Contains("Gateway:Admin:Authorization: policy 'ops'", StringComparison.Ordinal)),
            Deadline, "the reload to keep the role policies the running admin API names");
        var (code, body) = await AdminWithAsync(gateway, ops);
        code.Should().Be(HttpStatusCode.OK, "the admin API keeps the policy it runs with, rather than failing on a missing one");
        JsonDocument.Parse(body).RootElement.GetProperty("pendingRestart").EnumerateArray().Select(setting => setting.GetString())
            .Should().BeEquivalentTo(["Gateway:Admin", "Gateway:Auth:Policies"]);
    }

    private static string AdminFile(NamedUpstream a, string policy) => JsonSerializer.Serialize(new
    {
        Gateway = new
        {
            Admin = new { Authorization = policy },
            Auth = new { Policies = new Dictionary<string, object> { [policy] = new { Roles = new[] { "ops" } } } },
            Clusters = new Dictionary<string, object> { ["quote-service"] = new { Destinations = new { a = new { Address = a.Url } } } },
        },
    });

    private static Task<(HttpStatusCode Status, string Body)> AdminWithAsync(GatewayProcess gateway, string token) =>
        GetWithAsync(gateway, "/admin/configuration", token);

    /// <summary>A GET with a bearer token: its status and body.</summary>
    private static async Task<(HttpStatusCode Status, string Body)> GetWithAsync(GatewayProcess gateway, string path, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var response = await gateway.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The file: the quotes cluster on a, a route "ops" that takes the policy "ops", and the policy with these roles.</summary>
    private static string OpsFile(NamedUpstream a, params string[] roles) => JsonSerializer.Serialize(new
    {
        Gateway = new
        {
            Auth = new { Policies = new Dictionary<string, object> { ["ops"] = new { Roles = roles } } },
            Routes = new Dictionary<string, object>
            {
                ["ops"] = new { Path = "/api/ops/{**rest}", ClusterId = "quote-service", Methods = new[] { "GET" }, Transform = new { PathRemovePrefix = "/api/ops" }, Authorization = "ops" },
            },
            Clusters = new Dictionary<string, object> { ["quote-service"] = new { Destinations = new { a = new { Address = a.Url } } } },
        },
    });

    private static async Task<HttpStatusCode> StatusWithAsync(GatewayProcess gateway, string token) =>
        (await GetWithAsync(gateway, "/api/ops/quotes/who", token)).Status;

    /// <summary>The X-Forwarded-For the upstream saw for a request a balancer on loopback forwarded for 203.0.113.7.</summary>
    private static async Task<HttpStatusCode> StatusFromAsync(GatewayProcess gateway, string path, string client)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("X-Forwarded-For", client);
        using var response = await gateway.Client.SendAsync(request);
        return response.StatusCode;
    }

    private static async Task<string?> ForwardedForAsync(GatewayProcess gateway, NamedUpstream a)
    {
        (await StatusFromAsync(gateway, "/api/v1/quotes/who", "203.0.113.7")).Should().Be(HttpStatusCode.OK);
        return a.Upstream.Received.Last(received => received.Path == "/quotes/who").Headers.GetValueOrDefault("X-Forwarded-For");
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

    /// <summary>The origin a browser's GET of route v2 from <paramref name="origin"/> is allowed, if any.</summary>
    private static async Task<string?> AllowedOriginAsync(GatewayProcess gateway, string origin)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v2/quotes/who");
        request.Headers.Add("Origin", origin);
        using var response = await gateway.Client.SendAsync(request);
        return response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? values.Single() : null;
    }

    private static Dictionary<string, object> Policy(string name, int limit, string algorithm) =>
        new() { [name] = new { PermitLimit = limit, Window = "01:00:00", Algorithm = algorithm } };

    private static Dictionary<string, object> Cors(string name, params string[] origins) => new() { [name] = new { Origins = origins } };

    private static Dictionary<string, object> V2(string? policy = null, string? cors = null, bool compress = false) => new()
    {
        ["v2"] = new
        {
            Path = "/api/v2/quotes/{**rest}", ClusterId = "quote-service", Methods = new[] { "GET" }, Transform = new { PathRemovePrefix = "/api/v2" },
            RateLimitPolicy = policy, Cors = cors, Compress = compress,
        },
    };

    private static string File(NamedUpstream a, Dictionary<string, object>? route = null, Dictionary<string, object>? rateLimits = null,
        Dictionary<string, object>? cors = null) =>
        JsonSerializer.Serialize(new
        {
            Gateway = new
            {
                Routes = route ?? [],
                Clusters = new Dictionary<string, object> { ["quote-service"] = new { Destinations = new { a = new { Address = a.Url } } } },
                RateLimiting = new { Policies = rateLimits ?? [] },
                Cors = cors ?? [],
            },
        });
}
