using System.Collections.Frozen;
using Gateway.Core.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

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
    // HttpClient keeps these on the content, and refuses them on the request's own headers.
    private static readonly FrozenSet<string> ContentHeaders = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        HeaderNames.Allow, HeaderNames.ContentDisposition, HeaderNames.ContentEncoding, HeaderNames.ContentLanguage,
        HeaderNames.ContentLength, HeaderNames.ContentLocation, HeaderNames.ContentMD5, HeaderNames.ContentRange,
        HeaderNames.ContentType, HeaderNames.Expires, HeaderNames.LastModified);

    private readonly KeyValuePair<string, string>[] _requestSet;
    private readonly string[] _requestDropped;
    private readonly KeyValuePair<string, string>[] _responseSet;
    private readonly string[] _responseRemoved;

    private HeaderTransforms(HeadersConfig config)
    {
        // An empty value in configuration may bind as null; the header is then sent empty, as written.
        _requestSet = [.. config.Request.Set.Select(static set => KeyValuePair.Create(set.Key, set.Value ?? string.Empty))];
        // A set header replaces the client's: dropped first, then added.
        _requestDropped = [.. config.Request.Remove.Concat(config.Request.Set.Keys).Distinct(StringComparer.OrdinalIgnoreCase)];
        _responseSet = [.. config.Response.Set.Select(static set => KeyValuePair.Create(set.Key, set.Value ?? string.Empty))];
        _responseRemoved = config.Response.Remove;
    }

    public static HeaderTransforms? Create(HeadersConfig? config) =>
        config is null || (config.Request.Set.Count == 0 && config.Request.Remove.Length == 0
            && config.Response.Set.Count == 0 && config.Response.Remove.Length == 0)
            ? null
            : new HeaderTransforms(config);

    public static bool IsContentHeader(string name) => ContentHeaders.Contains(name);

    /// <summary>Edits the request going upstream. A content header is set only on a request with a body.</summary>
    public void Apply(HttpRequestMessage upstream)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        foreach (var name in _requestDropped)
        {
            if (IsContentHeader(name))
            {
                upstream.Content?.Headers.Remove(name);
            }
            else
            {
                upstream.Headers.Remove(name);
            }
        }

        foreach (var (name, value) in _requestSet)
        {
            if (!IsContentHeader(name))
            {
                upstream.Headers.TryAddWithoutValidation(name, value);
            }
            else
            {
                upstream.Content?.Headers.TryAddWithoutValidation(name, value);
            }
        }
    }

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
