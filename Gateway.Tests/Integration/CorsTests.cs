using System.Net;
using System.Net.Http.Headers;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>Named CORS policies per route; the gateway answers preflights itself.</summary>
public sealed class CorsTests : IAsyncLifetime
{
    private const string Allowed = "http://app.example";
    private TestUpstream _upstream = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = await TestUpstream.StartAsync();
        _gateway = await TestGateway.StartAsync(new GatewayConfig().WithSharedSecret()
            .Route("orders", "/api/orders/{**rest}", "svc", "GET", "POST").Set("Gateway:Routes:orders:Authorization", "Authenticated")
            .Set("Gateway:Routes:orders:Cors", "web")
            .Cluster("svc", _upstream.Url)
            .Set("Gateway:Cors:web:Origins:0", Allowed)
            .Set("Gateway:Cors:web:Methods:0", "GET")
            .Set("Gateway:Cors:web:Methods:1", "POST")
            .Set("Gateway:Cors:web:Headers:0", "Authorization")
            .Set("Gateway:Cors:web:Headers:1", "Content-Type")
            .Set("Gateway:Cors:web:AllowCredentials", true)
            .Set("Gateway:Cors:web:PreflightMaxAge", "00:10:00"));
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task A_preflight_from_an_allowed_origin_is_answered_by_the_gateway_without_a_token_or_an_upstream_call()
    {
        using var preflight = Preflight(Allowed, "POST", "authorization,content-type");
        using var response = await _gateway.Client.SendAsync(preflight);
        response.StatusCode.Should().Be(HttpStatusCode.NoContent);
        Header(response, "Access-Control-Allow-Origin").Should().Be(Allowed);
        Header(response, "Access-Control-Allow-Credentials").Should().Be("true");
        Header(response, "Access-Control-Allow-Methods").Should().Contain("POST");
        Header(response, "Access-Control-Max-Age").Should().Be("600");
        _upstream.Received.Should().BeEmpty();
    }

    [Fact]
    public async Task A_preflight_from_another_origin_gets_no_permission_and_no_upstream_call()
    {
        using var preflight = Preflight("http://evil.example", "POST", "authorization");
        using var response = await _gateway.Client.SendAsync(preflight);
        response.Headers.Contains("Access-Control-Allow-Origin").Should().BeFalse();
        _upstream.Received.Should().BeEmpty();
    }

    [Fact]
    public async Task An_allowed_cross_origin_request_gets_the_cors_headers_and_can_read_the_correlation_id()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/orders/1");
        request.Headers.Add("Origin", Allowed);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Tokens.Hs256());
        using var response = await _gateway.Client.SendAsync(request);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        Header(response, "Access-Control-Allow-Origin").Should().Be(Allowed);
        Header(response, "Access-Control-Expose-Headers").Should().Contain("X-Correlation-ID");
        response.Headers.Vary.Should().ContainSingle(value => value == "Origin", "the answer differs by origin; a shared cache must key it on Origin");
    }

    [Fact]
    public async Task A_request_without_an_origin_to_a_cors_route_is_marked_as_varying_by_origin_too()
    {
        // Without Vary, a cache would store this answer (no allow header) and hand it to the allowed origin.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/orders/1");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Tokens.Hs256());
        using var response = await _gateway.Client.SendAsync(request);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.Contains("Access-Control-Allow-Origin").Should().BeFalse();
        response.Headers.Vary.Should().Contain("Origin");

        using var preflight = Preflight(Allowed, "POST", "authorization");
        using var preflightResponse = await _gateway.Client.SendAsync(preflight);
        preflightResponse.Headers.Vary.Should().Contain("Origin");
    }

    [Theory]
    [InlineData("", false)]
    [InlineData("Accept-Encoding", false)]
    [InlineData("accept-encoding, origin", true)]
    [InlineData("*", true)]
    public void An_existing_vary_header_is_read_token_by_token(string vary, bool namesOrigin) =>
        Gateway.Core.Identity.CorsVaryMiddleware.Names(vary, "Origin").Should().Be(namesOrigin);

    private static HttpRequestMessage Preflight(string origin, string method, string headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/api/orders/1");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", method);
        request.Headers.Add("Access-Control-Request-Headers", headers);
        return request;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;
}
