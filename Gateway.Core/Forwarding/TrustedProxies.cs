using System.Net;
using Gateway.Core.Routing;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Forwarding;

/// <summary>
/// The peers whose X-Forwarded-* chain the gateway extends instead of replacing. A reload replaces the list: a
/// balancer's new addresses left untrusted until a restart would make every client look like the balancer (one
/// rate-limit partition for all, its address in the access log), and a proxy no longer trusted must stop being so.
/// </summary>
public sealed class TrustedProxies
{
    private volatile NetworkList _proxies;

    public TrustedProxies(IOptions<GatewayOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _proxies = NetworkList.Parse(options.Value.TrustedProxies);
    }

    /// <summary>Trusts these networks from the next request on (already validated, as at a start).</summary>
    public void Replace(string[] proxies) => _proxies = NetworkList.Parse(proxies ?? throw new ArgumentNullException(nameof(proxies)));

    /// <summary>The TCP peer. Read through the feature: <c>HttpContext.Connection</c> allocates a wrapper per request.</summary>
    public static IPAddress? Peer(Microsoft.AspNetCore.Http.HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpConnectionFeature>()?.RemoteIpAddress;
    }

    /// <summary>
    /// The client's address: the peer, or when the peer is a trusted proxy, the right-most X-Forwarded-For entry
    /// that is not itself a trusted proxy (entries further left were written by the client and prove nothing).
    /// </summary>
    public IPAddress? ClientAddress(Microsoft.AspNetCore.Http.HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var peer = Peer(context);
        if (!IsTrusted(peer))
        {
            return peer;
        }

        var chain = context.Request.Headers[HeaderRules.ForwardedFor].ToString().Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        for (var i = chain.Length - 1; i >= 0; i--)
        {
            if (!IPAddress.TryParse(chain[i], out var hop))
            {
                return peer;
            }

            if (!IsTrusted(hop))
            {
                return hop;
            }
        }

        return peer;
    }

    /// <summary>
    /// Whether the client reached the gateway over HTTPS: the connection's scheme, or behind a trusted proxy (a
    /// balancer that ends TLS) the right-most X-Forwarded-Proto, the one that proxy wrote.
    /// </summary>
    public bool ClientUsedHttps(Microsoft.AspNetCore.Http.HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Request.IsHttps || !IsTrusted(Peer(context)))
        {
            return context.Request.IsHttps;
        }

        var forwarded = context.Request.Headers[HeaderRules.ForwardedProto].ToString();
        var last = forwarded.AsSpan(forwarded.LastIndexOf(',') + 1).Trim();
        return last.Equals(Uri.UriSchemeHttps, StringComparison.OrdinalIgnoreCase);
    }

    public bool IsTrusted(IPAddress? peer) => _proxies.Contains(peer);
}
