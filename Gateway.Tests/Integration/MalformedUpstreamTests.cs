using System.Net;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Integration;

/// <summary>
/// An upstream whose answer HTTP does not allow a proxy to pass on gets the client a 502 problem, never a 500 and
/// never the upstream's bytes; one whose framing contradicts itself is relayed by HTTP's rules; and the same
/// instance's next good answer goes through as before.
/// </summary>
public sealed class MalformedUpstreamTests(MalformedUpstreamTests.Fixture fixture) : IClassFixture<MalformedUpstreamTests.Fixture>
{
    private const string Good = "HTTP/1.1 200 OK\r\nX-Upstream: yes\r\nContent-Length: 2\r\n\r\nok";
    private const string FlowBody = """{"zip_code_start":"01310-100","zip_code_end":"20040-002","volumes":[{"quantity":1,"weight":2.5,"height":10,"width":20,"length":30}],"amount":150,"customer_id":"c-1","selection":"cheapest"}""";

    /// <summary>A valid quote answer with no service, padded past the gateway's limit for answers read whole.</summary>
    private static string OversizedQuoteAnswer()
    {
        var json = """{"success":true,"data":{"services":[]},"padding":"PAD"}""".Replace("PAD", new string('x', 2 * 1024 * 1024), StringComparison.Ordinal);
        return $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {json.Length}\r\n\r\n{json}";
    }

    [Fact]
    public async Task A_well_formed_answer_of_the_same_upstream_goes_through()
    {
        using var response = await fixture.Gateway.Client.GetAsync("/canned/good");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.GetValues("X-Upstream").Should().Equal("yes");
        (await response.Content.ReadAsStringAsync()).Should().Be("ok");
    }

    [Theory]
    [InlineData("/length-not-a-number")]
    [InlineData("/two-lengths")]
    [InlineData("/negative-length")]
    [InlineData("/control-character")]
    [InlineData("/non-ascii")]
    [InlineData("/status-999")]
    [InlineData("/switching-protocols")]
    [InlineData("/gzip-transfer-coding")]
    public async Task An_answer_that_cannot_be_relayed_gets_502_problem_without_any_of_it(string path)
    {
        using var response = await fixture.Gateway.Client.GetAsync("/canned" + path);

        response.StatusCode.Should().Be(HttpStatusCode.BadGateway);
        await ProblemAssertions.ShouldBeProblemAsync(response, 502);
        response.Headers.Contains("X-Leak").Should().BeFalse("nothing of the refused answer may reach the client");
        response.Headers.GetValues("X-Correlation-ID").Should().ContainSingle();

        using var next = await fixture.Gateway.Client.GetAsync("/canned/good");
        next.StatusCode.Should().Be(HttpStatusCode.OK, "one malformed answer must not break the next call to the instance");
    }

    [Theory]
    [InlineData("/switching-to-h2c")]
    [InlineData("/switching-with-control-character")]
    public async Task A_websocket_handshake_answered_by_a_switch_that_cannot_be_relayed_gets_502_problem(string path)
    {
        using var request = WebSocketEcho.Handshake("/canned-ws" + path);
        using var response = await fixture.Gateway.Client.SendAsync(request);

        await ProblemAssertions.ShouldBeProblemAsync(response, 502);
        response.Headers.Contains("X-Leak").Should().BeFalse();
    }

    [Fact]
    public async Task A_length_next_to_chunked_encoding_is_dropped_and_the_chunked_body_relayed()
    {
        using var response = await fixture.Gateway.Client.GetAsync("/canned/chunked-with-length");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentLength.Should().NotBe(5, "RFC 9112 §6.3: the chunked body overrides the length");
        (await response.Content.ReadAsStringAsync()).Should().Be("ok");
    }

