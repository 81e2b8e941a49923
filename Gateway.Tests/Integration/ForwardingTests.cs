using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Integration;

/// <summary>Routing, error mapping, headers and correlation ids, over real loopback sockets.</summary>
public sealed class ForwardingTests(ForwardingFixture fixture) : IClassFixture<ForwardingFixture>
{
    private HttpClient Client => fixture.Gateway.Client;

    [Fact]
    public async Task Get_and_post_are_forwarded_with_the_prefix_stripped_and_the_query_intact()
    {
        var get = await Client.GetFromJsonAsync<JsonElement>("/api/v1/quotes/items/7?b=2&a=%20x");
        get.GetProperty("path").GetString().Should().Be("/quotes/items/7");
        get.GetProperty("query").GetString().Should().Be("?b=2&a=%20x");

        using var post = await Client.PostAsync("/api/v1/quotes/calculate", new StringContent("{\"a\":1}"));
        var body = await post.Content.ReadFromJsonAsync<JsonElement>();
        body.GetProperty("method").GetString().Should().Be("POST");
        body.GetProperty("bodyLength").GetInt64().Should().Be(7);
    }

    [Fact]
    public async Task A_method_the_route_does_not_allow_gets_405_problem_with_Allow()
    {
        using var response = await Client.DeleteAsync("/api/v1/quotes/x");
        response.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
        response.Content.Headers.Allow.Should().BeEquivalentTo("GET", "POST", "PUT");
        await ProblemAssertions.ShouldBeProblemAsync(response, 405);
    }

