using Gateway.Core.Routing;
using Microsoft.Net.Http.Headers;

namespace Gateway.Core.Forwarding;

/// <summary>
/// A <c>Location</c> the upstream wrote in its own terms, put in the client's: the instance's address is
/// dropped (it is internal, and the client cannot reach it) and a path under the route's upstream prefix gets the
/// client's prefix back (<c>/contracts/k-1</c> becomes <c>/api/v1/contracts/k-1</c> on a route that strips
/// <c>/api/v1</c>). The result is a path, never an absolute URL: the client's Host is the client's to choose, so
/// building an origin from it would let a request pick where its redirect points. On a route that sends the
/// client's Host upstream, the upstream's own URLs carry that Host instead of the instance's, and are read the same
/// way. A Location elsewhere (another host, a path the route does not map back, a reference relative to the
/// request) is left as sent.
/// </summary>
public static class UpstreamLocation
{
    /// <summary>
    /// Puts the upstream's Location and Content-Location (a URI reference in the same terms, RFC 9110 §8.7) and its
    /// cookies' paths and domains in the client's terms, as the route asks.
    /// </summary>
    internal static void Rewrite(HttpResponseMessage response, Microsoft.AspNetCore.Http.HttpResponse target, GatewayRoute route, string instanceBase, string? clientHost)
    {
        if (route.Config.RewriteLocation)
        {
            if (response.Headers.NonValidated.TryGetValues(HeaderNames.Location, out var location) && location.Count == 1
                && ToClient(location.ToString(), instanceBase, route.Transform, clientHost) is { } rewritten)
            {
                target.Headers.Location = rewritten;
            }

            // HttpClient files Content-Location with the content's headers.
            if (response.Content.Headers.NonValidated.TryGetValues(HeaderNames.ContentLocation, out var contentLocation) && contentLocation.Count == 1
                && ToClient(contentLocation.ToString(), instanceBase, route.Transform, clientHost) is { } rewrittenContent)
            {
                target.Headers.ContentLocation = rewrittenContent;
            }
        }

        if (route.Config.RewriteCookies && response.Headers.NonValidated.TryGetValues(HeaderNames.SetCookie, out var cookies))
        {
            string[]? values = null;
            var i = 0;
            foreach (var cookie in cookies)
            {
                if (UpstreamCookie.ToClient(cookie, instanceBase, route.Transform) is { } rewritten)
                {
                    values ??= [.. cookies];
                    values[i] = rewritten;
                }

                i++;
            }

            if (values is not null)
            {
                target.Headers.SetCookie = values;
            }
        }
    }

    /// <summary>The Location for the client, or null to leave the upstream's as it is.</summary>
    /// <param name="clientHost">The client's Host, when the route sent it upstream (<c>PreserveHost</c>); otherwise null.</param>
    public static string? ToClient(string location, string instanceBase, PathTransform transform, string? clientHost = null)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(instanceBase);
        ArgumentNullException.ThrowIfNull(transform);

        // An absolute URL on the instance's origin (or the client's Host, which the upstream was sent) or a
        // path-absolute reference: either way a path on the instance, its base path included.
        var (instanceOrigin, basePath) = Split(instanceBase);
        var origin = StartsWithBoundary(location, instanceOrigin) ? instanceOrigin.Length
            : clientHost is null ? 0 : ClientOriginLength(location, clientHost);
        var absolute = origin > 0;
        if (!absolute && (!location.StartsWith('/') || location.StartsWith("//", StringComparison.Ordinal)))
        {
            return null;
        }

        var onInstance = location[origin..];
        if (onInstance.Length == 0 || onInstance[0] != '/')
        {
            onInstance = "/" + onInstance;
        }

        // Outside the base path is not this service's; an absolute one still loses the internal address.
        if (!StartsWithBoundary(onInstance, basePath))
        {
            return absolute ? onInstance : null;
        }

        var upstream = onInstance[basePath.Length..];
        var pathEnd = upstream.AsSpan().IndexOfAny('?', '#');
        var path = pathEnd < 0 ? upstream : upstream[..pathEnd];
        var rest = pathEnd < 0 ? string.Empty : upstream[pathEnd..];
        if (path.Length == 0)
        {
            path = "/";
        }

        if (transform.ClientPrefix is { } clientPrefix && StartsWithBoundary(path, transform.TargetPrefix))
        {
            var mapped = string.Concat(clientPrefix, path.AsSpan(transform.TargetPrefix.Length), rest);
            return mapped.Length == 0 || mapped[0] != '/' ? "/" + mapped : mapped;
        }

        return absolute ? path + rest : null;
    }

    /// <summary>The length of <c>http://host</c> or <c>https://host</c> at the start of the location, when the host is <paramref name="host"/>; otherwise 0.</summary>
    private static int ClientOriginLength(string location, string host)
    {
        var scheme = location.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ? 7
            : location.StartsWith("https://", StringComparison.OrdinalIgnoreCase) ? 8 : 0;
        return scheme > 0 && StartsWithBoundary(location[scheme..], host) ? scheme + host.Length : 0;
    }

    /// <summary><c>http://10.0.0.5:8080/base</c> as its origin and its base path (empty when it has none).</summary>
    private static (string Origin, string BasePath) Split(string instanceBase)
    {
        var scheme = instanceBase.IndexOf("://", StringComparison.Ordinal);
        var slash = scheme < 0 ? -1 : instanceBase.IndexOf('/', scheme + 3);
        return slash < 0 ? (instanceBase, string.Empty) : (instanceBase[..slash], instanceBase[slash..]);
    }

    /// <summary>True when <paramref name="value"/> starts with <paramref name="prefix"/> and goes on, if at all, with a new segment, query or fragment.</summary>
    private static bool StartsWithBoundary(string value, string prefix) =>
        value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)
        && (value.Length == prefix.Length || prefix.EndsWith('/') || value[prefix.Length] is '/' or '?' or '#');
}
