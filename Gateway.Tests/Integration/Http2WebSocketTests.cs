using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using FluentAssertions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Gateway.Tests.Infrastructure;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// WebSockets over HTTP/2 (RFC 8441's extended CONNECT), which browsers use on a connection that is HTTP/2 already,
/// at either end of the gateway: a client on HTTP/2 to an HTTP/1.1 service, any client to a service the cluster
/// reaches over HTTP/2. The gateway's HTTP/2 port is cleartext (h2c), as an HTTP/2 client inside a cluster reaches it;
/// over TLS the same requests arrive by ALPN.
/// </summary>
public sealed class Http2WebSocketTests : IAsyncLifetime
{
    private readonly WebSocketEcho _echo = new();
    private readonly WebSocketEcho _echo2 = new();
    private TestUpstream _upstream = null!;
    private TestUpstream _upstream2 = null!;
    private CannedUpstream _canned = null!;
    private TestGateway _gateway = null!;
    private int _http2Port;
    private int _http11Port;

    public async Task InitializeAsync()
    {
        _upstream = await TestUpstream.StartAsync(_echo.Map);
        _upstream2 = await TestUpstream.StartAsync(_echo2.Map, http2Only: true);
        // A service that switches to websocket without having read the handshake: its accept answers no key.
        _canned = CannedUpstream.Start(new Dictionary<string, string>
        {
            ["/careless/h1"] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nX-Leak: yes\r\n\r\n",
        });
        _http2Port = Ports.Free();
        _http11Port = Ports.Free();
        _gateway = await TestGateway.StartAsync(WebSocketEcho.Routes(_upstream.Url)
            .Route("live2", "/api/v1/live2/{**rest}", "svc2", "GET").Set("Gateway:Routes:live2:Transform:PathPattern", "/live/{**rest}")
            .Set("Gateway:Routes:live2:WebSockets", true)
            .Route("careless", "/careless/{**rest}", "canned", "GET").Set("Gateway:Routes:careless:WebSockets", true)
            .Cluster("svc2", _upstream2.Url).Set("Gateway:Clusters:svc2:HttpVersion", "2")
            .Cluster("canned", _canned.Address)
            .Set("Kestrel:Endpoints:web:Url", $"http://127.0.0.1:{_http11Port}")
            .Set("Kestrel:Endpoints:h2:Url", $"http://127.0.0.1:{_http2Port}")
            .Set("Kestrel:Endpoints:h2:Protocols", "Http2"),
            // Kestrel's default (240 bytes/s after 5 s) with a shorter grace, so a quiet tunnel outlasts it quickly.
            builder => builder.WebHost.ConfigureKestrel(k => k.Limits.MinRequestBodyDataRate = new MinDataRate(240, TimeSpan.FromSeconds(1.5))));
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _canned.DisposeAsync();
        await _upstream2.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task A_client_on_http2_talks_to_an_http11_service_through_an_upgrade_the_gateway_makes()
    {
        using var socket = Http2Socket();
        socket.Options.AddSubProtocol("tracking.v1");
        socket.Options.SetRequestHeader("X-Correlation-ID", "h2-corr-1");
        await socket.ConnectAsync(Http2Uri("/api/v1/live/a1"), Invoker, CancellationToken.None);

        socket.HttpStatusCode.Should().Be(HttpStatusCode.OK, "an extended CONNECT is accepted with a 2xx, not a 101");
        socket.HttpResponseHeaders.Should().NotContainKey("Sec-WebSocket-Accept");
        socket.SubProtocol.Should().Be("tracking.v1");
        socket.HttpResponseHeaders!["X-Correlation-ID"].Should().Equal("h2-corr-1");
        var seen = JsonDocument.Parse(await WebSocketEcho.ReceiveTextAsync(socket)).RootElement;
        seen.GetProperty("path").GetString().Should().Be("/live/a1");
        seen.GetProperty("protocol").GetString().Should().Be("HTTP/1.1");
        seen.GetProperty("correlationId").GetString().Should().Be("h2-corr-1");
        var received = _upstream.Received.Single(r => r.Path == "/live/a1");
        received.Method.Should().Be("GET");
        Convert.FromBase64String(received.Headers["Sec-WebSocket-Key"]).Should().HaveCount(16, "RFC 6455 asks for a nonce of 16 random bytes");

        await WebSocketEcho.ExchangeAsync(socket);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        socket.CloseStatus.Should().Be(WebSocketCloseStatus.NormalClosure);
        (await _echo.EndedAsync("a1")).Should().Be("closed by client: done");
    }

    [Fact]
    public async Task A_client_on_http11_talks_to_a_service_the_cluster_reaches_over_http2()
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.AddSubProtocol("tracking.v1");
        // The client checks the Sec-WebSocket-Accept the gateway made for its key; a wrong one fails the connect.
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{_http11Port}/api/v1/live2/b1"), CancellationToken.None);

        socket.HttpStatusCode.Should().Be(HttpStatusCode.SwitchingProtocols);
        socket.SubProtocol.Should().Be("tracking.v1");
        var seen = JsonDocument.Parse(await WebSocketEcho.ReceiveTextAsync(socket)).RootElement;
        seen.GetProperty("path").GetString().Should().Be("/live/b1");
        seen.GetProperty("protocol").GetString().Should().Be("HTTP/2");
        var received = _upstream2.Received.Single(r => r.Path == "/live/b1");
        received.Method.Should().Be("CONNECT");
        received.Headers.Should().NotContainKey("Sec-WebSocket-Key", "an HTTP/2 handshake has no key");

        await WebSocketEcho.ExchangeAsync(socket);
        await WebSocketEcho.SendTextAsync(socket, "bye");
        var result = await socket.ReceiveAsync(new byte[64], CancellationToken.None);
        result.MessageType.Should().Be(WebSocketMessageType.Close);
        socket.CloseStatus.Should().Be(WebSocketCloseStatus.EndpointUnavailable);
        // The client's answer to the close crosses the gateway too, and ends the upstream's closing handshake.
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        (await _echo2.EndedAsync("b1")).Should().Be("closed by upstream");
    }

