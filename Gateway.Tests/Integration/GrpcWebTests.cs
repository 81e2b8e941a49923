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
    public async Task A_browsers_text_call_with_a_length_and_without_te_is_answered_in_base64_with_its_status()
    {
        // What a browser's grpc-web library sends: the whole body at once (so a Content-Length, which decoding
        // shrinks), and no TE, which fetch and XHR may not set.
        var message = "b-" + Guid.NewGuid().ToString("N");
        var payload = System.Text.Encoding.UTF8.GetBytes(message);
        var frame = new byte[5 + payload.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), payload.Length);
        payload.CopyTo(frame, 5);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/echo.Echo/Say")
        {
            Content = new StringContent(Convert.ToBase64String(frame)),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc-web-text");
        request.Headers.Accept.ParseAdd("application/grpc-web-text");
        request.Headers.TryAddWithoutValidation("X-Grpc-Web", "1");
        using var response = await _gateway.Client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/grpc-web-text");
        var (messages, trailers) = ReadGrpcWebText(await response.Content.ReadAsStringAsync());
        messages.Should().Equal($"echo:{message} over HTTP/2");
        trailers.Should().Contain("grpc-status: 0").And.Contain("x-served-by: echo-upstream");
        _upstream.SeenHeaders[message].Should().Contain("te", "trailers", "the gateway takes the trailers for the browser, in the body");
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

    /// <summary>
    /// Reads a gRPC-Web text answer: base64 pieces (each padded where the server flushed), holding length-prefixed
    /// frames, data (flag 0) and trailers (flag 0x80) as lines of "name: value".
    /// </summary>
    private static (List<string> Messages, string Trailers) ReadGrpcWebText(string body)
    {
        var bytes = new List<byte>();
        for (var start = 0; start < body.Length;)
        {
            var end = body.IndexOf('=', start);
            end = end < 0 ? body.Length : body.Length > end + 1 && body[end + 1] == '=' ? end + 2 : end + 1;
            bytes.AddRange(Convert.FromBase64String(body[start..end]));
            start = end;
        }

        var messages = new List<string>();
        var trailers = string.Empty;
        var data = bytes.ToArray();
        for (var offset = 0; offset < data.Length;)
        {
            var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(offset + 1, 4));
            var content = System.Text.Encoding.UTF8.GetString(data, offset + 5, length);
            if ((data[offset] & 0x80) != 0)
            {
                trailers = content;
            }
            else
            {
                messages.Add(content);
            }

            offset += 5 + length;
        }

        return (messages, trailers);
    }

    /// <summary>A gRPC-Web channel over HTTP/1.1, as a browser's requests arrive at the gateway's ordinary port.</summary>
    private GrpcChannel Channel(GrpcWebMode mode) => GrpcChannel.ForAddress(_gateway.Address, new GrpcChannelOptions
    {
        HttpHandler = new GrpcWebHandler(mode, new SocketsHttpHandler()),
        HttpVersion = HttpVersion.Version11,
    });

    private static DateTime Deadline() => DateTime.UtcNow.AddSeconds(15);
}
