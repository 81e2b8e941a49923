using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Gateway.Core.Observability;
using Gateway.Core.Routing;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace Gateway.Core.Forwarding;

/// <summary>
/// WebSockets on routes that allow them, whichever way each side speaks: an HTTP/1.1 upgrade (RFC 6455) or HTTP/2's
/// extended CONNECT (RFC 8441, what browsers send on a connection that is HTTP/2 already). The handshake goes
/// upstream through the cluster's client like any request (instance choice, retries of a failed connect, breaker,
/// attempt timeout), in the form the cluster's protocol takes; once the upstream accepts, the client is accepted in
/// the form its own protocol takes, and the two streams are joined byte for byte until either side closes or both
/// stay silent for the route's idle limit. Frames are not parsed: the upstream's WebSocket stack and the client's
/// speak to each other.
/// </summary>
internal static class WebSocketTunnel
{
    private const int BufferSize = 16 * 1024;
    public const string Protocol = "websocket";

    // RFC 6455 section 1.3: the accept is SHA-1 of the key and this GUID, in base64.
    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    /// <summary>
    /// A WebSocket handshake the gateway can tunnel: an HTTP/1.1 GET with <c>Connection: Upgrade</c> and
    /// <c>Upgrade: websocket</c>, or an HTTP/2 CONNECT with <c>:protocol websocket</c>. Other upgrades (h2c, which
    /// curl offers on every plain-text request) are not tunnelled; their Upgrade is dropped as hop-by-hop and the
    /// request goes up as an ordinary one.
    /// </summary>
    public static WebSocketHandshake Requested(HttpContext context) =>
        context.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true, Protocol: { } protocol } && IsProtocol(protocol)
            ? WebSocketHandshake.ExtendedConnect
            : HttpMethods.IsGet(context.Request.Method)
              && context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true }
              && context.Request.Headers.Upgrade is { Count: 1 } upgrade
              && IsProtocol(upgrade.ToString())
                ? WebSocketHandshake.Upgrade
                : WebSocketHandshake.None;

    /// <summary>The upstream speaks HTTP/2 without RFC 8441 (it never announced SETTINGS_ENABLE_CONNECT_PROTOCOL).</summary>
    public static bool IsRefusedByUpstream(HttpRequestException error) =>
        error.HttpRequestError == HttpRequestError.ExtendedConnectNotSupported;

    /// <summary>
    /// An HTTP/1.1 client's key, which the gateway answers itself when the upstream is on HTTP/2 (whose handshake
    /// has none): RFC 6455 asks for 16 bytes in base64, and an accept is never made for anything else.
    /// </summary>
    public static bool HasValidKey(HttpContext context) =>
        context.Request.Headers[HeaderNames.SecWebSocketKey] is { Count: 1 } key
        && key.ToString() is { Length: 24 } text
        && Convert.TryFromBase64String(text, stackalloc byte[18], out var length) && length == 16;

    /// <summary>
    /// Browsers apply no CORS to WebSockets: any page may open one with the user's cookies. On a route with a CORS
    /// policy, the handshake's Origin must be one the policy allows, or the tunnel is refused before the upstream
    /// is reached. A handshake without Origin comes from a non-browser client, which CORS does not concern.
    /// </summary>
    public static async ValueTask<bool> IsOriginAllowedAsync(HttpContext context, GatewayRoute route)
    {
        if (string.IsNullOrEmpty(route.Config.Cors) || context.Request.Headers.Origin is not { Count: > 0 } origin)
        {
            return true;
        }

        var policy = await context.RequestServices.GetRequiredService<ICorsPolicyProvider>().GetPolicyAsync(context, route.Config.Cors);
        return policy is not null && origin.Count == 1 && (policy.AllowAnyOrigin || policy.IsOriginAllowed(origin.ToString()));
    }

    /// <summary>
    /// Asks the upstream for the WebSocket the client asked for, in the upstream's protocol; the copy of end-to-end
    /// headers left the hop-by-hop ones out. Returns the key the gateway made up when the client's handshake had
    /// none to send (HTTP/2 to HTTP/1.1), so the upstream's accept can be checked against it.
    /// </summary>
    public static string? AskUpstream(WebSocketHandshake client, HttpRequestMessage request, bool upstreamHttp2)
    {
        if (upstreamHttp2)
        {
            request.Method = HttpMethod.Connect;
            request.Headers.Protocol = Protocol;
            request.Headers.Remove(HeaderNames.SecWebSocketKey);
            return null;
        }

        request.Method = HttpMethod.Get;
        request.Headers.TryAddWithoutValidation(HeaderNames.Connection, HeaderNames.Upgrade);
        request.Headers.TryAddWithoutValidation(HeaderNames.Upgrade, Protocol);
        if (client != WebSocketHandshake.ExtendedConnect)
        {
            return null;
        }

        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        request.Headers.Remove(HeaderNames.SecWebSocketKey);
        request.Headers.TryAddWithoutValidation(HeaderNames.SecWebSocketKey, key);
        return key;
    }

    /// <summary>
    /// True when the upstream accepted what was asked for: over HTTP/1.1 a 101 switching to websocket, not to some
    /// other protocol; over HTTP/2 a 2xx to the CONNECT.
    /// </summary>
    public static bool IsAccepted(HttpRequestMessage request, HttpResponseMessage response) =>
        request.Method == HttpMethod.Connect
            ? response.IsSuccessStatusCode
            : response.StatusCode == System.Net.HttpStatusCode.SwitchingProtocols
              && response.Headers.NonValidated.TryGetValues(HeaderNames.Upgrade, out var upgrade)
              && upgrade.Count == 1 && IsProtocol(upgrade.ToString());

    /// <summary>
    /// Turns the upstream's acceptance, its headers copied already, into the one the client's protocol expects:
    /// a 200 on HTTP/2, a 101 with <c>Upgrade</c> and an accept for the client's key on HTTP/1.1. Returns why the
    /// answer cannot be relayed, or null.
    /// </summary>
    /// <param name="gatewayKey">The key the gateway sent in the client's stead (<see cref="AskUpstream"/>).</param>
    public static string? AnswerClient(HttpContext context, WebSocketHandshake client, bool upstreamHttp2, string? gatewayKey)
    {
        var headers = context.Response.Headers;
        if (client == WebSocketHandshake.ExtendedConnect)
        {
            // An upstream that does not answer the gateway's key did not read the handshake as WebSocket.
            if (gatewayKey is not null && headers[HeaderNames.SecWebSocketAccept] != AcceptFor(gatewayKey))
            {
                return "a WebSocket accept that does not answer the key sent";
            }

            headers.Remove(HeaderNames.SecWebSocketAccept);
            context.Response.StatusCode = StatusCodes.Status200OK;
            return null;
        }

        context.Response.StatusCode = StatusCodes.Status101SwitchingProtocols;
        // Hop-by-hop, so not copied; the client must see what the connection switches to.
        headers.Upgrade = Protocol;
        if (upstreamHttp2)
        {
            headers[HeaderNames.SecWebSocketAccept] = AcceptFor(context.Request.Headers[HeaderNames.SecWebSocketKey].ToString());
        }

        return null;
    }

    // SHA-1 is what RFC 6455 names for the accept: a proof that the server read the handshake, not a protection.
