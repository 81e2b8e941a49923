using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Gateway.Core.Forwarding;

/// <summary>
/// What an HTTP/2 cluster (<see cref="Routing.ClusterConfig.HttpVersion"/>) and a gRPC call need beyond plain
/// forwarding: the version on every request to the cluster with <c>TE: trailers</c>, a quiet request stream let be,
/// and the upstream's trailers (where gRPC puts a call's status) on the way back.
/// </summary>
internal static class UpstreamProtocol
{
    /// <summary>
    /// Exact: over http:// that is prior knowledge (h2c); with "or lower" HttpClient would quietly speak HTTP/1.1
    /// there, which no gRPC service answers. TE is hop-by-hop and dropped with the others, but HTTP/2 lets its one
    /// value "trailers" through (RFC 9113 §8.2.2): it says the sender takes trailers, which the gateway does (it
    /// relays them to a client that can receive them), and gRPC services may refuse a call without it.
    /// </summary>
    public static void UseHttp2(HttpRequestMessage request, bool acceptsTrailers)
    {
        request.Version = HttpVersion.Version20;
        request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
        // A retry sends the same message again, which has it already.
        if (acceptsTrailers && !request.Headers.Contains(HeaderNames.TE))
        {
            request.Headers.TryAddWithoutValidation(HeaderNames.TE, "trailers");
        }
    }

    /// <summary>
    /// Whether the upstream's trailers have somewhere to go: the client's TE names them, or the route translates
    /// gRPC-Web, where the gateway delivers them in the body whatever a browser's TE says (it cannot set one).
    /// </summary>
    public static bool AcceptsTrailers(HttpContext context, Routing.GatewayRoute route) =>
        (context.Request.Headers.TE is { Count: > 0 } te && HeaderRules.IsNamedIn(te, "trailers"))
        || (route.Config.GrpcWeb && Observability.GrpcAnswer.IsGrpc(context.Request) && context.Response.SupportsTrailers());

    /// <summary>
    /// A gRPC call's request body is a stream of messages sent when the client has one, not an upload: Kestrel's
    /// minimum request data rate (240 bytes/s after 5 s) would reset a quiet stream's whole connection. gRPC services
    /// turn it off for their streaming calls, and YARP for gRPC requests; so does the gateway. The route's body size
    /// limit still applies.
    /// </summary>
    public static void AllowQuietStream(HttpContext context)
    {
        if (Observability.GrpcAnswer.IsGrpc(context.Request) && context.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = null;
        }
    }

    /// <summary>
    /// Relays the upstream's trailers to a client whose connection carries them (HTTP/2 and later; Kestrel sends none
    /// over HTTP/1.1, and nothing is relayed then, as YARP does); hop-by-hop names are left out. Called once the body
    /// has been read to its end, which is when HttpClient has them.
    /// </summary>
    public static void CopyTrailers(HttpResponseMessage upstream, HttpResponse client)
    {
        foreach (var (name, values) in upstream.TrailingHeaders.NonValidated)
        {
            if (!HeaderRules.IsSkippedDownstream(name))
            {
                client.AppendTrailer(name, values.Count == 1 ? new StringValues(values.ToString()) : new StringValues(values.ToArray()));
            }
        }
    }
}
