using System.Collections.Concurrent;
using System.Text;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Infrastructure;

/// <summary>
/// A real gRPC service (Grpc.AspNetCore) on an HTTP/2-only cleartext loopback port, as gRPC services listen inside a
/// cluster. Its methods are bound by hand over UTF-8 string messages, so no generated code is needed.
/// </summary>
public sealed class GrpcUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcUpstream(WebApplication app, string url, ConcurrentDictionary<string, IReadOnlyDictionary<string, string>> seen)
    {
        _app = app;
        Url = url;
        SeenHeaders = seen;
    }

    public string Url { get; }

    /// <summary>What the service saw of each call's HTTP request, by the message it carried.</summary>
    public ConcurrentDictionary<string, IReadOnlyDictionary<string, string>> SeenHeaders { get; }

    /// <summary>GET /health requests received (the gateway's probes).</summary>
    public int HealthProbes => _healthProbes;

    private int _healthProbes;

    public static async Task<GrpcUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(System.Net.IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2);
            // Lets a method send what a careless service might: a header value that is not ASCII.
            k.ResponseHeaderEncodingSelector = _ => Encoding.UTF8;
        });
        var seen = new ConcurrentDictionary<string, IReadOnlyDictionary<string, string>>();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(seen);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceMethodProvider<EchoService>, EchoMethods>());
        var app = builder.Build();
        GrpcUpstream? upstream = null;
        app.MapGet("/health", () =>
        {
            Interlocked.Increment(ref upstream!._healthProbes);
            return Results.Ok("healthy");
        });
        app.MapGrpcService<EchoService>();
        await app.StartAsync();
        upstream = new GrpcUpstream(app, app.Urls.First(), seen);
        return upstream;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    /// <summary>The service's methods, shared with the client side of a test.</summary>
    public static class Methods
    {
        private static readonly Marshaller<string> Text = Marshallers.Create(s => Encoding.UTF8.GetBytes(s), b => Encoding.UTF8.GetString(b));

        public static readonly Method<string, string> Say = new(MethodType.Unary, "echo.Echo", "Say", Text, Text);

        public static readonly Method<string, string> Fail = new(MethodType.Unary, "echo.Echo", "Fail", Text, Text);

        public static readonly Method<string, string> Crash = new(MethodType.Unary, "echo.Echo", "Crash", Text, Text);

        public static readonly Method<string, string> BadTrailer = new(MethodType.Unary, "echo.Echo", "BadTrailer", Text, Text);

        public static readonly Method<string, string> Chat = new(MethodType.DuplexStreaming, "echo.Echo", "Chat", Text, Text);

        public static readonly Method<string, string> Count = new(MethodType.ServerStreaming, "echo.Echo", "Count", Text, Text);

        /// <summary>The same method under another service name: the path of a gateway route that rewrites it to echo.Echo.</summary>
        public static Method<string, string> On(string service, Method<string, string> method) =>
            new(method.Type, service, method.Name, method.RequestMarshaller, method.ResponseMarshaller);
    }

    public sealed class EchoService(ConcurrentDictionary<string, IReadOnlyDictionary<string, string>> seen)
    {
        public Task<string> SayAsync(string request, ServerCallContext context)
        {
            var http = context.GetHttpContext();
            seen[request] = http.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            context.ResponseTrailers.Add("x-served-by", "echo-upstream");
            return Task.FromResult("echo:" + request + " over " + http.Request.Protocol);
        }

        public static Task<string> FailAsync(string request, ServerCallContext context) =>
            throw new RpcException(new Status(StatusCode.NotFound, $"no shipment {request}"));

        /// <summary>An unhandled exception: the service answers UNKNOWN, a server's failure.</summary>
        public static Task<string> CrashAsync(string request, ServerCallContext context) =>
            throw new InvalidOperationException($"crashed on {request}");

        /// <summary>Answers with a trailer value that is not ASCII, which this service is set to send as UTF-8.</summary>
        public static Task<string> BadTrailerAsync(string request, ServerCallContext context)
        {
            context.ResponseTrailers.Add("x-note", "café");
            return Task.FromResult("ok:" + request);
        }

        /// <summary>Answers each message as it arrives: a proxy that held either body back would stall the call.</summary>
        public static async Task ChatAsync(IAsyncStreamReader<string> requests, IServerStreamWriter<string> responses, ServerCallContext context)
        {
            var count = 0;
            await foreach (var message in requests.ReadAllAsync(context.CancellationToken))
            {
                count++;
                await responses.WriteAsync("ack:" + message, context.CancellationToken);
            }

            context.ResponseTrailers.Add("x-messages", count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Streams "1" to the number asked for, one message (and one flush) each, then a trailer.</summary>
    public static async Task CountAsync(string request, IServerStreamWriter<string> responses, ServerCallContext context)
    {
        var to = int.Parse(request, System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 1; i <= to; i++)
        {
            await responses.WriteAsync(i.ToString(System.Globalization.CultureInfo.InvariantCulture), context.CancellationToken);
        }

        context.ResponseTrailers.Add("x-counted", request);
    }

    private sealed class EchoMethods : IServiceMethodProvider<EchoService>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<EchoService> context)
        {
            context.AddUnaryMethod(Methods.Say, [], (service, request, call) => service.SayAsync(request, call));
            context.AddUnaryMethod(Methods.Fail, [], (_, request, call) => EchoService.FailAsync(request, call));
            context.AddUnaryMethod(Methods.Crash, [], (_, request, call) => EchoService.CrashAsync(request, call));
            context.AddUnaryMethod(Methods.BadTrailer, [], (_, request, call) => EchoService.BadTrailerAsync(request, call));
            context.AddServerStreamingMethod(Methods.Count, [], (_, request, responses, call) => CountAsync(request, responses, call));
            context.AddDuplexStreamingMethod(Methods.Chat, [], (_, requests, responses, call) => EchoService.ChatAsync(requests, responses, call));
        }
    }
}
