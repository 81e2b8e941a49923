using System.Diagnostics;
using System.Net;
using Gateway.Core.Observability;
using Gateway.Core.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Polly;

namespace Gateway.Core.Forwarding;

/// <summary>
/// Forwards the matched request to one destination of the route's cluster and streams both bodies; never
/// buffers a body whole. Failures become RFC 9457 problems (see <see cref="UpstreamFailures"/>).
/// </summary>
internal sealed class HttpForwarder(
    ClusterClients clients,
    Discovery.ServiceRegistry registry,
    UpstreamHeaders upstreamHeaders,
    UpstreamFailures failures,
    Flows.RouteBodyValidation bodyValidation,
    WebhookSignatures signatures,
    TrustedProxies proxies,
    RequestMirror mirror,
    ILogger<HttpForwarder> logger)
{
    private const long DrainableBodyLimit = 1024 * 1024;
    private const string AnyMethodButConnect = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE";

    // Replaced per attempt by InstanceSelectionHandler with the chosen instance's address.
    private static readonly Uri PlaceholderUri = new("http://upstream.invalid/");

    public async Task ForwardAsync(HttpContext context)
    {
        var route = context.GetEndpoint()?.Metadata.GetMetadata<GatewayRoute>()
            ?? throw new InvalidOperationException("The forwarder runs only on gateway route endpoints.");

        var proxy = new ProxyRequestFeature(route.Id, route.ClusterId);
        context.Features.Set(proxy);
        // Only a span that is exported gets tags: setting them takes the activity's lock on every request.
        if (Activity.Current is { Recorded: true } activity)
        {
            activity.SetTag("gateway.route", route.Id).SetTag("gateway.cluster", route.ClusterId);
        }

        var request = context.Request;
        if (!UpstreamPath.IsSafe(request.Path))
        {
            await RefuseAsync(context, route, StatusCodes.Status400BadRequest, "The request path contains an encoded separator, a percent sign, a backslash or a dot segment.");
            return;
        }

        var upstreamPath = route.Transform.Apply(request.Path, request.RouteValues);
        if (!UpstreamPath.IsUnder(upstreamPath, route.Transform.TargetPrefix))
        {
            await RefuseAsync(context, route, StatusCodes.Status400BadRequest, "The request path leaves the route's target.");
            return;
        }

        // Kestrel undoes chunked only: a body under another coding (gzip, chunked) would reach the upstream still
        // coded, the Transfer-Encoding that said so dropped as hop-by-hop (RFC 9112 §6.1: 501).
        if (request.Headers.TransferEncoding is { Count: > 0 } codings && HeaderRules.HasTransferCodingBesidesChunked(codings))
        {
            await RefuseAsync(context, route, StatusCodes.Status501NotImplemented, "The request's transfer coding is not supported; only chunked is.");
            return;
        }

        if (request.ContentLength is { } declared
            && context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { MaxRequestBodySize: { } max } sizeFeature && declared > max)
        {
            // Kestrel drains an unread body after the response so the client can read it; a body over the limit would
            // make that drain fail and reset the connection before the client sees the 413. A modest body is let
            // through the drain (never upstream); a large one gets Connection: close instead.
            if (declared <= DrainableBodyLimit && !sizeFeature.IsReadOnly)
            {
                sizeFeature.MaxRequestBodySize = declared;
            }
            else
            {
                context.Response.Headers.Connection = "close";
            }

            await RefuseAsync(context, route, StatusCodes.Status413PayloadTooLarge, $"The request body exceeds the route's limit of {max} bytes.");
            return;
        }

        var handshake = route.Config.WebSockets ? WebSocketTunnel.Requested(context) : WebSocketHandshake.None;
        var tunnel = handshake != WebSocketHandshake.None;
        if (!tunnel && HttpMethods.IsConnect(request.Method))
        {
            // Sent up as anything else, a CONNECT would take an upstream's 200 for an open tunnel.
            context.Response.Headers.Allow = route.Config.Methods.Length > 0 ? string.Join(", ", route.Config.Methods) : AnyMethodButConnect;
            await RefuseAsync(context, route, StatusCodes.Status405MethodNotAllowed, "CONNECT opens a WebSocket, on a route that allows them; nothing else.");
            return;
        }

        if (tunnel && !await WebSocketTunnel.IsOriginAllowedAsync(context, route))
        {
            await RefuseAsync(context, route, StatusCodes.Status403Forbidden, "The WebSocket's origin is not one the route's CORS policy allows.");
            return;
        }

        var upstreamHttp2 = tunnel && registry.Get(route.ClusterId).Config.IsHttp2;
        if (upstreamHttp2 && handshake == WebSocketHandshake.Upgrade && !WebSocketTunnel.HasValidKey(context))
        {
            await RefuseAsync(context, route, StatusCodes.Status400BadRequest, "The WebSocket handshake's Sec-WebSocket-Key is not 16 bytes in base64.");
            return;
        }

        if (route.Config.Signature is not null && !await signatures.VerifyAsync(context, route))
        {
            return;
        }

        if (route.Config.Validation is not null && !await bodyValidation.ValidateAsync(context, route))
        {
            return;
        }

        // A handshake has no body, so a failed connect can be tried again whatever the method (CONNECT on HTTP/2).
        var retryable = tunnel || IsIdempotent(request);
        HttpContent? content = null;
        byte[]? held = null;
        // A handshake has no body: what follows it on the connection is the tunnel's.
        if (!tunnel && HasBody(context))
        {
            // A small body is read first so a retry (or the route's mirror) can send it again; a large or unsized one
            // streams, sent once.
            if ((retryable || route.Config.Mirror is not null) && request.ContentLength is { } length && length <= route.RetryBodyBufferLimit)
            {
                if ((held = await BufferBodyAsync(context, route, (int)length)) is null)
                {
                    return;
                }

                content = new ByteArrayContent(held);
                proxy.BytesIn = length;
            }
            else
            {
                UpstreamProtocol.AllowQuietStream(context);
                content = new StreamingRequestContent(GrpcWebTranslation.RequestBody(context, route), context.RequestAborted);
                retryable = false;
            }
        }

        var query = route.Config.AllowQueryToken && !route.Config.ForwardToken
            ? UpstreamPath.WithoutParameter(request.QueryString, Identity.GatewayJwtEvents.QueryTokenParameter)
            : request.QueryString.Value;
        var call = new UpstreamCall(route, upstreamPath.ToUriComponent() + query, retryable, proxy)
        {
            AcceptsTrailers = UpstreamProtocol.AcceptsTrailers(context, route),
        };
        using var upstreamRequest = new HttpRequestMessage(HttpMethod.Parse(request.Method), PlaceholderUri)
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
            Content = content,
        };
        upstreamRequest.Options.Set(UpstreamCall.Key, call);
        upstreamHeaders.Copy(context, route, upstreamRequest);
        GrpcWebTranslation.DropClientLength(upstreamRequest, route);
        var gatewayKey = tunnel ? WebSocketTunnel.AskUpstream(handshake, upstreamRequest, upstreamHttp2) : null;
        if (route.Config.Mirror is not null)
        {
            mirror.Start(route, upstreamRequest, call.PathAndQuery, held, content is not null);
        }

        HttpResponseMessage response;
        try
        {
            // An invoker returns once the response headers are read; the body streams below.
            response = await clients.InvokerFor(route.ClusterId).SendAsync(upstreamRequest, context.RequestAborted);
        }
        catch (Exception ex) when (UpstreamFailures.IsUpstreamFailure(ex))
        {
            proxy.BytesIn = (content as StreamingRequestContent)?.BytesSent ?? proxy.BytesIn;
            await failures.HandleAsync(context, call, content as StreamingRequestContent, ex);
            return;
        }

        proxy.BytesIn = (content as StreamingRequestContent)?.BytesSent ?? proxy.BytesIn;

        using (response)
        {
            var switching = tunnel && WebSocketTunnel.IsAccepted(upstreamRequest, response);
            var invalid = RelayStatusAndHeaders(context, call, response, switching);
            if (invalid is null && switching && WebSocketTunnel.AnswerClient(context, handshake, upstreamHttp2, gatewayKey) is { } refused)
            {
                context.Response.Clear();
                invalid = refused;
            }

            if (invalid is not null)
            {
                ForwarderLog.InvalidResponse(logger, route.Id, route.ClusterId, call.InstanceId, invalid);
                await GatewayProblems.WriteAsync(context, StatusCodes.Status502BadGateway, "The upstream service sent a response that cannot be relayed.");
                return;
            }

            if (switching)
            {
                await WebSocketTunnel.RunAsync(context, handshake, call, response, proxy, logger);
                return;
            }

            // The timeouts bound the wait for response headers; a long download then streams for as long as the client reads.
            if (!HeaderRules.HasNoContent(context.Response.StatusCode, request.Method))
            {
                proxy.BytesOut = await UpstreamBody.CopyAsync(context, call, response, logger, context.RequestAborted);
            }
        }
    }

    /// <summary>
    /// Sets the upstream's status and headers on the response, or says why they cannot be relayed. HttpClient takes
    /// in what Kestrel will not send (an unparsable or conflicting Content-Length, control or non-ASCII characters in
    /// a value), and Kestrel refuses it when it is set; such a response, like a status outside 200-599 (a 101 the
    /// gateway never asked for, a 999), is the upstream's fault: 502, as YARP answers, and none of it reaches the
    /// client. RFC 9112 section 6.3 asks exactly that of a proxy for an invalid Content-Length.
    /// </summary>
    /// <param name="switching">The answer accepts a WebSocket handshake the gateway sent (<see cref="WebSocketTunnel.AnswerClient"/> then shapes it for the client).</param>
    private string? RelayStatusAndHeaders(HttpContext context, UpstreamCall call, HttpResponseMessage response, bool switching)
    {
        var status = (int)response.StatusCode;
        if (status is < 200 or > 599 && !switching)
        {
            return $"status {status}";
        }

        // HttpClient undoes chunked only: a body under another transfer coding (gzip, say) would reach the client
        // still coded, with nothing left to say so.
        var transferEncoded = response.Headers.NonValidated.TryGetValues(Microsoft.Net.Http.Headers.HeaderNames.TransferEncoding, out var codings);
        if (transferEncoded && HeaderRules.HasTransferCodingBesidesChunked(codings))
        {
            return "transfer coding " + string.Join(", ", codings);
        }

        try
        {
            context.Response.StatusCode = status;
            DownstreamHeaders.Copy(response, context.Response, transferEncoded);

            if (call.LastInstance is { } instance)
            {
                UpstreamLocation.Rewrite(response, context.Response, call.Route, instance.BaseAddress, call.Route.PreserveHost ? context.Request.Host.Value : null);
                if (call.Affinity is { } affinity)
                {
                    Discovery.SessionAffinity.Stick(context, affinity, call.RequestedAffinityKey, instance, proxies.ClientUsedHttps(context));
                }
            }

            call.Route.Headers?.Apply(context.Response);
            if (call.Route.Config.Cache is { } cache)
            {
                Caching.ResponseCache.ApplyUpstreamRules(context, response, cache);
            }

            return null;
        }
        catch (InvalidOperationException ex)
        {
            // Nothing is sent before the body: the copied part is dropped, and the gateway's own headers come back
            // from their OnStarting callbacks.
            context.Response.Clear();
            return ex.Message;
        }
    }

    private static bool HasBody(HttpContext context) =>
        context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? context.Request.ContentLength > 0;

    private static bool IsIdempotent(HttpRequest request) =>
        HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method)
        || HttpMethods.IsPut(request.Method) || HttpMethods.IsDelete(request.Method)
        || request.Headers.ContainsKey(HeaderRules.IdempotencyKey);

    private async Task<byte[]?> BufferBodyAsync(HttpContext context, GatewayRoute route, int length)
    {
        var body = new byte[length];
        try
        {
            await GrpcWebTranslation.RequestBody(context, route).ReadExactlyAsync(body, context.RequestAborted);
            return body;
        }
        catch (BadHttpRequestException bad)
        {
            ForwarderLog.Refused(logger, route.Id, bad.Message);
            await GatewayProblems.WriteUnreadableBodyAsync(context, bad);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            ForwarderLog.ClientAborted(logger, route.Id);
        }

        return null;
    }

    private ValueTask RefuseAsync(HttpContext context, GatewayRoute route, int status, string detail)
    {
        ForwarderLog.Refused(logger, route.Id, detail);
        return GatewayProblems.WriteAsync(context, status, detail);
    }
}
