using Gateway.Core.Routing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Forwarding;

/// <summary>
/// gRPC-Web on the routes that ask for it (<see cref="RouteConfig.GrpcWeb"/>), by Grpc.AspNetCore.Web's own
/// middleware: it shows the forwarder a gRPC call (content type <c>application/grpc</c>, the <c>-text</c> body
/// decoded from base64) and writes the upstream's trailers into the answer's body, where gRPC-Web carries them. The
/// cluster gets plain gRPC over HTTP/2, so a browser reaches a gRPC service with no Envoy in between.
/// </summary>
public static class GrpcWebTranslation
{
    /// <summary>Marks the route's endpoint for the translation, the framework's way (endpoint metadata).</summary>
    public static void Apply(RouteGroupBuilder group, RouteConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.GrpcWeb)
        {
            group.EnableGrpcWeb();
        }
    }

    /// <summary>
    /// The middleware, after routing (it reads the endpoint's metadata) and in front of everything that answers a
    /// call, so a refusal (401, 429, 503) reaches the browser as a gRPC-Web status too. Only when a route asks for it.
    /// </summary>
    public static WebApplication UseGatewayGrpcWeb(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (RouteBranches.InPipeline(app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value, RouteBranch.GrpcWeb))
        {
            app.UseGrpcWeb();
        }

        return app;
    }

    /// <summary>
    /// The body to send up. The translation decodes a <c>-text</c> body in the request's pipe (what gRPC services
    /// read), not in its stream, which still gives the base64 as it came.
    /// </summary>
    public static Stream RequestBody(HttpContext context, GatewayRoute route) =>
        route.Config.GrpcWeb ? context.Request.BodyReader.AsStream() : context.Request.Body;

    /// <summary>
    /// A <c>-text</c> body is a third shorter once decoded, so the client's Content-Length does not describe what goes
    /// up; HTTP/2 frames the body without one.
    /// </summary>
    public static void DropClientLength(HttpRequestMessage upstream, GatewayRoute route)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        if (route.Config.GrpcWeb && upstream.Content is { } content)
        {
            content.Headers.ContentLength = null;
        }
    }

    /// <summary>
    /// Writes a piece of the answer through the response's pipe, asking for room of its size: the translation's
    /// base64 writer (for <c>-text</c>) gives no room to a request without a size, which the stream's write makes.
    /// Each piece is flushed, so it reaches the browser as the upstream sends it.
    /// </summary>
    public static async ValueTask WriteAsync(HttpContext context, ReadOnlyMemory<byte> piece, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var writer = context.Response.BodyWriter;
        piece.Span.CopyTo(writer.GetSpan(piece.Length));
        writer.Advance(piece.Length);
        var flushed = await writer.FlushAsync(cancellationToken);
        if (flushed.IsCanceled)
        {
            throw new OperationCanceledException(cancellationToken);
        }
    }
}
