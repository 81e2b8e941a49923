using System.Net;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Integration;

/// <summary>
/// Route response caching: a repeated anonymous GET is answered without the upstream, keyed on the exact path and
/// query, never past what the upstream's Cache-Control and Vary allow, and still counted by the route's limit.
/// </summary>
public sealed class ResponseCacheTests : IAsyncLifetime
{
    private TestUpstream _upstream = null!;
    private TestGateway _gateway = null!;
    private int _served;

    public async Task InitializeAsync()
    {
        // Each answer says how many the upstream has served; the query sets what it says about caching.
        _upstream = await TestUpstream.StartAsync(app => app.MapGet("/{area}/{**rest}", (HttpContext context) =>
        {
            var query = context.Request.Query;
            if (query["cc"] is { Count: 1 } cacheControl)
            {
                context.Response.Headers.CacheControl = cacheControl;
            }

            if (query["vary"] is { Count: 1 } vary)
            {
                context.Response.Headers.Vary = vary;
            }

            var size = query["size"] is { Count: 1 } sized ? int.Parse(sized[0]!, System.Globalization.CultureInfo.InvariantCulture) : 0;
            return Results.Text($"served {Interlocked.Increment(ref _served)} {context.Request.Headers.AcceptLanguage}" + new string('x', size));
        }));
        _gateway = await TestGateway.StartAsync(new GatewayConfig()
            .Cluster("svc", _upstream.Url)
            .Set("Gateway:Caching:MaxBodySize", 2048)
            .Route("catalog", "/api/catalog/{**rest}", "svc", "GET").Set("Gateway:Routes:catalog:Transform:PathRemovePrefix", "/api")
            .Set("Gateway:Routes:catalog:Cache:Duration", "00:05:00")
            .Route("lang", "/api/lang/{**rest}", "svc", "GET").Set("Gateway:Routes:lang:Transform:PathRemovePrefix", "/api")
            .Set("Gateway:Routes:lang:Cache:Duration", "00:05:00")
            .Set("Gateway:Routes:lang:Cache:VaryByHeaders:0", "Accept-Language")
            .Route("limited", "/api/limited/{**rest}", "svc", "GET").Set("Gateway:Routes:limited:Transform:PathRemovePrefix", "/api")
            .Set("Gateway:Routes:limited:Cache:Duration", "00:05:00")
            .Set("Gateway:Routes:limited:RateLimitPolicy", "two")
            .Set("Gateway:RateLimiting:Policies:two:PermitLimit", 2)
            .Set("Gateway:RateLimiting:Policies:two:Window", "00:10:00"));
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task A_repeated_get_is_answered_from_the_cache_with_its_own_correlation_id()
    {
        var path = "/api/catalog/" + Guid.NewGuid().ToString("N");
        using var first = await _gateway.Client.GetAsync(path);
        using var second = await _gateway.Client.GetAsync(path);

        (await second.Content.ReadAsStringAsync()).Should().Be(await first.Content.ReadAsStringAsync());
        Upstream(path).Should().Be(1);
        second.Headers.Age.Should().NotBeNull("the framework marks an answer from the cache with its age");
        first.Headers.Age.Should().BeNull();
        first.Headers.GetValues("X-Cache").Should().Equal("MISS");
        second.Headers.GetValues("X-Cache").Should().Equal(["HIT"], "the stored answer's MISS is not replayed");
        second.Headers.GetValues("X-Correlation-ID").Single().Should().NotBe(first.Headers.GetValues("X-Correlation-ID").Single());
        second.Headers.Contains("X-Response-Time").Should().BeTrue();
        // No service was called for the hit: the metrics say so, by the route.
        (await _gateway.Client.GetStringAsync("/metrics")).Should().MatchRegex("""(?m)^gateway_requests_total\{(?=[^}]*route="catalog")(?=[^}]*service="-")[^}]*\} [1-9]""");
    }

    [Fact]
    public async Task The_key_is_the_path_and_the_query_exactly_as_sent()
    {
        var path = "/api/catalog/" + Guid.NewGuid().ToString("N");
        foreach (var query in new[] { "?page=1", "?page=2", "?Page=1", "?id=1&id=2", "?id=2&id=1", "?page=1", "?id=2&id=1" })
        {
            using var response = await _gateway.Client.GetAsync(path + query);
            response.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        Upstream(path).Should().Be(5, "the last two repeat earlier queries; every other query is its own answer");
        _upstream.Received.Where(r => r.Path == path[4..]).Select(r => r.Query).Should()
            .Equal("?page=1", "?page=2", "?Page=1", "?id=1&id=2", "?id=2&id=1");
    }

    [Theory]
    [InlineData("private")]
    [InlineData("no-store")]
    [InlineData("no-cache")]
    [InlineData("max-age=0")]
    public async Task An_answer_the_upstream_forbids_a_shared_cache_to_keep_is_not_kept(string cacheControl)
    {
        var path = $"/api/catalog/{Guid.NewGuid():N}?cc={cacheControl}";
        (await _gateway.Client.GetStringAsync(path)).Should().StartWith("served");
        (await _gateway.Client.GetStringAsync(path)).Should().StartWith("served");

        Upstream(path.Split('?')[0]).Should().Be(2);
    }

    [Fact]
    public async Task A_request_with_credentials_is_never_answered_from_the_cache()
    {
        var path = "/api/catalog/" + Guid.NewGuid().ToString("N");
        (await _gateway.Client.GetStringAsync(path)).Should().StartWith("served");

        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "someone-elses-view");
        using var response = await _gateway.Client.SendAsync(request);

        response.Headers.Age.Should().BeNull();
        Upstream(path).Should().Be(2);
    }

    [Fact]
    public async Task An_answer_that_varies_by_a_header_is_kept_only_where_the_route_keys_on_it()
    {
        var id = Guid.NewGuid().ToString("N");
        foreach (var (route, language) in new[] { ("catalog", "en"), ("catalog", "de"), ("lang", "en"), ("lang", "de"), ("lang", "en") })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/{route}/{id}?vary=Accept-Language");
            request.Headers.AcceptLanguage.ParseAdd(language);
            using var response = await _gateway.Client.SendAsync(request);
            (await response.Content.ReadAsStringAsync()).Should().EndWith(language, "each language gets its own answer, never another's");
        }

        Upstream($"/api/catalog/{id}").Should().Be(2, "the catalog route does not key on Accept-Language, so it keeps neither");
        Upstream($"/api/lang/{id}").Should().Be(2, "the lang route keeps one answer per language");
    }

