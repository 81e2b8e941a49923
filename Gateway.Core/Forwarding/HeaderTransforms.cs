using System.Collections.Frozen;
using Gateway.Core.Routing;
using Microsoft.AspNetCore.Http;

namespace Gateway.Core.Forwarding;

/// <summary>
/// A route's own header edits (<see cref="RouteConfig.Headers"/>), made after the gateway's header rules: a header
/// the upstream needs and the client does not send (an API version, a key), one the client must not pass on, one the
/// upstream should not leak (<c>Server</c>, <c>X-Powered-By</c>). The names the gateway sets or drops itself
/// (hop-by-hop, framing, forwarding, identity, correlation and tracing headers) are refused at start-up, so these
/// edits cannot undo what <see cref="HeaderRules"/> decides. Response edits apply to the upstream's answers; the
/// gateway's own error answers keep their shape. Built once per route; a route without edits has none.
/// </summary>
public sealed class HeaderTransforms
{
    // The client's copy of a header the route sets is dropped with the ones it removes, then the route's value added.
    private readonly FrozenSet<string> _droppedUpstream;
    private readonly KeyValuePair<string, string>[] _responseSet;
    private readonly string[] _responseRemoved;

    private HeaderTransforms(HeadersConfig config)
    {
        // An empty value in configuration may bind as null; the header is then sent empty, as written.
        RequestSet = [.. config.Request.Set.Select(static set => KeyValuePair.Create(set.Key, set.Value ?? string.Empty))];
        _droppedUpstream = config.Request.Remove.Concat(config.Request.Set.Keys).ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        _responseSet = [.. config.Response.Set.Select(static set => KeyValuePair.Create(set.Key, set.Value ?? string.Empty))];
        _responseRemoved = config.Response.Remove;
    }

    /// <summary>The headers added to the request going upstream, by the same rules as the client's (<see cref="UpstreamHeaders"/>).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> RequestSet { get; }

    public static HeaderTransforms? Create(HeadersConfig? config) =>
        config is null || (config.Request.Set.Count == 0 && config.Request.Remove.Length == 0
            && config.Response.Set.Count == 0 && config.Response.Remove.Length == 0)
            ? null
            : new HeaderTransforms(config);

    /// <summary>Whether the client's header of this name stays behind: the route removes it or sets its own.</summary>
    public bool DropsUpstream(string name) => _droppedUpstream.Contains(name);

    /// <summary>Edits the upstream's response headers, once they are copied to the client's response.</summary>
    public void Apply(HttpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var headers = response.Headers;
        foreach (var name in _responseRemoved)
        {
            headers.Remove(name);
        }

        foreach (var (name, value) in _responseSet)
        {
            headers[name] = value;
        }
    }
}
