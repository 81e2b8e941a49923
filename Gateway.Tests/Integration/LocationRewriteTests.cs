using System.Net;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// An upstream's Location, written in its own terms, reaches the client in the client's: no internal address, and
/// the route's path transform undone, so following it comes back through the same route.
/// </summary>
public sealed class LocationRewriteTests : IAsyncLifetime
{
    private TestUpstream _upstream = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        // The upstream answers 201 with whatever Location the test asks for, with its own address as {self} and an
        // origin built from the Host it was sent as {host}, as frameworks build absolute URLs.
        TestUpstream? self = null;
        _upstream = await TestUpstream.StartAsync(app => app.MapPost("/{**path}", (HttpContext context) =>
        {
            var location = context.Request.Query["location"].ToString().Replace("{self}", self!.Url.TrimEnd('/'), StringComparison.Ordinal)
                .Replace("{host}", "http://" + context.Request.Host.Value, StringComparison.Ordinal);
            context.Response.Headers.Location = location;
            context.Response.Headers.SetCookie = context.Request.Query["cookie"];
            if (context.Request.Query["contentLocation"] is { Count: 1 } contentLocation)
            {
                context.Response.Headers.ContentLocation = contentLocation.ToString().Replace("{self}", self!.Url.TrimEnd('/'), StringComparison.Ordinal);
            }

            return Results.StatusCode(StatusCodes.Status201Created);
        }));
        self = _upstream;
        _gateway = await TestGateway.StartAsync(new GatewayConfig()
            .Route("contracts", "/api/v1/contracts/{**rest}", "svc", "POST").Set("Gateway:Routes:contracts:Transform:PathRemovePrefix", "/api/v1")
            .Route("admin-catalog", "/api/admin/catalog/{**rest}", "svc", "POST").Set("Gateway:Routes:admin-catalog:Transform:PathPattern", "/api/catalog/{**rest}")
            .Route("as-sent", "/api/v1/raw/{**rest}", "svc", "POST").Set("Gateway:Routes:as-sent:Transform:PathRemovePrefix", "/api/v1")
            .Set("Gateway:Routes:as-sent:RewriteLocation", false).Set("Gateway:Routes:as-sent:RewriteCookies", false)
            .Route("kept-host", "/api/v1/kept/{**rest}", "svc", "POST").Set("Gateway:Routes:kept-host:Transform:PathRemovePrefix", "/api/v1")
            .Set("Gateway:Routes:kept-host:PreserveHost", true)
            .Cluster("svc", _upstream.Url));
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Theory]
    [InlineData("/api/v1/contracts", "/contracts/k-1", "/api/v1/contracts/k-1")]
    [InlineData("/api/v1/contracts", "/contracts/k-1?view=full#top", "/api/v1/contracts/k-1?view=full#top")]
    [InlineData("/api/v1/contracts", "{self}/contracts/k-1", "/api/v1/contracts/k-1")]
    [InlineData("/api/v1/contracts", "{self}/other/k-1", "/other/k-1")]
    [InlineData("/api/v1/contracts", "/other/k-1", "/other/k-1")]
    [InlineData("/api/v1/contracts", "https://carrier.example/labels/1", "https://carrier.example/labels/1")]
    [InlineData("/api/v1/contracts", "k-1", "k-1")]
    [InlineData("/api/admin/catalog", "/api/catalog/items/7", "/api/admin/catalog/items/7")]
    [InlineData("/api/v1/raw", "/raw/k-1", "/raw/k-1")]
    [InlineData("/api/v1/kept", "{host}/kept/k-1", "/api/v1/kept/k-1")]
    public async Task The_upstreams_location_is_put_in_the_clients_terms(string routePrefix, string sent, string expected)
    {
        using var response = await _gateway.Client.PostAsync($"{routePrefix}/new?location={Uri.EscapeDataString(sent)}", null);
        response.StatusCode.Should().Be(HttpStatusCode.Created);
        var location = response.Headers.GetValues("Location").Single();
        location.Should().Be(expected.Replace("{self}", _upstream.Url.TrimEnd('/'), StringComparison.Ordinal));
        location.Should().NotContain(new Uri(_upstream.Url).Authority, "no internal address reaches the client");
    }

    [Fact]
    public async Task Content_location_and_cookies_are_put_in_the_clients_terms_too()
    {
        var query = "?location=/contracts/k-1&contentLocation=" + Uri.EscapeDataString("{self}/contracts/k-1")
            + "&cookie=" + Uri.EscapeDataString("sid=abc; Path=/contracts; HttpOnly")
            + "&cookie=" + Uri.EscapeDataString($"pref=dark; Domain={new Uri(_upstream.Url).Host}; Path=/")
            + "&cookie=" + Uri.EscapeDataString("lang=pt; Domain=shop.example; Path=/other");
        using var response = await _gateway.Client.PostAsync("/api/v1/contracts/new" + query, null);

        response.Content.Headers.ContentLocation!.OriginalString.Should().Be("/api/v1/contracts/k-1");
        response.Headers.GetValues("Set-Cookie").Should().Equal(
            "sid=abc; Path=/api/v1/contracts; HttpOnly",
            "pref=dark; Path=/",
            "lang=pt; Domain=shop.example; Path=/other");
    }

    [Fact]
    public async Task Cookies_are_left_as_sent_when_the_route_says_so()
    {
        using var response = await _gateway.Client.PostAsync("/api/v1/raw/new?cookie=" + Uri.EscapeDataString("sid=abc; Path=/raw"), null);
        response.Headers.GetValues("Set-Cookie").Should().Equal("sid=abc; Path=/raw");
    }

    [Fact]
    public async Task A_location_left_as_sent_keeps_the_internal_address_only_when_the_route_says_so()
    {
        using var response = await _gateway.Client.PostAsync($"/api/v1/raw/new?location={Uri.EscapeDataString("{self}/raw/k-1")}", null);
        response.Headers.GetValues("Location").Single().Should().Be(_upstream.Url.TrimEnd('/') + "/raw/k-1");
    }
}