    [Fact]
    public async Task An_upstreams_shorter_max_age_ends_the_entry_before_the_routes_duration()
    {
        var path = $"/api/catalog/{Guid.NewGuid():N}?cc=max-age%3D1";
        var first = await _gateway.Client.GetStringAsync(path);
        (await _gateway.Client.GetStringAsync(path)).Should().Be(first, "within the second it is a hit");

        // The route keeps answers for five minutes; only the upstream's max-age can end this one.
        await Poll.UntilAsync(async () => await _gateway.Client.GetStringAsync(path) != first, TimeSpan.FromSeconds(10), "a fresh answer after max-age");
        Upstream(path.Split('?')[0]).Should().Be(2);
    }

    [Fact]
    public async Task A_body_over_the_cache_limit_streams_through_uncached()
    {
        var path = $"/api/catalog/{Guid.NewGuid():N}?size=4096";
        (await _gateway.Client.GetStringAsync(path)).Length.Should().BeGreaterThan(4096);
        (await _gateway.Client.GetStringAsync(path)).Length.Should().BeGreaterThan(4096);

        Upstream(path.Split('?')[0]).Should().Be(2);
    }

    [Fact]
    public async Task An_answer_from_the_cache_still_counts_against_the_routes_limit()
    {
        var path = "/api/limited/" + Guid.NewGuid().ToString("N");
        (await _gateway.Client.GetAsync(path)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await _gateway.Client.GetAsync(path)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await _gateway.Client.GetAsync(path)).StatusCode.Should().Be(HttpStatusCode.TooManyRequests);

        Upstream(path).Should().Be(1);
    }

    [Fact]
    public async Task A_purge_empties_the_routes_memory_cache()
    {
        var path = "/api/catalog/" + Guid.NewGuid().ToString("N");
        var before = await _gateway.Client.GetStringAsync(path);
        (await _gateway.Client.GetStringAsync(path)).Should().Be(before);

        using var purge = await _gateway.Client.DeleteAsync("/admin/cache/catalog");
        purge.StatusCode.Should().Be(HttpStatusCode.NoContent);

        (await _gateway.Client.GetStringAsync(path)).Should().NotBe(before);
        Upstream(path).Should().Be(2);
    }

    private int Upstream(string gatewayPath) => _upstream.Count(gatewayPath["/api".Length..]);
}
