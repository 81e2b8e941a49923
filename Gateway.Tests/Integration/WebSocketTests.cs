using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// WebSockets through the gateway, against an in-process Kestrel upstream running ASP.NET Core's own WebSocket
/// stack: the handshake is a request like any other (route, auth, CORS origin, path transform, errors as
/// problems), and after the 101 the two ends talk to each other until one closes or the pair goes quiet.
/// </summary>
public sealed class WebSocketTests : IAsyncLifetime
{
    private readonly WebSocketEcho _echo = new();
    private TestUpstream _upstream = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = await TestUpstream.StartAsync(_echo.Map);
        _gateway = await TestGateway.StartAsync(WebSocketEcho.Routes(_upstream.Url)
            .Route("quiet", "/api/v1/quiet/{**rest}", "svc", "GET").Set("Gateway:Routes:quiet:Transform:PathPattern", "/live/{**rest}")
            .Set("Gateway:Routes:quiet:WebSockets", true).Set("Gateway:Routes:quiet:ResponseIdleTimeout", "00:00:00.5"));
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task Messages_cross_both_ways_and_the_upstream_sees_the_routes_path_and_the_gateways_headers()
    {
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("tracking.v1");
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("X-Correlation-ID", "ws-corr-1");
        await socket.ConnectAsync(WebSocketUri("/api/v1/live/a1"), CancellationToken.None);

        socket.HttpStatusCode.Should().Be(HttpStatusCode.SwitchingProtocols);
        socket.SubProtocol.Should().Be("tracking.v1", "the upstream's choice of subprotocol reaches the client");
        socket.HttpResponseHeaders!["X-Correlation-ID"].Should().Equal("ws-corr-1");
        var seen = JsonDocument.Parse(await WebSocketEcho.ReceiveTextAsync(socket)).RootElement;
        seen.GetProperty("path").GetString().Should().Be("/live/a1");
        seen.GetProperty("correlationId").GetString().Should().Be("ws-corr-1");
        seen.GetProperty("forwardedFor").GetString().Should().Be("127.0.0.1");

        await WebSocketEcho.ExchangeAsync(socket);

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        socket.State.Should().Be(WebSocketState.Closed);
        socket.CloseStatus.Should().Be(WebSocketCloseStatus.NormalClosure);
        (await _echo.EndedAsync("a1")).Should().Be("closed by client: done");
    }

    [Fact]
    public async Task A_finished_websocket_is_counted_but_kept_out_of_the_latency_histogram()
    {
        using (var socket = await ConnectAsync("/api/v1/live/m1"))
        {
            await WebSocketEcho.ReceiveTextAsync(socket);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }

        // An ordinary request on the same route, which the histogram does take.
        using (var plain = await _gateway.Client.GetAsync("/api/v1/live/m2"))
        {
            plain.StatusCode.Should().Be(HttpStatusCode.UpgradeRequired);
        }

        const string Counted = """(?m)^gateway_requests_total\{[^}]*route="live"[^}]*status_code="101"[^}]*\} [1-9]""";
        const string Timed = """(?m)^gateway_request_duration_seconds_count\{[^}]*route="live"[^}]*status_code="426"[^}]*\} [1-9]""";
        var metrics = string.Empty;
        await Poll.UntilAsync(async () => System.Text.RegularExpressions.Regex.IsMatch(metrics = await _gateway.Client.GetStringAsync("/metrics"), Counted)
            && System.Text.RegularExpressions.Regex.IsMatch(metrics, Timed), TimeSpan.FromSeconds(20), "the 101 counted and the 426 timed");
        metrics.Should().NotMatchRegex("""(?m)^gateway_request_duration_seconds_count\{[^}]*status_code="101"[^}]*\}""");
    }

