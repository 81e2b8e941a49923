using System.Net;
using Gateway.Core.Routing;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Forwarding;

/// <summary>The peers whose X-Forwarded-* chain the gateway extends instead of replacing.</summary>
public sealed class TrustedProxies
{
    private readonly IPAddress[] _addresses;
    private readonly IPNetwork[] _networks;

    public TrustedProxies(IOptions<GatewayOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var entries = options.Value.TrustedProxies;
        _addresses = entries.Select(e => IPAddress.TryParse(e, out var ip) ? ip : null).OfType<IPAddress>().ToArray();
        _networks = entries.Where(e => e.Contains('/', StringComparison.Ordinal)).Select(IPNetwork.Parse).ToArray();
    }

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

    public bool IsTrusted(IPAddress? peer)
    {
        if (peer is null)
        {
            return false;
        }

        if (peer.IsIPv4MappedToIPv6)
        {
            peer = peer.MapToIPv4();
        }

        foreach (var address in _addresses)
        {
            if (address.Equals(peer))
            {
                return true;
            }
        }

        foreach (var network in _networks)
        {
            if (network.Contains(peer))
            {
                return true;
            }
        }

        return false;
    }
}