    [Fact]
    public async Task A_client_on_http2_talks_to_a_service_on_http2()
    {
        using var socket = Http2Socket();
        await socket.ConnectAsync(Http2Uri("/api/v1/live2/c1"), Invoker, CancellationToken.None);

        socket.HttpStatusCode.Should().Be(HttpStatusCode.OK);
        JsonDocument.Parse(await WebSocketEcho.ReceiveTextAsync(socket)).RootElement.GetProperty("protocol").GetString().Should().Be("HTTP/2");
        await WebSocketEcho.ExchangeAsync(socket);

        // The client vanishing ends the upstream's side.
        socket.Abort();
        (await _echo2.EndedAsync("c1")).Should().StartWith("failed");
    }

    [Fact]
    public async Task An_http2_handshake_on_a_route_without_websockets_is_refused_before_the_upstream()
    {
        using var response = await Invoker.SendAsync(ExtendedConnect("/api/v1/plain/d1"), CancellationToken.None);

        await ProblemAssertions.ShouldBeProblemAsync(response, 405);
        _upstream.Count("/live/d1").Should().Be(0, "a CONNECT sent up as a plain GET would take an upstream's 200 for an open tunnel");
    }

    [Fact]
    public async Task An_unauthenticated_http2_handshake_is_refused_before_the_upstream()
    {
        using var response = await Invoker.SendAsync(ExtendedConnect("/api/v1/secure/e1"), CancellationToken.None);

        await ProblemAssertions.ShouldBeProblemAsync(response, 401);
        _upstream.Count("/live/e1").Should().Be(0);
    }

    [Fact]
    public async Task An_http2_handshake_from_an_origin_the_cors_policy_refuses_gets_403()
    {
        using var request = ExtendedConnect("/api/v1/browser/f1");
        request.Headers.TryAddWithoutValidation("Origin", "https://evil.example");
        using var refused = await Invoker.SendAsync(request, CancellationToken.None);
        await ProblemAssertions.ShouldBeProblemAsync(refused, 403);
        _upstream.Count("/live/f1").Should().Be(0);

        using var socket = Http2Socket();
        socket.Options.SetRequestHeader("Origin", WebSocketEcho.AllowedOrigin);
        await socket.ConnectAsync(Http2Uri("/api/v1/browser/f2"), Invoker, CancellationToken.None);
        socket.State.Should().Be(WebSocketState.Open);
    }

    [Fact]
    public async Task An_unreachable_upstream_answers_an_http2_handshake_502_as_a_problem()
    {
        using var response = await Invoker.SendAsync(ExtendedConnect("/api/v1/down/g1"), CancellationToken.None);
        await ProblemAssertions.ShouldBeProblemAsync(response, 502);
    }

