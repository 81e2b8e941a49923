using System.Net;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Web;
using Xunit;
using Methods = Gateway.Tests.Infrastructure.GrpcUpstream.Methods;

namespace Gateway.Tests.Integration;

/// <summary>
/// gRPC-Web through the gateway: a real gRPC-Web client (Grpc.Net.Client.Web, the same wire format as a browser's
/// grpc-web library) over HTTP/1.1 to the gateway's ordinary port, and a real gRPC service (Grpc.AspNetCore, which
/// here speaks plain gRPC only) behind it over HTTP/2.
/// </summary>
public sealed class GrpcWebTests : IAsyncLifetime
{
    private GrpcUpstream _upstream = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = await GrpcUpstream.StartAsync();
        _gateway = await TestGateway.StartAsync(new GatewayConfig()
            .Route("echo", "/echo.Echo/{**rest}", "echo", "POST").Set("Gateway:Routes:echo:GrpcWeb", true)
            .Route("secure", "/secure.Echo/{**rest}", "echo", "POST").Set("Gateway:Routes:secure:GrpcWeb", true)
            .Set("Gateway:Routes:secure:Transform:PathPattern", "/echo.Echo/{**rest}").Set("Gateway:Routes:secure:Authorization", "Authenticated")
            .Route("plain", "/plain.Echo/{**rest}", "echo", "POST").Set("Gateway:Routes:plain:Transform:PathPattern", "/echo.Echo/{**rest}")
            .Cluster("echo", _upstream.Url).Set("Gateway:Clusters:echo:HttpVersion", "2")
            .WithSharedSecret());
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Theory]
    [InlineData(GrpcWebMode.GrpcWeb)]
    [InlineData(GrpcWebMode.GrpcWebText)]
    public async Task A_grpc_web_call_reaches_the_service_as_grpc_over_http2_and_its_trailers_come_back(GrpcWebMode mode)
    {
        using var channel = Channel(mode);
        var message = "w-" + Guid.NewGuid().ToString("N");
        using var call = channel.CreateCallInvoker().AsyncUnaryCall(Methods.Say, null, new CallOptions(deadline: Deadline()), message);

        (await call.ResponseAsync).Should().Be($"echo:{message} over HTTP/2");
        call.GetStatus().StatusCode.Should().Be(StatusCode.OK);
        call.GetTrailers().GetValue("x-served-by").Should().Be("echo-upstream", "the upstream's trailers travel in the gRPC-Web body");
        (await call.ResponseHeadersAsync).GetValue("x-correlation-id").Should().NotBeNullOrEmpty();

        var seen = _upstream.SeenHeaders[message];
        seen["content-type"].Should().Be("application/grpc", "the service gets plain gRPC");
        seen.Should().Contain("te", "trailers");
    }

    [Theory]
    [InlineData(GrpcWebMode.GrpcWeb)]
    [InlineData(GrpcWebMode.GrpcWebText)]
    public async Task A_server_stream_arrives_message_by_message_with_its_trailers(GrpcWebMode mode)
    {
        using var channel = Channel(mode);
        using var call = channel.CreateCallInvoker().AsyncServerStreamingCall(Methods.Count, null, new CallOptions(deadline: Deadline()), "200");

        var received = new List<string>();
        await foreach (var message in call.ResponseStream.ReadAllAsync())
        {
            received.Add(message);
        }

        received.Should().Equal(Enumerable.Range(1, 200).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        call.GetStatus().StatusCode.Should().Be(StatusCode.OK);
        call.GetTrailers().GetValue("x-counted").Should().Be("200");
    }

    [Fact]
    public async Task A_failed_calls_status_and_message_reach_the_grpc_web_client()
    {
        using var channel = Channel(GrpcWebMode.GrpcWeb);
        var call = () => channel.CreateCallInvoker().AsyncUnaryCall(Methods.Fail, null, new CallOptions(deadline: Deadline()), "P-42").ResponseAsync;

        var failure = (await call.Should().ThrowAsync<RpcException>()).Which;
        failure.StatusCode.Should().Be(StatusCode.NotFound);
        failure.Status.Detail.Should().Be("no shipment P-42");
    }

    [Fact]
    public async Task The_gateways_own_refusal_reaches_the_grpc_web_client_as_a_grpc_status()
    {
        using var channel = Channel(GrpcWebMode.GrpcWebText);
        var refused = () => channel.CreateCallInvoker().AsyncUnaryCall(Methods.On("secure.Echo", Methods.Say), null, new CallOptions(deadline: Deadline()), "no-token").ResponseAsync;
        (await refused.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.Unauthenticated);
        _upstream.SeenHeaders.Should().NotContainKey("no-token");

        var headers = new Metadata { { "authorization", "Bearer " + Tokens.Hs256() } };
        using var call = channel.CreateCallInvoker().AsyncUnaryCall(Methods.On("secure.Echo", Methods.Say), null, new CallOptions(headers, Deadline()), "with-token");
        (await call.ResponseAsync).Should().Be("echo:with-token over HTTP/2");
    }

    [Fact]
    public async Task A_route_without_the_setting_sends_a_grpc_web_call_up_as_it_came()
    {
        using var channel = Channel(GrpcWebMode.GrpcWeb);
        var call = () => channel.CreateCallInvoker().AsyncUnaryCall(Methods.On("plain.Echo", Methods.Say), null, new CallOptions(deadline: Deadline()), "untranslated").ResponseAsync;

        // The service speaks plain gRPC only and refuses the gRPC-Web content type before the method runs.
        await call.Should().ThrowAsync<RpcException>();
        _upstream.SeenHeaders.Should().NotContainKey("untranslated");
    }

    /// <summary>A gRPC-Web channel over HTTP/1.1, as a browser's requests arrive at the gateway's ordinary port.</summary>
    private GrpcChannel Channel(GrpcWebMode mode) => GrpcChannel.ForAddress(_gateway.Address, new GrpcChannelOptions
    {
        HttpHandler = new GrpcWebHandler(mode, new SocketsHttpHandler()),
        HttpVersion = HttpVersion.Version11,
    });

    private static DateTime Deadline() => DateTime.UtcNow.AddSeconds(15);
}
