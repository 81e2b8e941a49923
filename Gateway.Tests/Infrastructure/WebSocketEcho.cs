using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Infrastructure;

/// <summary>
/// An upstream WebSocket endpoint on ASP.NET Core's own stack, and the client side of talking to it. On open it tells
/// the client what it saw of the handshake (as JSON), then echoes every message; "bye" makes it close first. How
/// each conversation ended is kept by id, for tests to read.
/// </summary>
public sealed class WebSocketEcho
{
    /// <summary>The origin the "browser" route's CORS policy allows.</summary>
    public const string AllowedOrigin = "https://shop.example";

    private readonly ConcurrentDictionary<string, TaskCompletionSource<string>> _ended = new();

    /// <summary>
    /// The WebSocket routes the tests of both protocols share, to cluster "svc" at <paramref name="upstreamUrl"/>
    /// (an app with <see cref="Map"/>): "live" tunnels (with a 1 KiB body limit, which a tunnel is not bound by),
    /// "plain" does not, "secure" needs a token, "browser" has a CORS policy, and "down" goes where nothing listens.
    /// </summary>
    public static GatewayConfig Routes(string upstreamUrl) => new GatewayConfig()
            .Route("live", "/api/v1/live/{**rest}", "svc", "GET").Set("Gateway:Routes:live:Transform:PathRemovePrefix", "/api/v1")
            .Set("Gateway:Routes:live:WebSockets", true)
            // A body limit bounds HTTP bodies; a tunnel's traffic is not one.
            .Set("Gateway:Routes:live:MaxRequestBodySize", 1024)
            .Route("plain", "/api/v1/plain/{**rest}", "svc", "GET").Set("Gateway:Routes:plain:Transform:PathPattern", "/live/{**rest}")
            .Route("secure", "/api/v1/secure/{**rest}", "svc", "GET").Set("Gateway:Routes:secure:Transform:PathPattern", "/live/{**rest}")
            .Set("Gateway:Routes:secure:WebSockets", true).Set("Gateway:Routes:secure:Authorization", "Authenticated")
            .Route("browser", "/api/v1/browser/{**rest}", "svc", "GET").Set("Gateway:Routes:browser:Transform:PathPattern", "/live/{**rest}")
            .Set("Gateway:Routes:browser:WebSockets", true).Set("Gateway:Routes:browser:Cors", "web")
            .Set("Gateway:Cors:web:Origins:0", AllowedOrigin).Set("Gateway:Cors:web:Methods:0", "GET")
            .Route("down", "/api/v1/down/{**rest}", "dead", "GET").Set("Gateway:Routes:down:WebSockets", true)
            .Cluster("svc", upstreamUrl)
            .Cluster("dead", $"http://127.0.0.1:{Ports.Free()}")
            .WithSharedSecret();

    /// <summary>Maps <c>/live/{id}</c>; a request that is not a WebSocket handshake gets 426.</summary>
    public void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseWebSockets();
        app.Map("/live/{id}", async (HttpContext context, string id) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
                return;
            }

            var socket = await context.WebSockets.AcceptWebSocketAsync(context.WebSockets.WebSocketRequestedProtocols.FirstOrDefault());
            var outcome = await EchoAsync(context, socket);
            _ended.GetOrAdd(id, _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(outcome);
        });
    }

    /// <summary>How the conversation <paramref name="id"/> ended, as the upstream saw it.</summary>
    public Task<string> EndedAsync(string id) =>
        _ended.GetOrAdd(id, _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(TimeSpan.FromSeconds(20));

    /// <summary>A WebSocket handshake as HttpClient sends it, to read the answer's status and body when it is refused.</summary>
    public static HttpRequestMessage Handshake(string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Connection", "Upgrade");
        request.Headers.TryAddWithoutValidation("Upgrade", "websocket");
        request.Headers.TryAddWithoutValidation("Sec-WebSocket-Version", "13");
        request.Headers.TryAddWithoutValidation("Sec-WebSocket-Key", Convert.ToBase64String(Guid.NewGuid().ToByteArray()));
        return request;
    }

    public static async Task<byte[]> ReceiveAsync(WebSocket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        var (type, message) = await ReceiveMessageAsync(socket).WaitAsync(TimeSpan.FromSeconds(20));
        type.Should().NotBe(WebSocketMessageType.Close);
        return message;
    }

    public static async Task<string> ReceiveTextAsync(WebSocket socket) => Encoding.UTF8.GetString(await ReceiveAsync(socket));

    public static Task SendTextAsync(WebSocket socket, string text)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
    }

    /// <summary>A short message, then one far over the "live" route's body limit, each echoed back whole.</summary>
    public static async Task ExchangeAsync(WebSocket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        await SendTextAsync(socket, "where is parcel 7?");
        (await ReceiveTextAsync(socket)).Should().Be("where is parcel 7?");
        var large = new byte[1024 * 1024];
        Random.Shared.NextBytes(large);
        await socket.SendAsync(large, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
        (await ReceiveAsync(socket)).Should().Equal(large);
    }

    private static async Task<string> EchoAsync(HttpContext context, WebSocket socket)
    {
        var headers = context.Request.Headers;
        await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new
        {
            path = context.Request.Path.Value,
            protocol = context.Request.Protocol,
            correlationId = headers["X-Correlation-ID"].ToString(),
            forwardedFor = headers["X-Forwarded-For"].ToString(),
            authorization = headers.ContainsKey("Authorization"),
        }), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        try
        {
            while (true)
            {
                var (type, message) = await ReceiveMessageAsync(socket);
                if (type == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, socket.CloseStatusDescription, CancellationToken.None);
                    return "closed by client: " + socket.CloseStatusDescription;
                }

                if (type == WebSocketMessageType.Text && Encoding.UTF8.GetString(message) == "bye")
                {
                    await socket.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "going away", CancellationToken.None);
                    return "closed by upstream";
                }

                await socket.SendAsync(message, type, endOfMessage: true, CancellationToken.None);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException)
        {
            return "failed: " + ex.GetType().Name;
        }
    }

    private static async Task<(WebSocketMessageType Type, byte[] Message)> ReceiveMessageAsync(WebSocket socket)
    {
        using var message = new MemoryStream();
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage || result.MessageType == WebSocketMessageType.Close)
            {
                return (result.MessageType, message.ToArray());
            }
        }
    }
}
