using System.Buffers;
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
/// WebSocket upgrades (RFC 6455 over HTTP/1.1) on routes that allow them: the handshake goes upstream through the
/// cluster's client like any request (instance choice, retries of a failed connect, breaker, attempt timeout), and
/// once the upstream answers 101 the two connections are joined byte for byte until either side closes or both
/// stay silent for the route's idle limit. Frames are not parsed: the upstream's WebSocket stack and the client's
/// speak to each other.
/// </summary>
internal static class WebSocketTunnel
{
    private const int BufferSize = 16 * 1024;
    public const string Protocol = "websocket";

    /// <summary>
    /// A WebSocket handshake Kestrel can hand over: HTTP/1.1 GET with <c>Connection: Upgrade</c> and
    /// <c>Upgrade: websocket</c>. Other upgrades (h2c, which curl offers on every plain-text request) are
    /// not tunnelled; their Upgrade is dropped as hop-by-hop and the request goes up as an ordinary one.
    /// </summary>
    public static bool IsRequested(HttpContext context) =>
        HttpMethods.IsGet(context.Request.Method)
        && context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true }
        && context.Request.Headers.Upgrade is { Count: 1 } upgrade
        && IsProtocol(upgrade.ToString());

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

    /// <summary>Asks the upstream for the upgrade the client asked for; the copy of end-to-end headers left these out.</summary>
    public static void AskUpstream(HttpRequestMessage request)
    {
        request.Headers.TryAddWithoutValidation(HeaderNames.Connection, HeaderNames.Upgrade);
        request.Headers.TryAddWithoutValidation(HeaderNames.Upgrade, Protocol);
    }

    /// <summary>True when an upstream's 101 switched to what was asked for, not to some other protocol.</summary>
    public static bool IsAccepted(HttpResponseMessage response) =>
        response.Headers.NonValidated.TryGetValues(HeaderNames.Upgrade, out var upgrade)
        && upgrade.Count == 1 && IsProtocol(upgrade.ToString());

    private static bool IsProtocol(string value) => value.AsSpan().Trim().Equals(Protocol, StringComparison.OrdinalIgnoreCase);

    /// <summary>Sends the client the 101 and joins the two connections until the conversation ends.</summary>
    public static async Task RunAsync(HttpContext context, UpstreamCall call, HttpResponseMessage response, ProxyRequestFeature proxy, ILogger logger)
    {
        var route = call.Route;
        var upstream = await response.Content.ReadAsStreamAsync(context.RequestAborted);
        Stream client;
        try
        {
            client = await context.Features.GetRequiredFeature<IHttpUpgradeFeature>().UpgradeAsync();
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            await upstream.DisposeAsync();
            ForwarderLog.ClientAborted(logger, route.Id);
            return;
        }

        // A stopping gateway ends its tunnels at once: the host would otherwise wait its whole shutdown timeout for
        // conversations that may last hours, and the clients reconnect through another replica anyway.
        var stopping = context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
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