    [Theory]
    [InlineData("/no-content-with-length", HttpStatusCode.NoContent)]
    [InlineData("/reset-content-with-body", HttpStatusCode.ResetContent)]
    [InlineData("/not-modified-with-length", HttpStatusCode.NotModified)]
    public async Task A_status_without_content_is_relayed_without_any(string path, HttpStatusCode status)
    {
        using var response = await fixture.Gateway.Client.GetAsync("/canned" + path);
        response.StatusCode.Should().Be(status);
        (await response.Content.ReadAsByteArrayAsync()).Should().BeEmpty();

        using var next = await fixture.Gateway.Client.GetAsync("/canned/good");
        next.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_flow_step_answered_with_more_than_the_whole_answer_limit_is_a_502_naming_the_step()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/flows/freight")
        {
            Content = new StringContent(FlowBody, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Tokens.Hs256(new { sub = "c-1" }));
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
        using var response = await fixture.Gateway.Client.SendAsync(request);

        // Read whole, the padded answer would have parsed, offered no service, and been a 422.
        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, 502);
        problem.GetProperty("step").GetString().Should().Be("quote");
    }

    public sealed class Fixture : IAsyncLifetime
    {
        public CannedUpstream Upstream { get; private set; } = null!;

        public TestGateway Gateway { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Upstream = CannedUpstream.Start(new Dictionary<string, string>
            {
                ["/good"] = Good,
                ["/quotes/calculate"] = OversizedQuoteAnswer(),
                ["/length-not-a-number"] = "HTTP/1.1 200 OK\r\nX-Leak: yes\r\nContent-Length: abc\r\n\r\nok",
                ["/two-lengths"] = "HTTP/1.1 200 OK\r\nX-Leak: yes\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
                ["/negative-length"] = "HTTP/1.1 200 OK\r\nX-Leak: yes\r\nContent-Length: -1\r\n\r\nok",
                ["/control-character"] = "HTTP/1.1 200 OK\r\nX-Leak: a\u0001b\r\nContent-Length: 2\r\n\r\nok",
                ["/non-ascii"] = "HTTP/1.1 200 OK\r\nX-Leak: caf\u00c3\u00a9\r\nContent-Length: 2\r\n\r\nok",
                ["/status-999"] = "HTTP/1.1 999 Odd\r\nX-Leak: yes\r\nContent-Length: 2\r\n\r\nok",
                ["/chunked-with-length"] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n2\r\nok\r\n0\r\n\r\n",
                ["/no-content-with-length"] = "HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\nok",
                ["/reset-content-with-body"] = "HTTP/1.1 205 Reset Content\r\nContent-Length: 2\r\n\r\nok",
                // A 304's length is the one the content would have: it is relayed, and there is still no content.
                ["/not-modified-with-length"] = "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\nETag: \"v1\"\r\n\r\n",
                // HttpClient undoes chunked only: the client would get the gzip bytes as the body.
                ["/gzip-transfer-coding"] = "HTTP/1.1 200 OK\r\nX-Leak: yes\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
                // The canned route tunnels no WebSockets, so a 101 is an answer to a question it did not ask.
                ["/switching-protocols"] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Leak: yes\r\n\r\n",
                // Asked for a WebSocket, it switches to something else.
                ["/switching-to-h2c"] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nX-Leak: yes\r\n\r\n",
                ["/switching-with-control-character"] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Leak: a\u0001b\r\n\r\n",
            });
            Gateway = await TestGateway.StartAsync(new GatewayConfig()
                .Route("canned", "/canned/{**rest}", "canned", "GET")
                .Set("Gateway:Routes:canned:Transform:PathRemovePrefix", "/canned")
                .Route("canned-ws", "/canned-ws/{**rest}", "canned", "GET")
                .Set("Gateway:Routes:canned-ws:Transform:PathRemovePrefix", "/canned-ws")
                .Set("Gateway:Routes:canned-ws:WebSockets", true)
                .Cluster("canned", Upstream.Address)
                .WithSharedSecret()
                .Set("Gateway:Flows:Freight:QuoteCluster", "canned")
                .Set("Gateway:Flows:Freight:ContractCluster", "canned")
                .Set("Gateway:Flows:Freight:TrackingCluster", "canned"));
        }

        public async Task DisposeAsync()
        {
            await Gateway.DisposeAsync();
            await Upstream.DisposeAsync();
        }
    }
}