    [Fact]
    public async Task An_unknown_path_gets_404_problem_even_for_a_browser()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/nowhere");
        request.Headers.Accept.ParseAdd("text/html");
        using var response = await Client.SendAsync(request);
        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
        await ProblemAssertions.ShouldBeProblemAsync(response, 404);
    }

    [Fact]
    public async Task An_upstream_error_passes_through_as_the_upstream_wrote_it()
    {
        using var missing = await Client.GetAsync("/api/v1/quotes/missing");
        missing.StatusCode.Should().Be(HttpStatusCode.NotFound);
        missing.Content.Headers.ContentType.Should().BeNull();
        (await missing.Content.ReadAsByteArrayAsync()).Should().BeEmpty();

        using var broken = await Client.GetAsync("/api/v1/quotes/broken");
        broken.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        broken.Content.Headers.ContentType!.MediaType.Should().Be("text/plain");
        (await broken.Content.ReadAsStringAsync()).Should().Be("upstream's own words");
    }

    [Fact]
    public async Task An_unreachable_upstream_gets_502_problem()
    {
        using var response = await Client.GetAsync("/api/v1/dead/x");
        response.StatusCode.Should().Be(HttpStatusCode.BadGateway);
        await ProblemAssertions.ShouldBeProblemAsync(response, 502);
    }

    [Fact]
    public async Task An_upstream_slower_than_the_route_timeout_gets_504_problem_and_is_cancelled()
    {
        fixture.ResetSignals();
        using var response = await Client.GetAsync("/api/v1/timeout");
        response.StatusCode.Should().Be(HttpStatusCode.GatewayTimeout);
        await ProblemAssertions.ShouldBeProblemAsync(response, 504);
        await fixture.HangAborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task An_upstream_silent_mid_body_past_the_routes_idle_limit_breaks_the_clients_connection_and_is_cancelled()
    {
        fixture.ResetSignals();
        using var response = await Client.GetAsync("/api/v1/stall", HttpCompletionOption.ResponseHeadersRead);
        response.StatusCode.Should().Be(HttpStatusCode.OK, "the headers were already on their way");

        // Bounded here, so a gateway that waits for ever fails the test instead of hanging it.
        var reading = () => response.Content.ReadAsStringAsync().WaitAsync(TimeSpan.FromSeconds(10));
        (await reading.Should().ThrowAsync<Exception>()).Which.Should().Match<Exception>(e => e is HttpRequestException || e is IOException,
            "the only honest signal left is a broken connection");
        await fixture.StallAborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_body_over_the_route_limit_gets_413_and_never_reaches_the_upstream()
    {
        var before = fixture.Upstream.Count("/quotes/too-big");
        using var declared = await Client.PostAsync("/api/v1/small/too-big", new ByteArrayContent(new byte[5000]));
        declared.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        await ProblemAssertions.ShouldBeProblemAsync(declared, 413);
        fixture.Upstream.Count("/quotes/too-big").Should().Be(before);

        using var chunked = new HttpRequestMessage(HttpMethod.Post, "/api/v1/small/too-big-chunked") { Content = new StreamContent(new MemoryStream(new byte[5000])) };
        chunked.Headers.TransferEncodingChunked = true;
        using var chunkedResponse = await Client.SendAsync(chunked);
        chunkedResponse.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Headers_over_the_total_limit_get_431_as_a_problem_and_never_reach_the_upstream()
    {
        // The fixture's limit is 8192 bytes: one large header, then many small ones that only together exceed it.
        using var one = new HttpRequestMessage(HttpMethod.Get, "/api/v1/quotes/big-one");
        one.Headers.TryAddWithoutValidation("X-Big", new string('a', 10_000));
        using var oneResponse = await Client.SendAsync(one);
        var problem = await ProblemAssertions.ShouldBeProblemAsync(oneResponse, 431);
        problem.GetProperty("detail").GetString().Should().Contain("8192");

        using var many = new HttpRequestMessage(HttpMethod.Get, "/api/v1/quotes/big-many");
        for (var i = 0; i < 10; i++)
        {
            many.Headers.TryAddWithoutValidation($"X-Part-{i}", new string('b', 900));
        }

        using var manyResponse = await Client.SendAsync(many);
        await ProblemAssertions.ShouldBeProblemAsync(manyResponse, 431);

        // Far past it, Kestrel refuses before any middleware: still 431, without a body.
        using var huge = new HttpRequestMessage(HttpMethod.Get, "/api/v1/quotes/big-huge");
        huge.Headers.TryAddWithoutValidation("X-Big", new string('c', 40_000));
        using var hugeResponse = await Client.SendAsync(huge);
        hugeResponse.StatusCode.Should().Be(HttpStatusCode.RequestHeaderFieldsTooLarge);

        fixture.Upstream.Received.Should().NotContain(r => r.Path.StartsWith("/quotes/big-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_request_line_over_the_limit_gets_414_as_a_problem_and_never_reaches_the_upstream()
    {
        // The default limit, 8192 bytes, counted as HTTP/1.1 sends the line: "GET ", the target, " HTTP/1.1", CRLF.
        var longPath = "/api/v1/quotes/long-path-" + new string('a', 8_200);
        using var pathResponse = await Client.GetAsync(longPath);
        var problem = await ProblemAssertions.ShouldBeProblemAsync(pathResponse, 414);
        problem.GetProperty("detail").GetString().Should().Contain("request line").And.Contain("8192");

        // The query counts too, and so does its encoding: 2,800 characters that each take three bytes on the wire.
        using var queryResponse = await Client.GetAsync("/api/v1/quotes/long-query?q=" + Uri.EscapeDataString(new string('<', 2_800)));
        await ProblemAssertions.ShouldBeProblemAsync(queryResponse, 414);

        // Far past it, Kestrel refuses before any middleware: still 414, without a body.
        using var hugeResponse = await Client.GetAsync("/api/v1/quotes/long-huge-" + new string('c', 17_000));
        hugeResponse.StatusCode.Should().Be(HttpStatusCode.RequestUriTooLong);

        fixture.Upstream.Received.Should().NotContain(r => r.Path.StartsWith("/quotes/long-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_request_line_at_the_limit_passes_and_one_byte_more_does_not()
    {
        // 4 + 8,177 + 9 + 2 bytes: the limit exactly, counting the line's CR and LF.
        const string prefix = "/api/v1/quotes/at-the-line-limit/";
        using var at = await Client.GetAsync(prefix + new string('a', 8_177 - prefix.Length));
        at.StatusCode.Should().Be(HttpStatusCode.OK);

        using var over = await Client.GetAsync(prefix + new string('a', 8_178 - prefix.Length));
        await ProblemAssertions.ShouldBeProblemAsync(over, 414);
    }

    [Fact]
    public async Task More_header_fields_than_the_limit_get_431_as_a_problem_and_never_reach_the_upstream()
    {
        // The default limit, 100 fields, Kestrel's: Host and Connection (RawHttp's) and the X- fields, each value one.
        static string Head(string path, int extra) =>
            $"GET /api/v1/quotes/{path} HTTP/1.1\nHost: a\n" + string.Concat(Enumerable.Range(0, extra).Select(i => $"X-F: {i}\n"));
        (await RawHttp.SendAsync(fixture.Gateway.Port, Head("fields-at-limit", 98))).Status.Should().Be(200);

        var over = await RawHttp.SendAsync(fixture.Gateway.Port, Head("fields-over", 99));
        over.Status.Should().Be(431);
        over.Head.Should().Contain("application/problem+json");
        over.Body.Should().Contain("more header fields than the gateway's limit of 100").And.Contain("correlationId");

        // Far past it, Kestrel refuses before any middleware: still 431, without a body.
        var huge = await RawHttp.SendAsync(fixture.Gateway.Port, Head("fields-huge", 250));
        huge.Status.Should().Be(431);
        fixture.Upstream.Received.Should().NotContain(r => r.Path == "/quotes/fields-over" || r.Path == "/quotes/fields-huge");
        fixture.Upstream.Received.Single(r => r.Path == "/quotes/fields-at-limit").Headers["X-F"].Should().Contain("97");
    }

    [Fact]
    public async Task Headers_just_under_the_total_limit_pass()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/quotes/under-the-limit");
        request.Headers.TryAddWithoutValidation("X-Big", new string('a', 7_500));
        using var response = await Client.SendAsync(request);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        fixture.Upstream.Received.Single(r => r.Path == "/quotes/under-the-limit").Headers["X-Big"].Should().HaveLength(7_500);
    }

    [Fact]
    public async Task End_to_end_headers_pass_both_ways_and_hop_by_hop_ones_are_dropped()
    {
        var path = "/quotes/hop-" + Guid.NewGuid().ToString("N");
        var head = $"GET /api/v1{path} HTTP/1.1\nHost: client.example\nX-Custom: kept\nConnection: X-Secret, keep-alive\nX-Secret: 1\nKeep-Alive: timeout=5\nTE: trailers\nProxy-Connection: keep-alive\nX-User-Id: spoofed\nX-Auth-Role: admin\n";
        var raw = await RawHttp.SendAsync(fixture.Gateway.Port, head);
        raw.Status.Should().Be(200);
        var seen = fixture.Upstream.Received.Single(r => r.Path == path).Headers;
        seen.Should().ContainKey("X-Custom").WhoseValue.Should().Be("kept");
        seen.Keys.Should().NotContain(["X-Secret", "Keep-Alive", "TE", "Proxy-Connection", "X-User-Id", "X-Auth-Role"]);
        seen["Host"].Should().Be($"127.0.0.1:{fixture.Upstream.Port}");
        seen["X-Forwarded-For"].Should().Be("127.0.0.1");
        seen["X-Forwarded-Proto"].Should().Be("http");
        seen["X-Forwarded-Host"].Should().Be("client.example");
        seen.Should().ContainKey("X-Gateway-Version");

        using var response = await Client.GetAsync("/api/v1/quotes/headers-out");
        response.Headers.GetValues("X-Upstream-Custom").Should().Equal("yes");
        response.Headers.Contains("X-Hop").Should().BeFalse();
        response.Headers.Contains("Keep-Alive").Should().BeFalse();
    }

    [Fact]
    public async Task An_HTTP_1_0_request_without_a_host_is_forwarded_without_an_empty_forwarded_host()
    {
        var path = "/quotes/no-host-" + Guid.NewGuid().ToString("N");
        var raw = await RawHttp.SendAsync(fixture.Gateway.Port, $"GET /api/v1{path} HTTP/1.0\n");
        raw.Status.Should().Be(200);
        var seen = fixture.Upstream.Received.Single(r => r.Path == path).Headers;
        seen.Keys.Should().NotContain("X-Forwarded-Host", "the client named no host");
        seen["X-Forwarded-For"].Should().Be("127.0.0.1");
        seen["Host"].Should().Be($"127.0.0.1:{fixture.Upstream.Port}");
    }

    [Fact]
    public async Task A_non_ASCII_header_value_reaches_the_upstream_byte_for_byte_and_the_instance_stays_in_rotation()
    {
        // RawHttp writes each char as its byte: "\u00c3\u00a9" is "é" in UTF-8, as a client sends it. Three such
        // requests: before, each failed on send and counted against the instance (out of rotation after two).
        for (var i = 0; i < 3; i++)
        {
            var path = "/quotes/utf8-" + Guid.NewGuid().ToString("N");
            var raw = await RawHttp.SendAsync(fixture.Gateway.Port, $"GET /api/v1{path} HTTP/1.1\nHost: client.example\nX-Name: Jos\u00c3\u00a9\n");
            raw.Status.Should().Be(200);
            fixture.Upstream.Received.Single(r => r.Path == path).Headers["X-Name"].Should().Be("José");
        }

        using var next = await Client.GetAsync("/api/v1/quotes/after-utf8");
        next.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_body_under_a_transfer_coding_other_than_chunked_is_501_and_reaches_no_upstream()
    {
        var path = "/quotes/coded-" + Guid.NewGuid().ToString("N");
        var raw = await RawHttp.SendAsync(fixture.Gateway.Port,
            $"POST /api/v1{path} HTTP/1.1\nHost: client.example\nContent-Type: text/plain\nTransfer-Encoding: gzip, chunked\n", "2\r\nok\r\n0\r\n\r\n");
        raw.Status.Should().Be(501);
        raw.Head.Should().Contain("Content-Type: application/problem+json");
        fixture.Upstream.Count(path).Should().Be(0, "the upstream would have taken the coded bytes for the body");
    }

    [Fact]
    public async Task Host_is_the_clients_only_where_the_route_preserves_it()
    {
        var path = "/quotes/preserve-" + Guid.NewGuid().ToString("N");
        var raw = await RawHttp.SendAsync(fixture.Gateway.Port, $"GET /api/v1/preserve{path["/quotes".Length..]} HTTP/1.1\nHost: shop.example\n");
        raw.Status.Should().Be(200);
        fixture.Upstream.Received.Single(r => r.Path == path).Headers["Host"].Should().Be("shop.example");
    }

    [Fact]
    public async Task A_clients_forwarded_chain_is_replaced_unless_the_peer_is_a_trusted_proxy()
    {
        var path = "/quotes/xff-" + Guid.NewGuid().ToString("N");
        await RawHttp.SendAsync(fixture.Gateway.Port, $"GET /api/v1{path} HTTP/1.1\nHost: a\nX-Forwarded-For: 6.6.6.6\n");
        fixture.Upstream.Received.Single(r => r.Path == path).Headers["X-Forwarded-For"].Should().Be("127.0.0.1");

        await using var trusting = await TestGateway.StartAsync(GatewayConfig.Quotes(fixture.Upstream.Url).Set("Gateway:TrustedProxies:0", "127.0.0.1"));
        var trustedPath = "/quotes/xff-trusted-" + Guid.NewGuid().ToString("N");
        await RawHttp.SendAsync(trusting.Port, $"GET /api/v1{trustedPath} HTTP/1.1\nHost: a\nX-Forwarded-For: 203.0.113.9\nX-Forwarded-Proto: https\n");
        var seen = fixture.Upstream.Received.Single(r => r.Path == trustedPath).Headers;
        seen["X-Forwarded-For"].Should().Be("203.0.113.9, 127.0.0.1");
        seen["X-Forwarded-Proto"].Should().Be("https");
    }

    [Theory]
    [InlineData("X-Correlation-ID", "order-42.abc_DEF", true)]
    [InlineData("X-Request-ID", "req-7", true)]
    [InlineData("X-Correlation-ID", "has space", false)]
    [InlineData("X-Correlation-ID", null, false)]
    public async Task A_sane_correlation_id_is_kept_and_anything_else_replaced(string header, string? value, bool kept)
    {
        var path = "/quotes/corr-" + Guid.NewGuid().ToString("N");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1" + path);
        request.Headers.TryAddWithoutValidation(header, value ?? new string('x', 129));
        using var response = await Client.SendAsync(request);
        var returned = response.Headers.GetValues("X-Correlation-ID").Single();
        fixture.Upstream.Received.Single(r => r.Path == path).Headers["X-Correlation-ID"].Should().Be(returned);
        if (kept)
        {
            returned.Should().Be(value);
        }
        else
        {
            returned.Should().NotBe(value).And.MatchRegex("^[0-9a-f]{32}$");
        }

        response.Headers.Contains("X-Response-Time").Should().BeTrue();
    }

    [Fact]
    public async Task Errors_carry_the_callers_correlation_id_too()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/dead/x");
        request.Headers.Add("X-Correlation-ID", "trace-me-502");
        using var response = await Client.SendAsync(request);
        response.Headers.GetValues("X-Correlation-ID").Should().Equal("trace-me-502");
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("correlationId").GetString().Should().Be("trace-me-502");
    }
}

internal static class ProblemAssertions
{
    public static async Task<JsonElement> ShouldBeProblemAsync(HttpResponseMessage response, int status)
    {
        response.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
        response.Headers.TryGetValues("X-Content-Type-Options", out var sniffing).Should().BeTrue("a problem repeats the request's path");
        sniffing.Should().Equal("nosniff");
        var text = await response.Content.ReadAsStringAsync();
        text.Should().NotContain("   at ", "no stack trace may leak");
        var problem = JsonDocument.Parse(text).RootElement;
        problem.GetProperty("status").GetInt32().Should().Be(status);
        problem.GetProperty("title").GetString().Should().NotBeNullOrEmpty();
        problem.GetProperty("type").GetString().Should().Be($"https://httpwg.org/specs/rfc9110.html#status.{status}", "one link per status, whoever answers");
        problem.GetProperty("correlationId").GetString().Should().NotBeNullOrEmpty();
        problem.GetProperty("traceId").GetString().Should().NotBeNullOrEmpty();
        return problem;
    }
}
