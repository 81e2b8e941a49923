using System.Text.Json;
using Gateway.Core.Discovery;
using Gateway.Tests.Infrastructure;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Methods = Gateway.Tests.Infrastructure.GrpcUpstream.Methods;

namespace Gateway.Tests.Integration;

/// <summary>
/// gRPC through the gateway: a real gRPC client over HTTP/2 to the gateway, and a cluster with <c>HttpVersion: 2</c>
/// in front of a real gRPC service listening on HTTP/2 only (h2c). gRPC needs both bodies to stream at once, the
/// call's status to come back in trailers, and <c>TE: trailers</c> on the way up.
/// </summary>
public sealed class GrpcTests : IAsyncLifetime
{
    private GrpcUpstream _upstream = null!;
    private TestGateway _gateway = null!;
    private GrpcChannel _channel = null!;

    public async Task InitializeAsync()
    {
        _upstream = await GrpcUpstream.StartAsync();
        // Kestrel speaks cleartext HTTP/2 (prior knowledge, as gRPC clients do over http://) only on an endpoint
        // that speaks nothing else, so gRPC gets one of its own beside the HTTP/1.1 one, by Kestrel's own settings.
        var grpcPort = Ports.Free();
        _gateway = await TestGateway.StartAsync(Config()
            .Set("Kestrel:Endpoints:web:Url", "http://127.0.0.1:0")
            .Set("Kestrel:Endpoints:grpc:Url", $"http://127.0.0.1:{grpcPort}")
            .Set("Kestrel:Endpoints:grpc:Protocols", "Http2"),
            // Kestrel's default (240 bytes/s after 5 s) with a shorter grace, so a quiet stream outlasts it quickly.
            builder => builder.WebHost.ConfigureKestrel(k => k.Limits.MinRequestBodyDataRate = new MinDataRate(240, TimeSpan.FromSeconds(1.5))));
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task A_unary_call_reaches_the_service_over_http2_and_its_trailers_come_back()
    {
        var message = "k-" + Guid.NewGuid().ToString("N");
        using var call = _channel.CreateCallInvoker().AsyncUnaryCall(Methods.Say, null,
            new CallOptions(new Metadata { { "x-tenant", "acme" } }, Deadline()), message);

        (await call.ResponseAsync).Should().Be($"echo:{message} over HTTP/2");
        call.GetStatus().StatusCode.Should().Be(StatusCode.OK);
        call.GetTrailers().GetValue("x-served-by").Should().Be("echo-upstream");
        (await call.ResponseHeadersAsync).GetValue("x-correlation-id").Should().NotBeNullOrEmpty();

        var seen = _upstream.SeenHeaders[message];
        seen.Should().Contain("te", "trailers").And.Contain("x-tenant", "acme").And.ContainKey("x-correlation-id");
        seen["content-type"].Should().Be("application/grpc");
    }

    [Fact]
    public async Task A_failed_call_keeps_the_services_status_and_message()
    {
        // A trailers-only answer: the status travels in the only header block, which must end the stream.
        using var call = _channel.CreateCallInvoker().AsyncUnaryCall(Methods.Fail, null, new CallOptions(deadline: Deadline()), "k-404");

        var failure = await FluentActions.Awaiting(() => call.ResponseAsync).Should().ThrowAsync<RpcException>();
        failure.Which.StatusCode.Should().Be(StatusCode.NotFound);
        failure.Which.Status.Detail.Should().Be("no shipment k-404");
    }

    [Fact]
    public async Task A_duplex_stream_gets_each_answer_before_it_sends_the_next_message()
    {
        // Each answer is awaited before the next message goes: a proxy holding back either body would stall here
        // until the deadline.
        using var call = _channel.CreateCallInvoker().AsyncDuplexStreamingCall(Methods.Chat, null, new CallOptions(deadline: Deadline()));

        foreach (var message in new[] { "one", "two", "three" })
        {
            await call.RequestStream.WriteAsync(message);
            (await call.ResponseStream.MoveNext(CancellationToken.None)).Should().BeTrue();
            call.ResponseStream.Current.Should().Be("ack:" + message);
        }

        await call.RequestStream.CompleteAsync();
        (await call.ResponseStream.MoveNext(CancellationToken.None)).Should().BeFalse();
        call.GetStatus().StatusCode.Should().Be(StatusCode.OK);
        call.GetTrailers().GetValue("x-messages").Should().Be("3");
    }

    [Fact]
    public async Task A_stream_whose_client_goes_quiet_is_not_cut_by_the_request_data_rate()
    {
        // A gRPC stream sends when it has something to say; Kestrel's minimum request data rate is for uploads and
        // would end it, as gRPC services turn it off for their streaming calls.
        using var call = _channel.CreateCallInvoker().AsyncDuplexStreamingCall(Methods.Chat, null, new CallOptions(deadline: Deadline()));
        await call.RequestStream.WriteAsync("before");
        (await call.ResponseStream.MoveNext(CancellationToken.None)).Should().BeTrue();

        // The quiet client under test, past the grace period and a few of Kestrel's once-a-second rate checks.
        await Task.Delay(TimeSpan.FromSeconds(3));

        await call.RequestStream.WriteAsync("after");
        (await call.ResponseStream.MoveNext(CancellationToken.None)).Should().BeTrue();
        call.ResponseStream.Current.Should().Be("ack:after");
        await call.RequestStream.CompleteAsync();
        (await call.ResponseStream.MoveNext(CancellationToken.None)).Should().BeFalse();
        call.GetStatus().StatusCode.Should().Be(StatusCode.OK);
    }

    [Fact]
    public async Task A_calls_access_line_carries_its_grpc_status_at_the_level_the_status_deserves()
    {
        await using var process = await StartProcessAsync();
        var (gateway, channel) = (process.Gateway, process.Channel);

        // Every one of these calls is HTTP 200: only the gRPC status tells a failed call from a good one. The last
        // is the gateway's own answer (its cluster cannot be reached), in gRPC as well.
        foreach (var (method, route, code, severity) in new[]
        {
            (Methods.Say, "echo", StatusCode.OK, "Information"),
            (Methods.Fail, "echo", StatusCode.NotFound, "Warning"),
            (Methods.Crash, "echo", StatusCode.Unknown, "Error"),
            (Methods.On("down.Echo", Methods.Say), "down", StatusCode.Unavailable, "Error"),
        })
        {
            var id = "grpc-" + Guid.NewGuid().ToString("N");
            using var call = channel.CreateCallInvoker().AsyncUnaryCall(method, null,
                new CallOptions(new Metadata { { "x-correlation-id", id } }, Deadline()), id);
            try
            {
                await call.ResponseAsync;
            }
            catch (RpcException)
            {
                // The failed calls' status is read below.
            }

            call.GetStatus().StatusCode.Should().Be(code);
            await Poll.UntilAsync(() => AccessLine(gateway, id) is not null, TimeSpan.FromSeconds(15), $"the access line of {method.Name}");
            var line = AccessLine(gateway, id)!.Value;
            line.GetProperty("GrpcStatus").GetInt32().Should().Be((int)code);
            line.GetProperty("StatusCode").GetInt32().Should().Be(200);
            line.GetProperty("Route").GetString().Should().Be(route);
            // Compact JSON leaves the level out when it is Information.
            (line.TryGetProperty("@l", out var level) ? level.GetString() : "Information").Should().Be(severity, method.Name);
        }
    }

    [Fact]
    public async Task A_trailer_the_gateway_cannot_send_breaks_the_call_with_a_warning_not_a_stack_trace()
    {
        // The service sends a non-ASCII trailer value, which Kestrel will not send on. The call must not end as if
        // it had succeeded, and the gateway says why in one line.
        await using var process = await StartProcessAsync();
        var (gateway, channel) = (process.Gateway, process.Channel);
        var id = "grpc-" + Guid.NewGuid().ToString("N");

        using var call = channel.CreateCallInvoker().AsyncUnaryCall(Methods.BadTrailer, null,
            new CallOptions(new Metadata { { "x-correlation-id", id } }, Deadline()), id);
        var failure = await FluentActions.Awaiting(() => call.ResponseAsync).Should().ThrowAsync<RpcException>();
        failure.Which.StatusCode.Should().NotBe(StatusCode.OK);

        await Poll.UntilAsync(() => AccessLine(gateway, id) is not null, TimeSpan.FromSeconds(15), "the call's access line");
        var lines = gateway.Output.Where(l => l.Contains(id, StringComparison.Ordinal)).ToList();
        lines.Should().ContainSingle(l => l.Contains("a trailer that cannot be relayed", StringComparison.Ordinal) && l.Contains("\"@l\":\"Warning\"", StringComparison.Ordinal));
        lines.Should().NotContain(l => l.Contains("\"@x\"", StringComparison.Ordinal), "no exception, with its stack trace, is logged for it");
    }

    [Fact]
    public async Task Health_probes_reach_an_http2_only_service_and_keep_it_in_rotation()
    {
        // The service listens on HTTP/2 only: a probe sent in HTTP/1.1 never reaches its /health, and one failure
        // (UnhealthyThreshold 1) would take the instance out.
        await Poll.UntilAsync(() => _upstream.HealthProbes >= 3, TimeSpan.FromSeconds(10), "three health probes at the gRPC service");

        var registry = _gateway.Services.GetRequiredService<ServiceRegistry>();
        registry.Get("echo").Instances.Should().ContainSingle().Which.Status.Should().Be(InstanceStatus.Healthy);
    }

    private GatewayConfig Config() => new GatewayConfig()
        .Route("echo", "/echo.Echo/{**rest}", "echo", "POST")
        .Cluster("echo", _upstream.Url).Set("Gateway:Clusters:echo:HttpVersion", "2")
        .Set("Gateway:Clusters:echo:HealthCheck:Interval", "00:00:00.2")
        .Set("Gateway:Clusters:echo:HealthCheck:UnhealthyThreshold", 1)
        .Route("down", "/down.Echo/{**rest}", "dead", "POST")
        .Cluster("dead", $"http://127.0.0.1:{Ports.Free()}").Set("Gateway:Clusters:dead:HttpVersion", "2");

    /// <summary>
    /// A gateway process with a gRPC endpoint, for tests that read its console. In process, an OpenTelemetry host would
    /// do: its instrumentation is process-wide and would handle the other in-process hosts' requests too.
    /// </summary>
    private async Task<GatewayWithChannel> StartProcessAsync()
    {
        var grpcPort = Ports.Free();
        var gateway = await GatewayProcess.StartAsync(Config()
            .Set("Kestrel:Endpoints:grpc:Url", $"http://127.0.0.1:{grpcPort}").Set("Kestrel:Endpoints:grpc:Protocols", "Http2"));
        return new GatewayWithChannel(gateway, GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}"));
    }

    private static JsonElement? AccessLine(GatewayProcess gateway, string correlationId)
    {
        foreach (var line in gateway.Output)
        {
            if (line.Contains("\"AccessLog\"", StringComparison.Ordinal) && line.Contains(correlationId, StringComparison.Ordinal))
            {
                return JsonDocument.Parse(line).RootElement;
            }
        }

        return null;
    }

    private static DateTime Deadline() => DateTime.UtcNow.AddSeconds(15);

    private sealed record GatewayWithChannel(GatewayProcess Gateway, GrpcChannel Channel) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Channel.Dispose();
            await Gateway.DisposeAsync();
        }
    }
}
