using Gateway.Core.Routing;

namespace Gateway.Core.Forwarding;

/// <summary>
/// A <c>Set-Cookie</c> the upstream wrote for its own paths and host, put in the client's terms (nginx's
/// <c>proxy_cookie_path</c> and <c>proxy_cookie_domain</c>): a <c>Path</c> under the route's upstream prefix gets
/// the client's prefix back, or the browser would never send the cookie through the route that set it, and a
/// <c>Domain</c> naming the instance's own host is dropped, which makes the cookie the gateway host's (a browser
/// refuses a cookie for a domain it did not ask). Every other part of the cookie stays as the upstream wrote it.
/// </summary>
public static class UpstreamCookie
{
    /// <summary>The cookie for the client, or null to leave the upstream's as it is.</summary>
    public static string? ToClient(string setCookie, string instanceBase, PathTransform transform)
    {
        ArgumentNullException.ThrowIfNull(setCookie);
        ArgumentNullException.ThrowIfNull(instanceBase);
        ArgumentNullException.ThrowIfNull(transform);

        // The name=value pair first, then the attributes (RFC 6265 §4.1.1); without attributes there is nothing to map.
        if (!setCookie.Contains(';', StringComparison.Ordinal))
        {
            return null;
        }

        var parts = setCookie.Split(';');
        var kept = new List<string>(parts.Length) { parts[0] };
        var changed = false;
        for (var i = 1; i < parts.Length; i++)
        {
            var part = parts[i];
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            var name = (equals < 0 ? part : part[..equals]).Trim();
            var value = equals < 0 ? string.Empty : part[(equals + 1)..].Trim();
            if (name.Equals("Path", StringComparison.OrdinalIgnoreCase) && value.StartsWith('/')
                && UpstreamLocation.ToClient(value, instanceBase, transform) is { } mapped && mapped != value)
            {
                kept.Add(" Path=" + mapped);
                changed = true;
            }
            else if (name.Equals("Domain", StringComparison.OrdinalIgnoreCase) && IsInstanceHost(value.TrimStart('.'), instanceBase))
            {
                changed = true;
            }
            else
            {
                kept.Add(part);
            }
        }

        return changed ? string.Join(';', kept) : null;
    }

    private static bool IsInstanceHost(string domain, string instanceBase) =>
        domain.Length > 0 && Uri.TryCreate(instanceBase, UriKind.Absolute, out var instance)
        && domain.Equals(instance.IdnHost, StringComparison.OrdinalIgnoreCase);
}
