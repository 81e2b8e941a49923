using System.Net;
using FluentAssertions;
using Gateway.Core.Routing;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Unit;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// A route's <c>AllowedClientNetworks</c>: a request from elsewhere gets a 403 problem and reaches nothing, not even
/// the route's cached answers; behind a trusted proxy, the client is the address the proxy forwarded for.
/// </summary>
public sealed class ClientNetworkTests : IAsyncLifetime
{
    private readonly string _log = Path.Combine(Directory.CreateTempSubdirectory("gw-networks-log-").FullName, "gateway.log");
    private TestUpstream _upstream = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = await TestUpstream.StartAsync();
        var config = new GatewayConfig().Cluster("svc", _upstream.Url)
            .Set("Gateway:TrustedProxies:0", "127.0.0.1")
            .Set("Gateway:Caching:MaxBodySize", 65536)
            .LogToFile(_log);
        foreach (var (id, networks, cache) in new[]
        {
            ("open", Array.Empty<string>(), false),
            ("local", new[] { "127.0.0.0/8" }, false),
            ("carriers", new[] { "10.0.0.0/8", "203.0.113.7" }, false),
            ("office", new[] { "10.0.0.0/8" }, true),
        })
        {
            config.Route(id, $"/api/{id}/{{**rest}}", "svc", "GET").Set($"Gateway:Routes:{id}:Transform:PathRemovePrefix", "/api");
            for (var i = 0; i < networks.Length; i++)
            {
                config.Set($"Gateway:Routes:{id}:AllowedClientNetworks:{i}", networks[i]);
            }

            if (cache)
            {
                config.Set($"Gateway:Routes:{id}:Cache:Duration", "00:05:00");
            }
        }