    [Fact]
    public async Task The_upstream_closing_reaches_the_client_with_its_status()
    {
        using var socket = await ConnectAsync("/api/v1/live/b1");
        await WebSocketEcho.ReceiveTextAsync(socket);
        await WebSocketEcho.SendTextAsync(socket, "bye");

        var result = await socket.ReceiveAsync(new byte[64], CancellationToken.None);
        result.MessageType.Should().Be(WebSocketMessageType.Close);
        socket.CloseStatus.Should().Be(WebSocketCloseStatus.EndpointUnavailable);
        socket.CloseStatusDescription.Should().Be("going away");
    }

    [Fact]
    public async Task A_client_that_vanishes_ends_the_upstreams_side()
    {
        var socket = await ConnectAsync("/api/v1/live/c1");
        await WebSocketEcho.ReceiveTextAsync(socket);
        socket.Abort();
        socket.Dispose();

        (await _echo.EndedAsync("c1")).Should().StartWith("failed", "the upstream's read ends once the gateway closes its connection");
    }

    [Fact]
    public async Task A_quiet_pair_is_closed_after_the_routes_idle_limit()
    {
        using var socket = await ConnectAsync("/api/v1/quiet/d1");
        await WebSocketEcho.ReceiveTextAsync(socket);

        // Neither side says anything: the gateway ends both connections after 0.5 s.
        var receive = async () => await socket.ReceiveAsync(new byte[64], new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token);
        await receive.Should().ThrowAsync<WebSocketException>();
        (await _echo.EndedAsync("d1")).Should().StartWith("failed");
    }

    /// <summary>A gateway of its own with the live route, whose stop would wait ten minutes for open tunnels.</summary>
    private GatewayConfig StoppableLiveRoute() => new GatewayConfig()
        .Route("live", "/api/v1/live/{**rest}", "svc", "GET").Set("Gateway:Routes:live:Transform:PathRemovePrefix", "/api/v1")
        .Set("Gateway:Routes:live:WebSockets", true)
        .Cluster("svc", _upstream.Url)
        .Set("Gateway:Shutdown:Timeout", TimeSpan.FromMinutes(10));

