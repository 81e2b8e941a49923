using System.Net;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// Routes that share a path and differ by request headers or query parameters (an API version, a canary, a tenant), on routing's own
/// matcher: each request reaches the one route whose conditions it meets, the most specific first, else the route
/// without conditions. One upstream; each route rewrites to a prefix of its own, so the path it sees names the route.
/// </summary>
public sealed class HeaderMatchTests : IAsyncLifetime
{
    private TestUpstream _upstream = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = await TestUpstream.StartAsync();
        var config = new GatewayConfig().Cluster("svc", _upstream.Url);
        Route(config, "v1", "/api/v1/quotes/{**rest}", "/v1/{**rest}");
        Route(config, "v2", "/api/v1/quotes/{**rest}", "/v2/{**rest}")
            .Set("Gateway:Routes:v2:MatchHeaders:0:Name", "X-Api-Version")
            .Set("Gateway:Routes:v2:MatchHeaders:0:Values:0", "2")
            .Set("Gateway:Routes:v2:MatchHeaders:0:Values:1", "2.0");
        Route(config, "canary", "/api/v1/quotes/{**rest}", "/canary/{**rest}")
            .Set("Gateway:Routes:canary:MatchHeaders:0:Name", "X-Canary")
            .Set("Gateway:Routes:canary:MatchHeaders:0:Mode", "Exists")
            .Set("Gateway:Routes:canary:MatchHeaders:1:Name", "X-Api-Version")
            .Set("Gateway:Routes:canary:MatchHeaders:1:Mode", "Prefix")
            .Set("Gateway:Routes:canary:MatchHeaders:1:Values:0", "2");
        Route(config, "tenant", "/api/v1/quotes/{**rest}", "/tenant/{**rest}")
            .Set("Gateway:Routes:tenant:MatchHeaders:0:Name", "X-Tenant")
            .Set("Gateway:Routes:tenant:MatchHeaders:0:Values:0", "acme");
        Route(config, "apiver", "/api/v1/quotes/{**rest}", "/apiver/{**rest}")
            .Set("Gateway:Routes:apiver:MatchQuery:0:Name", "api-version")
            .Set("Gateway:Routes:apiver:MatchQuery:0:Values:0", "2024-01-01");
        Route(config, "preview", "/api/v1/quotes/{**rest}", "/preview/{**rest}")
            .Set("Gateway:Routes:preview:MatchQuery:0:Name", "preview")
            .Set("Gateway:Routes:preview:MatchQuery:0:Mode", "Exists")
            .Set("Gateway:Routes:preview:MatchHeaders:0:Name", "X-Canary")
            .Set("Gateway:Routes:preview:MatchHeaders:0:Mode", "Exists");
        Route(config, "beta", "/api/v1/beta/{**rest}", "/beta/{**rest}")
            .Set("Gateway:Routes:beta:MatchHeaders:0:Name", "X-Beta")
            .Set("Gateway:Routes:beta:MatchHeaders:0:Mode", "Exists");
        _gateway = await TestGateway.StartAsync(config);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Theory]
    [InlineData("a1", null, "/v1/a1")]
    [InlineData("a2", "X-Api-Version: 2", "/v2/a2")]
    [InlineData("a3", "X-Api-Version: 2.0", "/v2/a3")]
    [InlineData("a4", "X-Api-Version: 3", "/v1/a4")]
    [InlineData("a5", "X-Api-Version: 2.1", "/v1/a5")]
    [InlineData("a6", "X-Canary: yes|X-Api-Version: 2.1", "/canary/a6")]
    [InlineData("a7", "X-Canary: yes|X-Api-Version: 2", "/canary/a7")]
    [InlineData("a8", "X-Canary: yes", "/v1/a8")]
    [InlineData("a9", "X-Tenant: ACME", "/tenant/a9")]
    // One condition each, both met: the route id that sorts first, "tenant" before "v2".
    [InlineData("b1", "X-Tenant: acme|X-Api-Version: 2", "/tenant/b1")]
    [InlineData("b2", "X-Tenant: other", "/v1/b2")]
    [InlineData("b3", "X-Api-Version: 1, 2", "/v2/b3")]
    [InlineData("b4", "X-Api-Version: \"1,2\"", "/v1/b4")]
    public async Task A_request_reaches_the_most_specific_route_whose_header_conditions_it_meets(string id, string? headers, string expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/quotes/" + id);
        foreach (var header in (headers ?? string.Empty).Split('|', StringSplitOptions.RemoveEmptyEntries))
        {
            var (name, value) = (header[..header.IndexOf(':', StringComparison.Ordinal)], header[(header.IndexOf(':', StringComparison.Ordinal) + 2)..]);
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await _gateway.Client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        _upstream.Received.Where(r => r.Path.EndsWith("/" + id, StringComparison.Ordinal)).Select(r => r.Path).Should().Equal(expected);
    }

    [Theory]
    [InlineData("q1", "api-version=2024-01-01", null, "/apiver/q1")]
    [InlineData("q2", "API-VERSION=2024-01-01", null, "/apiver/q2")]
    [InlineData("q3", "api-version=2024-01-02", null, "/v1/q3")]
    [InlineData("q4", "x=%26%3D&api-version=2024-01-01", null, "/apiver/q4")]
    [InlineData("q5", "api-version=x&api-version=2024-01-01", null, "/apiver/q5")]
    [InlineData("q6", "preview", "yes", "/preview/q6")]
    [InlineData("q7", "preview", null, "/v1/q7")]
    [InlineData("q8", "other=1", "yes", "/v1/q8")]
    public async Task Query_conditions_select_a_route_as_header_conditions_do_and_the_two_combine(string id, string query, string? canary, string expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/quotes/{id}?{query}");
        if (canary is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Canary", canary);
        }

        using var response = await _gateway.Client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var received = _upstream.Received.Where(r => r.Path.EndsWith("/" + id, StringComparison.Ordinal)).ToList();
        received.Select(r => r.Path).Should().Equal(expected);
        received[0].Query.Should().Be("?" + query, "the query goes up as the client sent it");
    }

    [Fact]
    public async Task A_path_only_header_routes_take_is_a_404_problem_without_the_header_and_a_wrong_method_a_405()
    {
        using var missing = await _gateway.Client.GetAsync("/api/v1/beta/c1");
        await ProblemAssertions.ShouldBeProblemAsync(missing, 404);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/quotes/c2") { Content = new StringContent("{}") };
        request.Headers.TryAddWithoutValidation("X-Api-Version", "2");
        using var wrongMethod = await _gateway.Client.SendAsync(request);
        await ProblemAssertions.ShouldBeProblemAsync(wrongMethod, 405);

        using var beta = new HttpRequestMessage(HttpMethod.Get, "/api/v1/beta/c3");
        beta.Headers.TryAddWithoutValidation("X-Beta", string.Empty);
        using var empty = await _gateway.Client.SendAsync(beta);
        await ProblemAssertions.ShouldBeProblemAsync(empty, 404);

        using var flagged = new HttpRequestMessage(HttpMethod.Get, "/api/v1/beta/c4");
        flagged.Headers.TryAddWithoutValidation("X-Beta", "0");
        using var reached = await _gateway.Client.SendAsync(flagged);
        reached.StatusCode.Should().Be(HttpStatusCode.OK, "Exists asks for the header with a value, whatever it is");
        _upstream.Count("/beta/c3").Should().Be(0, "an empty header is no header, as YARP reads it");
        _upstream.Count("/beta/c4").Should().Be(1);
    }

    [Fact]
    public async Task An_explicit_order_wins_over_more_conditions_and_over_a_more_specific_path()
    {
        var config = new GatewayConfig().Cluster("svc", _upstream.Url);
        Route(config, "plain", "/api/v1/quotes/{**rest}", "/plain/{**rest}");
        Route(config, "both", "/api/v1/quotes/{**rest}", "/both/{**rest}")
            .Set("Gateway:Routes:both:MatchHeaders:0:Name", "X-Api-Version").Set("Gateway:Routes:both:MatchHeaders:0:Values:0", "2")
            .Set("Gateway:Routes:both:MatchHeaders:1:Name", "X-Tenant").Set("Gateway:Routes:both:MatchHeaders:1:Mode", "Exists");
        Route(config, "pinned", "/api/v1/quotes/{**rest}", "/pinned/{**rest}")
            .Set("Gateway:Routes:pinned:Order", -1)
            .Set("Gateway:Routes:pinned:MatchHeaders:0:Name", "X-Tenant").Set("Gateway:Routes:pinned:MatchHeaders:0:Mode", "Exists");
        Route(config, "maintenance", "/api/{**rest}", "/maintenance/{**rest}")
            .Set("Gateway:Routes:maintenance:Order", -5)
            .Set("Gateway:Routes:maintenance:MatchQuery:0:Name", "maintenance").Set("Gateway:Routes:maintenance:MatchQuery:0:Mode", "Exists");
        await using var gateway = await TestGateway.StartAsync(config);

        async Task<string> PathSeen(string id, string query = "", params string[] headers)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/quotes/{id}{query}");
            foreach (var header in headers)
            {
                request.Headers.TryAddWithoutValidation(header, header == "X-Api-Version" ? "2" : "t");
            }

            using var response = await gateway.Client.SendAsync(request);
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            return _upstream.Received.Single(r => r.Path.EndsWith("/" + id, StringComparison.Ordinal)).Path;
        }

        (await PathSeen("o1", "", "X-Api-Version")).Should().Be("/plain/o1");
        (await PathSeen("o2", "", "X-Api-Version", "X-Tenant")).Should().Be("/pinned/o2", "order -1 beats two conditions");
        (await PathSeen("o3", "?maintenance", "X-Api-Version", "X-Tenant")).Should().Be("/maintenance/v1/quotes/o3", "order -5 beats a more specific path");
    }

    private static GatewayConfig Route(GatewayConfig config, string id, string path, string upstreamPattern) => config
        .Route(id, path, "svc", "GET")
        .Set($"Gateway:Routes:{id}:Transform:PathPattern", upstreamPattern);
}