        config.Route("partner", "/api/partner/{**rest}", "svc", "GET").Set("Gateway:Routes:partner:Transform:PathRemovePrefix", "/api")
            .Set("Gateway:Routes:partner:AllowedClientNetworks:0", "10.0.0.0/8")
            .Set("Gateway:Routes:partner:DeniedClientNetworks:0", "10.6.6.0/24");
        _gateway = await TestGateway.StartAsync(config);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
        Directory.Delete(Path.GetDirectoryName(_log)!, recursive: true);
    }

    private async Task<HttpResponseMessage> GetAsync(string path, string? forwardedFor = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (forwardedFor is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", forwardedFor);
        }

        return await _gateway.Client.SendAsync(request);
    }

    [Theory]
    [InlineData("/api/open/n1", null, HttpStatusCode.OK)]
    [InlineData("/api/local/n2", null, HttpStatusCode.OK)]
    [InlineData("/api/carriers/n3", null, HttpStatusCode.Forbidden)]
    [InlineData("/api/carriers/n4", "10.20.30.40", HttpStatusCode.OK)]
    [InlineData("/api/carriers/n5", "203.0.113.7", HttpStatusCode.OK)]
    [InlineData("/api/carriers/n6", "203.0.113.8", HttpStatusCode.Forbidden)]
    // Only the right-most hop the trusted proxy wrote counts: a client cannot add its own entry to the left.
    [InlineData("/api/carriers/n7", "10.0.0.1, 192.168.1.1", HttpStatusCode.Forbidden)]
    [InlineData("/api/carriers/n8", "::ffff:10.1.1.1", HttpStatusCode.OK)]
    [InlineData("/api/partner/n9", "10.1.1.1", HttpStatusCode.OK)]
    [InlineData("/api/partner/n10", "10.6.6.6", HttpStatusCode.Forbidden)]
    public async Task A_request_from_outside_the_routes_networks_is_refused_before_the_upstream(string path, string? forwardedFor, HttpStatusCode status)
    {
        using var response = await GetAsync(path, forwardedFor);

        response.StatusCode.Should().Be(status);
        _upstream.Count(path[4..]).Should().Be(status == HttpStatusCode.OK ? 1 : 0);
        if (status == HttpStatusCode.Forbidden)
        {
            (await ProblemAssertions.ShouldBeProblemAsync(response, 403)).GetProperty("detail").GetString().Should().Contain("network");
        }
    }

    [Fact]
    public async Task A_refusal_is_logged_with_the_route_and_the_client_it_refused()
    {
        using (var response = await GetAsync("/api/carriers/logged", "203.0.113.99"))
        {
            response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        }

        await Poll.UntilAsync(
            () => LogFile.Lines(_log).Any(line => line.Contains("Refused a request on route carriers from 203.0.113.99:", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(10), "the refusal to name the route and the forwarded client");
    }

    [Fact]
    public async Task A_cached_answer_does_not_reach_a_network_the_route_refuses()
    {
        using (var allowed = await GetAsync("/api/office/report", "10.1.1.1"))
        {
            allowed.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        using (var again = await GetAsync("/api/office/report", "10.1.1.2"))
        {
            again.Headers.GetValues("X-Cache").Should().Equal("HIT");
        }

        using var refused = await GetAsync("/api/office/report");
        await ProblemAssertions.ShouldBeProblemAsync(refused, 403);
    }

    [Fact]
    public async Task A_network_denied_everywhere_reaches_no_path()
    {
        await using var gateway = await TestGateway.StartAsync(new GatewayConfig().Cluster("svc", _upstream.Url)
            .Route("open", "/api/open/{**rest}", "svc", "GET").Set("Gateway:Routes:open:Transform:PathRemovePrefix", "/api")
            .Set("Gateway:TrustedProxies:0", "127.0.0.1")
            .Set("Gateway:DeniedClientNetworks:0", "203.0.113.0/24"));
        async Task<HttpStatusCode> StatusAsync(string path, string forwardedFor)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", forwardedFor);
            using var response = await gateway.Client.SendAsync(request);
            return response.StatusCode;
        }

        (await StatusAsync("/api/open/d1", "203.0.113.5")).Should().Be(HttpStatusCode.Forbidden);
        (await StatusAsync("/health/live", "203.0.113.5")).Should().Be(HttpStatusCode.Forbidden);
        (await StatusAsync("/nowhere", "203.0.113.5")).Should().Be(HttpStatusCode.Forbidden, "not even whether a path exists");
        (await StatusAsync("/api/open/d2", "198.51.100.5")).Should().Be(HttpStatusCode.OK);
        _upstream.Count("/open/d1").Should().Be(0);
    }

    [Theory]
    [InlineData("10.0.0.0/8", "10.255.0.1", true)]
    [InlineData("10.0.0.0/8", "11.0.0.1", false)]
    [InlineData("10.0.0.0/8", "::ffff:10.0.0.1", true)]
    [InlineData("2001:db8::/32", "2001:db8:1::1", true)]
    [InlineData("2001:db8::1", "2001:db8::2", false)]
    [InlineData("192.0.2.1", "192.0.2.1", true)]
    [InlineData("192.0.2.1", "::ffff:192.0.2.1", true)]
    public void A_network_entry_is_an_address_or_a_range(string entry, string client, bool allowed) =>
        ClientNetworkMetadata.Parse([entry]).Allows(IPAddress.Parse(client)).Should().Be(allowed);

    [Theory]
    [InlineData("10.0.0.0/33")]
    [InlineData("office")]
    public void A_bad_entry_is_named_by_its_key(string entry)
    {
        ConfigValidationTests.Errors(ConfigValidationTests.Valid().Set("Gateway:Routes:quotes:DeniedClientNetworks:0", entry))
            .Should().ContainSingle(e => e.StartsWith("Gateway:Routes:quotes:DeniedClientNetworks:0:", StringComparison.Ordinal));
        ConfigValidationTests.Errors(ConfigValidationTests.Valid().Set("Gateway:DeniedClientNetworks:0", entry))
            .Should().ContainSingle(e => e.StartsWith("Gateway:DeniedClientNetworks:0:", StringComparison.Ordinal));
        AllowedEntryIsNamed(entry);
    }

    private static void AllowedEntryIsNamed(string entry) =>
        ConfigValidationTests.Errors(ConfigValidationTests.Valid().Set("Gateway:Routes:quotes:AllowedClientNetworks:0", entry))
            .Should().ContainSingle(e => e.StartsWith("Gateway:Routes:quotes:AllowedClientNetworks:0:", StringComparison.Ordinal));
}