#pragma warning disable CA5350
    private static string AcceptFor(string key) =>
        Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptGuid)));
#pragma warning restore CA5350

    private static bool IsProtocol(string value) => value.AsSpan().Trim().Equals(Protocol, StringComparison.OrdinalIgnoreCase);

    /// <summary>Accepts the client (sending it the 101 or the 200) and joins the two streams until the conversation ends.</summary>
    public static async Task RunAsync(HttpContext context, WebSocketHandshake handshake, UpstreamCall call, HttpResponseMessage response, ProxyRequestFeature proxy, ILogger logger)
    {
        var route = call.Route;
        proxy.Tunnel = true;
        var upstream = await response.Content.ReadAsStreamAsync(context.RequestAborted);
        Stream client;
        try
        {
            // Kestrel lifts the request body's size limit and minimum rate for the stream either call returns: a
            // tunnel is no upload (Http2WebSocketTests hold it to that on HTTP/2).
            client = handshake == WebSocketHandshake.ExtendedConnect
                ? await context.Features.GetRequiredFeature<IHttpExtendedConnectFeature>().AcceptAsync()
                : await context.Features.GetRequiredFeature<IHttpUpgradeFeature>().UpgradeAsync();
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            await upstream.DisposeAsync();
            ForwarderLog.ClientAborted(logger, route.Id);
            return;
        }

        // A stopping gateway ends its tunnels when its drain is over, not later: the host would otherwise wait its
        // whole shutdown timeout for conversations that may last hours, and the clients reconnect through another
        // replica anyway.
        var stopping = context.RequestServices.GetRequiredService<Hosting.ShutdownDrain>().ServingEnds;
        using var activity = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        activity.CancelAfter(route.ResponseIdleTimeout);
        var up = new Pump(client, upstream, activity, route.ResponseIdleTimeout);
        var down = new Pump(upstream, client, activity, route.ResponseIdleTimeout);
        var upTask = up.RunAsync();
        var downTask = down.RunAsync();
        var first = await Task.WhenAny(upTask, downTask);

        // One side has closed (or failed, or the pair went quiet): nothing more can be said across, so the other
        // direction stops too, and disposing the upstream's stream closes its connection.
        var ending = first == upTask ? up.Ending : down.Ending;
        var reason = stopping.IsCancellationRequested ? "gateway stopping"
            : activity.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested ? $"idle for {route.ResponseIdleTimeout.TotalSeconds:0.###} s"
            : (first == upTask ? "client " : "upstream ") + (ending?.GetType().Name ?? "closed");
        await activity.CancelAsync();
        await upstream.DisposeAsync();
        await Task.WhenAll(upTask, downTask);

        proxy.BytesIn = up.Copied;
        proxy.BytesOut = down.Copied;
        ForwarderLog.WebSocketClosed(logger, route.Id, route.ClusterId, call.InstanceId, reason, up.Copied, down.Copied);
    }

    /// <summary>One direction of the tunnel: reads until the source ends, writing each piece on at once.</summary>
    private sealed class Pump(Stream source, Stream target, CancellationTokenSource activity, TimeSpan idleLimit)
    {
        public long Copied { get; private set; }

        /// <summary>What ended the copy when it was not the source closing.</summary>
        public Exception? Ending { get; private set; }

        public async Task RunAsync()
        {
            var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
            try
            {
                int read;
                while ((read = await source.ReadAsync(buffer, activity.Token)) > 0)
                {
                    // Traffic either way keeps the pair alive: a timer reset, not a new timer.
                    activity.CancelAfter(idleLimit);
                    await target.WriteAsync(buffer.AsMemory(0, read), activity.Token);
                    await target.FlushAsync(activity.Token);
                    Copied += read;
                }
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or HttpRequestException)
            {
                Ending = ex;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}

/// <summary>How a client asked for a WebSocket, read once per request.</summary>
internal enum WebSocketHandshake
{
    None,

    /// <summary>HTTP/1.1's GET with <c>Upgrade: websocket</c> (RFC 6455).</summary>
    Upgrade,

    /// <summary>HTTP/2's CONNECT with <c>:protocol websocket</c> (RFC 8441).</summary>
    ExtendedConnect,
}

/// <summary>
/// No WebSocket can be opened over the upstream's HTTP/2 connection (<see cref="WebSocketTunnel.IsRefusedByUpstream"/>).
/// The instance is up and serves its other requests, so the failure is raised as this and not as the
/// <see cref="HttpRequestException"/> it came as: passive health, the retry and the breaker all act on those, and this
/// says nothing against the instance, another attempt would be refused the same way, and tripping the breaker would
/// take the whole cluster out over a route's setting.
/// </summary>
public sealed class WebSocketsNotSupportedException(string clusterId, HttpRequestException inner)
    : Exception($"An instance of cluster '{clusterId}' speaks HTTP/2 without WebSockets (RFC 8441).", inner);
