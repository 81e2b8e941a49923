using System.Net.Http.Headers;
using Gateway.Tests.Infrastructure;
using Grpc.Core;
using Grpc.Net.Client;
using Methods = Gateway.Tests.Infrastructure.GrpcUpstream.Methods;

namespace Gateway.Tests.Integration;

/// <summary>
/// What a gRPC client gets when the gateway itself answers its call: no route, a limit reached, no token, a service
/// that cannot be reached or does not answer in time. Each is a gRPC answer with the code the gateway chose and its
/// reason, where an HTTP error status would leave the client to guess the code and lose the reason.
/// </summary>
public sealed class GrpcGatewayAnswerTests : IAsyncLifetime
{
    private GrpcUpstream _upstream = null!;
    private TestGateway _gateway = null!;
    private GrpcChannel _channel = null!;
    private HttpClient _web = null!;

    public async Task InitializeAsync()
    {
        _upstream = await GrpcUpstream.StartAsync();
        var (grpcPort, webPort) = (Ports.Free(), Ports.Free());
        _gateway = await TestGateway.StartAsync(new GatewayConfig().WithSharedSecret()
            .Set("Kestrel:Endpoints:web:Url", $"http://127.0.0.1:{webPort}")
            .Set("Kestrel:Endpoints:grpc:Url", $"http://127.0.0.1:{grpcPort}")
            .Set("Kestrel:Endpoints:grpc:Protocols", "Http2")
            .Cluster("echo", _upstream.Url).Set("Gateway:Clusters:echo:HttpVersion", "2")
            .Route("limited", "/limited.Echo/{**rest}", "echo", "POST")
            .Set("Gateway:Routes:limited:Transform:PathPattern", "/echo.Echo/{**rest}")
            .Set("Gateway:Routes:limited:RateLimitPolicy", "one")
            .Set("Gateway:RateLimiting:Policies:one:PermitLimit", 1)
            .Set("Gateway:RateLimiting:Policies:one:Window", "00:10:00")
            .Set("Gateway:RateLimiting:Policies:one:Partition", "Client")
            .Route("private", "/private.Echo/{**rest}", "echo", "POST")
            .Set("Gateway:Routes:private:Transform:PathPattern", "/echo.Echo/{**rest}")
            .Set("Gateway:Routes:private:Authorization", "Authenticated")
            .Route("slow", "/slow.Echo/{**rest}", "echo", "POST")
            .Set("Gateway:Routes:slow:Transform:PathPattern", "/echo.Echo/{**rest}")
            .Set("Gateway:Routes:slow:Timeout", "00:00:00.500")
            .Route("down", "/down.Echo/{**rest}", "dead", "POST")
            .Cluster("dead", $"http://127.0.0.1:{Ports.Free()}").Set("Gateway:Clusters:dead:HttpVersion", "2"));
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
        _web = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{webPort}") };
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        _web.Dispose();
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task A_service_that_cannot_be_reached_is_unavailable_with_the_gateways_reason()
    {
        // UNAVAILABLE: nothing reached a service, so the client may retry. The correlation id comes back too.
        var failure = await FailAsync(Methods.On("down.Echo", Methods.Say));

        failure.StatusCode.Should().Be(StatusCode.Unavailable);
        failure.Status.Detail.Should().Be("The upstream service could not be reached.");
        failure.Trailers.GetValue("x-correlation-id").Should().NotBeNullOrEmpty();
        failure.Trailers.GetValue("x-trace-id").Should().NotBeNullOrEmpty();
    }

    [Fact]
    public async Task A_call_to_a_service_no_route_serves_is_unimplemented()
    {
        var failure = await FailAsync(Methods.On("nowhere.Echo", Methods.Say));

        failure.StatusCode.Should().Be(StatusCode.Unimplemented);
        failure.Status.Detail.Should().NotBeNullOrEmpty().And.NotStartWith("Bad gRPC response");
    }

    [Fact]
    public async Task A_call_over_the_routes_limit_is_resource_exhausted_with_its_retry_after()
    {
        // Not UNAVAILABLE, which gRPC retry policies retry at once: a limit would draw a burst of retries.
        using (var first = _channel.CreateCallInvoker().AsyncUnaryCall(Methods.On("limited.Echo", Methods.Say), null, Options(), "k-1"))
        {
            (await first.ResponseAsync).Should().StartWith("echo:k-1");
        }

        var failure = await FailAsync(Methods.On("limited.Echo", Methods.Say));

        failure.StatusCode.Should().Be(StatusCode.ResourceExhausted);
        failure.Status.Detail.Should().Be("Rate limit 'one' of 1 requests per 600 s reached.");
        int.Parse(failure.Trailers.GetValue("retry-after")!, System.Globalization.CultureInfo.InvariantCulture).Should().BePositive();
    }

    [Fact]
    public async Task A_call_without_a_token_is_unauthenticated_and_a_good_token_goes_through()
    {
        var failure = await FailAsync(Methods.On("private.Echo", Methods.Say));
        failure.StatusCode.Should().Be(StatusCode.Unauthenticated);
        failure.Trailers.GetValue("www-authenticate").Should().StartWith("Bearer");

        using var call = _channel.CreateCallInvoker().AsyncUnaryCall(Methods.On("private.Echo", Methods.Say), null,
            Options(new Metadata { { "authorization", "Bearer " + Tokens.Hs256() } }), "k-2");
        (await call.ResponseAsync).Should().StartWith("echo:k-2");
    }

    [Fact]
    public async Task A_service_that_does_not_answer_in_time_is_a_deadline_exceeded()
    {
        // The service answers a chat only when it gets a message; this call sends none, so no answer comes before
        // the route's 500 ms timeout. DEADLINE_EXCEEDED, not UNAVAILABLE: the call may have run upstream.
        using var call = _channel.CreateCallInvoker().AsyncDuplexStreamingCall(Methods.On("slow.Echo", Methods.Chat), null, Options());

        var failure = await FluentActions.Awaiting(() => call.ResponseStream.MoveNext(CancellationToken.None)).Should().ThrowAsync<RpcException>();
        failure.Which.StatusCode.Should().Be(StatusCode.DeadlineExceeded);
        failure.Which.Status.Detail.Should().Be("The upstream service did not answer in time.");
    }

    [Fact]
    public async Task The_gateways_own_answers_count_as_errors_in_the_metrics_by_their_grpc_status()
    {
        // HTTP 200 on the wire, so only the gRPC status can tell the dashboards that these calls failed.
        await FailAsync(Methods.On("down.Echo", Methods.Say));
        await FailAsync(Methods.On("down.Echo", Methods.Say));

        var metrics = await _web.GetStringAsync("/metrics");
        metrics.Should().MatchRegex("""(?m)^gateway_requests_total\{(?=[^}]*grpc_status="14")(?=[^}]*route="down")(?=[^}]*status_code="200")[^}]*\} 2( |$)""");
        metrics.Should().MatchRegex("""(?m)^gateway_errors_total\{(?=[^}]*grpc_status="14")(?=[^}]*route="down")[^}]*\} 2( |$)""");
    }

    [Fact]
    public async Task A_request_that_is_not_grpc_still_gets_problem_json()
    {
        using var response = await _web.PostAsync("/down.Echo/Say", new StringContent("{}", new MediaTypeHeaderValue("application/json")));

        ((int)response.StatusCode).Should().Be(502);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
    }

    private async Task<RpcException> FailAsync(Method<string, string> method)
    {
        using var call = _channel.CreateCallInvoker().AsyncUnaryCall(method, null, Options(), "k-" + Guid.NewGuid().ToString("N"));
        var failure = await FluentActions.Awaiting(() => call.ResponseAsync).Should().ThrowAsync<RpcException>();
        return failure.Which;
    }

    private static CallOptions Options(Metadata? headers = null) => new(headers, DateTime.UtcNow.AddSeconds(15));
}
