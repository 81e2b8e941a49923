using System.Net;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>The stop signal of a container runtime (SIGTERM) to a real gateway process.</summary>
public sealed class ShutdownTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_stopping_gateway_turns_unready_serves_through_its_drain_delay_closing_connections_and_finishes_requests_in_flight()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        await using var gateway = await GatewayProcess.StartAsync(GatewayConfig.Quotes(a.Url)
            .Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false)
            // Long enough that the checks below run inside it on a loaded machine.
            .Set("Gateway:Shutdown:DrainDelay", "00:00:05"));
        (await gateway.StatusAsync("/health/ready")).Should().Be(HttpStatusCode.OK);

        var inFlight = gateway.Client.GetAsync("/api/v1/quotes/hold");
        await a.Holding.Task.WaitAsync(Deadline);
        gateway.Terminate();

        await Poll.UntilAsync(async () => await gateway.StatusAsync("/health/ready") == HttpStatusCode.ServiceUnavailable,
            Deadline, "readiness to report the stop, for the balancers");
        using (var during = await gateway.Client.GetAsync("/api/v1/quotes/who"))
        {
            during.StatusCode.Should().Be(HttpStatusCode.OK, "the gateway still serves during its drain delay");
            (await during.Content.ReadAsStringAsync()).Should().Be("a");
            during.Headers.ConnectionClose.Should().BeTrue("a keep-alive client is sent to another replica for its next request");
        }

        gateway.HasExited.Should().BeFalse("a request is in flight");
        a.Release.TrySetResult();
        using (var held = await inFlight.WaitAsync(Deadline))
        {
            held.StatusCode.Should().Be(HttpStatusCode.OK, "a request in flight finishes");
            (await held.Content.ReadAsStringAsync()).Should().Be("a");
        }

        await gateway.WaitForExitAsync(Deadline);
        gateway.ExitCode.Should().Be(0);
        gateway.Output.Should().Contain(line => line.Contains("still serving for {DrainSeconds} s", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_http2_client_of_a_stopping_gateway_is_sent_a_goaway_and_opens_its_next_connection_elsewhere()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        var h2 = Ports.Free();
        await using var gateway = await GatewayProcess.StartAsync(
            GatewayConfig.Quotes(a.Url).Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false).Set("Gateway:Shutdown:DrainDelay", "00:00:05"),
            new Dictionary<string, string> { ["Kestrel__Endpoints__h2__Url"] = $"http://127.0.0.1:{h2}", ["Kestrel__Endpoints__h2__Protocols"] = "Http2" });
        var connections = 0;
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellation) =>
            {
                Interlocked.Increment(ref connections);
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(context.DnsEndPoint, cancellation);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        };
        using var client = new HttpClient(handler)
        {
            BaseAddress = new Uri($"http://127.0.0.1:{h2}"),
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        (await client.GetStringAsync("/api/v1/quotes/who")).Should().Be("a");
        (await client.GetStringAsync("/api/v1/quotes/who")).Should().Be("a");
        Volatile.Read(ref connections).Should().Be(1, "HTTP/2 multiplexes requests on one connection");

        gateway.Terminate();
        await Poll.UntilAsync(async () => await gateway.StatusAsync("/health/ready") == HttpStatusCode.ServiceUnavailable, Deadline, "the stop to begin");
        await Poll.UntilAsync(async () =>
        {
            (await client.GetStringAsync("/api/v1/quotes/who")).Should().Be("a", "the gateway still serves during its drain delay");
            return Volatile.Read(ref connections) > 1;
        }, Deadline, "the client to open a new connection after the gateway's GOAWAY");
    }

    [Fact]
    public async Task Without_a_drain_delay_the_gateway_stops_listening_at_once_and_still_finishes_requests_in_flight()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        await using var gateway = await GatewayProcess.StartAsync(GatewayConfig.Quotes(a.Url).Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false));
        var inFlight = gateway.Client.GetAsync("/api/v1/quotes/hold");
        await a.Holding.Task.WaitAsync(Deadline);
        gateway.Terminate();

        using var fresh = new HttpClient { BaseAddress = gateway.Address };
        await Poll.UntilAsync(async () =>
        {
            try
            {
                using var response = await fresh.GetAsync("/health/live");
                return false;
            }
            catch (HttpRequestException)
            {
                return true;
            }
        }, Deadline, "the gateway to stop taking connections");

        a.Release.TrySetResult();
        using var held = await inFlight.WaitAsync(Deadline);
        held.StatusCode.Should().Be(HttpStatusCode.OK, "a request in flight finishes");
        await gateway.WaitForExitAsync(Deadline);
        gateway.ExitCode.Should().Be(0);
    }
}
