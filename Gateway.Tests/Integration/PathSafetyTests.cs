using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Integration;

/// <summary>Nothing a client sends can walk an upstream path out of the route's target, or inject a header.</summary>
public sealed class PathSafetyTests(ForwardingFixture fixture) : IClassFixture<ForwardingFixture>
{
    [Theory]
    [InlineData("/api/v1/quotes/../../admin")]
    [InlineData("/api/v1/quotes/%2e%2e/%2e%2e/admin")]
    [InlineData("/api/v1/quotes/..%2f..%2fadmin")]
    [InlineData("/api/v1/quotes/%2e%2e%2f%2e%2e%2fadmin")]
    [InlineData("/api/v1/quotes/%252e%252e/%252e%252e/admin")]
    [InlineData("/api/v1/quotes/..%5c..%5cadmin")]
    [InlineData("/api/v1/quotes/..\\..\\admin")]
    [InlineData("/api/v1/quotes/%2F..%2Fadmin")]
    [InlineData("/api/v1/quotes/%25%32%65%25%32%65/admin")]
    public async Task An_escape_attempt_gets_a_4xx_and_reaches_no_upstream(string target)
    {
        var before = fixture.Upstream.Received.Count;
        var response = await RawHttp.SendAsync(fixture.Gateway.Port, $"GET {target} HTTP/1.1\nHost: a\n");
        response.Status.Should().BeInRange(400, 499);
        fixture.Upstream.Received.Count.Should().Be(before, "nothing may reach the upstream");
        fixture.Upstream.Received.Should().NotContain(r => !r.Path.StartsWith("/quotes/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_ordinary_encoded_path_still_works()
    {
        var response = await RawHttp.SendAsync(fixture.Gateway.Port, "GET /api/v1/quotes/a%20b HTTP/1.1\nHost: a\n");
        response.Status.Should().Be(200);
        fixture.Upstream.Received.Should().Contain(r => r.RawTarget == "/quotes/a%20b");
    }

    [Theory]
    [InlineData("X-Test: a\rb\n")]
    [InlineData("X-Test: a\n folded: evil\n")]
    [InlineData("X-Test: a\0b\n")]
    public async Task A_malformed_header_is_refused_and_not_echoed(string header)
    {
        var before = fixture.Upstream.Received.Count;
        var response = await RawHttp.SendAsync(fixture.Gateway.Port, "GET /api/v1/quotes/x HTTP/1.1\nHost: a\n" + header.Replace("\n", "\r\n", StringComparison.Ordinal));
        response.Status.Should().Be(400);
        (response.Head + response.Body).Should().NotContain("evil").And.NotContain("a\rb");
        fixture.Upstream.Received.Count.Should().Be(before);
    }
}
