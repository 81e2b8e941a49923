using System.Buffers;
using System.Net;
using Gateway.Core.Discovery;
using Gateway.Core.Observability;
using Gateway.Core.Routing;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Gateway.Core.Forwarding;

/// <summary>
/// Forwards the matched request to one destination of the route's cluster and streams both bodies; never
/// buffers a body whole. Failures become RFC 9457 problems: 502 unreachable, 504 timeout, 413 too large.
/// </summary>
public sealed class HttpForwarder(
    ClusterClients clients,
    ClusterDestinations destinations,
    UpstreamHeaders upstreamHeaders,
    ILogger<HttpForwarder> logger)
{
    private const int BufferSize = 64 * 1024;

    public async Task ForwardAsync(HttpContext context)
    {
        var route = context.GetEndpoint()?.Metadata.GetMetadata<GatewayRoute>()
            ?? throw new InvalidOperationException("The forwarder runs only on gateway route endpoints.");

        // What the upstream answers passes through as it is, even an empty 404.
        if (context.Features.Get<IStatusCodePagesFeature>() is { } statusCodePages)
        {
            statusCodePages.Enabled = false;
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

        if (request.ContentLength is { } declared
            && context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize is { } max && declared > max)
        {
            await RefuseAsync(context, route, StatusCodes.Status413PayloadTooLarge, $"The request body exceeds the route's limit of {max} bytes.");
            return;
        }

        if (destinations.Pick(route.ClusterId) is not { } destination)
        {
            ForwarderLog.NoDestination(logger, route.Id, route.ClusterId);
            await GatewayProblems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "No upstream instance is available for this route.");
            return;
        }

        using var upstreamRequest = new HttpRequestMessage(HttpMethod.Parse(request.Method), destination.BuildUri(upstreamPath.ToUriComponent(), request.QueryString.Value))
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        var content = HasBody(context) ? new StreamingRequestContent(request.Body, context.RequestAborted) : null;
        upstreamRequest.Content = content;
        upstreamHeaders.Copy(context, route, upstreamRequest);

        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        cancellation.CancelAfter(route.Timeout);

        HttpResponseMessage response;
        try
        {
            response = await clients.For(route.ClusterId)
                .SendAsync(upstreamRequest, HttpCompletionOption.ResponseHeadersRead, cancellation.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            await HandleSendFailureAsync(context, route, destination, content, cancellation, ex);
            return;
        }

        using (response)
        {
            // The timeout bounds the wait for response headers; a long download then streams for as long as the client reads.
            cancellation.CancelAfter(Timeout.InfiniteTimeSpan);
            context.Response.StatusCode = (int)response.StatusCode;
            DownstreamHeaders.Copy(response, context.Response);
            await CopyResponseBodyAsync(context, route, destination, response, cancellation.Token);
        }
    }

    private static bool HasBody(HttpContext context) =>
        context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? context.Request.ContentLength > 0;

    private async Task HandleSendFailureAsync(HttpContext context, GatewayRoute route, Destination destination,
        StreamingRequestContent? content, CancellationTokenSource cancellation, Exception error)
    {
        if (content?.ClientReadError is BadHttpRequestException bad)
        {
            // Kestrel refused the client's body (over the limit, or malformed chunking).
            await RefuseAsync(context, route, bad.StatusCode, bad.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? "The request body exceeds the route's limit." : "The request body could not be read.");
            return;
        }

        if (context.RequestAborted.IsCancellationRequested || content?.ClientReadError is not null)
        {
            ForwarderLog.ClientAborted(logger, route.Id);
            return;
        }

        if (cancellation.IsCancellationRequested)
        {
            ForwarderLog.UpstreamTimeout(logger, route.Id, route.ClusterId, destination.Id, route.Timeout.TotalMilliseconds);
            await GatewayProblems.WriteAsync(context, StatusCodes.Status504GatewayTimeout, "The upstream service did not answer in time.");
            return;
        }

        ForwarderLog.UpstreamUnreachable(logger, route.Id, route.ClusterId, destination.Id, error.GetBaseException().Message);
        await GatewayProblems.WriteAsync(context, StatusCodes.Status502BadGateway, "The upstream service could not be reached.");
    }

    private async Task CopyResponseBodyAsync(HttpContext context, GatewayRoute route, Destination destination,
        HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength == 0)
        {
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            await using var upstream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var downstream = context.Response.Body;
            while (true)
            {
                int read;
                try
                {
                    read = await upstream.ReadAsync(buffer, cancellationToken);
                }
                catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException)
                {
                    if (!context.RequestAborted.IsCancellationRequested)
                    {
                        // Headers may already be on the wire: the only honest signal left is a broken connection.
                        ForwarderLog.ResponseStreamFailed(logger, route.Id, route.ClusterId, destination.Id, ex);
                        context.Abort();
                    }

                    return;
                }

                if (read == 0)
                {
                    return;
                }

                try
                {
                    // Kestrel flushes each write, so bytes reach the client as the upstream produces them.
                    await downstream.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException)
                {
                    ForwarderLog.ClientAborted(logger, route.Id);
                    return;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private ValueTask RefuseAsync(HttpContext context, GatewayRoute route, int status, string detail)
    {
        ForwarderLog.Refused(logger, route.Id, detail);
        return GatewayProblems.WriteAsync(context, status, detail);
    }
}