    [Fact]
    public async Task A_quiet_http2_tunnel_outlasts_kestrels_minimum_upload_rate()
    {
        using var socket = Http2Socket();
        await socket.ConnectAsync(Http2Uri("/api/v1/live/h1"), Invoker, CancellationToken.None);
        await WebSocketEcho.ReceiveTextAsync(socket);

        // The quiet client under test: past the 1.5 s grace and a few of Kestrel's once-a-second rate checks, which
        // would reset the client's whole connection if the tunnel were read as an upload.
        await Task.Delay(TimeSpan.FromSeconds(3));
        await WebSocketEcho.SendTextAsync(socket, "still there?");
        (await WebSocketEcho.ReceiveTextAsync(socket)).Should().Be("still there?");
    }

    [Fact]
    public async Task An_http2_tunnel_is_counted_under_connect_but_kept_out_of_the_latency_histogram()
    {
        using (var socket = Http2Socket())
        {
            await socket.ConnectAsync(Http2Uri("/api/v1/live/i1"), Invoker, CancellationToken.None);
            await WebSocketEcho.ReceiveTextAsync(socket);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }

        // Its status is a 200, which every ordinary request has too: only the tunnel itself keeps it out.
        const string Counted = """(?m)^gateway_requests_total\{[^}]*method="CONNECT"[^}]*route="live"[^}]*status_code="200"[^}]*\} [1-9]""";
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_http11Port}") };
        var metrics = string.Empty;
        await Poll.UntilAsync(async () => System.Text.RegularExpressions.Regex.IsMatch(metrics = await client.GetStringAsync("/metrics"), Counted),
            TimeSpan.FromSeconds(20), "the tunnel counted");
        metrics.Should().NotMatchRegex("""(?m)^gateway_request_duration_seconds_count\{[^}]*method="CONNECT"[^}]*\}""");
    }

    [Fact]
    public async Task An_http11_service_whose_accept_answers_no_key_gets_an_http2_client_502_without_any_of_it()
    {
        using var response = await Invoker.SendAsync(ExtendedConnect("/careless/h1"), CancellationToken.None);

        await ProblemAssertions.ShouldBeProblemAsync(response, 502);
        response.Headers.Contains("X-Leak").Should().BeFalse();
    }

    [Fact]
    public async Task An_http11_handshake_with_a_malformed_key_is_refused_before_a_service_on_http2()
    {
        // The gateway answers the key itself when the service is on HTTP/2: it makes no accept for a key that is not one.
        using var request = WebSocketEcho.Handshake("/api/v1/live2/j1");
        request.RequestUri = new Uri($"http://127.0.0.1:{_http11Port}/api/v1/live2/j1");
        request.Headers.Remove("Sec-WebSocket-Key");
        request.Headers.TryAddWithoutValidation("Sec-WebSocket-Key", "not-a-nonce");
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        using var response = await client.SendAsync(request);

        await ProblemAssertions.ShouldBeProblemAsync(response, 400);
        _upstream2.Count("/live/j1").Should().Be(0);
    }

    [Fact]
    public async Task A_connect_for_another_protocol_is_refused_on_a_websocket_route()
    {
        using var request = ExtendedConnect("/api/v1/live/k1");
        request.Headers.Protocol = "connect-udp";
        using var response = await Invoker.SendAsync(request, CancellationToken.None);

        await ProblemAssertions.ShouldBeProblemAsync(response, 405);
        response.Content.Headers.Allow.Should().Equal("GET");
        _upstream.Count("/live/k1").Should().Be(0);
    }

    private static HttpMessageInvoker Invoker { get; } = new(new SocketsHttpHandler { UseCookies = false });

    private Uri Http2Uri(string path) => new($"ws://127.0.0.1:{_http2Port}{path}");

    private static ClientWebSocket Http2Socket()
    {
        var socket = new ClientWebSocket();
        socket.Options.HttpVersion = HttpVersion.Version20;
        socket.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        socket.Options.CollectHttpResponseDetails = true;
        return socket;
    }

    /// <summary>A WebSocket handshake over HTTP/2 as a client sends it, to read a refusal's status and body.</summary>
    private HttpRequestMessage ExtendedConnect(string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Connect, $"http://127.0.0.1:{_http2Port}{path}")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.Protocol = "websocket";
        request.Headers.TryAddWithoutValidation("Sec-WebSocket-Version", "13");
        return request;
    }
}
