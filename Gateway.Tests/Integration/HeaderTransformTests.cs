using System.Net;
using System.Net.Http.Headers;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Integration;

/// <summary>A route's own header edits, on the way up and on the way back; a route without them passes headers as they are.</summary>
public sealed class HeaderTransformTests : IAsyncLifetime
{
    private TestUpstream _upstream = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        // An upstream that says more about itself than a client needs to know.
        _upstream = await TestUpstream.StartAsync(app => app.Use((context, next) =>
        {
            context.Response.Headers.Server = "sample/1.0";
            context.Response.Headers["X-Powered-By"] = "ASP.NET";
            context.Response.Headers.CacheControl = "max-age=60";
            return next(context);
        }));
        _gateway = await TestGateway.StartAsync(new GatewayConfig()
            .Cluster("svc", _upstream.Url)
            .Route("edited", "/api/v1/edited/{**rest}", "svc", "GET", "POST")
            .Set("Gateway:Routes:edited:Transform:PathRemovePrefix", "/api/v1")
            .Set("Gateway:Routes:edited:Headers:Request:Set:X-Api-Version", "2")
            .Set("Gateway:Routes:edited:Headers:Request:Set:User-Agent", "gateway")
            .Set("Gateway:Routes:edited:Headers:Request:Set:Content-Type", "application/vnd.shop+json")
            .Set("Gateway:Routes:edited:Headers:Request:Remove:0", "X-Debug")
            .Set("Gateway:Routes:edited:Headers:Request:Remove:1", "Cookie")
            .Set("Gateway:Routes:edited:Headers:Response:Remove:0", "Server")
            .Set("Gateway:Routes:edited:Headers:Response:Remove:1", "X-Powered-By")
            .Set("Gateway:Routes:edited:Headers:Response:Set:Cache-Control", "no-store")
            .Route("plain", "/api/v1/plain/{**rest}", "svc", "GET")
            .Set("Gateway:Routes:plain:Transform:PathRemovePrefix", "/api/v1"));
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task A_routes_edits_replace_and_remove_request_headers_and_leave_the_gateways_own_alone()
    {
        var path = "/edited/" + Guid.NewGuid().ToString("N");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1" + path);
        request.Headers.TryAddWithoutValidation("X-Api-Version", "1");
        request.Headers.TryAddWithoutValidation("X-Debug", "on");
        request.Headers.TryAddWithoutValidation("Cookie", "session=abc");
        request.Headers.TryAddWithoutValidation("User-Agent", "curl/8");
        request.Headers.TryAddWithoutValidation("X-Kept", "yes");

        using var response = await _gateway.Client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var seen = _upstream.Received.Single(r => r.Path == path).Headers;
        seen["X-Api-Version"].Should().Be("2", "the route's value replaces the client's, not added beside it");
        seen["User-Agent"].Should().Be("gateway");
        seen.Keys.Should().NotContain(["X-Debug", "Cookie"]);
        seen.Should().Contain("X-Kept", "yes").And.ContainKey("X-Forwarded-For").And.ContainKey("X-Correlation-ID");
        seen.Should().NotContainKey("Content-Type", "a content header is set only on a request with a body");
    }

    [Fact]
    public async Task A_content_header_is_set_on_a_request_with_a_body()
    {
        var path = "/edited/" + Guid.NewGuid().ToString("N");
        using var response = await _gateway.Client.PostAsync("/api/v1" + path, new StringContent("{}", new MediaTypeHeaderValue("application/json")));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        _upstream.Received.Single(r => r.Path == path).Headers["Content-Type"].Should().Be("application/vnd.shop+json");
    }

    [Fact]
    public async Task A_routes_edits_remove_and_set_response_headers()
    {
        using var response = await _gateway.Client.GetAsync("/api/v1/edited/x");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.Contains("Server").Should().BeFalse();
        response.Headers.Contains("X-Powered-By").Should().BeFalse();
        response.Headers.CacheControl!.NoStore.Should().BeTrue();
        response.Headers.CacheControl.MaxAge.Should().BeNull("the route's value replaces the upstream's");
        response.Headers.Contains("X-Correlation-ID").Should().BeTrue();
    }

    [Fact]
    public async Task A_route_without_edits_passes_the_same_headers_as_they_are()
    {
        var path = "/plain/" + Guid.NewGuid().ToString("N");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1" + path);
        request.Headers.TryAddWithoutValidation("X-Debug", "on");

        using var response = await _gateway.Client.SendAsync(request);

        _upstream.Received.Single(r => r.Path == path).Headers["X-Debug"].Should().Be("on");
        response.Headers.Server.ToString().Should().Be("sample/1.0");
        response.Headers.GetValues("X-Powered-By").Should().Equal("ASP.NET");
        response.Headers.CacheControl!.MaxAge.Should().Be(TimeSpan.FromSeconds(60));
    }
}