    [Fact]
    public async Task A_stopping_gateway_ends_its_tunnels_instead_of_waiting_out_its_shutdown_timeout()
    {
        var gateway = await TestGateway.StartAsync(StoppableLiveRoute());
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{gateway.Port}/api/v1/live/s1"), CancellationToken.None);
        await WebSocketEcho.ReceiveTextAsync(socket);

        // Waiting for the open tunnel, the stop would take the whole ten minutes.
        await gateway.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        (await _echo.EndedAsync("s1")).Should().StartWith("failed");
        var receive = async () => await socket.ReceiveAsync(new byte[64], CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));
        await receive.Should().ThrowAsync<WebSocketException>();
    }

    [Fact]
    public async Task Tunnels_live_through_the_drain_delay_and_end_when_the_gateway_stops_listening()
    {
        var gateway = await TestGateway.StartAsync(StoppableLiveRoute()
            // Long enough that the checks below run inside it on a loaded machine.
            .Set("Gateway:Shutdown:DrainDelay", "00:00:05"));
        using var before = new ClientWebSocket();
        await before.ConnectAsync(new Uri($"ws://127.0.0.1:{gateway.Port}/api/v1/live/k1"), CancellationToken.None);
        await WebSocketEcho.ReceiveTextAsync(before);

        // As SIGTERM does (ConsoleLifetime): the application's stopping token fires, then the host stops.
        gateway.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        var stop = gateway.DisposeAsync().AsTask();
        using var probe = new HttpClient { BaseAddress = gateway.Address };
        await Poll.UntilAsync(async () => (await probe.GetAsync("/health/ready")).StatusCode == HttpStatusCode.ServiceUnavailable,
            TimeSpan.FromSeconds(20), "the drain to begin");

        await WebSocketEcho.SendTextAsync(before, "still there?");
        (await WebSocketEcho.ReceiveTextAsync(before)).Should().Be("still there?", "a tunnel lives through the drain delay");
        using var during = new ClientWebSocket();
        await during.ConnectAsync(new Uri($"ws://127.0.0.1:{gateway.Port}/api/v1/live/k2"), CancellationToken.None);
        await WebSocketEcho.ReceiveTextAsync(during);
        await WebSocketEcho.SendTextAsync(during, "and you?");
        (await WebSocketEcho.ReceiveTextAsync(during)).Should().Be("and you?", "a handshake during the drain is served like any request");
        stop.IsCompleted.Should().BeFalse("the drain delay is not over");

        // The open tunnels do not hold the stop for its ten-minute timeout.
        await stop.WaitAsync(TimeSpan.FromSeconds(30));
        (await _echo.EndedAsync("k1")).Should().StartWith("failed");
        (await _echo.EndedAsync("k2")).Should().StartWith("failed");
    }

    [Fact]
    public async Task A_route_without_websockets_sends_the_handshake_up_as_a_plain_get()
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        var connect = () => socket.ConnectAsync(WebSocketUri("/api/v1/plain/e1"), CancellationToken.None);
        await connect.Should().ThrowAsync<WebSocketException>();

        socket.HttpStatusCode.Should().Be(HttpStatusCode.UpgradeRequired, "the upstream saw no Upgrade and said so");
        var received = _upstream.Received.Single(r => r.Path == "/live/e1");
        received.Headers.Should().NotContainKey("Upgrade");
        received.Headers.Should().NotContainKey("Connection");
    }

    [Fact]
    public async Task An_upgrade_to_another_protocol_goes_up_as_a_plain_get_even_on_a_websocket_route()
    {
        using var request = WebSocketEcho.Handshake("/api/v1/live/f1");
        request.Headers.Upgrade.Clear();
        request.Headers.TryAddWithoutValidation("Upgrade", "h2c");
        using var response = await _gateway.Client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.UpgradeRequired);
        _upstream.Received.Single(r => r.Path == "/live/f1").Headers.Should().NotContainKey("Upgrade");
    }

    [Fact]
    public async Task An_unauthenticated_handshake_is_refused_before_the_upstream()
    {
        using var response = await _gateway.Client.SendAsync(WebSocketEcho.Handshake("/api/v1/secure/g1"));
        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        _upstream.Count("/live/g1").Should().Be(0);

        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + Tokens.Hs256());
        await socket.ConnectAsync(WebSocketUri("/api/v1/secure/g2"), CancellationToken.None);
        JsonDocument.Parse(await WebSocketEcho.ReceiveTextAsync(socket)).RootElement.GetProperty("authorization").GetBoolean()
            .Should().BeFalse("the gateway keeps the client's token unless the route forwards it");
    }

    [Fact]
    public async Task A_browser_origin_the_routes_cors_policy_does_not_allow_is_refused_with_a_problem()
    {
        using var request = WebSocketEcho.Handshake("/api/v1/browser/h1");
        request.Headers.TryAddWithoutValidation("Origin", "https://evil.example");
        using var refused = await _gateway.Client.SendAsync(request);
        await ProblemAssertions.ShouldBeProblemAsync(refused, 403);
        _upstream.Count("/live/h1").Should().Be(0);

        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Origin", WebSocketEcho.AllowedOrigin);
        await socket.ConnectAsync(WebSocketUri("/api/v1/browser/h2"), CancellationToken.None);
        socket.State.Should().Be(WebSocketState.Open);
    }

    [Fact]
    public async Task An_unreachable_upstream_answers_the_handshake_502_as_a_problem()
    {
        using var response = await _gateway.Client.SendAsync(WebSocketEcho.Handshake("/api/v1/down/i1"));
        await ProblemAssertions.ShouldBeProblemAsync(response, 502);
    }

    private Uri WebSocketUri(string path) => new($"ws://127.0.0.1:{_gateway.Port}{path}");

    private async Task<ClientWebSocket> ConnectAsync(string path)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(WebSocketUri(path), CancellationToken.None);
        return socket;
    }
}
